"""Retention: delete what is past its retention period (daily, ``python -m bot purge``).

Retention comes from the loket configuration (``data/loket/<municipality>.yml``):

- ``retention_draft_days`` (default 30): an unfinished snelfiche (status ``draft``) is deleted
  this many days after its last change: the family stopped before confirming.
- ``retention_months`` (default 12): a finished care request (``placed``, ``closed``,
  ``withdrawn``: any status that is neither draft nor active) is deleted this many calendar
  months after its last change. Active requests (``new``, ``in_progress``) are never deleted by
  the purge: the loket is still working on them, and closing one starts its clock.
- ``retention_closed_conversation_days`` (default 90): a conversation with nothing in or out
  for this many days is deleted: its channel messages and channel contact, and all its Rasa
  tracker events. A finished handoff (handed back or closed) is deleted this long after it
  ended; a waiting or claimed one stays, like an active request.

"Last change" is ``updated_at`` of a care request, the newest ``created_at`` of a sender's
channel messages (or ``updated_at`` of its channel contact), the newest event ``timestamp`` of
a sender in the tracker store, and ``closed_at`` of a handoff. The opt-outs and audit entries
of a sender of whom nothing is left are forgotten as in an erasure (bot/privacy/tables.py).

Every run is one transaction per store: first the tracker store, then the assistant's database;
a failure leaves that store as it was and the next run picks up the rest. Running it twice, or
daily, deletes nothing more the second time. A dry run does the same work and rolls it back, so
its counts are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import yaml
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection

from bot import settings
from bot.privacy import tables as t

DEFAULT_RETENTION_MONTHS = 12
DEFAULT_CLOSED_CONVERSATION_DAYS = 90
DEFAULT_DRAFT_DAYS = 30
DRAFT = "draft"
ACTIVE = ("new", "in_progress")  # care requests the loket works on: never purged
OPEN_HANDOFFS = ("waiting", "claimed")
# An erasure the tracker store never completed (no turn was saved after the request) is
# finished by the purge; a recent one may belong to a turn being saved right now.
ERASURE_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Policy:
    retention_months: int = DEFAULT_RETENTION_MONTHS
    closed_conversation_days: int = DEFAULT_CLOSED_CONVERSATION_DAYS
    draft_days: int = DEFAULT_DRAFT_DAYS


def _positive(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        # zero or a typo would mean "delete everything now": refuse instead
        raise ValueError(f"{key} must be a whole number of at least 1, not {value!r}")
    return value


def policy(municipality: str | None = None) -> Policy:
    """The retention periods of this deployment's loket (``BOT_MUNICIPALITY``)."""
    path = settings.DATA_DIR / "loket" / f"{municipality or settings.municipality()}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Policy(
        retention_months=_positive(data, "retention_months", DEFAULT_RETENTION_MONTHS),
        closed_conversation_days=_positive(data, "retention_closed_conversation_days",
                                           DEFAULT_CLOSED_CONVERSATION_DAYS),
        draft_days=_positive(data, "retention_draft_days", DEFAULT_DRAFT_DAYS),
    )

