"""Care requests: how many children one request is for (twins), so that the report counts
as Opgroeien counts loket requests (one request, one child: twins count as two). The
snelfiche asks about one child; the worker sets the number when a family asks for twins.
A request whose family found care elsewhere is the status ``found_elsewhere``: status is a
plain string column (no CHECK), so that value needs no schema change.

Revision ID: 0009_request_children
Revises: 0008_handoff_workflow
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_request_children"
down_revision = "0008_handoff_workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("care_requests") as batch:
        # server default 1: every request recorded so far was about one child
        batch.add_column(sa.Column("children", sa.SmallInteger, nullable=False,
                                   server_default="1"))
        # op.f: the name as it is, not prefixed once more by the naming convention (bot/db.py)
        batch.create_check_constraint(op.f("ck_care_requests_children"),
                                      "children >= 1 AND children <= 9")


def downgrade() -> None:
    with op.batch_alter_table("care_requests") as batch:
        batch.drop_constraint(op.f("ck_care_requests_children"), type_="check")
        batch.drop_column("children")
