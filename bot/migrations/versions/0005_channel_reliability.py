"""Channel reliability: live workers, message claims, replies queued through an outage.

Revision ID: 0005_channel_reliability
Revises: 0004_handoff
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_channel_reliability"
down_revision = "0004_handoff"
branch_labels = None
depends_on = None

OLD_STATUSES = ("received", "processed", "ignored", "sent", "failed", "not_sent")
NEW_STATUSES = (*OLD_STATUSES, "queued")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# The name 0002 gave it (the naming convention prefixed the name given there once more).
STATUS_CHECK = "ck_channel_messages_ck_channel_messages_status"


def _statuses(values: tuple[str, ...]) -> None:
    # batch mode: SQLite cannot alter a CHECK constraint in place, it copies the table
    with op.batch_alter_table("channel_messages") as batch:
        batch.drop_constraint(op.f(STATUS_CHECK), type_="check")
        batch.create_check_constraint(op.f(STATUS_CHECK), _in("status", values))


def upgrade() -> None:
    op.create_table(
        "channel_workers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    )
    with op.batch_alter_table("channel_messages") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(40), nullable=True))
        batch.add_column(sa.Column("in_reply_to", sa.Integer, nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime, nullable=True))
    _statuses(NEW_STATUSES)


def downgrade() -> None:
    op.execute("UPDATE channel_messages SET status = 'failed' WHERE status = 'queued'")
    _statuses(OLD_STATUSES)
    with op.batch_alter_table("channel_messages") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("in_reply_to")
        batch.drop_column("claimed_by")
    op.drop_table("channel_workers")
