"""The free-place search conversation in plain Python: what is still missing, how to read an
answer, and how to show results on a phone (three at a time). The Rasa form action
(bot/actions/places.py) only wires this in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot import dates, i18n
from bot.eligibility.dialogue import day
from bot.nlu import answers as nlu_answers
from bot.nlu import said
from bot.places import geo
from bot.profile import SEARCH_KEYS
from bot.replies import Button, Reply, intent_payload, phone_replies
from bot.vocabulary import vocabulary

FIELDS = ("location", "start", "child", "days")
OCCASIONAL = "occasional"  # "af en toe", "de temps en temps": occasional care, no fixed days

PAGE_SIZE = 3
ASAP = "asap"


def next_field(search: Mapping[str, Any], declined: list[str]) -> str | None:
    for field in FIELDS:
        if search.get(field) is None and field not in declined:
            return field
    return None


def _location_value(loc: geo.Location) -> dict[str, Any]:
    return {"municipality": loc.municipality, "postcode": loc.postcode}


def prefill(text: str, entities: list[dict], lang: str, today: date) -> dict[str, Any]:
    """What the question itself already says ("plaats bij een onthaalouder in Mechelen vanaf
    maart, ze is 8 maanden"): the facts the words make clear (bot.nlu.said), as search fields."""
    found: dict[str, Any] = {}
    for fact in said.extract(text, lang, today):
        key = SEARCH_KEYS.get(fact.field)
        if key == "days" and not str(fact.value).isdigit() and fact.value != OCCASIONAL:
            continue
        if key:
            found[key] = int(fact.value) if key == "days" and str(fact.value).isdigit() \
                else fact.value
    care_types = [e["value"] for e in entities if e.get("entity") == "care_type"]
    if care_types and "care_type" not in found:
        found["care_type"] = care_types[-1]
    return found


# --- asking ------------------------------------------------------------------------------

def question(field: str, lang: str) -> Reply:
    text = i18n.t(f"places.q.{field}", lang)
    if field == "start":
        return Reply(text, (Button(i18n.t("places.asap", lang), ASAP),))
    if field == "days":
        return Reply(text, tuple(Button(str(n), str(n)) for n in range(1, 6)))
    return Reply(text)


# --- reading an answer -------------------------------------------------------------------

def interpret(field: str, text: str, lang: str, today: date) -> tuple[Any, str | None]:
    """``(value, None)`` for a usable answer, ``(None, locale key)`` explaining why not."""
    text = text.strip()
    if field == "location":
        # a typo is forgiven in a short answer, not inside a sentence ("о котрій годині…?")
        loc = geo.resolve_location(text, fuzzy=len(text.split()) <= geo.SHORT_ANSWER_WORDS)
        if loc is None or loc.region not in ("flanders", "brussels") or not loc.municipality:
            return None, "places.invalid.location"
        return _location_value(loc), None
    if field == "start":
        if text == ASAP:
            return today.isoformat(), None
        cued = said.answered_start(text, lang, today)
        if cued:
            return cued, None
        start = dates.parse_start_date(text, lang, today)
        if start is None:
            return None, "places.invalid.start"
        if start < today:
            return None, "places.invalid.start_past"
        return start.isoformat(), None
    if field == "child":
        return _child(text, lang, today)
    if field == "days":
        days = dates.parse_days_per_week(text, lang)
        if days is None or not 1 <= days <= 7:
            if nlu_answers.forms("choices.frequency", lang).values(text) == [OCCASIONAL]:
                return OCCASIONAL, None  # "juste de temps en temps": occasional care
            return None, "places.invalid.days"
        return min(days, 5), None
    raise ValueError(f"unknown field {field!r}")


_CHILD_PROBLEMS = {"unreadable": "places.invalid.child",
                   "too_far_ahead": "places.invalid.child_expected",
                   "too_old": "places.invalid.child_age"}


def _child(text: str, lang: str, today: date) -> tuple[Any, str | None]:
    birth, problem = dates.child_birth(text, lang, today)
    if problem:
        cued = said.child_facts(text, lang, today)
        if cued:  # "mijn zoontje, hij is 8 maanden"
            return cued[-1].value, None
        return None, _CHILD_PROBLEMS[problem]
    return birth.isoformat(), None


def declines(text: str) -> bool:
    return vocabulary().is_phrase(text, "dont_know") or vocabulary().is_phrase(text, "skip")


# --- searching and showing ---------------------------------------------------------------

def search_kwargs(search: Mapping[str, Any], today: date) -> dict[str, Any]:
    location = search.get("location") or {}
    care_type = search.get("care_type")
    if care_type == "no_preference":  # "a crèche or a childminder": either
        care_type = None
    return {
        "postcode": location.get("postcode"),
        "municipality": None if location.get("postcode") else location.get("municipality"),
        "start": search.get("start") or today.isoformat(),
        "child_birth_date": search.get("child"),
        "days_per_week": search.get("days") if isinstance(search.get("days"), int) else None,
        "care_type": care_type,
        "occasional": care_type == "occasionele_opvang" or search.get("days") == OCCASIONAL,
        # "dringend", "срочно", or a start within a month: dringende opvang first
        "urgent": care_type == "dringende_opvang" or bool(search.get("urgent")),
        "today": today,
    }


def _result_text(number: int, row: Mapping[str, Any], lang: str) -> str:
    return i18n.t(
        "places.result", lang, n=number, name=row["name"],
        type=i18n.t(f"care_type_name.{row['care_type']}", lang),
        pricing=i18n.t(f"places.pricing.{row['pricing']}", lang),
        date=day(row["available_from"], lang),
        municipality=geo.display_name(row["municipality"], lang),
        phone=row.get("phone") or "-",
    )


def results(rows: list[Mapping[str, Any]], offset: int, has_more: bool, lang: str
            ) -> list[Reply]:
    """Up to three places (one message, or as many as fit a phone), then what the family
    can do next."""
    lines = [_result_text(offset + i + 1, row, lang) for i, row in enumerate(rows)]
    head = i18n.t("places.results_intro" if offset == 0 else "places.results_more", lang)
    buttons = []
    if has_more:
        buttons.append(Button(i18n.t("places.more", lang),
                              intent_payload("find_free_place", page="next")))
    buttons.append(Button(i18n.t("places.register", lang), intent_payload("start_intake")))
    buttons.append(Button(i18n.t("topic.loket", lang), intent_payload("ask_loket_contact")))
    follow = i18n.t("places.after_results" if has_more else "places.no_more", lang)
    # in one message while it fits three SMS segments (Arabic, Ukrainian: often not)
    return [*phone_replies([head, *lines]), Reply(follow, tuple(buttons))]


def no_results(search: Mapping[str, Any], lang: str, today: date) -> list[Reply]:
    location = search.get("location") or {}
    where = geo.display_name(location["municipality"], lang) if location.get("municipality") \
        else location.get("postcode") or "?"
    when = day(search.get("start") or today.isoformat(), lang)
    text = i18n.t("places.none", lang, municipality=where, date=when)
    buttons = []
    if search.get("care_type") != "occasionele_opvang":
        buttons.append(Button(i18n.t("places.try_occasional", lang),
                              intent_payload("find_free_place", care_type="occasionele_opvang")))
    buttons.append(Button(i18n.t("places.register", lang), intent_payload("start_intake")))
    return [Reply(text), Reply(i18n.t("places.none_next", lang), tuple(buttons))]
