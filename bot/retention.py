"""Data lifecycle: delete what is past its retention period, and one family's data on request.

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
a sender in the tracker store, and ``closed_at`` of a handoff.

Once nothing about a sender is left (no request, handoff, message or conversation event), its
conversation id is also taken out of the two records that outlive it: a number that said STOP
keeps its opt-out row, so that STOP stays honoured, without the conversation id (a number that
opted back in loses its row); audit log entries about the sender keep who did what and when,
with ``erased`` as their target.

Every run is one transaction per store: first the tracker store, then the assistant's database;
a failure leaves that store as it was and the next run picks up the rest. Running it twice, or
daily, deletes nothing more the second time. A dry run does the same work and rolls it back, so
its counts are exact. Plain SQLAlchemy: the tracker store's ``events`` table is read without
importing Rasa.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import (
    MetaData,
    Table,
    create_engine,
    delete,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url

from bot import db, settings

DEFAULT_RETENTION_MONTHS = 12
DEFAULT_CLOSED_CONVERSATION_DAYS = 90
DEFAULT_DRAFT_DAYS = 30
DRAFT = "draft"
ACTIVE = ("new", "in_progress")  # care requests the loket works on: never purged
OPEN_HANDOFFS = ("waiting", "claimed")
ERASED = "erased"  # audit log target of a sender whose data is gone
EVENTS = "events"
# The assistant's tables that hold a conversation id, by what the purge does with them.
SENDER_TABLES = ("care_requests", "handoff_notes", "handoffs", "channel_messages",
                 "channel_contacts")
OTHER_TABLES = ("erasure_requests", "channel_optouts", "audit_log")
# An erasure the tracker store never completed (no turn was saved after the request) is
# finished by the purge; a recent one may belong to a turn being saved right now.
ERASURE_GRACE = timedelta(hours=1)
_CHUNK = 500  # ids per IN (...) list


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


def default_tracker_url() -> str:
    """The tracker store's database, as ``bot.serve.write_runtime_config`` configures it."""
    return os.environ.get("TRACKER_DB_URL") or f"sqlite:///{settings.var_dir() / 'tracker.db'}"


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


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    values = sorted(values)
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _tables(connection: Connection, names: Iterable[str]) -> dict[str, Table]:
    """The tables of ``names`` that exist in this database, reflected: a table may be missing
    (an older schema) or have more columns than this module knows."""
    present = set(inspect(connection).get_table_names())
    metadata = MetaData()
    return {name: Table(name, metadata, autoload_with=connection)
            for name in names if name in present}


def _delete(connection: Connection, table: Table, *where: Any) -> int:
    return connection.execute(delete(table).where(*where)).rowcount or 0


def _senders(connection: Connection, table: Table, *where: Any) -> set[str]:
    return set(connection.execute(select(table.c.sender_id).where(*where).distinct()).scalars())


@contextmanager
def _unit(connection: Connection, dry_run: bool) -> Iterator[Connection]:
    """One transaction: committed, or rolled back on an error or a dry run."""
    transaction = connection.begin()
    try:
        yield connection
    except BaseException:
        transaction.rollback()
        raise
    if dry_run:
        transaction.rollback()
    else:
        transaction.commit()


@contextmanager
def _transaction(url: str | None, dry_run: bool) -> Iterator[Connection]:
    """One transaction on the assistant's database."""
    with db.get_engine(url).connect() as connection, _unit(connection, dry_run):
        yield connection


