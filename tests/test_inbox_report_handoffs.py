"""The report's handoff figures (bot/handoff.py ``figures``): waiting time to the first claim
as p50/p90 (a release and a second claim do not reset it), outcomes, per worker, by month."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from test_inbox_helpers import running_inbox

from bot import db, handoff
from bot.handoff import AuditEntry, Handoff


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
    assert lines[0].count(";") == 4 and "," not in lines[0]
    assert "Opvangvorm;Groepsopvang;1;0;0" in lines  # labels, not codes
    assert "Reden;Opleiding;1;0;" in lines
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
    assert rows[("Gent", "groepsopvang", "work")] == {month: (2, 0)}  # two reasons: both
    assert rows[("Gent", "groepsopvang", "integration")] == {month: (1, 0)}
    assert rows[("Gent", "groepsopvang", "unknown")] == {month: (0, 1)}  # the unmet need
    await inbox.login("ann")
    page = await (await inbox.client.get("/inbox/report")).text()
    assert 'id="cross"' in page and "<th scope=\"row\">Gent</th>" in page
    raw = await (await inbox.client.get("/inbox/report-cross.csv")).read()
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Gemeente;Opvangvorm;Reden;") and raw[:3] == b"\xef\xbb\xbf"
    assert "Gent;Groepsopvang;Werk;2;0" in lines
