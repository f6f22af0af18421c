"""Channel contacts: the Telegram deep link a family came through, and a block by the person.

Revision ID: 0007_channel_contact_notes
Revises: 0006_access
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_channel_contact_notes"
down_revision = "0006_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_contacts") as batch:
        batch.add_column(sa.Column("started_from", sa.String(64), nullable=True))
        batch.add_column(sa.Column("blocked_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("blocked_reason", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_contacts") as batch:
        batch.drop_column("blocked_reason")
        batch.drop_column("blocked_at")
        batch.drop_column("started_from")
