"""The tracker cache of ErasingTrackerStore (bot/rasa_ext/tracker_store.py) never hands out a
tracker that differs from what the database holds, on SQLite and on PostgreSQL: another
process's appends and deletes, an erasure and a new session all lead back to the database, and
the events it writes are exactly the ones Rasa's own SQLTrackerStore writes."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.rasa_ext.tracker_store import ErasingTrackerStore, erase_events

DOMAIN = Domain.from_dict({
    "intents": ["greet", "ask_price"],
    "slots": {"language": {"type": "text", "mappings": [{"type": "custom"}]}},
})
_clock = itertools.count(1_700_000_000)


def _restart_clock() -> None:
    global _clock
    _clock = itertools.count(1_700_000_000)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def _store(url: str, cls: type[SQLTrackerStore] = ErasingTrackerStore) -> SQLTrackerStore:
    parsed = make_url(url)
    return cls(DOMAIN, dialect=parsed.drivername, host=parsed.host, port=parsed.port,
               db=parsed.database, username=parsed.username, password=parsed.password)


@pytest.fixture
def stores(url: str) -> Iterator[tuple[ErasingTrackerStore, SQLTrackerStore]]:
    """Ours, and Rasa's plain store on the same database: another process."""
    ours, other = _store(url), _store(url, SQLTrackerStore)
    yield ours, other  # type: ignore[misc]
    ours.engine.dispose()
    other.engine.dispose()


def run(coro):
    return asyncio.run(coro)


def turn(tracker: DialogueStateTracker, said: str, intent: str = "greet",
         slot: str | None = None) -> None:
    """One user turn, as Rasa adds it to the tracker."""
    ts = float(next(_clock))
    events: list[Event] = [UserUttered(said, {"name": intent, "confidence": 1.0}, timestamp=ts)]
    if slot:
        events.append(SlotSet("language", slot, timestamp=ts + 0.1))
    events += [ActionExecuted("utter_x", timestamp=ts + 0.2),
               BotUttered(f"re: {said}", timestamp=ts + 0.3),
               ActionExecuted("action_listen", timestamp=ts + 0.4)]
    for event in events:
        tracker.update(event)


def new_conversation(store: SQLTrackerStore, sender: str) -> None:
    ts = float(next(_clock))
    tracker = DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_session_start", timestamp=ts),
        SessionStarted(timestamp=ts + 0.1),
        ActionExecuted("action_listen", timestamp=ts + 0.2),
    ], DOMAIN.slots)
    turn(tracker, "hallo", slot="nl")
    run(store.save(tracker))


def as_stored(store: SQLTrackerStore, sender: str) -> list[dict]:
    tracker = run(store.retrieve(sender))
    return [] if tracker is None else [e.as_dict() for e in tracker.events]


def same(a: DialogueStateTracker, b: DialogueStateTracker) -> bool:
    return ([e.as_dict() for e in a.events] == [e.as_dict() for e in b.events]
            and a.current_slot_values() == b.current_slot_values())


def test_a_saved_tracker_comes_back_from_memory_equal_to_the_database(stores) -> None:
    ours, other = stores
    new_conversation(ours, "s1")
    first = run(ours.retrieve("s1"))  # loaded: the first save was not a lent tracker
    turn(first, "hoeveel kost het", "ask_price", slot="fr")
    run(ours.save(first))
    hits = ours.cache_hits
    again = run(ours.retrieve("s1"))
    assert again is first and ours.cache_hits == hits + 1
    assert same(again, run(other.retrieve("s1")))
    assert again.get_slot("language") == "fr"


