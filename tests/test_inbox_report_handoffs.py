"""The report's handoff figures (bot/handoff.py ``figures``): waiting time to the first claim
as p50/p90 (a release and a second claim do not reset it), outcomes, per worker, by month."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from test_inbox_helpers import csrf_of, running_inbox

from bot import db, handoff, i18n
from bot.handoff import AuditEntry, Handoff
from bot.inbox import report
from bot.intake.models import CareRequest


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    async with running_inbox(tmp_path, monkeypatch) as running:
        yield running


def test_percentile_is_nearest_rank() -> None:
    assert handoff.percentile([], 0.5) is None
    assert handoff.percentile([7], 0.9) == 7
    assert handoff.percentile([1, 2, 3, 4], 0.5) == 2
    assert handoff.percentile(list(range(1, 11)), 0.9) == 9
    assert handoff.percentile([10, 1, 5], 0.5) == 5


def _handoff(url: str, created: datetime, wait: int | None, status: str,
             outcome: str | None = None, worker: str = "ann") -> None:
    with db.session_scope(url) as s:
        h = Handoff(sender_id=f"fig-{created.isoformat()}-{wait}", channel="rest",
                    language="nl", status=status, urgent=False, reason="request",
                    paused=True, created_at=created, outcome=outcome,
                    claimed_by=worker if wait is not None else None)
        if wait is not None:
            h.first_claimed_at = h.claimed_at = created + timedelta(minutes=wait)
        s.add(h)
        if status in handoff.CLOSED_STATUSES:
            s.add(AuditEntry(at=created + timedelta(hours=1), worker=worker,
                             action="closed", target=h.sender_id, detail=outcome))


async def test_figures_by_month(inbox) -> None:
    march = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    for i, wait in enumerate((2, 4, 6, 8, 30)):
        _handoff(inbox.url, march + timedelta(minutes=i), wait, "closed",
                 "answered" if i < 3 else "referred", worker="ann" if i % 2 else "bert")
    _handoff(inbox.url, march, None, "waiting")
    _handoff(inbox.url, datetime(2026, 4, 2, tzinfo=timezone.utc), 90, "claimed")
    f = handoff.figures("2026-03", "2026-03")
    assert (f["handoffs"], f["claimed"], f["still_waiting"]) == (6, 5, 1)
    assert (f["wait_p50"], f["wait_p90"]) == (6, 30)
    assert f["outcomes"] == {"answered": 3, "referred": 2}
    assert f["workers"] == {"ann": {"finished": 2, "replies": 0},
                            "bert": {"finished": 3, "replies": 0}}
    assert handoff.figures("2026-04", "")["wait_p50"] == 90


async def test_a_second_claim_keeps_the_first_wait_and_the_page_shows_it(inbox) -> None:
    with db.session_scope(inbox.url) as s:
        hid = handoff.open_handoff(s, "fig-release", channel="rest", language="nl",
                                   reason="request", urgent=False, paused=True).id
        s.get(Handoff, hid).created_at = handoff.utcnow() - timedelta(minutes=12)
    await inbox.login("ann")
    token = await inbox.csrf()
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
    await inbox.client.post(f"/inbox/c/{hid}/release", data={"csrf": token})
    with db.session_scope(inbox.url) as s:
        first = s.get(Handoff, hid).first_claimed_at
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
    with db.session_scope(inbox.url) as s:
        assert s.get(Handoff, hid).first_claimed_at == first
    f = handoff.figures()
    assert f["claimed"] == 1 and 11.5 < f["wait_p50"] < 12.5
    page = await (await inbox.client.get("/inbox/report")).text()
    assert 'id="handoff-figures"' in page and "De helft binnen 12 min" in page


async def test_the_excel_csv_opens_right_in_belgian_excel(inbox) -> None:
    from bot.intake import store

    with db.session_scope(inbox.url) as s:
        r = store.start_draft(s, "web-excel", channel="rest", role="parent", language="nl")
        store.save_answer(s, r, "reason", "training")
        store.save_answer(s, r, "care_type", "groepsopvang")
        store.save_answer(s, r, "location", {"municipality": "Sint-Niklaas"})
        store.confirm(s, r)
    await inbox.login("ann")
    response = await inbox.client.get("/inbox/report-excel.csv")
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].count(";") == 5 and "," not in lines[0]
    assert "Opvangvorm;Groepsopvang;1;1;0;0" in lines  # labels, not codes
    assert "Reden;Opleiding;1;1;0;" in lines
    assert any(line.startswith("Gemeente;Sint-Niklaas;1;") for line in lines)


async def test_cross_table_by_municipality_care_type_reason_and_month(inbox) -> None:
    from bot.inbox import report
    from bot.intake import store
    from bot.places.unmet import record_unmet_need

    with db.session_scope(inbox.url) as s:
        for i, reasons in enumerate((["work"], ["work", "integration"], ["training"])):
            r = store.start_draft(s, f"web-cross-{i}", channel="rest", role="parent",
                                  language="nl")
            store.save_answer(s, r, "reason", reasons)
            store.save_answer(s, r, "care_type", "groepsopvang")
            store.save_answer(s, r, "location", {"municipality": "Gent"})
            store.confirm(s, r)
    record_unmet_need(url=inbox.url, care_type="groepsopvang", municipality="Gent",
                      child_age_months=5)
    cross = report.cross_table()
    (month,) = cross["months"]
    rows = dict(cross["rows"])
    assert rows[("Gent", "groepsopvang", "work")] == {month: (2, 2, 0)}  # two reasons: both
    assert rows[("Gent", "groepsopvang", "integration")] == {month: (1, 1, 0)}
    assert rows[("Gent", "groepsopvang", "unknown")] == {month: (0, 0, 1)}  # the search
    await inbox.login("ann")
    page = await (await inbox.client.get("/inbox/report")).text()
    assert 'id="cross"' in page and "<th scope=\"row\">Gent</th>" in page
    raw = await (await inbox.client.get("/inbox/report-cross.csv")).read()
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Gemeente;Opvangvorm;Reden;") and raw[:3] == b"\xef\xbb\xbf"
    assert "Gent;Groepsopvang;Werk;2;2;0" in lines


def _confirmed(url: str, sender: str, *, child: str, phone: str = "", status: str = "new",
               children: int = 1, birth: str = "2025-03-01") -> tuple[int, str]:
    from bot.intake import store

    with db.session_scope(url) as s:
        r = store.start_draft(s, sender, channel="rest", role="parent", language="nl")
        for field, value in (("child_name", child), ("child_birth", birth),
                             ("reason", ["work"]), ("care_type", "groepsopvang"),
                             ("location", {"municipality": "Gent"}), ("phone", phone)):
            store.save_answer(s, r, field, value)
        reference = store.confirm(s, r)
        row = s.get(CareRequest, r.id)
        row.status, row.children = status, children
        return r.id, reference


async def test_the_report_counts_as_opgroeien_counts(inbox) -> None:
    """One applicant and one child per request: the same family's two requests for Lea
    (the second by its social worker, the number written otherwise) are one; twins in one
    request are two; found care in another municipality and a place found are not
    unanswered. Page, Excel CSV and cross-table say the same."""
    _confirmed(inbox.url, "whatsapp:+32489112233", child="Lea", phone="0489 11 22 33")
    _confirmed(inbox.url, "web-toeleider", child="Léa", phone="+32 489/11.22.33",
               status="in_progress")
    _confirmed(inbox.url, "web-twins", child="Sara en Lina", children=2)
    _confirmed(inbox.url, "web-elsewhere", child="Noor", status="found_elsewhere")
    _confirmed(inbox.url, "web-placed", child="Bo", status="placed")
    data = report.build()
    assert (data["requests"], data["unanswered"]) == (5, 3)
    assert data["dimensions"]["municipality"] == [("Gent", 5, 3, 0, 0)]  # no free places
    cross = dict(report.cross_table()["rows"])
    (cell,) = cross[("Gent", "groepsopvang", "work")].values()
    assert cell == (5, 3, 0)
    await inbox.login("ann")
    page = await (await inbox.client.get("/inbox/report")).text()
    assert "5 aanvragen, waarvan 3 onbeantwoord" in page and 'id="counting"' in page
    lines = (await (await inbox.client.get("/inbox/report-excel.csv")).read()).decode(
        "utf-8-sig").splitlines()
    assert "Gemeente;Gent;5;3;0;0" in lines
    cross_lines = (await (await inbox.client.get("/inbox/report-cross.csv")).read()).decode(
        "utf-8-sig").splitlines()
    assert "Gent;Groepsopvang;Werk;5;3;0" in cross_lines


async def test_a_worker_sets_twins_and_care_found_elsewhere(inbox) -> None:
    sender = "webchat:" + "T" * 24
    with db.session_scope(inbox.url) as s:
        hid = handoff.open_handoff(s, sender, channel="rest", language="nl",
                                   reason="request", urgent=False, paused=True).id
    rid, reference = _confirmed(inbox.url, sender, child="Sara")
    await inbox.login("ann")
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert f"/inbox/requests/{rid}/children" not in page  # not hers yet
    assert (await inbox.client.post(f"/inbox/requests/{rid}/children", data={
        "csrf": csrf_of(page), "children": "2", "back": str(hid)})).status == 403
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": csrf_of(page)})
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert f"/inbox/requests/{rid}/children" in page
    assert 'value="found_elsewhere"' in page  # the status a worker can choose
    token = csrf_of(page)
    bad = await inbox.client.post(f"/inbox/requests/{rid}/children", data={
        "csrf": token, "children": "0", "back": str(hid)})
    assert bad.status == 400 and "Geef een aantal van 1 tot 9." in await bad.text()
    good = await inbox.client.post(f"/inbox/requests/{rid}/children", data={
        "csrf": token, "children": "2", "back": str(hid)}, allow_redirects=False)
    assert good.status == 303
    with db.session_scope(inbox.url) as s:
        assert s.get(CareRequest, rid).children == 2
        assert s.execute(select(AuditEntry.detail).where(
            AuditEntry.action == "children_changed")).scalar_one() == "1->2"
    assert "2 kinderen" in await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    form = {"csrf": token, "status": "found_elsewhere", "back": str(hid), "confirm": "1"}
    done = await inbox.client.post(f"/inbox/requests/{rid}/status", data=form,
                                   allow_redirects=False)
    assert done.status == 303
    assert ("events", sender, [{"event": "slot", "name": "request_update",
                                "value": f"{reference}:found_elsewhere"}]) in inbox.rasa.calls
    assert reference in i18n.t("request_update.found_elsewhere", "nl", reference=reference)
    data = report.build()
    assert (data["requests"], data["unanswered"]) == (2, 0)  # twins, care found elsewhere
