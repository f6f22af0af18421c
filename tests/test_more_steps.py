"""Long answers in phone-sized steps: the price's "more" button, the snelfiche summary in
parts (issue 16 item 7), at action level."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import i18n
from bot.actions.base import send
from bot.actions.information import ActionExplainPrice
from bot.intake import dialogue
from bot.replies import Reply, fits_a_phone


def _tracker(text: str, intent: str, entities: list[dict[str, Any]], lang: str) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0},
               "entities": entities}
    return Tracker("more-sender", {"language": lang, "role": "parent"}, message,
                   [{"event": "user", "text": text, "parse_data": message}], False, None,
                   {}, "action_listen")


async def _run(tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionExplainPrice().run(dispatcher, tracker, {})
    return dispatcher.messages


@pytest.mark.parametrize("lang", ["nl", "ar"])
async def test_the_price_answers_short_and_its_more_button_gives_the_rest(lang: str) -> None:
    first = await _run(_tracker("wat kost het", "ask_price", [], lang))
    assert first[0]["text"] == i18n.t("price.overview", lang)
    buttons = first[-1]["buttons"]
    assert [b["title"] for b in buttons] == [i18n.t("price.more_button", lang),
                                            i18n.t("price.pay_less_button", lang)]
    assert buttons[1]["payload"] == "/check_reduced_rate"
    assert not any(i18n.t("price.more", lang) in m["text"] for m in first)

    # the button's payload, as Rasa parses it: the intent with the entity page=more
    payload = buttons[0]["payload"]
    assert payload == '/ask_price{"page":"more"}'
    more = await _run(_tracker(payload, "ask_price",
                               [{"entity": "page", "value": "more"}], lang))
    texts = [m["text"] for m in more]
    assert texts == [i18n.t("price.more", lang), i18n.t("price.cheaper", lang),
                     i18n.t("attest.parent", lang)]
    assert [b["payload"] for b in more[-1]["buttons"]] == ["/request_human"]
    assert all(fits_a_phone(m["text"]) for m in first + more)


def test_a_reply_in_parts_goes_out_as_messages_with_the_buttons_on_the_last() -> None:
    answers = {"child_name": "Marie-Christine", "child_birth": "2025-09-28",
               "location": {"postcode": "2860", "municipality": "Sint-Katelijne-Waver"},
               "start": "2027-03-01", "frequency": "4", "parent_name": "A" * 60,
               "phone": "+32470123456", "email": "marie-christine.vandenbroeck@example.org",
               "health": "B" * 60, "allergies": "C" * 60}
    answers = {k: v for k, v in answers.items() if k in dialogue.BY_NAME}
    reply = dialogue.summary(answers, "parent", "ar")
    assert reply.before, "a full Arabic fiche is longer than three UCS-2 segments"
    dispatcher = CollectingDispatcher()
    send(dispatcher, [reply])
    messages = dispatcher.messages
    assert len(messages) == len(reply.before) + 1
    assert messages[0]["text"].startswith(i18n.t("intake.parent.summary", "ar"))
    assert not any(m.get("buttons") for m in messages[:-1]) and messages[-1]["buttons"]
    assert all(fits_a_phone(m["text"]) for m in messages)


def test_a_short_reply_is_one_message() -> None:
    dispatcher = CollectingDispatcher()
    send(dispatcher, [Reply("kort")])
    assert [m["text"] for m in dispatcher.messages] == ["kort"]
