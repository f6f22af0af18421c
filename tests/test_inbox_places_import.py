"""Free places imported from a CSV on the admin page: every line checked first, errors shown
line by line in the worker's language and nothing saved; a good file (also Excel's
semicolons) is imported and audited; workers cannot."""

from __future__ import annotations

from datetime import date

import pytest
from aiohttp import FormData
from sqlalchemy import select
from test_inbox_helpers import csrf_of, running_inbox

from bot import db
from bot.handoff import AuditEntry
from bot.inbox.texts import st
from bot.places.models import Availability, CareLocation
from bot.settings import ROOT

DEMO = (ROOT / "data" / "places" / "demo.csv").read_text(encoding="utf-8")


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    async with running_inbox(tmp_path, monkeypatch) as running:
        yield running


async def _upload(inbox, client, text: str, name: str = "plaatsen.csv"):
    token = csrf_of(await (await client.get("/inbox/admin/places")).text())
    form = FormData()
    form.add_field("csrf", token)
    form.add_field("file", text.encode("utf-8"), filename=name, content_type="text/csv")
    return await client.post("/inbox/admin/places/import", data=form)


def _counts(url: str) -> tuple[int, int]:
    with db.session_scope(url) as s:
        return (len(s.execute(select(CareLocation)).scalars().all()),
                len(s.execute(select(Availability)).scalars().all()))


async def test_a_bad_line_is_reported_and_nothing_is_saved(inbox) -> None:
    lines = DEMO.splitlines()
    bad = lines[1].replace(",groepsopvang,", ",kinderopvangding,")
    text = "\n".join([lines[0], lines[2], bad, lines[3]]) + "\n"
    await inbox.login("admin")
    response = await _upload(inbox, inbox.client, text)
    page = await response.text()
    assert response.status == 400
    assert st("places_import.failed", "nl", n=1) in page
    assert "<td>3</td><td>care_type</td>" in page  # the file's line 3
    assert st("places_import.code.unknown_care_type", "nl") in page
    assert "kinderopvangding" in page
    assert _counts(inbox.url) == (0, 0)


async def test_a_good_file_also_with_semicolons_is_imported_and_audited(inbox) -> None:
    await inbox.login("admin")
    response = await _upload(inbox, inbox.client, DEMO)
    page = await response.text()
    assert response.status == 200 and st("places_import.done", "nl") in page
    locations, periods = _counts(inbox.url)
    assert locations > 5 and periods > 5
    with db.session_scope(inbox.url) as s:
        (entry,) = s.execute(select(AuditEntry).where(
            AuditEntry.action == "places_imported")).scalars().all()
        assert entry.worker == "admin" and f"locations_created={locations}" in entry.detail
    # the same file from Belgian Excel: semicolons; nothing new, nothing lost
    excel = "\n".join(";".join(f'"{c}"' if ";" in c else c for c in line.split(","))
                      for line in DEMO.splitlines())
    again = await _upload(inbox, inbox.client, excel)
    assert again.status == 200, await again.text()
    assert _counts(inbox.url) == (locations, periods)


async def test_a_worker_cannot_import(inbox) -> None:
    await inbox.login("ann")
    page = await inbox.client.get("/inbox")
    form = FormData()
    form.add_field("csrf", csrf_of(await page.text()))
    form.add_field("file", DEMO.encode(), filename="x.csv", content_type="text/csv")
    response = await inbox.client.post("/inbox/admin/places/import", data=form)
    assert response.status == 403
    assert _counts(inbox.url) == (0, 0)


async def test_a_period_is_added_on_the_page_with_checks_per_field(inbox) -> None:
    await inbox.login("admin")
    await _upload(inbox, inbox.client, DEMO)
    with db.session_scope(inbox.url) as s:
        location = s.execute(select(CareLocation).order_by(CareLocation.id)).scalars().first()
        lid, before = location.id, len(location.availability)
    page = await (await inbox.client.get("/inbox/admin/places")).text()
    assert f'<option value="{lid}">' in page
    token = csrf_of(page)
    bad = await inbox.client.post("/inbox/admin/places/add", data={
        "csrf": token, "location": str(lid), "from": "2026-05-01", "to": "2026-04-01",
        "weekdays": "xyz", "places": "1000", "kind": "regular"})
    text = await bad.text()
    assert bad.status == 400
    for key in ("to_before_from", "weekdays", "places"):
        assert st(f"places_add.error.{key}", "nl") in text, key
    assert st("places_add.error.from", "nl") not in text
    assert 'value="xyz"' in text  # what she typed stays
    good = await inbox.client.post("/inbox/admin/places/add", data={
        "csrf": token, "location": str(lid), "from": "01/05/2026", "to": "",
        "weekdays": "ma wo vr", "places": "3", "kind": "occasional"}, allow_redirects=False)
    assert good.status == 303
    with db.session_scope(inbox.url) as s:
        rows = s.get(CareLocation, lid).availability
        assert len(rows) == before + 1
        new = max(rows, key=lambda a: a.id)
        assert (new.places, new.kind, new.weekdays, new.date_to, new.updated_by) == (
            3, "occasional", 0b10101, None, "admin")
        assert str(new.date_from) == "2026-05-01"


