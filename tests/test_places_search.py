"""Search: filters and ranking on hand-made locations, the CLI contract, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot import db
from bot.__main__ import main
from bot.places.models import WORKDAYS, Availability, CareLocation
from bot.places.search import SearchError, age_in_months, search

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2025, 9, 1)  # a Monday
BABY = date(2025, 3, 1)  # 6 months on TODAY
MON_TUE = 0b0000011
ALL = 0b1111111


def _location(ref, municipality, postcode, *, care_type="groepsopvang",
              pricing="income_related", ages=(0, 36), slots=(), **extra) -> CareLocation:
    location = CareLocation(ref=ref, name=f"{ref} (fictief)", care_type=care_type,
                            pricing=pricing, postcode=postcode, municipality=municipality,
                            min_age_months=ages[0], max_age_months=ages[1], fictional=True,
                            **extra)
    for start, end, weekdays, places, kind in slots:
        location.availability.append(Availability(
            date_from=TODAY + timedelta(days=start),
            date_to=None if end is None else TODAY + timedelta(days=end),
            weekdays=weekdays, places=places, kind=kind))
    return location


def regular(start=0, end=None, weekdays=WORKDAYS, places=1):
    return (start, end, weekdays, places, "regular")


FIXTURE = [
    _location("mech-ikt", "Mechelen", "2800", slots=[regular(places=2), regular(40)]),
    _location("mech-free", "Mechelen", "2800", pricing="free_price", slots=[regular()]),
    _location("mech-later", "Mechelen", "2812", care_type="gezinsopvang",
              slots=[regular(44, weekdays=0b0001111)]),
    _location("mech-two-days", "Mechelen", "2801", care_type="gezinsopvang",
              slots=[regular(weekdays=MON_TUE)]),
    _location("mech-flex", "Mechelen", "2811", care_type="flexibele_opvang",
              opens_early=True, closes_late=True, weekend=True, languages="nl ar",
              slots=[regular(3, weekdays=ALL)]),
    _location("mech-too-late", "Mechelen", "2800", slots=[regular(180)]),
    _location("mech-ended", "Mechelen", "2800", slots=[regular(-90, -10)]),
    _location("mech-full", "Mechelen", "2800", slots=[regular(places=0)]),
    _location("mech-bso", "Mechelen", "2800", care_type="buitenschoolse_opvang",
              ages=(30, 144), slots=[regular(places=10)]),
    _location("mech-occasional", "Mechelen", "2800", care_type="occasionele_opvang",
              slots=[(0, 90, WORKDAYS, 3, "occasional")]),
    _location("mech-urgent", "Mechelen", "2800", care_type="dringende_opvang",
              slots=[(0, 30, WORKDAYS, 1, "urgent")]),
    _location("mech-inclusive", "Mechelen", "2812", care_type="inclusieve_opvang",
              inclusive=True, ages=(0, 48), slots=[regular(20)]),
    _location("mech-inactive", "Mechelen", "2800", active=False, slots=[regular()]),
    _location("mech-no-slots", "Mechelen", "2800"),
    _location("bonh-now", "Bonheiden", "2820", slots=[regular(places=4)]),
    _location("duff-soon", "Duffel", "2570", slots=[regular(8)]),
    _location("gent-now", "Gent", "9000", slots=[regular(places=5)]),
]


def _load(url: str) -> None:
    db.upgrade(url)
    with db.session_scope(url) as session:
        for location in FIXTURE:
            # Fresh copies: the same objects cannot live in two databases' sessions.
            copy = CareLocation(**{c.key: getattr(location, c.key)
                                   for c in CareLocation.__table__.columns if c.key != "id"})
            for slot in location.availability:
                copy.availability.append(Availability(
                    date_from=slot.date_from, date_to=slot.date_to, weekdays=slot.weekdays,
                    places=slot.places, kind=slot.kind))
            session.add(copy)


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('search') / 'places.db'}"
    _load(url)
    yield url
    db.dispose_engine(url)


def refs(url: str, **query) -> list[str]:
    query.setdefault("start", TODAY)
    query.setdefault("today", TODAY)
    with db.session_scope(url) as session:
        return [r["ref"] for r in search(session, limit=50, **query)]


def test_age_in_months():
    assert age_in_months(BABY, TODAY) == 6
    assert age_in_months(date(2025, 3, 2), TODAY) == 5
    assert age_in_months(date(2024, 2, 29), date(2025, 2, 28)) == 11


def test_default_search_filters_and_ranks(sqlite_url):
    found = refs(sqlite_url, municipality="Mechelen", child_birth_date=BABY)
    own = [r for r in found if r.startswith("mech-")]
    assert found[:len(own)] == own  # own municipality before neighbours
    assert found[len(own):] == ["bonh-now", "duff-soon"]  # then neighbours, earliest first
    assert set(own) == {"mech-ikt", "mech-free", "mech-two-days", "mech-flex", "mech-later",
                        "mech-inclusive"}
    # Earliest fit: free on the start date, then 3 days later, then weeks later.
    assert own.index("mech-flex") > max(own.index("mech-ikt"), own.index("mech-free"))
    assert own[-2:] == ["mech-inclusive", "mech-later"]


def test_result_fields(sqlite_url):
    with db.session_scope(sqlite_url) as session:
        first = search(session, municipality="mechelen", start=TODAY, today=TODAY, limit=1)[0]
    assert {"id", "name", "care_type", "pricing", "postcode", "municipality", "free_places",
            "available_from", "min_age_months", "max_age_months", "phone", "email", "address",
            "fictional", "distance_rank", "in_own_municipality", "availability_id",
            "version"} <= set(first)
    assert first["available_from"] == TODAY.isoformat()
    assert first["in_own_municipality"] is True and first["distance_rank"] == 0
    json.dumps(first)  # plain JSON values only


def test_one_result_per_location_with_its_earliest_slot(sqlite_url):
    with db.session_scope(sqlite_url) as session:
        results = search(session, municipality="Mechelen", start=TODAY, today=TODAY, limit=50)
    ikt = [r for r in results if r["ref"] == "mech-ikt"]
    assert len(ikt) == 1 and ikt[0]["available_from"] == TODAY.isoformat()
    assert ikt[0]["free_places"] == 2


def test_start_date_window(sqlite_url):
    later = TODAY + timedelta(days=40)
    found = refs(sqlite_url, municipality="Mechelen", start=later, care_type="gezinsopvang")
    assert found == ["mech-two-days", "mech-later"]  # covering the start, then 4 days after
    assert "mech-too-late" not in refs(sqlite_url, municipality="Mechelen")
    assert "mech-too-late" in refs(sqlite_url, municipality="Mechelen",
                                   start=TODAY + timedelta(days=150))
    assert "mech-ended" not in refs(sqlite_url, municipality="Mechelen")


def test_days_per_week(sqlite_url):
    found = refs(sqlite_url, municipality="Mechelen", days_per_week=3)
    assert "mech-two-days" not in found and "mech-later" in found
    assert refs(sqlite_url, municipality="Mechelen", days_per_week=5,
                include_neighbours=False, care_type="gezinsopvang") == []


def test_child_age(sqlite_url):
    baby = refs(sqlite_url, municipality="Mechelen", child_birth_date=BABY)
    assert "mech-bso" not in baby
    toddler = refs(sqlite_url, municipality="Mechelen", child_birth_date=date(2022, 5, 1))
    assert "mech-bso" in toddler and "mech-inclusive" in toddler  # 40 months: 30-144, 0-48
    assert "mech-ikt" not in toddler  # 0-36


def test_care_type_pricing_and_kinds(sqlite_url):
    assert refs(sqlite_url, municipality="Mechelen", care_type="flexibele_opvang") == [
        "mech-flex"]
    ikt = refs(sqlite_url, municipality="Mechelen", income_related=True)
    assert "mech-free" not in ikt and "mech-ikt" in ikt
    assert refs(sqlite_url, municipality="Mechelen", income_related=False,
                include_neighbours=False) == ["mech-free"]
    assert refs(sqlite_url, municipality="Mechelen", occasional=True) == ["mech-occasional"]
    assert refs(sqlite_url, municipality="Mechelen", care_type="occasionele_opvang") == [
        "mech-occasional"]
    assert refs(sqlite_url, municipality="Mechelen", inclusive=True) == ["mech-inclusive"]


def test_urgent_adds_urgent_places_within_a_month(sqlite_url):
    found = refs(sqlite_url, municipality="Mechelen", urgent=True, include_neighbours=False)
    assert "mech-urgent" in found and "mech-ikt" in found
    assert "mech-later" not in found  # 44 days away
    assert "mech-urgent" not in refs(sqlite_url, municipality="Mechelen")
    assert refs(sqlite_url, municipality="Mechelen", care_type="dringende_opvang") == [
        "mech-urgent"]


def test_preferences_outrank_a_few_days(sqlite_url):
    default = refs(sqlite_url, municipality="Mechelen", include_neighbours=False)
    assert default.index("mech-ikt") < default.index("mech-flex")
    early = refs(sqlite_url, municipality="Mechelen", include_neighbours=False, needs_early=True)
    assert early[0] == "mech-flex"  # 3 days later but opens early: same week, fits better
    arabic = refs(sqlite_url, municipality="Mechelen", include_neighbours=False, language="ar")
    assert arabic[0] == "mech-flex"
    free = refs(sqlite_url, municipality="Mechelen", prefer_pricing="free_price")
    assert free[0] == "mech-free"
    ikt = refs(sqlite_url, municipality="Mechelen", prefer_pricing="income_related")
    assert ikt.index("mech-ikt") < ikt.index("mech-free")


def test_area(sqlite_url):
    assert all(r.startswith("mech-") for r in refs(sqlite_url, municipality="Mechelen",
                                                   include_neighbours=False))
    by_postcode = refs(sqlite_url, postcode="2812")
    assert set(by_postcode) == set(refs(sqlite_url, municipality="Mechelen"))
    assert refs(sqlite_url, postcode="9000") == ["gent-now"]
    everywhere = refs(sqlite_url)
    assert "gent-now" in everywhere and "bonh-now" in everywhere
    assert refs(sqlite_url, municipality="Bonheiden")[0] == "bonh-now"
    assert "mech-ikt" in refs(sqlite_url, municipality="Bonheiden")  # Mechelen is a neighbour


def test_same_postcode_breaks_ties(sqlite_url):
    found = refs(sqlite_url, postcode="2801", care_type="gezinsopvang", days_per_week=2)
    assert found[0] == "mech-two-days"


def test_dates_as_iso_strings(sqlite_url):
    with db.session_scope(sqlite_url) as session:
        as_text = search(session, municipality="Mechelen", start="2025-09-01",
                         child_birth_date="2025-03-01", today=TODAY)
    assert [r["ref"] for r in as_text] == refs(sqlite_url, municipality="Mechelen",
                                                 child_birth_date=BABY)[:10]


def test_paging(sqlite_url):
    everything = refs(sqlite_url, municipality="Mechelen")
    with db.session_scope(sqlite_url) as session:
        pages = [search(session, municipality="Mechelen", start=TODAY, today=TODAY, limit=3,
                        offset=offset) for offset in range(0, len(everything), 3)]
    assert [r["ref"] for page in pages for r in page] == everything


@pytest.mark.parametrize(("query", "code"), [
    ({"municipality": "Atlantis"}, "unknown_municipality"),
    ({"postcode": "5000"}, "bad_postcode"),
    ({"care_type": "creche"}, "bad_care_type"),
    ({"days_per_week": 8}, "bad_days_per_week"),
    ({"child_birth_date": TODAY + timedelta(days=30)}, "start_before_birth"),
    ({"limit": 0}, "bad_limit"),
    ({"language": "a%"}, "bad_language"),
    ({"start": "2025-02-30"}, "bad_start"),
    ({"child_birth_date": "March"}, "bad_child_birth_date"),
])
def test_bad_input(sqlite_url, query, code):
    query = {"start": TODAY, **query}
    with db.session_scope(sqlite_url) as session, pytest.raises(SearchError) as caught:
        search(session, today=TODAY, **query)
    assert caught.value.code == code


def test_postgresql_gives_the_same_answers(sqlite_url, request):
    postgres = request.getfixturevalue("pg_url")
    _load(postgres)
    queries = [
        {"municipality": "Mechelen", "child_birth_date": BABY},
        {"postcode": "2812", "days_per_week": 3},
        {"municipality": "Mechelen", "urgent": True},
        {"municipality": "Mechelen", "needs_early": True, "language": "ar"},
        {"municipality": "Bonheiden", "prefer_pricing": "free_price"},
        {},
    ]
    for query in queries:
        assert refs(postgres, **query) == refs(sqlite_url, **query), query


# --- command line (contract §5) -----------------------------------------------------------


def _cli(monkeypatch, capsys, url, *argv) -> tuple[int, str, str]:
    monkeypatch.setenv("BOT_DB_URL", url)
    code = main(["places", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_search_json(sqlite_url, monkeypatch, capsys):
    code, out, _ = _cli(monkeypatch, capsys, sqlite_url, "search", "--json", "--municipality",
                        "mechlen", "--start", "2025-09-01", "--child-birth-date", "2025-03-01",
                        "--days-per-week", "3", "--care-type", "groepsopvang",
                        "--income-related", "--limit", "5", "--today", "2025-09-01")
    assert code == 0
    results = json.loads(out)
    assert isinstance(results, list) and 1 <= len(results) <= 5
    assert [r["name"] for r in results][:2] == ["mech-ikt (fictief)", "bonh-now (fictief)"]
    for item in results:
        assert item["care_type"] == "groepsopvang" and item["pricing"] == "income_related"
        date.fromisoformat(item["available_from"])


@pytest.mark.parametrize("argv", [
    ["--municipality", "Atlantis"],
    ["--start", "2025-13-01"],
    ["--start", "tomorrow"],
    ["--care-type", "creche"],
    ["--postcode", "5000"],
    ["--child-birth-date", "2030-01-01", "--start", "2025-09-01"],
])
def test_cli_search_bad_input(sqlite_url, monkeypatch, capsys, argv):
    monkeypatch.setenv("BOT_DB_URL", sqlite_url)
    try:
        code = main(["places", "search", "--json", *argv])
    except SystemExit as exc:  # argparse errors exit directly
        code = exc.code
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("error: ") and err.count("\n") == 1


def test_cli_in_a_real_process(sqlite_url):
    env = {**os.environ, "BOT_DB_URL": sqlite_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "places", "search", "--json", "--postcode", "2820",
         "--start", TODAY.isoformat(), "--limit", "3"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["municipality"] == "Bonheiden"
    bad = subprocess.run([sys.executable, "-m", "bot", "places", "search", "--json",
                          "--municipality", "Atlantis"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1