@contextmanager
def _tracker(url: str, dry_run: bool = False) -> Iterator[tuple[Connection, Table] | None]:
    """One transaction on the tracker store and its events table; None when there is none."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:" or not Path(database).exists():
            yield None  # never create an empty tracker file just to find nothing in it
            return
        engine = create_engine(url, future=True, connect_args={"timeout": 30})
    else:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    try:
        with engine.connect() as connection, _unit(connection, dry_run):
            events = _tables(connection, (EVENTS,)).get(EVENTS)
            yield None if events is None else (connection, events)
    finally:
        engine.dispose()


# --- the tracker store -----------------------------------------------------------------------


def _purge_tracker(url: str, cutoff: datetime | None, erase: set[str],
                   dry_run: bool) -> tuple[dict[str, int], set[str], set[str]]:
    """Delete the events of conversations idle since ``cutoff`` (None: none of them) and of
    the senders in ``erase``: (counts, senders deleted, senders left)."""
    with _tracker(url, dry_run) as found:
        if found is None:
            return {"conversations": 0, "events": 0}, set(erase), set()
        connection, events = found
        stale = set() if cutoff is None else set(connection.execute(
            select(events.c.sender_id).group_by(events.c.sender_id)
            .having(func.max(events.c.timestamp) < cutoff.timestamp())).scalars())
        gone = stale | erase
        count = sum(_delete(connection, events, events.c.sender_id.in_(chunk))
                    for chunk in _chunks(gone))
        left = set(connection.execute(select(events.c.sender_id).distinct()).scalars())
        return {"conversations": len(stale), "events": count}, gone, left


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
        senders |= _senders(connection, requests, *where)
        counts[key] = _delete(connection, requests, *where)
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
            _delete(connection, table, table.c.sender_id.in_(chunk)) for chunk in _chunks(senders))
    return counts


def _purge_handoffs(connection: Connection, tables: dict[str, Table],
                    cutoff: datetime) -> tuple[int, set[str]]:
    handoffs = tables.get("handoffs")
    if handoffs is None:
        return 0, set()
    ended = func.coalesce(handoffs.c.closed_at, handoffs.c.created_at)
    where = (handoffs.c.status.not_in(OPEN_HANDOFFS), ended < cutoff)
    senders = _senders(connection, handoffs, *where)
    return _delete(connection, handoffs, *where), senders


def _forget(connection: Connection, tables: dict[str, Table], candidates: set[str],
            tracker_left: set[str]) -> dict[str, int]:
    """Take the conversation id out of the opt-outs and the audit log for every candidate of
    whom nothing else is left."""
    remaining = set(tracker_left)
    for chunk in _chunks(candidates):
        for name in SENDER_TABLES:
            table = tables.get(name)
            if table is not None:
                remaining |= _senders(connection, table, table.c.sender_id.in_(chunk))
    forgotten = candidates - remaining
    counts = {"channel_optouts": 0, "audit_entries": 0}
    optouts, audit = tables.get("channel_optouts"), tables.get("audit_log")
    for chunk in _chunks(forgotten):
        if optouts is not None:
            mine = optouts.c.sender_id.in_(chunk)
            counts["channel_optouts"] += _delete(connection, optouts, mine,
                                                 optouts.c.opted_out.is_(False))
            counts["channel_optouts"] += connection.execute(
                update(optouts).where(mine, optouts.c.opted_out.is_(True))
                .values(sender_id=None)).rowcount or 0
        if audit is not None:
            counts["audit_entries"] += connection.execute(
                update(audit).where(audit.c.target.in_(chunk)).values(target=ERASED)
            ).rowcount or 0
    counts["forgotten_senders"] = len(forgotten)
    return counts


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
    with _transaction(bot_db_url, dry_run=True) as connection:
        erasures = _tables(connection, ("erasure_requests",)).get("erasure_requests")
        erase = set() if erasures is None else set(connection.execute(
            select(erasures.c.sender_id)
            .where(erasures.c.requested_at < now - ERASURE_GRACE)).scalars())
    # The conversations first: a failure after this leaves the rest for the next run.
    counts, tracker_gone, tracker_left = _purge_tracker(
        tracker_db_url or default_tracker_url(), cutoff, erase, dry_run)
    with _transaction(bot_db_url, dry_run) as connection:
        tables = _tables(connection, SENDER_TABLES + OTHER_TABLES)
        request_counts, request_senders = _purge_requests(connection, tables, now, pol)
        counts.update(request_counts)
        channel_senders = _stale_channel_senders(connection, tables, naive_cutoff)
        counts["channel_conversations"] = len(channel_senders)
        counts.update(_delete_channel(connection, tables, channel_senders))
        counts["handoffs"], handoff_senders = _purge_handoffs(connection, tables, cutoff)
        counts["erasure_requests"] = 0 if erasures is None else sum(
            _delete(connection, erasures, erasures.c.sender_id.in_(chunk))
            for chunk in _chunks(erase))  # only now that their events are gone
        counts.update(_forget(connection, tables, tracker_gone | request_senders
                              | channel_senders | handoff_senders, tracker_left))
    return counts


def delete_sender_rows(connection: Connection, sender_id: str) -> dict[str, int]:
    """Delete one sender's rows from the assistant's own tables (not the tracker store), in
    the caller's transaction. Shared by ``delete_sender`` and the in-chat "delete my data"."""
    tables = _tables(connection, SENDER_TABLES)
    return {name: _delete(connection, table, table.c.sender_id == sender_id)
            for name, table in tables.items()}