def months_before(moment: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = datetime(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(
        timezone.utc)


# --- the assistant's database ----------------------------------------------------------------


def _purge_requests(connection: Connection, tables: dict[str, Table], now: datetime,
                    pol: Policy) -> tuple[dict[str, int], set[str]]:
    requests = tables.get("care_requests")
    if requests is None:
        return {"drafts": 0, "care_requests": 0}, set()
    rules = {
        "drafts": (requests.c.status == DRAFT,
                   requests.c.updated_at < now - timedelta(days=pol.draft_days)),
        "care_requests": (requests.c.status != DRAFT, requests.c.status.not_in(ACTIVE),
                          requests.c.updated_at < months_before(now, pol.retention_months)),
    }
    counts, senders = {}, set()
    for key, where in rules.items():
        senders |= t.senders(connection, requests, *where)
        counts[key] = t.delete_rows(connection, requests, *where)
    return counts, senders


def _stale_channel_senders(connection: Connection, tables: dict[str, Table],
                           cutoff: datetime) -> set[str]:
    """Conversations of the channel tables with nothing in or out since ``cutoff``."""
    seen: set[str] = set()
    active: set[str] = set()
    messages = tables.get("channel_messages")
    if messages is not None:
        for sender, newest in connection.execute(
                select(messages.c.sender_id, func.max(messages.c.created_at))
                .group_by(messages.c.sender_id)):
            seen.add(sender)
            if newest is not None and newest >= cutoff:
                active.add(sender)
    contacts = tables.get("channel_contacts")
    if contacts is not None:
        for sender, changed in connection.execute(
                select(contacts.c.sender_id, contacts.c.updated_at)):
            seen.add(sender)
            if changed is not None and changed >= cutoff:
                active.add(sender)
    return seen - active


def _delete_channel(connection: Connection, tables: dict[str, Table],
                    senders: set[str]) -> dict[str, int]:
    counts = {}
    for name in ("channel_messages", "channel_contacts"):
        table = tables.get(name)
        counts[name] = 0 if table is None else sum(
            t.delete_rows(connection, table, table.c.sender_id.in_(chunk))
            for chunk in t.chunks(senders))
    return counts


def _purge_handoffs(connection: Connection, tables: dict[str, Table],
                    cutoff: datetime) -> tuple[int, set[str]]:
    handoffs = tables.get("handoffs")
    if handoffs is None:
        return 0, set()
    ended = func.coalesce(handoffs.c.closed_at, handoffs.c.created_at)
    where = (handoffs.c.status.not_in(OPEN_HANDOFFS), ended < cutoff)
    senders = t.senders(connection, handoffs, *where)
    return t.delete_rows(connection, handoffs, *where), senders


# --- public ----------------------------------------------------------------------------------


def purge(now: datetime, *, bot_db_url: str | None = None, tracker_db_url: str | None = None,
          dry_run: bool = False, retention: Policy | None = None) -> dict[str, int]:
    """Delete everything past its retention period (see the module docstring); the number of
    rows deleted (or changed, for opt-outs and audit entries) per kind. ``dry_run``: the same
    numbers, nothing changed.

    ``now`` is passed in (a naive one is taken as UTC): tests and catch-up runs choose it.
    """
    now = _utc(now)
    pol = retention or policy()
    cutoff = now - timedelta(days=pol.closed_conversation_days)
    naive_cutoff = cutoff.replace(tzinfo=None)  # the channel tables store naive UTC times
    with t.transaction(bot_db_url, dry_run=True) as connection:
        erasures = t.tables(connection, ("erasure_requests",)).get("erasure_requests")
        erase = set() if erasures is None else set(connection.execute(
            select(erasures.c.sender_id)
            .where(erasures.c.requested_at < now - ERASURE_GRACE)).scalars())
    # The conversations first: a failure after this leaves the rest for the next run.
    counts, tracker_gone, tracker_left = t.delete_tracker_events(
        tracker_db_url or t.default_tracker_url(), cutoff, erase, dry_run)
    with t.transaction(bot_db_url, dry_run) as connection:
        tables = t.tables(connection, t.SENDER_TABLES + t.OTHER_TABLES)
        request_counts, request_senders = _purge_requests(connection, tables, now, pol)
        counts.update(request_counts)
        channel_senders = _stale_channel_senders(connection, tables, naive_cutoff)
        counts["channel_conversations"] = len(channel_senders)
        counts.update(_delete_channel(connection, tables, channel_senders))
        counts["handoffs"], handoff_senders = _purge_handoffs(connection, tables, cutoff)
        counts["erasure_requests"] = 0 if erasures is None else sum(
            t.delete_rows(connection, erasures, erasures.c.sender_id.in_(chunk))
            for chunk in t.chunks(erase))  # only now that their events are gone
        counts.update(t.forget(connection, tables, tracker_gone | request_senders
                               | channel_senders | handoff_senders, tracker_left))
    return counts
