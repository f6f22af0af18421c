"""The handoff workflow (bot/handoff.py) through the inbox against a fake Rasa: release,
give to a colleague, an admin's take-over, claims nobody answers going back to the queue,
the queue's views and search, private notes, labels, closing with a message, and the
confirmation before hand back and close."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from test_inbox_helpers import csrf_of, running_inbox

from bot import db, handoff, i18n
from bot.handoff import AuditEntry, Handoff
from bot.inbox.texts import st
from bot.intake import store


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    async with running_inbox(tmp_path, monkeypatch) as running:
        yield running


def _open(url: str, sender: str, language: str = "nl", urgent: bool = False) -> int:
    with db.session_scope(url) as s:
        return handoff.open_handoff(s, sender, channel="whatsapp", language=language,
                                    reason="request", urgent=urgent, paused=True).id


def _row(url: str, hid: int) -> tuple[str, str | None]:
    with db.session_scope(url) as s:
        h = s.get(Handoff, hid)
        return h.status, h.claimed_by


def _actions(url: str) -> list[tuple[str | None, str, str | None]]:
    with db.session_scope(url) as s:
        return [(e.worker, e.action, e.detail) for e in
                s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]


async def _post(inbox, path: str, client=None, **data: str):
    client = client or inbox.client
    token = csrf_of(await (await client.get("/inbox")).text())
    return await client.post(path, data={"csrf": token, **data}, allow_redirects=False)


async def _expire(now, minutes=None):
    """In a thread, as the inbox's sweep runs it: it calls the fake Rasa on this loop."""
    return await asyncio.to_thread(handoff.expire_claims, now, minutes)


async def test_release_puts_it_back_and_the_bot_stays_paused(inbox) -> None:
    hid = _open(inbox.url, "whatsapp:+32470000101")
    inbox.rasa.paused["whatsapp:+32470000101"] = True
    await inbox.login("ann")
    await _post(inbox, f"/inbox/c/{hid}/claim")
    response = await _post(inbox, f"/inbox/c/{hid}/release")
    assert response.status == 303 and "msg=released" in response.headers["Location"]
    assert _row(inbox.url, hid) == ("waiting", None)
    assert inbox.rasa.paused["whatsapp:+32470000101"]  # still waiting for a person
    assert ("ann", "released", None) in _actions(inbox.url)
    # only the holder releases
    await _post(inbox, f"/inbox/c/{hid}/claim")
    bert = await inbox.new_client()
    try:
        await inbox.login("bert", client=bert)
        refused = await _post(inbox, f"/inbox/c/{hid}/release", client=bert)
        assert refused.status == 409
    finally:
        await bert.close()
    assert _row(inbox.url, hid) == ("claimed", "ann")


async def test_give_to_a_colleague_and_admin_take_over(inbox) -> None:
    hid = _open(inbox.url, "whatsapp:+32470000102")
    await inbox.login("ann")
    await _post(inbox, f"/inbox/c/{hid}/claim")
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert '<option value="bert">' in page and '<option value="ann">' not in page
    assert (await _post(inbox, f"/inbox/c/{hid}/reassign", to="nobody")).status == 400
    response = await _post(inbox, f"/inbox/c/{hid}/reassign", to="bert")
    assert response.status == 303
    assert _row(inbox.url, hid) == ("claimed", "bert")
    assert ("ann", "reassigned", "ann->bert") in _actions(inbox.url)
    # ann no longer holds it: no reply box, no take-over button for a worker
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert 'id="reply"' not in page and "/takeover" not in page
    assert (await _post(inbox, f"/inbox/c/{hid}/takeover")).status == 403
    admin = await inbox.new_client()
    try:
        await inbox.login("admin", client=admin)
        page = await (await admin.get(f"/inbox/c/{hid}")).text()
        assert f"/inbox/c/{hid}/takeover" in page
        assert (await _post(inbox, f"/inbox/c/{hid}/takeover", client=admin)).status == 303
        assert _row(inbox.url, hid) == ("claimed", "admin")
        assert ("admin", "taken_over", "bert") in _actions(inbox.url)
        page = await (await admin.get(f"/inbox/c/{hid}")).text()
        assert 'id="reply"' in page
    finally:
        await admin.close()


async def test_a_claim_nobody_answers_returns_and_the_family_is_told(inbox,
                                                                     monkeypatch) -> None:
    quiet = _open(inbox.url, "whatsapp:+32470000103", language="ar")
    answered = _open(inbox.url, "whatsapp:+32470000104")
    await inbox.login("ann")
    await _post(inbox, f"/inbox/c/{quiet}/claim")
    await _post(inbox, f"/inbox/c/{answered}/claim")
    now = handoff.utcnow()
    with db.session_scope(inbox.url) as s:  # both taken a quarter of an hour ago
        for hid in (quiet, answered):
            s.get(Handoff, hid).claimed_at = now - timedelta(minutes=15)
    await _post(inbox, f"/inbox/c/{answered}/reply", text="Ik ben er.")
    monkeypatch.setenv("INBOX_CLAIM_TIMEOUT_MINUTES", "20")
    assert await _expire(now) == []
    monkeypatch.setenv("INBOX_CLAIM_TIMEOUT_MINUTES", "10")
    lapsed = await _expire(now)
    assert [x.id for x in lapsed] == [quiet]
    assert _row(inbox.url, quiet) == ("waiting", None)
    assert _row(inbox.url, answered) == ("claimed", "ann")
    told = [e for e in inbox.rasa.events["whatsapp:+32470000103"] if e["event"] == "bot"]
    assert told[-1]["text"] == i18n.t("inbox_family.requeued", "ar")
    assert (None, "claim_expired", "ann") in _actions(inbox.url)
    # the reply counts from when it was sent: 11 minutes after it, that claim lapses too
    assert [x.id for x in await _expire(now + timedelta(minutes=22))] == [answered]
    monkeypatch.setenv("INBOX_CLAIM_TIMEOUT_MINUTES", "0")  # off
    await _post(inbox, f"/inbox/c/{quiet}/claim")
    assert await _expire(now + timedelta(days=1)) == []


