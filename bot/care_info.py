"""Explanations of the care types and of how childcare is priced."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot import care_facts, i18n, settings
from bot.eligibility.rules import Rules
from bot.replies import Button, Reply, intent_payload

# the "page" entity of a "more" button: the rest of a long answer, on request
MORE = "more"

# The contract's care_type values (§2), in the order the overview offers them; the store and
# the vocabulary use the same list. The explanation texts live in the locales.
CARE_TYPES: tuple[str, ...] = (
    "gezinsopvang",
    "groepsopvang",
    "occasionele_opvang",
    "flexibele_opvang",
    "dringende_opvang",
    "inclusieve_opvang",
    "buitenschoolse_opvang",
)


def care_type_buttons(lang: str) -> tuple[Button, ...]:
    types = [
        Button(i18n.t(f"care_type_name.{ct}", lang), intent_payload("ask_care_types", care_type=ct))
        for ct in CARE_TYPES
    ]
    return (*types, Button(i18n.t("topic.price", lang), intent_payload("ask_price")))


# The shapes a dated fact's value takes, and the locale variant that says it.
_VARIANTS: dict[frozenset[str], str] = {
    frozenset({"all"}): "",
    frozenset({"babies", "older", "mixed"}): "_by_group",
}


def _fact_text(fact: str, value: Any, lang: str, since: date | None = None) -> str:
    """One fact as a sentence (``care_fact.<fact>``), or its coming change (``.next``)."""
    if isinstance(value, dict):
        key, params = fact + _VARIANTS[frozenset(value)], dict(value)
    else:
        key, params = fact, {"n": value}
    if since is None:
        return i18n.t(f"care_fact.{key}", lang, **params)
    when = i18n.t("format.date", lang, d=since.day, m=since.month, y=since.year)
    return i18n.t(f"care_fact.next.{key}", lang, date=when, **params)


def facts_text(care_type: str, lang: str, on: date | None = None) -> str:
    """What the law fixes for a care type on ``on`` (the loket's today when not given),
    each fact followed by its next change when the data knows one."""
    on = on or settings.today()
    sentences = []
    for fact in care_facts.facts_of(care_type):
        held = care_facts.holding(care_type, fact, on)
        if held is None:
            continue
        sentences.append(_fact_text(fact, held.current.value, lang))
        if held.next is not None and held.next.value != held.current.value:
            sentences.append(_fact_text(fact, held.next.value, lang, held.next.valid_from))
    return " ".join(sentences)


def explain_care_types(care_types: list[str], lang: str, on: date | None = None
                       ) -> list[Reply]:
    """One explanation per named type; the overview with a choice when none is named. The
    figures the law fixes are those in force on ``on`` (the loket's today)."""
    known = [ct for ct in dict.fromkeys(care_types) if ct in CARE_TYPES]
    if not known:
        return [Reply(i18n.t("care_types.overview", lang), care_type_buttons(lang))]
    replies = [Reply(text) for ct in known for text in _care_type_texts(ct, lang, on)]
    more = Button(i18n.t("care_types.more", lang), intent_payload("ask_care_types"))
    return [*replies[:-1], Reply(replies[-1].text, (more,))]


def _care_type_texts(care_type: str, lang: str, on: date | None) -> list[str]:
    """What the type is, then its dated figures as their own message: together they are
    longer than three SMS segments in the UCS-2 languages."""
    texts = [i18n.t(f"care_types.{care_type}", lang)]
    if care_facts.facts_of(care_type):
        texts.append(facts_text(care_type, lang, on))
    return [text for text in texts if text]


def attest_help(role: str | None, lang: str) -> Reply:
    """No attest or no eID: the loket can request it in Mijn Opgroeien; a person offered."""
    who = "toeleider" if role == "toeleider" else "parent"
    return Reply(i18n.t(f"attest.{who}", lang),
                 (Button(i18n.t("topic.human", lang), intent_payload("request_human")),))


def explain_price(lang: str, on: date | None = None, *, rules: Rules | None = None,
                  role: str | None = None, more: bool = False) -> list[Reply]:
    """Both kinds of price and the inkomenstarief's dated bounds (the newest confirmed
    figures in force on ``on``: reported, unconfirmed ones are not quoted), with buttons for
    more and for paying less; ``more`` (that button): how to get the attest, paying less,
    and the loket's help with the attest. Each part fits three SMS segments."""
    from bot.eligibility.dialogue import figure_note, money
    from bot.eligibility.engine import amount_on

    if more:
        return [Reply(i18n.t("price.more", lang)), Reply(i18n.t("price.cheaper", lang)),
                attest_help(role, lang)]
    replies = [Reply(i18n.t("price.overview", lang))]
    tariff = amount_on("ikt_tariff", on, rules=rules)
    if tariff and tariff.get("minimum") is not None:
        low = money(tariff["minimum"], lang)
        if tariff.get("maximum") is not None:
            span = i18n.t("price.range_both", lang, minimum=low,
                          maximum=money(tariff["maximum"], lang))
        else:
            span = i18n.t("price.range_min", lang, minimum=low)
        replies.append(Reply(i18n.t("price.amounts", lang, range=span,
                                    note=figure_note(tariff, lang))))
    buttons = (Button(i18n.t("price.more_button", lang), intent_payload("ask_price", page=MORE)),
               Button(i18n.t("price.pay_less_button", lang), intent_payload("check_reduced_rate")))
    return [*replies[:-1], Reply(replies[-1].text, buttons)]
