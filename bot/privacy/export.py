"""The right of access: what is stored about one family, readable.

``export_sender`` is everything (the inbox's admin page and ``python -m bot family export``);
``stored_requests`` is what the chat itself shows the family (``action_see_my_data``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.intake.models import CareRequest
from bot.intake.store import answers
from bot.privacy import tables as t


def stored_requests(session: Session, sender_id: str) -> list[tuple[str, str | None,
                                                                     dict[str, Any]]]:
    """The sender's care requests as (status, reference, answers), health notes decrypted."""
    query = select(CareRequest).where(CareRequest.sender_id == sender_id).order_by(
        CareRequest.id)
    return [(r.status, r.reference, answers(r)) for r in session.execute(query).scalars()]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def export_sender(sender_id: str, *, bot_db_url: str | None = None,
                  tracker_db_url: str | None = None) -> dict[str, Any]:
    """Everything stored about one conversation id, readable: care requests with their
    answers (health and allergy notes decrypted), handoffs, channel messages, the channel
    contact and opt-out, audit entries about it, and the conversation events."""
    out: dict[str, Any] = {"sender_id": sender_id}
    with t.transaction(bot_db_url, dry_run=True) as connection:
        found = t.tables(connection, t.SENDER_TABLES + t.OTHER_TABLES)
        for name, table in found.items():
            column = table.c.target if name == "audit_log" else table.c.sender_id
            query = select(table).where(column == sender_id)
            if "id" in table.c:
                query = query.order_by(table.c.id)
            out[name] = [{k: _plain(v) for k, v in row.items()}
                         for row in connection.execute(query).mappings()]
        if "care_requests" in found:  # answers readable: the encrypted part decrypted
            session = Session(bind=connection, future=True)
            by_id = {r.id: r for r in session.execute(
                select(CareRequest).where(CareRequest.sender_id == sender_id)).scalars()}
            for row in out["care_requests"]:
                row.pop("fields", None)
                row.pop("sensitive", None)
                row["answers"] = answers(by_id[row["id"]])
            session.close()
    out["conversation_events"] = []
    with t.tracker(tracker_db_url or t.default_tracker_url(), dry_run=True) as events_found:
        if events_found is not None:
            connection, events = events_found
            for row in connection.execute(select(events).where(events.c.sender_id == sender_id)
                                          .order_by(events.c.id)).mappings():
                try:
                    data = json.loads(row["data"]) if row["data"] else None
                except ValueError:
                    data = row["data"]
                out["conversation_events"].append({
                    "type": row["type_name"], "timestamp": row["timestamp"],
                    "intent": row["intent_name"], "action": row["action_name"], "data": data})
    return out
