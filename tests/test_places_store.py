"""Schema, migrations and optimistic locking of the free-place store (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import db
from bot.places.models import Availability, CareLocation, Organisation, UnmetNeed
from bot.places.store import (
    ConcurrentUpdateError,
    PeriodError,
    UnknownAvailabilityError,
    change_period_dates,
    set_free_places,
    update_free_places,
)
from bot.places.unmet import record_unmet_need, unmet_summary

PLACES_TABLES = {"places_organisations", "places_locations", "places_availability",
                 "places_unmet_needs"}


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'places.db'}"
    yield url
    db.dispose_engine(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'places.db'}"
        yield url
        db.dispose_engine(url)
    else:
        yield request.getfixturevalue("pg_url")


def _places_diff(url: str) -> list:
    with db.get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.Base.metadata)
    return [d for d in diff if any(t in repr(d) for t in PLACES_TABLES)]


def test_upgrade_to_head_on_empty_database(any_url):
    db.upgrade(any_url)
    tables = set(inspect(db.get_engine(any_url)).get_table_names())
    assert PLACES_TABLES <= tables
    assert "alembic_version" in tables
    assert _places_diff(any_url) == []  # the migration builds exactly what the models say
    indexes = {i["name"] for i in inspect(db.get_engine(any_url)).get_indexes(
        "places_availability")}
    assert "ix_places_availability_search" in indexes


def test_downgrade_and_upgrade_again(any_url):
    db.upgrade(any_url)
    config = db.alembic_config()
    with db.get_engine(any_url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not PLACES_TABLES & set(inspect(db.get_engine(any_url)).get_table_names())
    db.dispose_engine(any_url)  # forget that it was upgraded
    db.upgrade(any_url)
    assert PLACES_TABLES <= set(inspect(db.get_engine(any_url)).get_table_names())


def test_missing_postgresql_binaries_are_an_error_not_a_skip(tmp_path, monkeypatch):
    import pg

    monkeypatch.setenv("PG_BIN", str(tmp_path))
    with pytest.raises(pg.PostgresUnavailable, match="apt-get install"):
        pg.find_bin_dir()


def test_sqlite_engine_settings(sqlite_url):
    with db.get_engine(sqlite_url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert db.get_engine(sqlite_url) is db.get_engine(sqlite_url)


def test_session_scope_commits_and_rolls_back(sqlite_url):
    db.upgrade(sqlite_url)
    with db.session_scope(sqlite_url) as session:
        session.add(Organisation(name="Org (fictief)", fictional=True))
    with pytest.raises(RuntimeError):
        with db.session_scope(sqlite_url) as session:
            session.add(Organisation(name="Other (fictief)", fictional=True))
            session.flush()
            raise RuntimeError("boom")
    with db.session_scope(sqlite_url) as session:
        names = session.execute(select(Organisation.name)).scalars().all()
    assert names == ["Org (fictief)"]


def _seed(url: str, places: int = 3) -> int:
    db.upgrade(url)
    with db.session_scope(url) as session:
        location = CareLocation(
            ref="t-1", name="Kinderdagverblijf Test (fictief)", care_type="groepsopvang",
            pricing="income_related", postcode="2800", municipality="Mechelen", fictional=True,
        )
        slot = Availability(date_from=date(2025, 9, 1), weekdays=0b0011111, places=places)
        location.availability.append(slot)
        session.add(location)
        session.flush()
        return slot.id


def test_model_defaults_version_and_cascade(any_url):
    slot_id = _seed(any_url)
    with db.session_scope(any_url) as session:
        slot = session.get(Availability, slot_id)
        assert (slot.version, slot.days_count, slot.kind) == (1, 5, "regular")
        slot.weekdays = 0b0000011
        session.flush()
        assert (slot.version, slot.days_count) == (2, 2)
    with db.session_scope(any_url) as session:
        session.delete(session.execute(select(CareLocation)).scalar_one())
    with db.session_scope(any_url) as session:
        assert session.execute(select(Availability)).first() is None


def test_update_with_version_check(any_url):
    slot_id = _seed(any_url)
    assert set_free_places(slot_id, 2, expected_version=1, updated_by="staff", url=any_url) == 2
    with pytest.raises(ConcurrentUpdateError) as caught:
        set_free_places(slot_id, 1, expected_version=1, url=any_url)  # saw an old version
    assert isinstance(caught.value, StaleDataError)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    with db.session_scope(any_url) as session:
        slot = session.get(Availability, slot_id)
        assert (slot.places, slot.version, slot.updated_by) == (2, 2, "staff")
    with pytest.raises(UnknownAvailabilityError):
        set_free_places(999_999, 1, url=any_url)
    with pytest.raises(ValueError):
        set_free_places(slot_id, -1, url=any_url)


def test_period_dates_change_with_the_stores_rules(sqlite_url):
    slot_id = _seed(sqlite_url)
    with db.session_scope(sqlite_url) as session:
        first = session.get(Availability, slot_id)
        other = Availability(location_id=first.location_id, date_from=date(2026, 1, 1),
                             date_to=date(2026, 6, 30), weekdays=0b0011111, places=1)
        urgent = Availability(location_id=first.location_id, date_from=date(2026, 1, 1),
                              date_to=date(2026, 6, 30), weekdays=0b0011111, places=1,
                              kind="urgent")
        session.add_all([other, urgent])
    with db.session_scope(sqlite_url) as session, pytest.raises(PeriodError) as caught:
        change_period_dates(session, slot_id, date(2026, 3, 1), date(2026, 2, 28),
                            expected_version=1)
    assert caught.value.code == "to_before_from"
    # the same dates, days and kind as another period of the location: the import would
    # take the two for one row
    with db.session_scope(sqlite_url) as session, pytest.raises(PeriodError) as caught:
        change_period_dates(session, slot_id, date(2026, 1, 1), date(2026, 6, 30),
                            expected_version=1)
    assert caught.value.code == "duplicate"
    with db.session_scope(sqlite_url) as session:  # overlapping is allowed, as elsewhere
        row = change_period_dates(session, slot_id, date(2026, 2, 1), date(2026, 2, 1),
                                  expected_version=1, updated_by="ann")
        assert row.version == 2
    with db.session_scope(sqlite_url) as session:
        row = session.get(Availability, slot_id)
        assert (row.date_from, row.date_to, row.places, row.updated_by) == (
            date(2026, 2, 1), date(2026, 2, 1), 3, "ann")
    with db.session_scope(sqlite_url) as session, pytest.raises(ConcurrentUpdateError):
        change_period_dates(session, slot_id, date(2026, 2, 1), None, expected_version=1)
    with db.session_scope(sqlite_url) as session:
        change_period_dates(session, slot_id, date(2026, 2, 1), None, expected_version=2)
        assert session.get(Availability, slot_id).date_to is None  # open ended again
    with db.session_scope(sqlite_url) as session, pytest.raises(UnknownAvailabilityError):
        change_period_dates(session, 999_999, date(2026, 2, 1), None, expected_version=1)


def test_interleaved_sessions_second_writer_fails(any_url):
    """Both read version 1; the first commits; the second's UPDATE matches no row."""
    slot_id = _seed(any_url)
    engine = db.get_engine(any_url)
    with Session(engine, future=True) as first, Session(engine, future=True) as second:
        # Held in variables: a session's identity map only keeps referenced objects.
        seen_first = first.get(Availability, slot_id)
        seen_second = second.get(Availability, slot_id)
        assert seen_first.version == seen_second.version == 1
        update_free_places(first, slot_id, 2, updated_by="first")
        first.commit()
        with pytest.raises(ConcurrentUpdateError):
            update_free_places(second, slot_id, 1, updated_by="second")
    with db.session_scope(any_url) as session:
        slot = session.get(Availability, slot_id)
        assert (slot.places, slot.version, slot.updated_by) == (2, 2, "first")
    # The version a person saw earlier (e.g. in a search result) guards just the same.
    with pytest.raises(ConcurrentUpdateError):
        set_free_places(slot_id, 0, expected_version=1, url=any_url)


