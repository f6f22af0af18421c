"""Access: server-side staff sessions, failed logins per address / account / device,
deactivated staff accounts, notices a channel gives once.

Revision ID: 0006_access
Revises: 0005_channel_reliability
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_access"
down_revision = "0005_channel_reliability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the cookie's secret
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staff_sessions_username", "staff_sessions", ["username"])
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("device", sa.String(32), nullable=True),
    )
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.create_index("ix_login_failures_address", "login_failures", ["address", "at"])
    op.create_index("ix_login_failures_username", "login_failures", ["username", "at"])
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("active", sa.Boolean, nullable=False,
                                   server_default=sa.true()))
    op.create_table(
        "channel_notices",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_notices")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("active")
    op.drop_index("ix_login_failures_username", "login_failures")
    op.drop_index("ix_login_failures_address", "login_failures")
    op.drop_index("ix_login_failures_at", "login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_staff_sessions_username", "staff_sessions")
    op.drop_table("staff_sessions")
