"""The attacker's view of ``make serve``: each hole of issue 12 tried against the running
assistant (Twilio and Telegram on, against the fake APIs of tests/fakes/), and what already
held kept tested (escaping, CSP, CSRF, open redirects, role checks).

Someone on the same network, or another user of the same machine, tries to:
- run actions on the action server (erase a family's request, queue a fake handoff);
- reach any server through the machine's outside address;
- speak as a family on the REST channel (``whatsapp:+32…``) or as the web chat;
- have the bot talk in a Telegram group;
- get a reply queued before STOP delivered after it (or outside WhatsApp's window);
- lock colleagues out of the inbox, reuse a cookie after logout or a restart, change a
  request without holding the conversation, read transcripts unaudited;
- flood the web chat with new conversations and polls, post to it from another site;
- read a token in ``ps``.

The tests share one running assistant and run in file order: the login flood, which leaves
this machine's address throttled for 15 minutes, comes after the tests that sign in.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from attack import (
    Answer,
    Browser,
    action_call,
    command_lines,
    connects,
    csrf_of,
    descendants,
    listener_pid,
    outside_address,
    request,
    wait_until,
)
from fakes import FakeTelegram, FakeTwilio
from fakes.server import Scripted
from serving import GENERATED, Served, loket_file
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from bot import db, i18n
from bot.handoff import AuditEntry, Handoff
from bot.inbox import auth
from bot.intake import store
from bot.intake.models import CareRequest
from connectors import messages

pytestmark = pytest.mark.e2e

SID, TWILIO_TOKEN = "ACattack000000000000000000000000000", "tw-" + os.urandom(6).hex()
FROM_SMS, FROM_WHATSAPP = "+3225550200", "whatsapp:+3225550201"
BOT_TOKEN, TG_SECRET = "654321:attack-bot-token", "tg-" + os.urandom(6).hex()
PASSWORD = "a long staff password"
FAMILY = "+32470120001"  # a family with a snelfiche, on WhatsApp


@dataclass
class Target:
    served: Served  # make serve with its generated tokens (tests/serving.py)
    twilio: FakeTwilio
    telegram: FakeTelegram
    staff: dict[str, Browser] = field(default_factory=dict)

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self.served.proc is not None
        return self.served.proc

    @property
    def var(self) -> Path:
        return self.served.var

    @property
    def port(self) -> int:
        return self.served.port

    @property
    def action_port(self) -> int:
        return self.served.action_port

    @property
    def inbox_port(self) -> int:
        return self.served.inbox_port

    @property
    def base(self) -> str:
        return self.served.base

    @property
    def inbox(self) -> str:
        return self.served.inbox

    @property
    def db_url(self) -> str:
        return self.served.db_url

    def secret(self, name: str) -> str:
        return self.served.secret(name)

    def rest(self, sender: str, text: str, **extra: Any) -> Answer:
        return request("POST", f"{self.base}/webhooks/rest/webhook",
                       {"sender": sender, "message": text, **extra})

    def tracker(self, sender: str) -> dict[str, Any]:
        quoted = urllib.parse.quote(sender, safe=":+")
        answer = request("GET", f"{self.base}/conversations/{quoted}/tracker?token="
                         + self.secret("rasa_token"))
        assert answer.status == 200
        return answer.json()

    def user_events(self, sender: str) -> list[dict[str, Any]]:
        return [e for e in self.tracker(sender)["events"] if e["event"] == "user"]

    def bot_texts(self, sender: str) -> list[str]:
        return [e.get("text") or "" for e in self.tracker(sender)["events"]
                if e["event"] == "bot"]

    def twilio_message(self, number: str, body: str, channel: str = "sms") -> int:
        url = f"{self.base}/webhooks/twilio/webhook"
        params = {"MessageSid": f"SM{os.urandom(16).hex()}", "AccountSid": SID,
                  "From": f"whatsapp:{number}" if channel == "whatsapp" else number,
                  "To": FROM_WHATSAPP if channel == "whatsapp" else FROM_SMS, "Body": body,
                  "NumMedia": "0"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
        return request("POST", url, urllib.parse.urlencode(params).encode(), {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature}).status

    def telegram_update(self, update: dict[str, Any]) -> int:
        return request("POST", f"{self.base}/webhooks/telegram/webhook", update,
                       {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}).status

    def outbound(self, sender: str) -> list[dict[str, Any]]:
        return [r for r in messages.conversation(sender, self.db_url)
                if r["direction"] == messages.OUT]


@pytest.fixture(scope="module")
def target(serve_stack: Callable[..., Served],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    twilio = FakeTwilio(SID, TWILIO_TOKEN).start()
    telegram = FakeTelegram(BOT_TOKEN).start()
    var = tmp_path_factory.mktemp("attack-var")
    url = f"sqlite:///{var / 'bot.db'}"
    db.upgrade(url)
    with db.session_scope(url) as session:
        for name, role in (("ann", "worker"), ("bert", "worker"), ("admin", "admin")):
            auth.create_user(session, name, PASSWORD, role=role)
        draft = store.start_draft(session, f"whatsapp:{FAMILY}", channel="twilio",
                                  role="parent", language="nl")
        store.save_answer(session, draft, "child_name", "Yara")
        store.confirm(session, draft)
    db.dispose_engine(url)
    served = None
    try:
        # the tokens as a deployment has them: generated into the var folder, none given
        served = serve_stack(
            var, token=GENERATED, BOT_LOKET_FILE=str(loket_file(var, open_now=True)),
            CHANNEL_SWEEP_SECONDS="1", CHANNEL_RESEND_SECONDS="1",
            TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TWILIO_TOKEN, TWILIO_FROM_SMS=FROM_SMS,
            TWILIO_FROM_WHATSAPP=FROM_WHATSAPP, TWILIO_API_BASE=twilio.url,
            TELEGRAM_TOKEN=BOT_TOKEN, TELEGRAM_SECRET_TOKEN=TG_SECRET,
            TELEGRAM_API_BASE=telegram.url)
        running = Target(served, twilio, telegram)
        # each colleague signs in once at their own desk: their browsers are known
        for name in ("ann", "bert", "admin"):
            browser = Browser(running.inbox)
            assert browser.login(name, PASSWORD).status == 303
            running.staff[name] = browser
        yield running
    finally:
        if served is not None:
            served.stop()  # before the fakes it sends through
        twilio.stop()
        telegram.stop()


# --- 1. the action server ----------------------------------------------------------------


def test_the_action_server_runs_nothing_without_the_token(target: Target) -> None:
    webhook = f"http://127.0.0.1:{target.action_port}/webhook"
    family = f"whatsapp:{FAMILY}"
    for name in ("action_delete_my_data", "action_handoff"):
        for query in ("", "?token=", "?token=guess", f"?token={target.secret('rasa_token')}"):
            answer = request("POST", webhook + query, action_call(name, family))
            assert answer.status == 401, (name, query, answer.text)
    assert request("GET", f"http://127.0.0.1:{target.action_port}/actions").status == 401
    with db.session_scope(target.db_url) as session:  # nothing ran
        assert session.execute(select(CareRequest).where(
            CareRequest.sender_id == family)).scalars().all()
        assert not session.execute(select(Handoff).where(
            Handoff.sender_id == family)).scalars().all()
    # a browser page cannot call it either (no CORS), and /health tells nothing
    preflight = request("OPTIONS", webhook, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    health = request("GET", f"http://127.0.0.1:{target.action_port}/health")
    assert health.status == 200 and health.json() == {"status": "ok"}
    # Rasa itself still gets its actions run: it sends the token
    replies = target.rest("attack-actions-1", "welke soorten opvang zijn er?").json()
    assert replies and all(r.get("text") for r in replies)


def test_no_server_answers_on_the_outside_address(target: Target) -> None:
    address = outside_address()
    for port in (target.port, target.action_port, target.inbox_port):
        assert connects("127.0.0.1", port)
        assert not connects(address, port), f"{address}:{port} accepts connections"


# --- 2. the REST channel and the web chat's channel -----------------------------------------


def test_rest_refuses_to_speak_as_a_family_of_another_channel(target: Target) -> None:
    family = f"whatsapp:{FAMILY}"
    assert target.twilio_message(FAMILY, "hallo", "whatsapp") == 200
    wait_until(lambda: target.user_events(family))
    before = len(target.tracker(family)["events"])
    for sender in (family, f"sms:{FAMILY}", "telegram:424242", "webchat:" + "A" * 24,
                   f"WhatsApp:{FAMILY}", f" whatsapp:{FAMILY}", "twilio:x"):
        for text in ("ik wil verder met mijn inschrijving", "verwijder mijn gegevens"):
            answer = target.rest(sender, text)
            assert answer.status == 403, (sender, answer.text)
            assert answer.json() == {"error": "sender_of_another_channel"}
    assert len(target.tracker(family)["events"]) == before
    assert not target.user_events(f"sms:{FAMILY}")
    with db.session_scope(target.db_url) as session:
        assert session.execute(select(CareRequest).where(
            CareRequest.sender_id == family)).scalars().all()


def test_rest_chooses_its_input_channel_and_drops_metadata(target: Target) -> None:
    sender = "attack-spoof-1"
    answer = target.rest(sender, "hallo", input_channel="twilio",
                         metadata={"message_store_id": 1, "channel": "whatsapp"})
    assert answer.status == 200
    (event,) = target.user_events(sender)
    assert event["input_channel"] == "rest"
    metadata = event.get("metadata") or {}
    assert "message_store_id" not in metadata and "channel" not in metadata
    for body in (b"not json", b"[]", b'{"message": "hallo"}', b'{"sender": 5}'):
        assert request("POST", f"{target.base}/webhooks/rest/webhook", body,
                       {"Content-Type": "application/json"}).status == 400


def test_the_web_chats_channel_is_for_the_inbox_only(target: Target) -> None:
    url = f"{target.base}/webhooks/webchat/webhook"
    sender = "webchat:" + "Z" * 24
    assert request("POST", url, {"sender": sender, "message": "hallo"}).status == 401
    assert request("POST", url, {"sender": sender, "message": "hallo"},
                   {"Authorization": "Bearer guess"}).status == 401
    token = {"Authorization": f"Bearer {target.secret('rasa_token')}"}
    assert request("POST", url, {"sender": f"whatsapp:{FAMILY}", "message": "x"},
                   token).status == 400
    assert not target.user_events(sender)
    assert request("GET", f"{target.base}/conversations/{sender}/tracker").status == 401


# --- 3. Telegram groups ------------------------------------------------------------------


def _group_update(chat_id: int, text: str, n: int, chat_type: str = "supergroup") -> dict:
    return {"update_id": 900_000 + n, "message": {
        "message_id": n, "date": int(time.time()), "text": text,
        "chat": {"id": chat_id, "type": chat_type, "title": "Ouders Mechelen"},
        "from": {"id": 7000 + n, "is_bot": False, "first_name": "Ouder",
                 "language_code": "fr"}}}


def test_a_telegram_group_gets_one_pointer_and_no_conversation(target: Target) -> None:
    group = -1001234567
    texts = ["/start", "ik wil mijn kind inschrijven", "mijn dochter heeft epilepsie"]
    for n, text in enumerate(texts):
        assert target.telegram_update(_group_update(group, text, n)) == 200
    sent = target.telegram.wait_sent(group, 1)
    time.sleep(2)  # nothing more comes
    assert [m["text"] for m in target.telegram.sent(group)] == [
        i18n.t("telegram_group.private_only", "fr")]
    assert messages.conversation(f"telegram:{group}", target.db_url) == []
    assert not target.user_events(f"telegram:{group}")
    assert "epilepsie" not in json.dumps(sent)
    # a tap on a button in a group, a plain group: no conversation either
    tap = {"update_id": 900_100, "callback_query": {
        "id": "q-group", "chat_instance": "c", "data": "/start_intake",
        "from": {"id": 7001, "is_bot": False, "first_name": "Ouder"},
        "message": {"message_id": 1, "date": 0, "chat": {"id": group, "type": "supergroup"}}}}
    assert target.telegram_update(tap) == 200
    assert target.telegram_update(_group_update(-4242, "hallo", 50, "group")) == 200
    assert target.telegram.wait_sent(-4242, 1)
    assert not target.user_events(f"telegram:{group}")
    # a private chat is still a conversation
    private = 777001
    assert target.telegram_update({"update_id": 900_200, "message": {
        "message_id": 1, "date": int(time.time()), "text": "hallo",
        "chat": {"id": private, "type": "private"},
        "from": {"id": private, "is_bot": False, "first_name": "Ouder"}}}) == 200
    assert target.telegram.wait_sent(private, 1)


# --- 4. STOP and the WhatsApp window hold for queued replies ------------------------------


def _queued(target: Target, sender: str) -> list[dict[str, Any]]:
    """Parts queued for a later try (not one still in its first provider call: ``sending``)."""
    return [r for r in target.outbound(sender)
            if r["status"] == messages.QUEUED and r["reason"] != messages.SENDING]


def test_a_reply_queued_before_stop_never_reaches_the_family(target: Target) -> None:
    number = "+32470120002"
    sender = f"sms:{number}"
    assert target.twilio_message(number, "hallo") == 200
    assert target.twilio.wait_delivered(number, 1)
    time.sleep(1.5)
    target.twilio.outage(Scripted(503, {"code": 20503, "message": "down", "status": 503}))
    try:
        assert target.twilio_message(number, "welke soorten opvang zijn er?") == 200
        assert wait_until(lambda: _queued(target, sender), timeout=60)
        assert target.twilio_message(number, "STOPPEN") == 200
        # a STOP counts from the moment it is stored
        assert wait_until(lambda: messages.is_opted_out(number, target.db_url), timeout=5)
        wait_until(lambda: any(r["kind"] == "confirmation" for r in target.outbound(sender)),
                   timeout=60)
        delivered = len(target.twilio.delivered(number))
    finally:
        target.twilio.outage(None)
    assert wait_until(lambda: not _queued(target, sender), timeout=30)
    after = target.twilio.delivered(number)[delivered:]
    assert after == [i18n.t("channel.optout_confirm", "nl")]  # the confirmation only
    held = [r for r in target.outbound(sender) if r["status"] == messages.NOT_SENT]
    assert held and {r["reason"] for r in held} == {"opted_out"}


def test_a_reply_queued_inside_the_whatsapp_window_is_not_sent_outside_it(
        target: Target) -> None:
    number = "+32470120003"
    sender = f"whatsapp:{number}"
    assert target.twilio_message(number, "hallo", "whatsapp") == 200
    assert target.twilio.wait_delivered(sender, 1)
    time.sleep(1.5)
    target.twilio.outage(Scripted(503, {"code": 20503, "message": "down", "status": 503}))
    try:
        assert target.twilio_message(number, "welke soorten opvang zijn er?", "whatsapp") \
            == 200
        assert wait_until(lambda: _queued(target, sender), timeout=60)
        with db.session_scope(target.db_url) as session:  # the family wrote a day ago
            session.execute(update(messages.ChannelContact)
                            .where(messages.ChannelContact.sender_id == sender)
                            .values(last_inbound_at=messages.utcnow() - timedelta(hours=25)))
        delivered = len(target.twilio.delivered(sender))
    finally:
        target.twilio.outage(None)
    assert wait_until(lambda: not _queued(target, sender), timeout=30)
    assert len(target.twilio.delivered(sender)) == delivered
    held = [r for r in target.outbound(sender) if r["status"] == messages.NOT_SENT]
    assert held and {r["reason"] for r in held} == {"outside_24h_window"}


# --- 5. the inbox ------------------------------------------------------------------------


def _handoff_for(target: Target, sender: str) -> int:
    assert target.rest(sender, "hallo").status == 200
    assert target.rest(sender, "ik wil met iemand van het loket spreken").status == 200
    with db.session_scope(target.db_url) as session:
        return session.execute(select(Handoff.id).where(
            Handoff.sender_id == sender)).scalar_one()


def test_a_request_changes_only_in_the_holders_hands_and_after_a_confirmation(
        target: Target) -> None:
    sender = "attack-status-1"
    hid = _handoff_for(target, sender)
    with db.session_scope(target.db_url) as session:
        request_row = store.start_draft(session, sender, channel="rest", role="parent",
                                        language="nl")
        store.save_answer(session, request_row, "child_name", "Mila")
        reference = store.confirm(session, request_row)
        rid = request_row.id
    told = i18n.t("request_update.placed", "nl", reference=reference)
    bert, ann = target.staff["bert"], target.staff["ann"]
    form = {"status": "placed", "back": str(hid)}
    for confirm in ("", "1"):
        answer = bert.post(f"/inbox/requests/{rid}/status",
                           {**form, "confirm": confirm, "csrf": bert.csrf()})
        assert answer.status == 403
    assert ann.post(f"/inbox/c/{hid}/claim", {"csrf": ann.csrf()}).status == 303
    page = ann.post(f"/inbox/requests/{rid}/status", {**form, "csrf": ann.csrf()})
    assert page.status == 200 and "Mila" not in page.text
    with db.session_scope(target.db_url) as session:
        assert session.get(CareRequest, rid).status == "new"
    assert told not in target.bot_texts(sender)  # the family is not told before the click
    done = ann.post(f"/inbox/requests/{rid}/status",
                    {**form, "confirm": "1", "csrf": csrf_of(page.text)})
    assert done.status == 303
    with db.session_scope(target.db_url) as session:
        assert session.get(CareRequest, rid).status == "placed"
    assert told in target.bot_texts(sender)


def test_every_transcript_read_is_audited(target: Target) -> None:
    sender = "attack-read-1"
    hid = _handoff_for(target, sender)
    bert = target.staff["bert"]
    data = bert.get(f"/inbox/api/c/{hid}").json()
    assert [line["text"] for line in data["transcript"] if line["who"] == "family"] == [
        "hallo", "ik wil met iemand van het loket spreken"]
    with db.session_scope(target.db_url) as session:
        reads = session.execute(select(AuditEntry.worker, AuditEntry.detail).where(
            AuditEntry.action == "transcript_read", AuditEntry.target == sender)).all()
    assert [tuple(r) for r in reads] == [
        ("bert", f"api: lines 1-{len(data['transcript'])}")]


def test_what_already_held_still_holds(target: Target) -> None:
    sender = "attack-xss-1"
    hid = _handoff_for(target, sender)
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    target.rest(sender, evil)
    ann, bert = target.staff["ann"], target.staff["bert"]
    page = ann.get(f"/inbox/c/{hid}")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    for answer in (page, ann.get("/inbox"), request("GET", f"{target.inbox}/chat")):
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"
    # CSRF: a post without the session's token, or with another session's, changes nothing
    for token in ("", "0" * 64, bert.csrf()):
        assert ann.post(f"/inbox/c/{hid}/claim", {"csrf": token}).status == 403
    with db.session_scope(target.db_url) as session:
        assert session.get(Handoff, hid).status == "waiting"
    # no open redirect after login
    # (a known browser: the login flood further down leaves unknown ones throttled)
    browser = Browser(target.inbox, target.staff["admin"].jar)
    for evil_next in ("//evil.example/", "https://evil.example/", "/\\evil.example",
                      "javascript:alert(1)"):
        answer = browser.login("admin", PASSWORD, next_=evil_next)
        assert answer.status == 303
        location = answer.headers["Location"]
        assert location.startswith("/inbox") and "evil" not in location, location
    # a worker is not an admin
    assert bert.get("/inbox/admin/users").status == 403
    assert bert.get("/inbox/admin/family").status == 403
    assert bert.post("/inbox/admin/users", {"csrf": bert.csrf(), "username": "mallory",
                                            "password": "x" * 20, "role": "admin"}).status \
        == 403
    assert request("GET", f"{target.inbox}/inbox/api/queue").status == 401


def test_the_web_chat_keeps_its_id_and_refuses_other_sites(target: Target) -> None:
    family = Browser(target.inbox)
    page = family.get("/chat")
    token = page.text.split('data-token="')[1].split('"')[0]
    chat_id = family.cookie("loket_chat").split(".")[0]
    assert chat_id not in page.text and "Set-Cookie" in page.headers
    assert "HttpOnly" in page.headers["Set-Cookie"]
    script = request("GET", f"{target.inbox}/static/webchat.js").text
    assert "sender" not in script and "loket_chat" not in script
    sent = family.post_json("/chat/send", {"message": "hallo"}, {"X-Chat-Token": token})
    assert sent.status == 200 and sent.json()["messages"]
    assert target.user_events(f"webchat:{chat_id}")
    # another site: a text/plain form post carries the cookie but not the token
    for headers in ({"Content-Type": "text/plain"},
                    {"Content-Type": "text/plain", "Origin": "http://evil.example",
                     "Sec-Fetch-Site": "cross-site"},
                    {"Content-Type": "application/json", "X-Chat-Token": token,
                     "Sec-Fetch-Site": "cross-site"}):
        answer = family.post("/chat/send", b'{"message": "verwijder mijn gegevens"}',
                             headers)
        assert answer.status == 403
    assert family.get("/chat/poll").status == 403
    assert len(target.user_events(f"webchat:{chat_id}")) == 1
    # a chosen id is ignored: the cookie says whose conversation it is
    family.post_json("/chat/send", {"message": "tweede", "sender": f"whatsapp:{FAMILY}"},
                     {"X-Chat-Token": token})
    assert len(target.user_events(f"webchat:{chat_id}")) == 2
    assert len(target.user_events(f"whatsapp:{FAMILY}")) == 1


def test_the_web_chat_is_limited_per_address(target: Target) -> None:
    """At most 3 new conversations a minute from one address (the test above opened one)."""
    started = time.monotonic()
    statuses = []
    for _ in range(30):  # thirty new conversations in about a second, each asking a person
        browser = Browser(target.inbox)
        token = browser.get("/chat").text.split('data-token="')[1].split('"')[0]
        statuses.append(browser.post_json("/chat/send", {"message": "/request_human"},
                                          {"X-Chat-Token": token}).status)
    accepted = statuses.count(200)
    assert 1 <= accepted <= 3 and statuses.count(429) == 30 - accepted, statuses
    assert time.monotonic() - started < 30
    browser = Browser(target.inbox)
    token = browser.get("/chat").text.split('data-token="')[1].split('"')[0]
    polls = [browser.get("/chat/poll", {"X-Chat-Token": token}).status for _ in range(31)]
    assert polls[:30] == [200] * 30 and polls[30] == 429


def test_logout_and_deactivation_hold_across_a_restart(target: Target) -> None:
    ann = Browser(target.inbox, target.staff["ann"].jar)
    assert ann.login("ann", PASSWORD).status == 303
    old = ann.cookie("inbox_session")
    assert ann.post("/inbox/logout", {"csrf": ann.csrf()}).status == 303
    replay = Browser(target.inbox)
    replay.set_cookie("inbox_session", old)
    assert replay.get("/inbox").status == 303
    bert = target.staff["bert"]
    admin = target.staff["admin"]
    assert bert.get("/inbox").status == 200
    with db.session_scope(target.db_url) as session:
        bert_id = auth.find_user(session, "bert").id
    assert admin.post(f"/inbox/admin/users/{bert_id}/active",
                      {"csrf": admin.csrf(), "active": "0"}).status == 303
    assert bert.get("/inbox").status == 303  # signed out at once
    pid = listener_pid(target.inbox_port)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the supervisor starts the inbox again
    assert wait_until(lambda: listener_pid(target.inbox_port) not in (None, pid), 60)
    assert wait_until(lambda: request("GET", f"{target.inbox}/health").status == 200, 60)
    assert replay.get("/inbox").status == 303
    assert bert.get("/inbox").status == 303
    assert admin.get("/inbox").status == 200  # a session nobody ended survives the restart


def test_guessing_passwords_cannot_lock_a_colleague_out(target: Target) -> None:
    """One address tries sixty usernames, the admin's among them; the colleagues at their
    own browsers sign in all the same."""
    attacker = Browser(target.inbox)
    started = time.monotonic()
    statuses = [attacker.login(name, "letmein-letmein").status
                for name in ["admin", "ann", *[f"user{n}" for n in range(58)]]]
    took = time.monotonic() - started
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}, statuses
    assert attacker.login("admin", PASSWORD).status == 429  # the right one: not from here
    assert took < 60, took
    for name in ("admin", "ann"):
        browser = Browser(target.inbox, target.staff[name].jar)  # her own (device cookie)
        assert browser.login(name, PASSWORD).status == 303, name


# --- 6. no secret on a command line -------------------------------------------------------


def test_no_secret_on_a_command_line(target: Target) -> None:
    secrets = {name: target.secret(name) for name in ("rasa_token", "action_token",
                                                      "inbox_secret")}
    secrets.update(twilio=TWILIO_TOKEN, telegram=BOT_TOKEN, telegram_secret=TG_SECRET)
    ours = descendants(target.proc.pid)
    lines = {pid: line for pid, line in command_lines().items() if pid in ours}
    assert any("bot.rasa_server" in line for line in lines.values())
    assert any("bot.action_server" in line for line in lines.values())
    for pid, line in lines.items():
        for name, value in secrets.items():
            assert value not in line, f"{name} in the command line of {pid}: {line}"
    # the files that hold them: ours only
    for name in ("rasa_token", "action_token", "inbox_secret", "endpoints.yml"):
        assert stat.S_IMODE((target.var / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(target.var.stat().st_mode) == 0o700
