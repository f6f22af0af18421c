"""Greeting, language choice and the two-step fallback: plain functions over plain data."""

from __future__ import annotations

from bot import i18n
from bot.loket import Loket
from bot.nlu import said
from bot.replies import Button, Reply, intent_payload, language_buttons, topic_buttons
from bot.settings import today

FALLBACK_ACTION = "action_fallback"


def welcome(lang: str, first_time: bool) -> list[Reply]:
    if not first_time:
        return [Reply(i18n.t("greet.again", lang), topic_buttons(lang))]
    return [
        Reply(i18n.t("greet.welcome", lang)),
        Reply(i18n.t("language.menu", lang), language_buttons()),
    ]


def language_chosen(code: str | None, current: str) -> tuple[str | None, list[Reply]]:
    """The new language (None when unchanged) and what to say about the choice."""
    if code in i18n.SUPPORTED:
        return code, [Reply(i18n.t("language.confirm", code), topic_buttons(code))]
    if code:
        return None, [unsupported_language()]
    return None, [Reply(i18n.t("language.menu", current), language_buttons())]


def unsupported_language() -> Reply:
    """Said in Dutch, French and English at once: the person may read none of the others."""
    text = "\n\n".join(i18n.t("language.unsupported", lang) for lang in ("nl", "fr", "en"))
    return Reply(text, language_buttons())


def fallback_step(previous_bot_actions: list[str]) -> int:
    """1 for the first misunderstanding in a row, 2 (and more) for the next ones."""
    step = 1
    for name in reversed(previous_bot_actions):
        if name != FALLBACK_ACTION:
            break
        step += 1
    return step


def tells_facts(text: str, lang: str) -> bool:
    """Whether a message the classifier could not place still says who the family is or what
    it needs (a child's age, a place, a reason…): then it is kept and thanked for."""
    return bool(text) and not text.startswith("/") and bool(said.extract(text, lang, today()))


def fallback(step: int, out_of_scope: bool, lang: str, loket: Loket) -> list[Reply]:
    if step <= 1:
        key = "fallback.out_of_scope" if out_of_scope else "fallback.rephrase"
        return [Reply(i18n.t(key, lang), topic_buttons(lang))]
    human = Button(i18n.t("topic.human", lang), intent_payload("request_human"))
    return [Reply(i18n.t("fallback.give_up", lang)), loket.contact_reply(lang, buttons=(human,))]


def had_crisis(events: list[dict]) -> bool:
    """Whether the family wrote crisis words earlier in this conversation."""
    return any(e.get("event") == "user" and any(
        ent.get("entity") == "urgency" and ent.get("value") == "crisis"
        for ent in (e.get("parse_data") or {}).get("entities") or []) for e in events)