async def test_a_periods_dates_are_changed_on_the_page_with_checks(inbox) -> None:
    await inbox.login("admin")
    await _upload(inbox, inbox.client, DEMO)
    with db.session_scope(inbox.url) as s:
        a = s.execute(select(Availability).order_by(Availability.id)).scalars().first()
        aid, version, places, lid = a.id, a.version, a.places, a.location_id
        twin = Availability(location_id=lid, date_from=date(2030, 1, 1), weekdays=a.weekdays,
                            kind=a.kind, places=1)
        s.add(twin)
    listing = await (await inbox.client.get("/inbox/admin/places")).text()
    assert f'href="/inbox/admin/places/period?id={aid}"' in listing
    page = await (await inbox.client.get(f"/inbox/admin/places/period?id={aid}")).text()
    token = csrf_of(page)
    assert st("places_period.title", "nl") in page

    async def post(**fields: str):
        return await inbox.client.post("/inbox/admin/places/period", data={
            "csrf": token, "id": str(aid), "version": str(version), **fields},
            allow_redirects=False)

    cases = [({"from": "2031-05-01", "to": "2031-04-01"}, "to_before_from", 400),
             ({"from": "gisteren", "to": ""}, "from", 400),
             ({"from": "2030-01-01", "to": ""}, "duplicate", 400)]
    for fields, code, status in cases:
        response = await post(**fields)
        text = await response.text()
        assert response.status == status, code
        assert st(f"places_period.error.{code}", "nl") in text, code  # her language
        assert f'value="{fields["from"]}"' in text  # what she typed stays
    with db.session_scope(inbox.url) as s:
        assert s.get(Availability, aid).version == version  # nothing saved
    good = await post(**{"from": "01/09/2031", "to": "2032-06-30"})
    assert good.status == 303
    with db.session_scope(inbox.url) as s:
        a = s.get(Availability, aid)
        assert (str(a.date_from), str(a.date_to), a.places, a.updated_by) == (
            "2031-09-01", "2032-06-30", places, "admin")
        assert s.execute(select(AuditEntry).where(
            AuditEntry.action == "period_changed")).scalar_one().target == f"availability:{aid}"
    stale = await post(**{"from": "2031-10-01", "to": ""})  # the version she saw is old
    assert stale.status == 409
    assert st("places_period.error.conflict", "nl") in await stale.text()
    assert (await inbox.client.get("/inbox/admin/places/period?id=999999")).status == 404


async def test_a_worker_cannot_change_a_period(inbox) -> None:
    await inbox.login("ann")
    assert (await inbox.client.get("/inbox/admin/places/period?id=1",
                                   allow_redirects=False)).status == 403


LOCATION = {"location_ref": "mech-nieuw-1", "organisation": "Vzw Nieuw", "name": "De Uil",
            "care_type": "gezinsopvang", "pricing": "income_related",
            "address": "Uilstraat 3", "postcode": "2800", "municipality": "Mechelen",
            "phone": "", "email": "uil@example.org", "languages": "nl fr",
            "min_age_months": "0", "max_age_months": "36", "capacity": "8"}


async def test_a_location_is_added_and_edited_with_the_importers_checks(inbox) -> None:
    await inbox.login("admin")
    page = await (await inbox.client.get("/inbox/admin/places/location")).text()
    token = csrf_of(page)
    bad = await inbox.client.post("/inbox/admin/places/location", data={
        "csrf": token, **LOCATION, "postcode": "9000", "email": "geen-adres"})
    text = await bad.text()
    assert bad.status == 400
    assert st("places_import.code.postcode_of_other_municipality", "nl") in text
    assert st("places_import.code.bad_email", "nl") in text
    assert 'value="geen-adres"' in text  # what she typed stays
    assert _counts(inbox.url) == (0, 0)
    good = await inbox.client.post("/inbox/admin/places/location",
                                   data={"csrf": token, **LOCATION}, allow_redirects=False)
    assert good.status == 303
    with db.session_scope(inbox.url) as s:
        loc = s.execute(select(CareLocation)).scalar_one()
        lid = loc.id
        assert (loc.ref, loc.name, loc.capacity, loc.organisation.name) == (
            "mech-nieuw-1", "De Uil", 8, "Vzw Nieuw")
        loc.hours_mon = "07:00-18:00"  # as an import set it
    edit = await (await inbox.client.get(f"/inbox/admin/places/location?id={lid}")).text()
    assert 'value="De Uil"' in edit and "readonly" in edit
    changed = await inbox.client.post("/inbox/admin/places/location", data={
        "csrf": token, "id": str(lid), **LOCATION, "location_ref": "other-ref",
        "name": "De Wijze Uil", "capacity": "9"}, allow_redirects=False)
    assert changed.status == 303
    with db.session_scope(inbox.url) as s:
        loc = s.get(CareLocation, lid)
        assert (loc.ref, loc.name, loc.capacity, loc.hours_mon) == (
            "mech-nieuw-1", "De Wijze Uil", 9, "07:00-18:00")  # the key and hours stay
    assert (await inbox.client.get("/inbox/admin/places/location?id=999")).status == 404