def test_writes_exactly_what_rasas_store_writes(url: str, tmp_path: Path) -> None:
    plain_url = f"sqlite:///{tmp_path / 'plain.db'}"
    ours, plain = _store(url), _store(plain_url, SQLTrackerStore)
    try:
        for store in (ours, plain):
            _restart_clock()  # the same timestamps in both
            new_conversation(store, "s1")
            for said in ("een", "twee", "drie"):
                tracker = run(store.retrieve("s1"))
                turn(tracker, said, slot=said)
                run(store.save(tracker))
        assert ours.cache_hits >= 2
        rows = []
        for store in (ours, plain):
            with store.engine.connect() as conn:
                rows.append([tuple(r) for r in conn.execute(text(
                    "SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                    "FROM events ORDER BY id"))])
        assert rows[0] == rows[1] and len(rows[0]) == 23
    finally:
        ours.engine.dispose()
        plain.engine.dispose()


def test_an_append_by_another_process_is_seen(stores) -> None:
    ours, other = stores
    new_conversation(ours, "s1")
    tracker = run(ours.retrieve("s1"))
    turn(tracker, "een")
    run(ours.save(tracker))
    theirs = run(other.retrieve("s1"))  # a second Rasa server answers the next message
    turn(theirs, "twee", slot="tr")
    run(other.save(theirs))
    misses, catch_ups = ours.cache_misses, ours.cache_catch_ups
    back = run(ours.retrieve("s1"))
    # only the other server's events are read and replayed on the cached tracker
    assert ours.cache_misses == misses and ours.cache_catch_ups == catch_ups + 1
    assert back.get_slot("language") == "tr"
    assert same(back, run(other.retrieve("s1")))
    turn(back, "drie")  # and it goes on as usual
    run(ours.save(back))
    assert same(run(ours.retrieve("s1")), run(other.retrieve("s1")))


def test_an_append_after_a_delete_is_a_reload(stores, url: str) -> None:
    """Another process deleted older events and others were added: counts do not add up."""
    ours, other = stores
    new_conversation(ours, "s1")
    tracker = run(ours.retrieve("s1"))
    turn(tracker, "een")
    run(ours.save(tracker))
    engine = create_engine(url)
    with engine.begin() as conn:
        first = conn.execute(text("SELECT min(id) FROM events WHERE sender_id = 's1'")).scalar()
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": first})
    engine.dispose()
    theirs = run(other.retrieve("s1"))
    turn(theirs, "twee", slot="tr")
    run(other.save(theirs))
    misses = ours.cache_misses
    back = run(ours.retrieve("s1"))
    assert ours.cache_misses == misses + 1
    assert same(back, run(other.retrieve("s1")))


@pytest.mark.parametrize("rewrite", [False, True])
def test_a_delete_by_another_process_is_seen(stores, url: str, rewrite: bool) -> None:
    """The retention purge or an erasure from the inbox deletes; with ``rewrite`` the sender
    then writes again as many events as before (SQLite gives them the same ids)."""
    ours, other = stores
    new_conversation(ours, "s1")
    tracker = run(ours.retrieve("s1"))
    turn(tracker, "een")
    run(ours.save(tracker))
    count = len(as_stored(other, "s1"))
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE sender_id = 's1'"))
    engine.dispose()
    if not rewrite:
        assert run(ours.retrieve("s1")) is None
        return
    new_conversation(other, "s1")
    fresh = run(other.retrieve("s1"))
    turn(fresh, "andere familie")
    run(other.save(fresh))
    assert len(as_stored(other, "s1")) == count
    back = run(ours.retrieve("s1"))
    assert back is not tracker and same(back, run(other.retrieve("s1")))


def test_erasure_drops_the_cached_tracker(stores) -> None:
    ours, other = stores
    new_conversation(ours, "s1")
    tracker = run(ours.retrieve("s1"))
    turn(tracker, "wis mijn gegevens")
    run(ours.save(tracker))
    assert "s1" in ours._cache
    assert erase_events(ours, "s1") > 0
    assert "s1" not in ours._cache
    assert run(ours.retrieve("s1")) is None and as_stored(other, "s1") == []


def test_a_lent_tracker_is_never_handed_out_twice(stores) -> None:
    ours, other = stores
    new_conversation(ours, "s1")
    first = run(ours.retrieve("s1"))
    second = run(ours.retrieve("s1"))  # e.g. a read while a turn is being handled
    assert second is not first and same(first, second)
    turn(first, "een")
    turn(second, "twee")  # not saved: must not leak into the cache
    run(ours.save(first))  # not the tracker lent last: Rasa's own save, no cache entry
    assert "s1" not in ours._cache
    back = run(ours.retrieve("s1"))
    assert same(back, run(other.retrieve("s1")))
    assert "twee" not in json.dumps([e.as_dict() for e in back.events])


def test_a_new_session_is_loaded_from_the_database(stores) -> None:
    ours, other = stores
    new_conversation(ours, "s1")
    tracker = run(ours.retrieve("s1"))
    ts = float(next(_clock))
    for event in (ActionExecuted("action_session_start", timestamp=ts),
                  SessionStarted(timestamp=ts + 0.1),
                  ActionExecuted("action_listen", timestamp=ts + 0.2)):
        tracker.update(event)
    turn(tracker, "weer daar")
    run(ours.save(tracker))
    back = run(ours.retrieve("s1"))
    assert back is not tracker
    assert same(back, run(other.retrieve("s1")))
    assert [e.text for e in back.events if isinstance(e, UserUttered)] == ["weer daar"]


def test_a_new_domain_empties_the_cache(stores) -> None:
    ours, _ = stores
    new_conversation(ours, "s1")
    tracker = run(ours.retrieve("s1"))
    run(ours.save(tracker))
    assert ours._cache
    ours.domain = DOMAIN
    assert not ours._cache


def test_the_cache_is_bounded(stores) -> None:
    ours, _ = stores
    ours.cache_size = 2
    for sender in ("a", "b", "c"):
        new_conversation(ours, sender)
        run(ours.save(run(ours.retrieve(sender))))
    assert list(ours._cache) == ["b", "c"]
    ours._cache["b"].used -= ours.cache_idle_s  # idle too long
    tracker = run(ours.retrieve("c"))
    assert tracker is not None and list(ours._cache) == ["c"]
