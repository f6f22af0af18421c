"""Erasure: everything about one family deleted on its request.

Two ways in:

- ``delete_sender`` (the inbox's admin page, ``python -m bot family delete``): everything now,
  whatever its age or status, the tracker store's events included.
- ``erase_sender`` (the family's "delete my data" in the chat, in the action's session): its
  requests, handoffs and channel messages go now; its conversation events are marked in
  ``erasure_requests`` and the tracker store erases them right after the turn is saved
  (``finish_pending``): deleting them inside the action would have Rasa write the whole
  conversation back when it saves the turn. One the tracker store never finished is finished
  by the purge (bot/privacy/retention.py).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.intake.models import ErasureRequest
from bot.privacy import tables as t


def delete_sender_rows(connection: Connection, sender_id: str) -> dict[str, int]:
    """Delete one sender's rows from the assistant's own tables (not the tracker store), in
    the caller's transaction."""
    found = t.tables(connection, t.SENDER_TABLES)
    return {name: t.delete_rows(connection, table, table.c.sender_id == sender_id)
            for name, table in found.items()}


def delete_sender(sender_id: str, *, bot_db_url: str | None = None,
                  tracker_db_url: str | None = None) -> dict[str, int]:
    """Delete everything stored about one conversation id now; opt-outs and audit entries are
    forgotten as in the purge (bot/privacy/tables.py)."""
    counts, _, tracker_left = t.delete_tracker_events(
        tracker_db_url or t.default_tracker_url(), None, {sender_id}, dry_run=False)
    with t.transaction(bot_db_url, dry_run=False) as connection:
        found = t.tables(connection, t.SENDER_TABLES + t.OTHER_TABLES)
        counts.update({name: 0 for name in t.SENDER_TABLES})
        counts.update(delete_sender_rows(connection, sender_id))
        erasures = found.get("erasure_requests")
        counts["erasure_requests"] = 0 if erasures is None else t.delete_rows(
            connection, erasures, erasures.c.sender_id == sender_id)
        counts.update(t.forget(connection, found, {sender_id}, tracker_left))
    for key in ("conversations", "forgotten_senders"):  # one sender, told by the caller
        del counts[key]
    return counts


def erase_sender(session: Session, sender_id: str) -> dict[str, int]:
    """The family's "delete my data" (module docstring): what went now, for the reply."""
    deleted = delete_sender_rows(session.connection(), sender_id)
    if session.get(ErasureRequest, sender_id) is None:
        session.add(ErasureRequest(sender_id=sender_id))
    session.flush()
    return {"requests": deleted.get("care_requests", 0),
            "messages": deleted.get("channel_messages", 0)}


def pending_erasures(session: Session, sender_id: str) -> bool:
    return session.get(ErasureRequest, sender_id) is not None


def erasure_done(session: Session, sender_id: str) -> None:
    session.execute(delete(ErasureRequest).where(ErasureRequest.sender_id == sender_id))


def finish_pending(sender_id: str, erase_events: Callable[[str], int]) -> int | None:
    """After the tracker store saved a turn: if the sender asked for an erasure, delete its
    conversation events with ``erase_events`` (the tracker store's own deletion) and clear
    the request; the number of events deleted, None if no erasure was pending."""
    with session_scope() as session:
        if not pending_erasures(session, sender_id):
            return None
        removed = erase_events(sender_id)
        erasure_done(session, sender_id)
    return removed
