"""End to end: WhatsApp outside the 24-hour window, against the fake Twilio API over real HTTP.
A loket worker's reply or a request's news sends the approved template (Content API) in the
family's language and the message itself once the family answers; without a template, an SMS
to the number the family gave; a 63016 in a status callback is dealt with the same way.

Its own running assistant: this one has templates configured (test_channels_e2e.py has none).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fakes import FakeTelegram, FakeTwilio
from serving import Served, http_json
from sqlalchemy import update
from test_channels_e2e import (
    AUTH_TOKEN,
    BOT_TOKEN,
    FROM_SMS,
    SID,
    Stack,
    sms_params,
    stored,
    tracker,
    twilio_post,
    wait_processed,
    wait_until,
)

from bot import db, i18n, loket
from bot.intake.models import CareRequest
from connectors import delivery, messages

pytestmark = pytest.mark.e2e

FROM_WHATSAPP = "whatsapp:+3225550101"
STAFF_NL, STAFF_FR = "HX" + "a" * 32, "HX" + "b" * 32
TEMPLATES = {"staff_reply": {"nl": STAFF_NL, "fr": STAFF_FR}}  # no request_update template


@pytest.fixture(scope="module")
def stack(serve_stack: Callable[..., Served],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    twilio = FakeTwilio(SID, AUTH_TOKEN).start()
    telegram = FakeTelegram(BOT_TOKEN).start()
    var = tmp_path_factory.mktemp("templates-var")
    db_url = f"sqlite:///{var / 'bot.db'}"
    served = None
    try:
        served = serve_stack(
            var, TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM_SMS=FROM_SMS,
            TWILIO_FROM_WHATSAPP=FROM_WHATSAPP, TWILIO_API_BASE=twilio.url,
            TWILIO_WHATSAPP_TEMPLATES=json.dumps(TEMPLATES))
        yield Stack(served.base, served.token, var, db_url, twilio, telegram)
    finally:
        if served is not None:
            served.stop()
        db.dispose_engine(db_url)
        twilio.stop()
        telegram.stop()


def number(n: int) -> str:
    return f"+3248800{n:04d}"


def _execute(s: Stack, sender: str, slots: dict[str, str], action: str) -> None:
    """What the inbox does (bot/inbox/relay.py): slots, then the action on the family's own
    channel."""
    path = f"{s.base}/conversations/{urllib.parse.quote(sender, safe=':+')}"
    events = [{"event": "slot", "name": k, "value": v} for k, v in slots.items()]
    assert http_json(f"{path}/tracker/events", events,  # type: ignore[arg-type]
                     token=s.token)[0] == 200
    assert http_json(f"{path}/execute?output_channel=latest", {"name": action},
                     token=s.token)[0] == 200
    listen = [{"event": "action", "name": "action_listen"}]
    assert http_json(f"{path}/tracker/events", listen,  # type: ignore[arg-type]
                     token=s.token)[0] == 200


def _staff(s: Stack, sender: str, text: str) -> None:
    _execute(s, sender, {"staff_text": text, "staff_worker": "ann"}, "action_staff_say")


def _a_day_later(s: Stack, sender: str) -> None:
    with db.session_scope(s.db_url) as session:  # the family wrote 25 hours ago
        session.execute(update(messages.ChannelContact)
                        .where(messages.ChannelContact.sender_id == sender)
                        .values(last_inbound_at=messages.utcnow() - timedelta(hours=25)))


def _start(s: Stack, phone: str, text: str) -> str:
    sender = f"whatsapp:{phone}"
    twilio_post(s, sms_params(phone, text, "whatsapp"))
    wait_processed(s, sender)
    assert s.twilio.wait_delivered(f"whatsapp:{phone}")
    return sender


def _out(s: Stack, sender: str, text: str) -> list[dict]:
    return [r for r in stored(s, sender, messages.OUT) if r["text"] == text]


def test_staff_reply_a_day_later_sends_the_template_then_the_message_on_answer(
        stack: Stack) -> None:
    phone = number(1)
    to = f"whatsapp:{phone}"
    sender = _start(stack, phone, "Bonjour, je cherche une place en crèche pour mon fils")
    assert tracker(stack, sender)["slots"]["language"] == "fr"
    _a_day_later(stack, sender)
    before = len(stack.twilio.bodies_and_templates(to))
    first, second = "Bonjour, une place est libre à Malines.", "Appelez-nous demain."
    _staff(stack, sender, first)
    _staff(stack, sender, second)
    # one template, in French, naming the loket; the messages themselves wait
    assert wait_until(lambda: stack.twilio.templates(to))
    assert stack.twilio.templates(to) == [(STAFF_FR, {"1": loket.load().name})]
    assert wait_until(lambda: len(_out(stack, sender, second)) == 1)
    assert stack.twilio.bodies_and_templates(to)[before:] == [f"template:{STAFF_FR}"]
    [template] = [r for r in stored(stack, sender, messages.OUT)
                  if r["kind"] == messages.TEMPLATE]
    assert template["status"] == messages.SENT and template["external_id"]
    assert template["text"] == i18n.t("whatsapp_template.staff_reply", "fr",
                                      name=loket.load().name)
    waiting = [r for r in stored(stack, sender, messages.OUT)
               if r["reason"] == messages.AWAITING_ANSWER]  # the second waits behind it
    assert [r["text"] for r in waiting] == [first, second]
    assert all(r["status"] == messages.QUEUED for r in waiting)
    problems = delivery.problems(sender, "nl", stack.db_url)
    assert [p.reason for p in problems] == [messages.AWAITING_ANSWER] * 2
    assert problems[0].text == first
    # the family answers: both messages come first, in order, then the bot's own answer
    twilio_post(stack, sms_params(phone, "merci", "whatsapp"))
    wait_processed(stack, sender, 2)
    assert wait_until(lambda: len(stack.twilio.bodies_and_templates(to)) >= before + 4)
    after = stack.twilio.bodies_and_templates(to)[before:]
    assert after[:3] == [f"template:{STAFF_FR}", first, second], after
    assert wait_until(lambda: not delivery.problems(sender, "nl", stack.db_url))
    assert all(r["status"] == messages.SENT for r in _out(stack, sender, first))


def test_news_without_a_template_goes_by_sms_to_the_number_given(stack: Stack) -> None:
    phone, given = number(2), number(3)
    sender = _start(stack, phone, "hallo")
    with db.session_scope(stack.db_url) as session:  # a snelfiche with another number
        session.add(CareRequest(sender_id=sender, reference="KO-TPL042", channel="twilio",
                                role="parent", language="nl", status="new",
                                fields={"phone": given}))
    _a_day_later(stack, sender)
    _execute(stack, sender, {"request_update": "KO-TPL042:placed"}, "action_request_update")
    news = i18n.t("request_update.placed", "nl", reference="KO-TPL042")
    assert stack.twilio.wait_delivered(given) == [news]  # an SMS, not WhatsApp
    assert not stack.twilio.templates(f"whatsapp:{phone}")
    [row] = _out(stack, sender, news)
    assert (row["channel"], row["address"], row["status"]) == ("sms", given, messages.SENT)
    assert delivery.problems(sender, url=stack.db_url) == []

    # no template for the purpose and no number given: not sent, and the inbox says why
    other = _start(stack, number(4), "hallo")
    with db.session_scope(stack.db_url) as session:
        session.add(CareRequest(sender_id=other, reference="KO-TPL043", channel="twilio",
                                role="parent", language="nl", status="new", fields={}))
    _a_day_later(stack, other)
    _execute(stack, other, {"request_update": "KO-TPL043:placed"}, "action_request_update")
    news = i18n.t("request_update.placed", "nl", reference="KO-TPL043")
    assert wait_until(lambda: _out(stack, other, news))
    [row] = _out(stack, other, news)
    assert (row["status"], row["reason"]) == (messages.NOT_SENT, "outside_24h_window")
    [problem] = delivery.problems(other, "nl", stack.db_url)
    assert problem.reason == "outside_24h_window"


def test_63016_in_a_status_callback_is_dealt_with_the_same_way(stack: Stack) -> None:
    phone = number(5)
    to = f"whatsapp:{phone}"
    sender = _start(stack, phone, "hallo")
    text = "Dag, ik ben Ann van het loket."
    _staff(stack, sender, text)  # within the window as we see it: sent as it is
    assert wait_until(lambda: [r for r in _out(stack, sender, text) if r["external_id"]])
    [sent] = _out(stack, sender, text)
    report = {"MessageSid": sent["external_id"], "MessageStatus": "undelivered",
              "ErrorCode": "63016", "AccountSid": SID, "To": to, "From": FROM_WHATSAPP}
    assert twilio_post(stack, report, route="status")[0] < 300
    assert wait_until(lambda: stack.twilio.templates(to))
    assert stack.twilio.templates(to) == [(STAFF_NL, {"1": loket.load().name})]
    assert twilio_post(stack, report, route="status")[0] < 300  # repeated: no second one
    rows = _out(stack, sender, text)
    assert [(r["status"], r["reason"]) for r in rows] == [
        (messages.FAILED, messages.UNDELIVERED), (messages.QUEUED, messages.AWAITING_ANSWER)]
    [problem] = delivery.problems(sender, "nl", stack.db_url)
    assert problem.error_code == "63016"
    before = len(stack.twilio.delivered(to))
    twilio_post(stack, sms_params(phone, "ok", "whatsapp"))
    assert stack.twilio.wait_delivered(to, before + 1)[before] == text
    assert wait_until(lambda: not delivery.problems(sender, "nl", stack.db_url))
    assert len(stack.twilio.templates(to)) == 1


def test_a_long_sms_reply_is_one_concatenated_message(stack: Stack) -> None:
    """This assistant runs without SMS_MAX_SEGMENTS: a long answer goes as one SMS (Twilio
    concatenates it up to 1600 characters), not as several that may arrive out of order."""
    from connectors import sms

    phone = number(6)
    sender = f"sms:{phone}"
    twilio_post(stack, sms_params(phone, "السلام عليكم، أبحث عن معلومات حول الحضانة"))
    wait_processed(stack, sender)
    before = len(stack.twilio.wait_delivered(phone))
    twilio_post(stack, sms_params(phone, "ما هي الحضانة الدامجة"))
    wait_processed(stack, sender, 2)
    assert wait_until(lambda: len([r for r in stored(stack, sender, messages.OUT)
                                   if r["status"] == messages.SENT]) > before)
    answer = [r for r in stored(stack, sender, messages.OUT)
              if r["status"] == messages.SENT][before:]
    [part] = [r for r in answer if r["reply_id"] == answer[0]["reply_id"]]
    titles = [b["title"] for b in part["buttons"] or []]
    expected = sms.with_options(i18n.t("care_types.inclusieve_opvang", "ar"), titles)
    assert part["text"] == expected and part["segments"] == sms.segments(expected) > 3
    assert stack.twilio.wait_delivered(phone, before + 1)[before] == expected