async def test_views_and_search_by_name_reference_and_phone(inbox) -> None:
    mine = _open(inbox.url, "whatsapp:+32489112233")
    theirs = _open(inbox.url, "telegram:555")
    waiting = _open(inbox.url, "webchat:" + "W" * 24)
    done = _open(inbox.url, "sms:+32470000105")
    with db.session_scope(inbox.url) as s:
        r = store.start_draft(s, "telegram:555", channel="telegram", role="parent",
                              language="nl")
        store.save_answer(s, r, "child_name", "Zoë Janssens")
        store.save_answer(s, r, "phone", "+32470998877")
        r.reference, r.status = "KO-ABC234", "new"
    await inbox.login("ann")
    await _post(inbox, f"/inbox/c/{mine}/claim")
    await _post(inbox, f"/inbox/c/{done}/claim")
    await _post(inbox, f"/inbox/c/{done}/finish", how="close", outcome="answered", confirm="1")
    with db.session_scope(inbox.url) as s:
        handoff.claim(s, theirs, "bert")

    async def ids(**query: str) -> list[int]:
        data = await (await inbox.client.get("/inbox/api/queue", params=query)).json()
        return [i["id"] for i in data["items"]]

    assert sorted(await ids()) == sorted([mine, theirs, waiting])
    assert await ids(view="mine") == [mine]
    assert await ids(view="unassigned") == [waiting]
    assert await ids(view="closed") == [done]
    for query in ("0489 11 22 33", "+32 489/11.22.33", "0032489112233", "٠٤٨٩١١٢٢٣٣"):
        assert await ids(q=query) == [mine], query
    assert await ids(q="zoe") == [theirs]  # accents and case do not matter
    assert await ids(q="ko-abc234") == [theirs]
    assert await ids(q="0470 99 88 77") == [theirs]  # the phone of the snelfiche
    assert await ids(q="sms:+32470000105", view="closed") == [done]
    assert await ids(q="nobody at all") == []
    page = await (await inbox.client.get("/inbox", params={"view": "closed"})).text()
    assert 'href="/inbox?view=closed" aria-current="page"' in page
    assert f"/inbox/c/{done}" in page and f"/inbox/c/{mine}" not in page


async def test_notes_are_private_and_labels_show_in_the_queue(inbox) -> None:
    sender = "whatsapp:+32470000106"
    hid = _open(inbox.url, sender)
    await inbox.login("bert")  # not the holder: anyone at the loket may add a note
    assert (await _post(inbox, f"/inbox/c/{hid}/note", text="Belt terug na 14u")).status == 303
    assert (await _post(inbox, f"/inbox/c/{hid}/note", text="   ")).status == 400
    await _post(inbox, f"/inbox/c/{hid}/labels", labels="Tolk nodig, terugbellen, tolk nodig")
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert "Belt terug na 14u" in page and 'value="tolk nodig, terugbellen"' in page
    # never sent to the family, never in the audit detail
    assert not [c for c in inbox.rasa.calls if c[1] == sender]
    assert ("bert", "note_added", None) in _actions(inbox.url)
    queue = await (await inbox.client.get("/inbox")).text()
    assert '<span class="label">tolk nodig</span>' in queue
    items = (await (await inbox.client.get("/inbox/api/queue")).json())["items"]
    assert items[0]["labels"] == ["tolk nodig", "terugbellen"]
    assert "Belt terug" not in str(items)


async def test_close_asks_first_then_sends_the_message(inbox) -> None:
    sender = "whatsapp:+32470000107"
    hid = _open(inbox.url, sender)
    await inbox.login("ann")
    await _post(inbox, f"/inbox/c/{hid}/claim")
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    # the outcome is the worker's choice: the empty choice is the selected one
    select_html = re.search(r'<select name="outcome".*?</select>', page, re.S).group(0)
    assert '<option value="" selected>' in select_html
    assert select_html.count("selected") == 1
    asked = await _post(inbox, f"/inbox/c/{hid}/finish", how="close", outcome="referred",
                        message="Tot ziens, bel gerust het loket.")
    text = await asked.text()
    assert asked.status == 200 and st("workflow.confirm_close_title", "nl") in text
    assert "Tot ziens, bel gerust het loket." in text
    assert _row(inbox.url, hid) == ("claimed", "ann")
    done = await _post(inbox, f"/inbox/c/{hid}/finish", how="close", outcome="referred",
                       message="Tot ziens, bel gerust het loket.", confirm="1")
    assert done.status == 303 and _row(inbox.url, hid)[0] == "closed"
    bots = [e for e in inbox.rasa.events[sender] if e["event"] == "bot"]
    assert bots[-1]["text"] == "Tot ziens, bel gerust het loket."
    assert bots[-1]["metadata"] == {"staff": "ann"}
    assert not inbox.rasa.paused[sender]
