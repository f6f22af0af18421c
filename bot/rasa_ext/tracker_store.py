"""Rasa's SQL tracker store, plus erasure and a validated cache of the trackers in use.

Erasure: when a family asks to delete its data, the action marks the sender
(bot.privacy.erasure.erase_sender) and this store removes every conversation event of that sender
right after saving the turn. Deleting inside the action would not work: Rasa saves the turn
after the action and, finding no stored events, would write the whole conversation back.

Cache: loading a tracker (query, JSON, replaying every event) and counting the stored events
before each save cost ~30% of the Rasa server's CPU per message (docs/BENCHMARKS.md). So the
tracker Rasa saved is kept in memory, and the next turn of that sender gets it back after one
cheap check that the database still holds exactly what the cache holds: the sender's event
count, last id and that event's timestamp. Anything written or deleted by someone else (a second
Rasa server, the retention purge, an erasure from the inbox) changes that key and the tracker
is loaded from the database as before. A cached tracker is lent, never shared: Rasa mutates the
tracker it gets, so the entry goes back in only when Rasa saves that same object, and a second
``retrieve`` while it is out loads from the database.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import sessionmaker

from bot import redaction
from bot.privacy import erasure

REDACTED = redaction.BLANKED
ERASING_ACTION = "action_delete_my_data"
# Conversations kept in memory, least recently used dropped first (a tracker is a few hundred
# KB at most), and how long an idle one stays.
CACHE_SIZE = int(os.environ.get("TRACKER_CACHE_SIZE", "1000"))
CACHE_IDLE_S = float(os.environ.get("TRACKER_CACHE_IDLE_S", "1800"))

# What the database holds for one sender: (event count, last event id, its timestamp).
Key = tuple[int, int | None, float | None]

logger = logging.getLogger(__name__)

_KEY_SQL = sa.text(
    f"SELECT (SELECT count(*) FROM {SQLTrackerStore.SQLEvent.__tablename__} "
    "WHERE sender_id = :sender_id), id, timestamp "
    f"FROM {SQLTrackerStore.SQLEvent.__tablename__} WHERE sender_id = :sender_id "
    "ORDER BY id DESC LIMIT 1")

# The events another server added after the ones a cached tracker holds.
_NEWER_SQL = sa.text(
    f"SELECT id, data FROM {SQLTrackerStore.SQLEvent.__tablename__} "
    "WHERE sender_id = :sender_id AND id > :after ORDER BY id")


def _ran_recently(tracker: DialogueStateTracker) -> bool:
    """Whether the erasing action ran since the last user message (the turn being saved)."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if getattr(event, "action_name", None) == ERASING_ACTION:
            return True
    return False


def erase_events(store: SQLTrackerStore, sender_id: str) -> int:
    if isinstance(store, ErasingTrackerStore):
        store.forget(sender_id)
    with store.session_scope() as session:
        count = (session.query(store.SQLEvent)
                 .filter(store.SQLEvent.sender_id == sender_id).delete())
        session.commit()
    return int(count or 0)


def redact_sensitive_answers(tracker: DialogueStateTracker) -> int:
    """Blank the text of messages that answered a health or allergy question of the
    snelfiche, and mask those lines in the summary the bot showed: those answers are kept
    only encrypted, in the care request."""
    from bot.intake.store import SENSITIVE
    from bot.redaction import redact_summary

    asked = None
    redacted = 0
    for event in tracker.events:
        if isinstance(event, SlotSet) and event.key == "asked_intake_field":
            asked = event.value
        elif isinstance(event, BotUttered) and event.text:
            masked = redact_summary(event.text)
            if masked != event.text:
                event.text = masked
                redacted += 1
        elif isinstance(event, UserUttered) and asked in SENSITIVE and event.text != REDACTED:
            if event.text and not event.text.startswith("/"):
                event.text = REDACTED
                event.parse_data["text"] = REDACTED
                redaction.note_blanked(event.message_id)  # the channel store blanks its copy
                redacted += 1
    return redacted


