"""Message store of the WhatsApp, SMS and Telegram channels.

Revision ID: 0002_messages
Revises: 0001_places
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_messages"
down_revision = "0001_places"
branch_labels = None
depends_on = None

CHANNELS = ("sms", "whatsapp", "telegram")
STATUSES = ("received", "processed", "ignored", "sent", "failed", "not_sent")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "channel_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(64)),
        sa.Column("text", sa.Text()),
        sa.Column("rasa_text", sa.Text()),
        sa.Column("kind", sa.String(16)),
        sa.Column("meta", sa.JSON()),
        sa.Column("media_type", sa.String(16)),
        sa.Column("media", sa.JSON()),
        sa.Column("buttons", sa.JSON()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("error_code", sa.String(32)),
        sa.Column("delivery", sa.String(16)),
        sa.Column("reply_id", sa.String(32)),
        sa.Column("part", sa.Integer()),
        sa.Column("segments", sa.Integer()),
        sa.Column("encoding", sa.String(8)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_messages"),
        sa.UniqueConstraint("channel", "direction", "external_id",
                            name="uq_channel_messages_external"),
        sa.CheckConstraint(_in("channel", CHANNELS), name="ck_channel_messages_channel"),
        sa.CheckConstraint(_in("direction", ("in", "out")), name="ck_channel_messages_direction"),
        sa.CheckConstraint(_in("status", STATUSES), name="ck_channel_messages_status"),
    )
    op.create_index("ix_channel_messages_sender", "channel_messages", ["sender_id", "id"])
    op.create_index("ix_channel_messages_pending", "channel_messages", ["direction", "status"])
    op.create_index("ix_channel_messages_reply", "channel_messages", ["reply_id"])
    op.create_table(
        "channel_contacts",
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime()),
        sa.Column("last_buttons", sa.JSON()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", name="pk_channel_contacts"),
    )
    op.create_table(
        "channel_optouts",
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(64)),
        sa.Column("sender_id", sa.String(128)),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address", name="pk_channel_optouts"),
    )


def downgrade() -> None:
    op.drop_table("channel_optouts")
    op.drop_table("channel_contacts")
    op.drop_index("ix_channel_messages_reply", table_name="channel_messages")
    op.drop_index("ix_channel_messages_pending", table_name="channel_messages")
    op.drop_index("ix_channel_messages_sender", table_name="channel_messages")
    op.drop_table("channel_messages")
