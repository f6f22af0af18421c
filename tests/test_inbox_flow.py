"""The inbox against a fake Rasa: queue, claim (one worker), reply through Rasa, handback,
close, request status updates, free places with a version check, report, web chat."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from test_inbox_helpers import csrf_of, running_inbox

from bot import db, handoff, i18n
from bot.handoff import AuditEntry, Handoff
from bot.inbox.texts import st
from bot.intake import store
from bot.intake.models import CareRequest
from bot.places.models import Availability, CareLocation, Organisation, UnmetNeed
from bot.places.unmet import record_unmet_need
from connectors import messages


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    async with running_inbox(tmp_path, monkeypatch) as running:
        yield running


def _open(url: str, sender: str, *, urgent: bool = False, paused: bool = True,
          language: str = "nl") -> int:
    with db.session_scope(url) as s:
        return handoff.open_handoff(s, sender, channel="rest", language=language,
                                    reason="crisis" if urgent else "request", urgent=urgent,
                                    paused=paused).id


def _audit(url: str) -> list[tuple[str | None, str, str | None]]:
    with db.session_scope(url) as s:
        return [(e.worker, e.action, e.detail) for e in
                s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]


async def test_queue_urgent_first_live_json(inbox) -> None:
    _open(inbox.url, "web-a")
    _open(inbox.url, "web-b", urgent=True)
    await inbox.login("ann")
    html = await (await inbox.client.get("/inbox")).text()
    assert html.index("/inbox/c/2") < html.index("/inbox/c/1")
    assert 'data-api="/inbox/api/queue?view=all"' in html and "/static/inbox.js" in html
    items = (await (await inbox.client.get("/inbox/api/queue")).json())["items"]
    assert [i["sender"] for i in items] == ["web-b", "web-a"]
    assert items[0]["urgent"] and items[0]["reason_label"]


async def test_one_worker_claims_the_other_sees_who(inbox) -> None:
    hid = _open(inbox.url, "web-c")
    await inbox.login("ann")
    response = await inbox.client.post(f"/inbox/c/{hid}/claim",
                                       data={"csrf": await inbox.csrf()}, allow_redirects=False)
    assert response.status == 303 and "msg=claimed" in response.headers["Location"]
    bert = await inbox.new_client()
    try:
        await inbox.login("bert", client=bert)
        page = await (await bert.get(f"/inbox/c/{hid}")).text()
        assert "ann heeft dit gesprek al opgenomen" in page
        assert 'id="reply"' not in page  # no reply box for bert
        token = csrf_of(page)
        refused = await bert.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
        assert refused.status == 409
        refused = await bert.post(f"/inbox/c/{hid}/reply", data={"csrf": token, "text": "hoi"})
        assert refused.status == 409
        state = await (await bert.get(f"/inbox/api/c/{hid}")).json()
        assert state["claimed_by"] == "ann"
    finally:
        await bert.close()
    assert not [c for c in inbox.rasa.calls if c[0] == "execute"]


async def test_conversation_page_shows_the_deep_link_and_a_block(inbox) -> None:
    """What the Telegram channel keeps on the contact (connectors/telegram.py): the link the
    family came through (which flyer or partner), and that the person blocked the bot."""
    sender = "telegram:7001"
    messages.record_inbound(messages.Inbound(
        channel="telegram", sender_id=sender, address="7001", external_id="7001-1",
        text="/start flyer-mechelen"), inbox.url)
    messages.set_started_from(sender, "flyer-mechelen", inbox.url)
    hid = _open(inbox.url, sender)
    await inbox.login("ann")
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert st("conversation.came_via", "nl", source="flyer-mechelen") in page
    assert "geblokkeerd" not in page
    messages.set_blocked(sender, "kicked", inbox.url)
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert st("conversation.blocked", "nl", since="").split(":")[0] in page


async def test_claim_pauses_a_conversation_the_bot_still_answers(inbox) -> None:
    hid = _open(inbox.url, "whatsapp:+32470000003", paused=False)
    await inbox.login("ann")
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": await inbox.csrf()})
    (call,) = [c for c in inbox.rasa.calls if c[0] == "events"]
    assert [e["event"] for e in call[2]] == ["active_loop", "slot", "pause"]
    assert inbox.rasa.paused["whatsapp:+32470000003"]
    with db.session_scope(inbox.url) as s:
        assert s.get(Handoff, hid).paused


async def test_reply_goes_through_rasa_and_shows_as_staff(inbox) -> None:
    sender = "whatsapp:+32470000001"
    inbox.rasa.say_family(sender, "mag ik iemand spreken")
    hid = _open(inbox.url, sender)
    inbox.rasa.paused[sender] = True
    await inbox.login("ann")
    token = await inbox.csrf()
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
    response = await inbox.client.post(f"/inbox/c/{hid}/reply",
                                       data={"csrf": token, "text": "Dag, ik help je."},
                                       allow_redirects=False)
    assert response.status == 303 and "msg=sent" in response.headers["Location"]
    events = [c for c in inbox.rasa.calls if c[1] == sender]
    assert events[0] == ("events", sender, [
        {"event": "slot", "name": "staff_text", "value": "Dag, ik help je."},
        {"event": "slot", "name": "staff_worker", "value": "ann"}])
    assert events[1] == ("execute", sender, {"name": "action_staff_say",
                                             "output_channel": "latest",
                                             "token": "fake-rasa-token"})
    assert len(events) == 2  # paused: no action_listen added
    transcript = (await (await inbox.client.get(f"/inbox/api/c/{hid}")).json())["transcript"]
    assert transcript[-1] == {"who": "staff", "worker": "ann", "text": "Dag, ik help je.",
                              "lang": "nl", "note": "", "time": transcript[-1]["time"]}
    assert ("ann", "sent", "sent") in _audit(inbox.url)
    empty = await inbox.client.post(f"/inbox/c/{hid}/reply", data={"csrf": token, "text": " "})
    assert empty.status == 400


async def test_reply_while_the_provider_is_down_is_queued(inbox) -> None:
    from connectors import messages

    sender = "sms:+32470000077"
    hid = _open(inbox.url, sender)
    # Twilio answers 503: the channel keeps the message queued and sends it later
    inbox.rasa.on_staff_say = lambda sid, text: messages.record_outbound(
        "sms", sid, sid[4:], text, messages.QUEUED, reason="provider_unavailable",
        url=inbox.url)
    await inbox.login("ann")
    token = await inbox.csrf()
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
    response = await inbox.client.post(f"/inbox/c/{hid}/reply",
                                       data={"csrf": token, "text": "Dag!"},
                                       allow_redirects=False)
    assert response.status == 303 and "msg=queued" in response.headers["Location"]
    page = await (await inbox.client.get(response.headers["Location"])).text()
    assert "vertrekt vanzelf" in page
    assert ("ann", "sent", "queued: provider_unavailable") in _audit(inbox.url)


async def test_reply_when_rasa_is_down_says_so(inbox, monkeypatch) -> None:
    hid = _open(inbox.url, "web-f")
    await inbox.login("ann")
    token = await inbox.csrf()
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")
    response = await inbox.client.post(f"/inbox/c/{hid}/reply",
                                       data={"csrf": token, "text": "hallo"})
    assert response.status == 502
    assert "niet verstuurd" in await response.text()
    assert ("ann", "sent", "failed: rasa") in _audit(inbox.url)


async def test_hand_back_tells_the_family_then_resumes(inbox) -> None:
    sender = "telegram:123456"
    hid = _open(inbox.url, sender)
    inbox.rasa.paused[sender] = True
    await inbox.login("ann")
    token = await inbox.csrf()
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
    bad = await inbox.client.post(f"/inbox/c/{hid}/finish",
                                  data={"csrf": token, "how": "hand_back", "outcome": "nonsense"})
    assert bad.status == 400
    data = {"csrf": token, "how": "hand_back", "outcome": "answered"}
    asked = await inbox.client.post(f"/inbox/c/{hid}/finish", data=data, allow_redirects=False)
    # first the question, with the words the family will read; nothing has happened yet
    assert asked.status == 200 and 'name="confirm" value="1"' in await asked.text()
    assert i18n.t("handoff.back", "nl") in await asked.text()
    assert not [c for c in inbox.rasa.calls if c[1] == sender and c[0] == "execute"]
    response = await inbox.client.post(f"/inbox/c/{hid}/finish", data={**data, "confirm": "1"},
                                       allow_redirects=False)
    assert response.status == 303
    calls = [c for c in inbox.rasa.calls if c[1] == sender]
    assert calls[0][0] == "execute" and calls[0][2]["name"] == "action_staff_handback"
    assert calls[1] == ("events", sender, [{"event": "resume"},
                                           {"event": "action", "name": "action_listen"}])
    assert not inbox.rasa.paused[sender]
    with db.session_scope(inbox.url) as s:
        h = s.get(Handoff, hid)
        assert (h.status, h.outcome, h.paused) == ("handed_back", "answered", False)
    assert ("ann", "handed_back", "answered") in _audit(inbox.url)
    queue = (await (await inbox.client.get("/inbox/api/queue")).json())["items"]
    assert not queue


async def test_close_with_outcome_resumes_silently(inbox) -> None:
    sender = "sms:+32470000002"
    hid = _open(inbox.url, sender)
    inbox.rasa.paused[sender] = True
    await inbox.login("ann")
    token = await inbox.csrf()
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
    await inbox.client.post(f"/inbox/c/{hid}/finish",
                            data={"csrf": token, "how": "close", "outcome": "referred",
                                  "confirm": "1"})
    assert not [c for c in inbox.rasa.calls if c[0] == "execute"]
    assert not inbox.rasa.paused[sender]
    with db.session_scope(inbox.url) as s:
        assert (s.get(Handoff, hid).status, s.get(Handoff, hid).outcome) == ("closed", "referred")
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert "afgesloten" in page and 'id="reply"' not in page


async def test_request_status_change_informs_the_family(inbox) -> None:
    sender = "webchat:" + "I" * 24
    hid = _open(inbox.url, sender)
    with db.session_scope(inbox.url) as s:
        request = store.start_draft(s, sender, channel="rest", role="parent", language="fr")
        store.save_answer(s, request, "child_name", "Lina")
        reference = store.confirm(s, request)
        rid = request.id
    await inbox.login("ann")
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert reference in page and "Lina" in page
    assert f"/inbox/requests/{rid}/status" not in page  # not hers yet: no status form
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": csrf_of(page)})
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert f"/inbox/requests/{rid}/status" in page
    form = {"csrf": csrf_of(page), "status": "in_progress", "back": str(hid)}
    confirm = await inbox.client.post(f"/inbox/requests/{rid}/status", data=form,
                                      allow_redirects=False)
    # first what the family will read, in its language; nothing changed or told yet
    assert confirm.status == 200
    assert i18n.t("request_update.in_progress", "fr", reference=reference) in \
        html.unescape(await confirm.text())
    with db.session_scope(inbox.url) as s:
        assert s.get(CareRequest, rid).status == "new"
    assert not [c for c in inbox.rasa.calls if c[1] == sender and c[0] == "execute"]
    response = await inbox.client.post(f"/inbox/requests/{rid}/status",
                                       data={**form, "confirm": "1"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith(f"/inbox/c/{hid}")
    with db.session_scope(inbox.url) as s:
        assert s.get(CareRequest, rid).status == "in_progress"
    calls = [c for c in inbox.rasa.calls if c[1] == sender]
    assert calls[0] == ("events", sender, [{"event": "slot", "name": "request_update",
                                            "value": f"{reference}:in_progress"}])
    assert calls[1][2]["name"] == "action_request_update"
    # not paused (the fake Rasa's view): the executed action is followed by action_listen
    assert calls[2] == ("events", sender, [{"event": "action", "name": "action_listen"}])
    assert ("ann", "status_changed", "new->in_progress") in _audit(inbox.url)
    bad = await inbox.client.post(f"/inbox/requests/{rid}/status",
                                  data={"csrf": csrf_of(page), "status": "draft"})
    assert bad.status == 400


def _availability(url: str) -> int:
    with db.session_scope(url) as s:
        org = Organisation(name="Org", fictional=True)
        loc = CareLocation(ref="loc-1", organisation=org, name="De Speelboom",
                           care_type="groepsopvang", pricing="income_related", postcode="9000",
                           municipality="Gent", fictional=True)
        row = Availability(location=loc, date_from=date.today() - timedelta(days=3), places=2,
                           kind="regular")
        s.add_all([org, loc, row])
        s.flush()
        return row.id


async def test_free_places_with_version_check(inbox) -> None:
    aid = _availability(inbox.url)
    admin = await inbox.new_client()
    try:
        await inbox.login("admin", client=admin)
        page = await (await admin.get("/inbox/admin/places")).text()
        assert "De Speelboom" in page
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        token = csrf_of(page)
        first = await admin.post(f"/inbox/admin/places/{aid}", allow_redirects=False, data={
            "csrf": token, "version": version, "places": "5"})
        assert first.status == 303
        # a second edit based on the same (now old) page: refused, nothing overwritten
        second = await admin.post(f"/inbox/admin/places/{aid}", data={
            "csrf": token, "version": version, "places": "0"})
        assert second.status == 409
        assert "intussen gewijzigd (nu 5)" in await second.text()
        invalid = await admin.post(f"/inbox/admin/places/{aid}", data={
            "csrf": token, "version": version, "places": "-1"})
        assert invalid.status == 400
    finally:
        await admin.close()
    with db.session_scope(inbox.url) as s:
        row = s.get(Availability, aid)
        assert (row.places, row.updated_by) == (5, "admin")
    assert ("admin", "places_updated", "2->5") in _audit(inbox.url)


async def test_report_counts_requests_and_unmet_needs(inbox) -> None:
    _availability(inbox.url)
    with db.session_scope(inbox.url) as s:
        for reason in ("work", "work", "training"):
            r = store.start_draft(s, f"web-r-{reason}-{id(s)}", channel="rest", role="parent",
                                  language="nl")
            store.save_answer(s, r, "reason", reason)
            store.save_answer(s, r, "care_type", "groepsopvang")
            store.save_answer(s, r, "child_birth", (date.today() - timedelta(days=400))
                              .isoformat())
            store.save_answer(s, r, "location", {"municipality": "Gent", "postcode": "9000"})
            store.confirm(s, r)
        store.start_draft(s, "web-draft", channel="rest", role="parent", language="nl")
    record_unmet_need(url=inbox.url, care_type="gezinsopvang", municipality="Gent",
                      child_age_months=5)
    await inbox.login("ann")
    html = await (await inbox.client.get("/inbox/report")).text()
    assert html.count("<svg") == 5
    assert "3 aanvragen, waarvan 3 onbeantwoord, en 1 zoekopdrachten zonder plaats" in html
    csv = await (await inbox.client.get("/inbox/report.csv")).text()
    lines = csv.splitlines()
    assert lines[0] == ("dimension,value,requests,unmet_needs,free_places_today,"
                        "unanswered_requests")
    assert "reason,work,2,0,,2" in lines
    assert "municipality,Gent,3,1,2,3" in lines
    assert "age_group,12_23,3,0,,3" in lines and "age_group,0_11,0,1,,0" in lines
    assert "care_type,groepsopvang,3,0,2,3" in lines
    with db.session_scope(inbox.url) as s:
        assert s.execute(select(UnmetNeed)).scalars().all()


async def test_web_chat_sends_and_polls_only_bot_texts(inbox) -> None:
    page = await inbox.client.get("/chat", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page.status == 200
    html_text = await page.text()
    assert '<html lang="en"' in html_text and "/static/webchat.js" in html_text
    assert '<html lang="ar" dir="rtl"' in await (await inbox.client.get("/chat?lang=ar")).text()
    sender, token = await inbox.chat()
    assert sender.removeprefix("webchat:") not in html_text  # the page never holds the id
    headers = {"X-Chat-Token": token}
    response = await inbox.client.post("/chat/send", json={"message": "hallo <b>"},
                                       headers=headers)
    data = await response.json()
    assert [m["text"] for m in data["messages"]] == ["echo: hallo <b>"]
    assert data["messages"][0]["buttons"] == [{"title": "Ja", "payload": "/affirm"}]
    assert inbox.rasa.calls[-1] == ("webhook", sender, "hallo <b>")
    after = data["at"]
    inbox.rasa.add(sender, {"event": "bot", "text": "Dag, ik ben Ann",
                            "metadata": {"staff": "ann"}})
    inbox.rasa.say_family(sender, "secret family text")
    polled = await (await inbox.client.get(f"/chat/poll?after={after}",
                                           headers=headers)).json()
    assert [(m["text"], m["staff"]) for m in polled["messages"]] == [("Dag, ik ben Ann", True)]
    assert "ann" not in str(polled)  # the worker's name stays at the loket
    assert polled["at"] > after
    # a page opened again (no ``after``): the conversation so far, the family's own too
    fresh = await (await inbox.client.get("/chat/poll", headers=headers)).json()
    assert fresh["history"] and fresh["at"] == polled["at"]
    assert [(m["text"], m["family"], m["staff"]) for m in fresh["messages"]][-2:] == [
        ("Dag, ik ben Ann", False, True), ("secret family text", True, False)]
    assert "ann" not in str(fresh)
    # a sender chosen by the caller is ignored: the cookie says whose conversation it is
    await inbox.client.post("/chat/send", json={"sender": "webchat:" + "B" * 24,
                                                "message": "x"}, headers=headers)
    assert inbox.rasa.calls[-1] == ("webhook", sender, "x")
    too_long = await inbox.client.post("/chat/send", json={"message": "x" * 1001},
                                       headers=headers)
    assert too_long.status == 400


async def test_language_per_user_and_per_request(inbox) -> None:
    await inbox.login("ann")
    assert "Wachtrij" in await (await inbox.client.get("/inbox")).text()
    assert "Queue" in await (await inbox.client.get("/inbox?lang=en")).text()
    await inbox.client.post("/inbox/language", data={"csrf": await inbox.csrf(),
                                                     "language": "en"})
    assert '<html lang="en"' in await (await inbox.client.get("/inbox")).text()