def test_concurrent_threads_never_lose_an_update(any_url):
    slot_id = _seed(any_url)
    engine = db.get_engine(any_url)
    barrier = threading.Barrier(2, timeout=30)
    outcome: dict[str, object] = {}

    def worker(name: str, places: int) -> None:
        with Session(engine, future=True) as session:
            try:
                seen = session.get(Availability, slot_id)  # both read version 1 …
                assert seen.version == 1
                barrier.wait()  # … before either writes
                update_free_places(session, slot_id, places, updated_by=name)
                session.commit()
                outcome[name] = places
            except ConcurrentUpdateError as exc:
                outcome[name] = exc
            except Exception as exc:  # pragma: no cover - reported by the assertion below
                outcome[name] = repr(exc)

    threads = [threading.Thread(target=worker, args=(n, p)) for n, p in (("a", 1), ("b", 0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    winners = {n: v for n, v in outcome.items() if isinstance(v, int)}
    losers = [v for v in outcome.values() if isinstance(v, ConcurrentUpdateError)]
    assert len(winners) == 1 and len(losers) == 1, outcome
    with db.session_scope(any_url) as session:
        slot = session.get(Availability, slot_id)
        (winner, places), = winners.items()
        assert (slot.places, slot.version, slot.updated_by) == (places, 2, winner)


def test_record_unmet_need_and_summary(any_url):
    db.upgrade(any_url)
    first = record_unmet_need(care_type="groepsopvang", municipality="mechlen",
                              start=date(2025, 9, 1), child_birth_date=date(2025, 2, 15),
                              days_per_week=4, urgent=True, language="ar", url=any_url)
    with db.session_scope(any_url) as session:
        record_unmet_need(session, postcode="2800", care_type="groepsopvang")
        record_unmet_need(session, postcode="1030", care_type="no-such-type")
    with db.session_scope(any_url) as session:
        need = session.get(UnmetNeed, first)
        assert (need.municipality, need.child_age_months, need.urgent, need.language) == (
            "Mechelen", 6, True, "ar")
        summary = unmet_summary(session)
    assert summary[0]["municipality"] == "Mechelen"
    assert (summary[0]["needs"], summary[0]["urgent"]) == (2, 1)
    assert {"municipality": "Schaarbeek", "care_type": None} == {
        k: summary[1][k] for k in ("municipality", "care_type")}


def test_processes_starting_together_migrate_once(any_url, tmp_path):
    """Action server and Rasa server may both migrate a fresh database at the same moment."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = "from bot import db; db.upgrade()"
    env = {**os.environ, "BOT_DB_URL": any_url, "PYTHONPATH": root}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, cwd=root,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert _places_diff(any_url) == []
