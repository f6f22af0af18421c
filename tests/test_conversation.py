"""Greeting, language choice, fallback and information replies, without Rasa."""

from __future__ import annotations

import json
from datetime import date

from bot import care_info, conversation, i18n, loket


def test_first_greeting_offers_numbered_language_menu() -> None:
    replies = conversation.welcome("nl", first_time=True)
    menu = replies[-1]
    assert [b.title for b in menu.buttons] == [name for _, name in i18n.language_menu()]
    payload = menu.buttons[2].payload
    assert payload.startswith("/choose_language")
    assert json.loads(payload.removeprefix("/choose_language")) == {"language": "en"}


def test_later_greeting_offers_topics() -> None:
    (reply,) = conversation.welcome("fr", first_time=False)
    assert reply.text == i18n.t("greet.again", "fr")
    assert len(reply.buttons) == 6


def test_choosing_a_supported_language_confirms_in_it() -> None:
    new, replies = conversation.language_chosen("tr", current="nl")
    assert new == "tr"
    assert replies[0].text == i18n.t("language.confirm", "tr")


def test_choosing_an_unsupported_language_answers_in_three_languages() -> None:
    new, replies = conversation.language_chosen("es", current="nl")
    assert new is None
    text = replies[0].text
    for lang in ("nl", "fr", "en"):
        assert i18n.t("language.unsupported", lang) in text
    assert len(replies[0].buttons) == len(i18n.SUPPORTED)


def test_fallback_has_two_steps() -> None:
    assert conversation.fallback_step(["action_greet"]) == 1
    assert conversation.fallback_step(["action_greet", "action_fallback"]) == 2
    assert conversation.fallback_step(["action_fallback", "action_greet"]) == 1
    first = conversation.fallback(1, False, "en", loket.load("demo"))
    assert first[0].text == i18n.t("fallback.rephrase", "en") and first[0].buttons
    second = conversation.fallback(2, False, "en", loket.load("demo"))
    assert second[0].text == i18n.t("fallback.give_up", "en")
    assert loket.load("demo").phone in second[1].text


def test_out_of_scope_first_step_says_so() -> None:
    (reply,) = conversation.fallback(1, True, "ar", loket.load("demo"))
    assert reply.text == i18n.t("fallback.out_of_scope", "ar")


def test_care_types_one_by_one_and_overview() -> None:
    (overview,) = care_info.explain_care_types([], "nl")
    assert len(overview.buttons) == len(care_info.CARE_TYPES) + 1
    on = date(2026, 12, 3)
    replies = care_info.explain_care_types(["dringende_opvang", "gezinsopvang"], "en", on)
    assert [r.text for r in replies] == [
        i18n.t("care_types.dringende_opvang", "en"),
        i18n.t("care_types.gezinsopvang", "en"), care_info.facts_text("gezinsopvang", "en", on)]
    assert replies[-1].buttons and not replies[1].buttons  # "other types" after the figures


def test_every_care_type_has_an_explanation() -> None:
    for ct in care_info.CARE_TYPES:
        assert i18n.has(f"care_types.{ct}") and i18n.has(f"care_type_name.{ct}")


def test_a_message_that_only_tells_facts_is_kept_not_rejected() -> None:
    assert conversation.tells_facts("bonjour je suis maman seule avec mon fils de 2 ans", "fr")
    assert not conversation.tells_facts("hoe laat is het", "nl")
    assert not conversation.tells_facts("/greet", "nl")