@dataclass
class _Cached:
    tracker: DialogueStateTracker
    stored: int  # how many of its events the database holds
    key: Key  # the database's key when the tracker was loaded or saved
    lent: bool  # out with Rasa, which mutates it: back in only when Rasa saves it
    used: float


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL makes NORMAL durable enough (a power cut may lose the last commit, never corrupt),
    # as for the assistant's own database (bot/db.py)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class ErasingTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            # Rasa's engine opens a new SQLite connection for every query (NullPool) and
            # commits with a full fsync: the event loop of the whole server waited ~1-9 ms
            # per commit, longer while other processes write to the disk
            self.engine.dispose()
            self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool,
                                           connect_args={"check_same_thread": False})
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sessionmaker(bind=self.engine)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self.cache_size, self.cache_idle_s = CACHE_SIZE, CACHE_IDLE_S
        self.cache_hits = self.cache_misses = self.cache_catch_ups = 0

    @property  # type: ignore[override]
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Domain | None) -> None:
        # cached trackers hold the old domain's slots: a new model starts from the database
        self._domain = domain or Domain.empty()
        if hasattr(self, "_cache"):
            self._cache.clear()

    def forget(self, sender_id: str) -> None:
        self._cache.pop(sender_id, None)

    def _key(self, sender_id: str) -> Key:
        """(count, last id, last timestamp) of the sender's events: one indexed query. The
        timestamp tells a conversation from one erased and rewritten with the same count and
        ids (SQLite reuses the highest ids after a delete)."""
        with self.engine.connect() as conn:  # no ORM session: a quarter of the cost
            row = conn.execute(_KEY_SQL, {"sender_id": sender_id}).first()
        return (int(row[0]), row[1], row[2]) if row else (0, None, None)

    def _newer_events(self, sender_id: str, cached: Key, now: Key) -> list[Event] | None:
        """The events added after ``cached`` if the database holds exactly those on top of
        what the cache holds (same count of older events, no new session); else None."""
        if cached[1] is None or now[0] <= cached[0]:
            return None
        with self.engine.connect() as conn:
            rows = conn.execute(_NEWER_SQL, {"sender_id": sender_id, "after": cached[1]}).all()
        # a deletion among the older events, or a write since the key was read: a reload
        if len(rows) != now[0] - cached[0] or rows[-1][0] != now[1]:
            return None
        events = deserialise_events([json.loads(row[1]) for row in rows])
        if len(events) != len(rows) or any(isinstance(e, SessionStarted) for e in events):
            return None  # a new session is loaded alone, as Rasa does
        return events

    def _evict(self, now: float) -> None:
        while self._cache:
            oldest = next(iter(self._cache.values()))
            if len(self._cache) <= self.cache_size and now - oldest.used < self.cache_idle_s:
                return
            self._cache.popitem(last=False)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        now = time.monotonic()
        key = self._key(sender_id)
        entry = self._cache.get(sender_id)
        if (entry is not None and not entry.lent and entry.key == key
                and now - entry.used < self.cache_idle_s
                and len(entry.tracker.events) == entry.stored):
            entry.lent, entry.used = True, now
            self._cache.move_to_end(sender_id)
            self._evict(now)
            self.cache_hits += 1
            return entry.tracker
        if (entry is not None and not entry.lent and now - entry.used < self.cache_idle_s
                and len(entry.tracker.events) == entry.stored):
            newer = self._newer_events(sender_id, entry.key, key)
            if newer is not None:
                # another server answered meanwhile (the scaled set-up): replay only its
                # events on the cached tracker instead of loading the whole conversation
                for event in newer:
                    entry.tracker.update(event)
                entry.stored, entry.key = len(entry.tracker.events), key
                entry.lent, entry.used = True, now
                self._cache.move_to_end(sender_id)
                self._evict(now)
                self.cache_catch_ups += 1
                return entry.tracker
        self.cache_misses += 1
        # the key was read first: a write in between makes it older than what is loaded, so
        # the next check fails and reloads, never the other way round
        tracker = await super().retrieve(sender_id)
        if tracker is None:
            self._cache.pop(sender_id, None)
            return None
        self._cache[sender_id] = _Cached(tracker, len(tracker.events), key, True, now)
        self._cache.move_to_end(sender_id)
        self._evict(now)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        redact_sensitive_answers(tracker)
        sender_id = tracker.sender_id
        entry = self._cache.get(sender_id)
        if (entry is not None and entry.lent and entry.tracker is tracker
                and self.event_broker is None and len(tracker.events) >= entry.stored):
            # the tracker this store lent out: the database holds its first `stored` events,
            # so Rasa's count of the stored events is not needed
            new = list(itertools.islice(tracker.events, entry.stored, None))
            entry.key = self._append(sender_id, new, entry.key)
            if any(isinstance(event, SessionStarted) for event in new):
                # a new session: loading keeps only its events, so this tracker is not what
                # the database would give back
                self._cache.pop(sender_id, None)
            else:
                entry.stored, entry.lent, entry.used = len(tracker.events), False, time.monotonic()
        else:
            self._cache.pop(sender_id, None)  # someone else's tracker: Rasa's own way
            await super().save(tracker)
        if tracker.latest_action_name != ERASING_ACTION and not _ran_recently(tracker):
            return  # no erasure asked in this turn: spare the database a query per message
        removed = erasure.finish_pending(sender_id, lambda sender: erase_events(self, sender))
        if removed is not None:
            logger.info("erased %d conversation events of one sender on request", removed)

    def _append(self, sender_id: str, events: list[Event], key: Key) -> Key:
        """Store ``events`` as Rasa's save does; the key the database has afterwards if no one
        else wrote in the meantime (if someone did, the next check fails: a reload)."""
        if not events:
            return key
        rows = []
        for event in events:
            data = event.as_dict()
            rows.append({
                "sender_id": sender_id, "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"), "data": json.dumps(data),
            })
        table = self.SQLEvent.__table__
        # Core inserts, not ORM objects (the unit of work cost more than the SQL); the last
        # row alone, for its id
        with self.engine.begin() as conn:
            if len(rows) > 1:
                conn.execute(table.insert(), rows[:-1])
            last_id = conn.execute(table.insert(), rows[-1]).inserted_primary_key[0]
        return key[0] + len(rows), last_id, rows[-1]["timestamp"]
