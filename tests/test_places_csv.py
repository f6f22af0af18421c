"""CSV import/export, the demo region and synthetic generation."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot import db
from bot.__main__ import main
from bot.places import geo
from bot.places.csv_io import (
    COLUMNS,
    CsvImportError,
    export_csv,
    import_csv,
    parse_date,
    parse_hours,
    parse_weekdays,
)
from bot.places.generate import generate, load_demo
from bot.places.models import Availability, CareLocation, Organisation
from bot.places.search import search

TODAY = date(2025, 9, 1)
DEMO_REGION = {"Mechelen", "Bonheiden", "Sint-Katelijne-Waver", "Duffel", "Rumst", "Willebroek",
               "Zemst", "Boortmeerbeek", "Putte", "Lier", "Kampenhout"}
HEADER = ",".join(COLUMNS)


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'places.db'}"
    db.upgrade(url)
    yield url
    db.dispose_engine(url)


def _row(ref="t-1", **values) -> str:
    base = {"location_ref": ref, "name": f"{ref} (fictief)", "care_type": "groepsopvang",
            "pricing": "income_related", "postcode": "2800", "municipality": "Mechelen",
            "available_from": "2025-09-01", "places": "2", "fictional": "true"}
    base.update(values)
    out = io.StringIO()
    csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n").writerow(base)
    return out.getvalue()


def _export(url: str) -> str:
    out = io.StringIO()
    with db.session_scope(url) as session:
        export_csv(session, out)
    return out.getvalue()


def _counts(url: str) -> tuple[int, int]:
    with db.session_scope(url) as session:
        return (session.execute(select(func.count()).select_from(CareLocation)).scalar(),
                session.execute(select(func.count()).select_from(Availability)).scalar())


def test_parsers():
    assert parse_date("+30d", TODAY) == date(2025, 10, 1)
    assert parse_date("-7d", TODAY) == date(2025, 8, 25)
    assert parse_date("+2w", TODAY) == date(2025, 9, 15)
    assert parse_date("+5m", date(2025, 9, 30)) == date(2026, 2, 28)
    assert parse_date("today", TODAY) == TODAY
    assert parse_date("01/10/2025", TODAY) == date(2025, 10, 1)
    assert parse_date("2025-10-01", TODAY) == date(2025, 10, 1)
    with pytest.raises(ValueError):
        parse_date("31/02/2025", TODAY)
    assert parse_weekdays("ma-vr") == parse_weekdays("mon tue wed thu fri") == 0b0011111
    assert parse_weekdays("1,3,5") == 0b0010101
    assert parse_weekdays("za zo") == 0b1100000
    with pytest.raises(ValueError):
        parse_weekdays("someday")
    assert parse_hours("7:00 - 18:30") == "07:00-18:30"
    assert parse_hours("gesloten") is None
    with pytest.raises(ValueError):
        parse_hours("7 tot 6")


def test_demo_data_set():
    db.upgrade("sqlite://")  # a private in-memory database
    with db.session_scope("sqlite://") as session:
        result = load_demo(session, today=TODAY)
        locations = session.execute(select(CareLocation)).scalars().all()
        assert 25 <= len(locations) <= 40 and result.locations_created == len(locations)
        for location in locations:
            assert location.fictional and "(fictief)" in location.name
            assert location.municipality in DEMO_REGION
            assert geo.municipality_of(location.postcode) == location.municipality
            assert location.email.endswith("@example.org")
        assert {x.care_type for x in locations} >= {
            "gezinsopvang", "groepsopvang", "occasionele_opvang", "flexibele_opvang",
            "dringende_opvang", "inclusieve_opvang", "buitenschoolse_opvang"}
        assert {x.municipality for x in locations} == DEMO_REGION
        organisations = session.execute(select(Organisation)).scalars().all()
        assert all(o.fictional and "(fictief)" in o.name for o in organisations)
        # Relative dates: there is something free from the day the demo is loaded.
        assert search(session, municipality="Mechelen", start=TODAY, today=TODAY)
    db.dispose_engine("sqlite://")


def test_load_demo_is_idempotent_and_follows_the_calendar(url):
    with db.session_scope(url) as session:
        first = load_demo(session, today=TODAY)
    with db.session_scope(url) as session:
        again = load_demo(session, today=TODAY)
    assert (again.locations_created, again.locations_updated, again.availability_created,
            again.availability_updated, again.availability_deleted) == (0, 0, 0, 0, 0)
    assert again.locations_unchanged == first.locations_created
    before = _counts(url)
    with db.session_scope(url) as session:
        later = load_demo(session, today=TODAY + timedelta(days=10))
    assert _counts(url) == before
    assert later.availability_created == later.availability_deleted > 0
    with db.session_scope(url) as session:
        dates = session.execute(select(func.min(Availability.date_from))).scalar()
    assert dates == TODAY + timedelta(days=10)


def test_round_trip(url, tmp_path):
    with db.session_scope(url) as session:
        load_demo(session, today=TODAY)
    exported = _export(url)
    assert exported.splitlines()[0] == HEADER
    assert "+14d" not in exported and "2025-09-15" in exported  # absolute dates out
    path = tmp_path / "export.csv"
    path.write_text(exported, encoding="utf-8")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    db.upgrade(other)
    with db.session_scope(other) as session:
        import_csv(session, path)
    assert _export(other) == exported
    assert _counts(other) == _counts(url)
    db.dispose_engine(other)


def test_malformed_rows_are_reported_and_nothing_is_imported(url):
    with db.session_scope(url) as session:
        import_csv(session, io.StringIO(HEADER + "\n" + _row("keep")), today=TODAY)
    before = _export(url)
    text = (HEADER + "\n" + _row("a") + _row("b", care_type="creche")
            + _row("c", available_from="2025-02-30") + _row("d", places="-1")
            + _row("e", municipality="Atlantis") + _row("f", postcode="2570")
            + _row("g", weekdays="someday") + _row("h"))
    with db.session_scope(url) as session, pytest.raises(CsvImportError) as caught:
        import_csv(session, io.StringIO(text), today=TODAY)
    errors = caught.value.errors
    assert [(e.line, e.column) for e in errors] == [
        (3, "care_type"), (4, "available_from"), (5, "places"), (6, "municipality"),
        (7, "postcode"), (8, "weekdays")]
    assert "line 3, care_type" in str(caught.value)
    assert _export(url) == before  # not half-imported


def test_header_and_structure_errors(url):
    cases = [
        ("location_ref,name,kleur\n", (1, "kleur", "unknown_column")),
        ("location_ref,name\n", (1, "care_type", "missing_column")),
        (HEADER + "\n" + _row("x") + _row("x", name="Other name"),
         (3, "location_ref", "location_differs_from_line")),
        (HEADER + "\n" + _row("x") + _row("x"), (3, "available_from",
                                                 "duplicate_availability")),
        (HEADER + "\n" + _row("x").rstrip("\n") + ",extra\n", (2, None, "too_many_fields")),
        (HEADER + "\n" + _row("x", available_to="2025-08-01"), (2, "available_to",
                                                                 "ends_before_start")),
        (HEADER + "\n" + _row("x", min_age_months="40", max_age_months="12"),
         (2, "max_age_months", "age_range_reversed")),
    ]
    for text, expected in cases:
        with db.session_scope(url) as session, pytest.raises(CsvImportError) as caught:
            import_csv(session, io.StringIO(text), today=TODAY)
        first = caught.value.errors[0]
        assert (first.line, first.column, first.code) == expected, text
    assert _counts(url) == (0, 0)


def test_excel_style_file(url):
    """Semicolons, a byte-order mark, Belgian dates, Dutch weekdays and pricing words."""
    text = ("\ufefflocation_ref;name;care_type;pricing;postcode;municipality;hours_mon;"
            "available_from;available_to;weekdays;places\n"
            "x-1;Onthaalouder X (fictief);gezinsopvang;inkomenstarief;2860;"
            "Sint Katelijne Waver;6:30-18:00;01/09/2025;31/12/2025;ma-do;1\n"
            "x-2;Crèche Y (fictief);groepsopvang;vrije prijs;2800;mechelen;;;;;\n")
    with db.session_scope(url) as session:
        result = import_csv(session, io.StringIO(text), today=TODAY)
        assert (result.locations_created, result.availability_created) == (2, 1)
        first = session.execute(select(CareLocation).where(CareLocation.ref == "x-1")).scalar_one()
        assert (first.municipality, first.pricing, first.opens_early) == (
            "Sint-Katelijne-Waver", "income_related", True)
        slot = first.availability[0]
        assert (slot.date_to, slot.days_count) == (date(2025, 12, 31), 4)


def test_reimport_keeps_unchanged_rows_and_versions(url):
    text = HEADER + "\n" + _row("a") + _row("a", available_from="2025-10-01", places="1")
    with db.session_scope(url) as session:
        import_csv(session, io.StringIO(text), today=TODAY)
    changed = HEADER + "\n" + _row("a", places="3")
    with db.session_scope(url) as session:
        result = import_csv(session, io.StringIO(changed), today=TODAY)
        assert (result.availability_updated, result.availability_deleted) == (1, 1)
        slot = session.execute(select(Availability)).scalar_one()
        assert (slot.places, slot.version) == (3, 2)


def test_cli_import_export(url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BOT_DB_URL", url)
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n" + _row("a") + _row("b"), encoding="utf-8")
    assert main(["places", "import", str(good), "--json"]) == 0
    assert '"locations_created": 2' in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n" + _row("c") + _row("d", kind="sometimes"), encoding="utf-8")
    assert main(["places", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3" in err and "kind" in err
    assert main(["places", "export"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == HEADER and len(out.splitlines()) == 3
    target = tmp_path / "out.csv"
    assert main(["places", "export", str(target), "--json"]) == 0
    assert target.read_text(encoding="utf-8") == out
    assert main(["places", "load-demo", "--json"]) == 0
    assert main(["places", "import", str(tmp_path / "missing.csv")]) == 2


def test_generate(url, monkeypatch, capsys):
    with db.session_scope(url) as session:
        load_demo(session, today=TODAY)
        stats = generate(session, locations=300, seed=7, today=TODAY)
    assert stats["locations"] == 300 and stats["availability"] > 300
    first = _export(url)
    with db.session_scope(url) as session:
        generate(session, locations=300, seed=7, today=TODAY)  # replaces, same seed: same data
        assert session.execute(select(func.count()).select_from(CareLocation)).scalar() == 332
        generated = session.execute(select(CareLocation).where(
            CareLocation.ref.like("gen-%"))).scalars().all()
        assert all(x.fictional and "(fictief" in x.name for x in generated)
        assert all(geo.municipality_of(x.postcode) == x.municipality for x in generated)
        assert search(session, municipality="Antwerpen", start=TODAY, today=TODAY)
    assert _export(url) == first
    monkeypatch.setenv("BOT_DB_URL", url)
    assert main(["places", "generate", "--locations", "0", "--json"]) == 0
    assert _counts(url)[0] == 32  # the demo stays
