"""The handoff workflow: a claim's last reply (claims nobody answers return to the queue),
the first claim (the report's waiting time survives a release or a reassignment), labels on
a handoff, and private staff notes.

Revision ID: 0008_handoff_workflow
Revises: 0007_channel_contact_notes
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_handoff_workflow"
down_revision = "0007_channel_contact_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("last_staff_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_claimed_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("labels", sa.Text, nullable=True))
    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("handoff_id", sa.Integer,
                  sa.ForeignKey("handoffs.id", name="fk_handoff_notes_handoff_id_handoffs",
                                ondelete="CASCADE"), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_handoff_notes_sender_id", "handoff_notes", ["sender_id"])
    # handoffs claimed before this migration: their claim is the best we know
    op.execute("UPDATE handoffs SET first_claimed_at = claimed_at WHERE claimed_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index("ix_handoff_notes_sender_id", "handoff_notes")
    op.drop_table("handoff_notes")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("labels")
        batch.drop_column("first_claimed_at")
        batch.drop_column("last_staff_at")
