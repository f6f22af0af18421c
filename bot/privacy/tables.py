"""The stores that hold a family's data, as plain SQLAlchemy Core over reflected tables.

Reflected, not the models: a table may be missing (an older schema, a deployment without
channels) or have more columns than this package knows, and the tracker store's ``events``
table is read without importing Rasa.

Once nothing about a sender is left (no request, handoff, message or conversation event), its
conversation id is also taken out of the two records that outlive it (``forget``): a number
that said STOP keeps its opt-out row, so that STOP stays honoured, without the conversation id
(a number that opted back in loses its row); audit log entries about the sender keep who did
what and when, with ``erased`` as their target.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, delete, func, inspect, select, update
from sqlalchemy.engine import Connection, make_url

from bot import db, settings

ERASED = "erased"  # audit log target of a sender whose data is gone
EVENTS = "events"
# The assistant's tables that hold a conversation id: care requests (bot/intake/models.py),
# handoffs and their notes (bot/handoff.py), the channel message store (connectors/messages.py)
SENDER_TABLES = ("care_requests", "handoff_notes", "handoffs", "channel_messages",
                 "channel_contacts")
# ... and those that outlive the sender's data in some form
OTHER_TABLES = ("erasure_requests", "channel_optouts", "audit_log")
_CHUNK = 500  # ids per IN (...) list


def default_tracker_url() -> str:
    """The tracker store's database, as ``bot.serve.write_runtime_config`` configures it."""
    return os.environ.get("TRACKER_DB_URL") or f"sqlite:///{settings.var_dir() / 'tracker.db'}"


def chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    values = sorted(values)
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def tables(connection: Connection, names: Iterable[str]) -> dict[str, Table]:
    """The tables of ``names`` that exist in this database, reflected."""
    present = set(inspect(connection).get_table_names())
    metadata = MetaData()
    return {name: Table(name, metadata, autoload_with=connection)
            for name in names if name in present}


def delete_rows(connection: Connection, table: Table, *where: Any) -> int:
    return connection.execute(delete(table).where(*where)).rowcount or 0


def senders(connection: Connection, table: Table, *where: Any) -> set[str]:
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
def transaction(url: str | None, dry_run: bool) -> Iterator[Connection]:
    """One transaction on the assistant's database."""
    with db.get_engine(url).connect() as connection, _unit(connection, dry_run):
        yield connection


@contextmanager
def tracker(url: str, dry_run: bool = False) -> Iterator[tuple[Connection, Table] | None]:
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
            events = tables(connection, (EVENTS,)).get(EVENTS)
            yield None if events is None else (connection, events)
    finally:
        engine.dispose()


def delete_tracker_events(url: str, cutoff: datetime | None, erase: set[str],
                          dry_run: bool) -> tuple[dict[str, int], set[str], set[str]]:
    """Delete the events of conversations idle since ``cutoff`` (None: none of them) and of
    the senders in ``erase``: (counts, senders deleted, senders left)."""
    with tracker(url, dry_run) as found:
        if found is None:
            return {"conversations": 0, "events": 0}, set(erase), set()
        connection, events = found
        stale = set() if cutoff is None else set(connection.execute(
            select(events.c.sender_id).group_by(events.c.sender_id)
            .having(func.max(events.c.timestamp) < cutoff.timestamp())).scalars())
        gone = stale | erase
        count = sum(delete_rows(connection, events, events.c.sender_id.in_(chunk))
                    for chunk in chunks(gone))
        left = set(connection.execute(select(events.c.sender_id).distinct()).scalars())
        return {"conversations": len(stale), "events": count}, gone, left


def forget(connection: Connection, found: dict[str, Table], candidates: set[str],
           tracker_left: set[str]) -> dict[str, int]:
    """Take the conversation id out of the opt-outs and the audit log for every candidate of
    whom nothing else is left (module docstring)."""
    remaining = set(tracker_left)
    for chunk in chunks(candidates):
        for name in SENDER_TABLES:
            table = found.get(name)
            if table is not None:
                remaining |= senders(connection, table, table.c.sender_id.in_(chunk))
    forgotten = candidates - remaining
    counts = {"channel_optouts": 0, "audit_entries": 0}
    optouts, audit = found.get("channel_optouts"), found.get("audit_log")
    for chunk in chunks(forgotten):
        if optouts is not None:
            mine = optouts.c.sender_id.in_(chunk)
            counts["channel_optouts"] += delete_rows(connection, optouts, mine,
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
