"""Explanations of the care types and of how childcare is priced."""

from __future__ import annotations

from bot import i18n
from bot.replies import Button, Reply, intent_payload

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


def explain_care_types(care_types: list[str], lang: str) -> list[Reply]:
    """One explanation per named type; the overview with a choice when none is named."""
    known = [ct for ct in dict.fromkeys(care_types) if ct in CARE_TYPES]
    if not known:
        return [Reply(i18n.t("care_types.overview", lang), care_type_buttons(lang))]
    replies = [Reply(i18n.t(f"care_types.{ct}", lang)) for ct in known]
    more = Button(i18n.t("care_types.more", lang), intent_payload("ask_care_types"))
    return [*replies[:-1], Reply(replies[-1].text, (more,))]


def explain_price(lang: str) -> list[Reply]:
    """Both kinds of price, then how the inkomenstarief works with its dated minimum."""
    from bot.eligibility.dialogue import figure_note, money
    from bot.eligibility.engine import amount_on

    replies = [Reply(i18n.t("price.overview", lang))]
    minimum = amount_on("ikt_tariff")
    if minimum and minimum.get("minimum") is not None:
        replies.append(Reply(i18n.t("price.amounts", lang, minimum=money(minimum["minimum"], lang),
                                    note=figure_note(minimum, lang))))
    return replies