def delete_sender(sender_id: str, *, bot_db_url: str | None = None,
                  tracker_db_url: str | None = None) -> dict[str, int]:
    """Delete everything stored about one conversation id now, whatever its age or status (a
    family's request to the loket). Opt-outs and audit entries as in the purge."""
    counts, _, tracker_left = _purge_tracker(tracker_db_url or default_tracker_url(), None,
                                             {sender_id}, dry_run=False)
    with _transaction(bot_db_url, dry_run=False) as connection:
        tables = _tables(connection, SENDER_TABLES + OTHER_TABLES)
        counts.update({name: 0 for name in SENDER_TABLES})
        counts.update(delete_sender_rows(connection, sender_id))
        erasures = tables.get("erasure_requests")
        counts["erasure_requests"] = 0 if erasures is None else _delete(
            connection, erasures, erasures.c.sender_id == sender_id)
        counts.update(_forget(connection, tables, {sender_id}, tracker_left))
    for key in ("conversations", "forgotten_senders"):  # one sender, told by the caller
        del counts[key]
    return counts


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def export_sender(sender_id: str, *, bot_db_url: str | None = None,
                  tracker_db_url: str | None = None) -> dict[str, Any]:
    """Everything stored about one conversation id, readable: care requests with their
    answers (health and allergy notes decrypted), handoffs, channel messages, the channel
    contact and opt-out, audit entries about it, and the conversation events."""
    from sqlalchemy.orm import Session

    from bot.intake.models import CareRequest
    from bot.intake.store import answers

    out: dict[str, Any] = {"sender_id": sender_id}
    with _transaction(bot_db_url, dry_run=True) as connection:
        tables = _tables(connection, SENDER_TABLES + OTHER_TABLES)
        for name, table in tables.items():
            column = table.c.target if name == "audit_log" else table.c.sender_id
            query = select(table).where(column == sender_id)
            if "id" in table.c:
                query = query.order_by(table.c.id)
            out[name] = [{k: _plain(v) for k, v in row.items()}
                         for row in connection.execute(query).mappings()]
        if "care_requests" in tables:  # answers readable: the encrypted part decrypted
            session = Session(bind=connection, future=True)
            by_id = {r.id: r for r in session.execute(
                select(CareRequest).where(CareRequest.sender_id == sender_id)).scalars()}
            for row in out["care_requests"]:
                row.pop("fields", None)
                row.pop("sensitive", None)
                row["answers"] = answers(by_id[row["id"]])
            session.close()
    out["conversation_events"] = []
    with _tracker(tracker_db_url or default_tracker_url(), dry_run=True) as found:
        if found is not None:
            connection, events = found
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


