"""Care requests (snelfiches) and pending erasures.

Revision ID: 0003_requests
Revises: 0002_messages
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_requests"
down_revision = "0002_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=True),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("sensitive", sa.Text, nullable=True),
        sa.Column("eligibility", sa.JSON, nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reference", name="uq_care_requests_reference"),
    )
    op.create_index("ix_care_requests_sender_id", "care_requests", ["sender_id"])
    op.create_index("ix_care_requests_status", "care_requests", ["status"])
    op.create_table(
        "erasure_requests",
        sa.Column("sender_id", sa.String(128), primary_key=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasure_requests")
    op.drop_index("ix_care_requests_status", "care_requests")
    op.drop_index("ix_care_requests_sender_id", "care_requests")
    op.drop_table("care_requests")
