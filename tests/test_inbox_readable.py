"""What the worker reads (bot/inbox/readable.py and the pages): taps as the words the family
saw, redaction notes in the worker's language, channel and language by name, numbers kept
left to right in Arabic, the family's last words and a waiting time that stops at the claim,
earlier conversations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from test_inbox_helpers import running_inbox

from bot import db, handoff
from bot.handoff import Handoff
from bot.inbox import readable
from bot.inbox.texts import st
from bot.redaction import BLANKED

TAP = '/inform{"intake_value":"\\"groepsopvang\\""}'


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    async with running_inbox(tmp_path, monkeypatch) as running:
        yield running


def test_a_tap_is_the_button_title_the_family_saw() -> None:
    lines = [{"who": "bot", "text": "Welke opvang?", "buttons": [
                 {"title": "Kinderdagverblijf", "payload": TAP},
                 {"title": "Onthaalouder", "payload": "/inform{\"intake_value\":\"x\"}"}]},
             {"who": "family", "text": TAP, "language": None},
             {"who": "family", "text": "/affirm", "language": "nl"},
             {"who": "family", "text": "/start flyer-mechelen", "language": "nl"}]
    shown = readable.readable(lines, "fr", "nl")
    assert shown[1]["shown"] == "Kinderdagverblijf" and shown[1]["note"] == "tapped"
    assert shown[1]["note_text"] == st("readable.tapped_label", "nl")
    assert shown[1]["lang"] == "fr"  # no detected language: the conversation's
    assert shown[2]["shown"] == "affirm" and shown[2]["note"] == "tapped"
    assert shown[3]["shown"] == "/start flyer-mechelen" and shown[3]["note"] is None
    # a payload no button explains shows its value, not JSON
    alone = readable.readable([{"who": "family", "text": TAP}], "nl", "en")
    assert alone[0]["shown"] == "groepsopvang"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_redaction_is_said_in_the_workers_language(lang: str) -> None:
    (line,) = readable.readable([{"who": "family", "text": BLANKED}], "ar", lang)
    assert line["shown"] == st("readable.redacted", lang) and line["note"] == "redacted"


def test_numbers_stay_left_to_right_and_text_is_escaped() -> None:
    out = readable.ltr_numbers("رقمي +32 489 11 22 33 <b>")
    assert out == 'رقمي <bdi dir="ltr">+32 489 11 22 33</bdi> &lt;b&gt;'
    assert readable.ltr_numbers("2 kinderen") == "2 kinderen"  # a short number is left


@pytest.mark.parametrize(("sender", "channel", "key"), [
    ("webchat:" + "A" * 24, "webchat", "webchat"), ("webchat:" + "A" * 24, "rest", "webchat"),
    ("whatsapp:+32470000001", "twilio", "whatsapp"), ("sms:+32470000001", "twilio", "sms"),
    ("telegram:1", "telegram", "telegram"), ("e2e-1", "rest", "rest")])
def test_channel_by_the_conversation_id(sender: str, channel: str, key: str) -> None:
    assert readable.channel_key(sender, channel) == key


async def test_queue_row_and_conversation_page_read_well(inbox) -> None:
    sender = "whatsapp:+32489112233"
    inbox.rasa.add(sender, {"event": "bot", "text": "Welke opvang?", "data": {"buttons": [
        {"title": "Kinderdagverblijf", "payload": TAP}]}})
    inbox.rasa.add(sender, {"event": "user", "text": TAP, "parse_data": {"entities": []}})
    inbox.rasa.add(sender, {"event": "user", "text": BLANKED, "parse_data": {}})
    inbox.rasa.add(sender, {"event": "user", "text": "رقمي 0489 11 22 33 من فضلك اتصلي بي",
                            "parse_data": {"entities": [{"entity": "detected_language",
                                                         "role": "guess", "value": "ar"}]}})
    with db.session_scope(inbox.url) as s:
        old = handoff.open_handoff(s, sender, channel="twilio", language="ar",
                                   reason="request", urgent=False, paused=True)
        old.status, old.outcome = "closed", "answered"
        s.flush()
        old_id = old.id
        hid = handoff.open_handoff(s, sender, channel="twilio", language="ar",
                                   reason="crisis", urgent=True, paused=True).id
        s.get(Handoff, hid).created_at = handoff.utcnow() - timedelta(minutes=30)
    await inbox.login("ann")
    items = (await (await inbox.client.get("/inbox/api/queue")).json())["items"]
    (item,) = items
    assert (item["channel_name"], item["language_name"]) == ("WhatsApp", "Arabisch")
    assert item["last"].startswith("رقمي 0489") and item["urgent"]
    assert item["waiting_text"] == "30 min"
    queue = await (await inbox.client.get("/inbox")).text()
    assert '<bdi dir="ltr">whatsapp:+32489112233</bdi>' in queue
    assert '<span class="last" dir="auto" lang="ar">رقمي <bdi dir="ltr">0489 11 22 33</bdi>' \
        in queue

    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert "intake_value" not in page and "Kinderdagverblijf" in page
    assert st("readable.tapped_label", "nl") in page
    assert st("readable.redacted", "nl") in page and BLANKED not in page
    assert re.search(r'<div class="text" dir="auto" lang="ar">رقمي <bdi dir="ltr">0489', page)
    assert page.count('dir="auto"') >= 4  # every message
    assert "Kanaal WhatsApp · taal Arabisch" in page
    assert f'href="/inbox/c/{old_id}"' in page  # the earlier conversation
    english = await (await inbox.client.get(f"/inbox/c/{hid}?lang=en")).text()
    assert st("readable.redacted", "en") in english

    # claimed: the waiting time stops
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": await inbox.csrf()})
    with db.session_scope(inbox.url) as s:
        s.get(Handoff, hid).created_at = handoff.utcnow() - timedelta(minutes=45)
        s.get(Handoff, hid).claimed_at = handoff.utcnow() - timedelta(minutes=5)
    (item,) = (await (await inbox.client.get("/inbox/api/queue")).json())["items"]
    assert item["waiting_text"] == st("readable.waited", "nl", n=40)
    lines = (await (await inbox.client.get(f"/inbox/api/c/{hid}")).json())["transcript"]
    assert lines[1] == {"who": "family", "worker": None, "text": "Kinderdagverblijf",
                        "lang": "ar", "note": st("readable.tapped_label", "nl"),
                        "time": lines[1]["time"]}


async def test_the_conversation_page_says_what_did_not_reach_the_family(inbox) -> None:
    from connectors import messages

    sender = "whatsapp:+32489112244"
    with db.session_scope(inbox.url) as s:
        hid = handoff.open_handoff(s, sender, channel="twilio", language="nl",
                                   reason="request", urgent=False, paused=True).id
    messages.record_outbound("whatsapp", sender, "whatsapp:+32489112244",
                             "Er is een plaats vrij in De Kleine Vos", messages.FAILED,
                             reason="undelivered", error_code="30005", reply_id="r1", part=0,
                             url=inbox.url)
    await inbox.login("ann")
    page = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert st("conversation.not_delivered", "nl") in page
    assert "Er is een plaats vrij in De Kleine Vos" in page
    assert st("delivery_problem.30005", "nl") in page
    quiet = "whatsapp:+32489112255"  # nothing failed: no box
    with db.session_scope(inbox.url) as s:
        other = handoff.open_handoff(s, quiet, channel="twilio", language="nl",
                                     reason="request", urgent=False, paused=True).id
    assert st("conversation.not_delivered", "nl") not in \
        await (await inbox.client.get(f"/inbox/c/{other}")).text()
