"""The eligibility conversation in plain Python: what to ask next, how to read an answer, and
how to say the outcome. The Rasa form action (bot/actions/eligibility.py) only wires this in.

A parent should answer as few questions as possible: we stop as soon as the headline outcome
of the check is settled (priority: whether any priority applies; reduced rate: whether any
route applies), and never ask again a question answered with "I don't know".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

import yaml

from bot import dates, i18n
from bot.eligibility.engine import amount_on, evaluate
from bot.eligibility.questions import answer_values
from bot.nlu import answers as nlu_answers
from bot.nlu.said import WORK_SITUATION
from bot.places import geo
from bot.replies import Button, Reply, intent_payload, phone_replies
from bot.settings import DATA_DIR
from bot.textnorm import chat_fold, contains_phrase, phrase_set
from bot.vocabulary import vocabulary

CHECKS = ("priority", "reduced_rate")
UNKNOWN = "unknown"  # the answer "I don't know": the fact stays unknown, never false
ROLES = ("parent", "toeleider")


def role_of(role: str | None) -> str:
    return role if role in ROLES else "parent"


def settled(check: str, result: Mapping[str, Any]) -> bool:
    """Whether the headline is known. For priority that includes whether it is absolute: a
    single mother who also follows Dutch lessons must be looked at first, and should hear so."""
    if check == "priority":
        outcome = result["priority"]
        return outcome["applicable"] is False or (
            outcome["applicable"] is True and outcome["absolute"] is not None)
    return result["reduced_rate"]["applicable"] is not None


def next_question(check: str, facts: Mapping[str, Any], declined: list[str],
                  on: date | None = None) -> str | None:
    """The next fact to ask, or None when the outcome is settled or nothing is left to ask."""
    result = evaluate(facts, on)
    if settled(check, result):
        return None
    missing = result["missing_facts_by_check"][check]
    if check == "priority" and result["priority"]["applicable"]:
        # priority is known; only what makes it absolute is still worth a question
        missing = [f for f in missing if f in result["priority"]["open_absolute_facts"]]
    for fact in missing:
        if fact not in declined:
            return fact
    return None


# --- asking ------------------------------------------------------------------------------

def value_label(fact: str, value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return i18n.t("answer.yes" if value else "answer.no", lang)
    if isinstance(value, float):
        return i18n.t(f"eligibility.fraction.{round(value * 100)}", lang)
    return i18n.t(f"eligibility.value.{fact}.{value}", lang)


def answer_payload(value: Any) -> str:
    return intent_payload("inform", fact_value=json.dumps(value))


def question(fact: str, role: str | None, lang: str) -> Reply:
    params: dict[str, Any] = {}
    if fact == "low_income":
        threshold = amount_on("low_income_threshold")
        params["threshold"] = money(threshold["amount"] if threshold else 0, lang, decimals=0)
    text = i18n.t(f"eligibility.{role_of(role)}.q.{fact}", lang, **params)
    buttons = [Button(value_label(fact, v, lang), answer_payload(v)) for v in answer_values(fact)]
    buttons.append(Button(i18n.t("answer.dont_know", lang), answer_payload(UNKNOWN)))
    return Reply(text, tuple(buttons))


# --- reading an answer --------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    value: Any = None
    understood: bool = False


def interpret(fact: str, text: str, intent: str | None, entities: list[dict],
              lang: str) -> Answer:
    """Read a reply to the question about ``fact``: a button, a number, "don't know", or the
    person's own words (yes/no and their paraphrases, the words for each option)."""
    values = answer_values(fact)
    for entity in entities:
        if entity.get("entity") == "fact_value":
            try:
                value = json.loads(str(entity.get("value")))
            except json.JSONDecodeError:
                return Answer()
            if value == UNKNOWN or value in values:
                return Answer(value, True)
            return Answer()
    stripped = text.strip()
    if vocabulary().is_phrase(stripped, "dont_know"):
        return Answer(UNKNOWN, True)
    number = nlu_answers.option_number(stripped)
    if number is not None and fact != "household_taxable_income":
        if 1 <= number <= len(values):
            return Answer(values[number - 1], True)
        if number == len(values) + 1:
            return Answer(UNKNOWN, True)
        if fact != "work_fraction":
            return Answer()
    if values == [True, False]:
        first = nlu_answers.tokenize(stripped)[:1]
        if vocabulary().has_phrase(stripped, "dont_know") and not (
                first and nlu_answers.read_yes_no(first[0].text, lang) is not None):
            # "ми отримуємо допомогу від OCMW, не знаю чи це leefloon": unknown, not yes
            return Answer(UNKNOWN, True)
        said_yes = nlu_answers.read_yes_no(stripped, lang, fact)
        if said_yes is None and intent in ("affirm", "deny"):
            said_yes = intent == "affirm"
        return Answer(said_yes, said_yes is not None)
    if fact == "work_fraction":
        return _fraction(stripped, lang)
    if fact == "household_taxable_income":
        return _income(stripped, lang)
    if fact == "region":
        loc = geo.resolve_location(stripped)
        if loc is not None and loc.how != "fuzzy":
            return Answer(loc.region, True)
    options = [nlu_answers.Option(v, value_label(fact, v, lang)) for v in values]
    extra = _work_forms(lang) if fact == "work_situation" else None
    found = nlu_answers.read_choice(fact, stripped, lang, options, extra)
    if fact == "work_situation" and "none" in found and "job_seeking" in found:
        tokens = nlu_answers.tokenize(stripped)
        seeking = [h for h in nlu_answers.Forms(_work_forms(lang)).hits(tokens)
                   if h.value == "job_seeking"]
        if seeking and all(nlu_answers.negative_form(h, tokens, lang) for h in seeking):
            found.remove("job_seeking")  # "ze werkt niet en zoekt ook geen werk": no job only
    if fact == "work_situation" and found:
        # "I work and follow Dutch lessons": the one that gives absolute priority first
        for value in ("working", "job_seeking", "vocational_training", "integration_course",
                      "none"):
            if value in found:
                return Answer(value, True)
    if not found and "none" in values and nlu_answers.read_yes_no(stripped, lang) is False:
        # "لا، زوجي مريض وما بيشتغل" to "for work, training…?": a no names none of them
        return Answer("none", True)
    return Answer(found[0], True) if found else Answer()


_REASON_TO_WORK = dict(WORK_SITUATION)


def _work_forms(lang: str) -> dict[str, list[str]]:
    """The snelfiche's words for the reasons of care that are a work situation."""
    table = nlu_answers.table("choices.reason", lang)
    return {_REASON_TO_WORK[r]: forms for r, forms in table.items() if r in _REASON_TO_WORK}


_FIFTHS = re.compile(r"(?<![\d/.,])([0-5])\s*/\s*5(?![\d/])")


def _fraction(text: str, lang: str) -> Answer:
    """How much the parents work, on average: "4/5", "halftijds", "de mama voltijds en de
    papa halftijds" (0.75), "3 dagen" (0.6)."""
    folded = chat_fold(text)
    found = [int(m.group(1)) / 5 for m in _FIFTHS.finditer(folded)]
    found += [float(v) for v in nlu_answers.forms("choices.work_fraction", lang).values(text)
              if _is_number(v)]
    if not found:
        days = dates.parse_days_per_week(text, lang)
        if days is not None and not text.strip().isdigit():
            found = [min(days, 5) / 5]
    if not found:
        return Answer()
    return Answer(round(sum(found) / len(found), 2), True)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


_AMOUNT = re.compile(r"(\d{1,3}(?:[ .]\d{3})+|\d+)(?:[,.](\d{1,2}))?")


def _income(text: str, lang: str) -> Answer:
    """A yearly income in euro; an amount per month ("2500 per maand") counts twelve times."""
    match = _AMOUNT.search(chat_fold(text))
    if not match:
        return Answer()
    amount = float(re.sub(r"[ .]", "", match.group(1)))
    tokens = nlu_answers.tokenize(text)
    if any(t.text.startswith(("maand", "month", "mois", "ay", "місяц", "месяц", "شهر"))
           for t in tokens) or (0 < amount < 6000 and not any(
               t.text.startswith(("jaar", "year", "an", "yil", "рік", "год", "سن", "عام"))
               for t in tokens)):
        amount *= 12
    return Answer(amount, True)


@lru_cache(maxsize=1)
def _partner_phrases() -> frozenset[tuple[str, ...]]:
    data = yaml.safe_load((DATA_DIR / "partner_words.yml").read_text(encoding="utf-8"))
    return phrase_set(p for words in data["words"].values() for p in words)


def conflicting_fact(text: str, facts: Mapping[str, Any]) -> str | None:
    """A fact the message contradicts: a partner mentioned after "I raise the child alone"."""
    if facts.get("single_parent") is not True:
        return None
    return "single_parent" if contains_phrase(text, _partner_phrases()) else None


def conflict_question(fact: str, role: str | None, lang: str) -> Reply:
    """Which is right? Each button sets the fact to the chosen value."""
    return Reply(i18n.t(f"conflict.{role_of(role)}.{fact}", lang), (
        Button(i18n.t(f"conflict.option.{fact}.true", lang), answer_payload(True)),
        Button(i18n.t(f"conflict.option.{fact}.false", lang),
               answer_payload(False))))


def invalid_answer(fact: str, lang: str) -> Reply:
    return Reply(i18n.t("eligibility.invalid", lang))


# --- saying the outcome -------------------------------------------------------------------

def money(amount: float, lang: str, decimals: int = 2) -> str:
    number = f"{amount:,.{decimals}f}"
    sep = i18n.t("format.decimal", lang)
    group = i18n.t("format.thousands", lang)
    number = number.replace(",", "\0").replace(".", sep).replace("\0", group)
    return i18n.t("format.money", lang, amount=number)


def day(iso: str | None, lang: str) -> str:
    if not iso:
        return "?"
    d = date.fromisoformat(iso)
    return i18n.t("format.date", lang, d=d.day, m=d.month, y=d.year)


def _host(url: str | None) -> str:
    host = urlparse(url or "").netloc
    return host.removeprefix("www.") or "?"


def figure_note(entry: Mapping[str, Any], lang: str) -> str:
    """Date and source of a figure, and a warning when it may be out of date."""
    note = i18n.t("eligibility.figure_source", lang, date=day(entry.get("valid_from"), lang),
                  source=_host(entry.get("source")))
    if entry.get("outdated") or entry.get("uncertain"):
        note += "; " + i18n.t("eligibility.figure_maybe_old", lang)
    return note


def _disclaimer(result: Mapping[str, Any], check: str, lang: str, offer_person: bool) -> Reply:
    """It is an indication, with the rules' date; with a person of the loket to ask for
    (the attest, a check of the outcome) when the care is priced by income."""
    rules = result["rule_sets"]["priority" if check == "priority" else "reduced_rate"]
    text = i18n.t("eligibility.disclaimer", lang, date=day(rules["valid_from"], lang),
                  source=_host(rules["source"]), checked=day(result["last_checked"], lang))
    person = (Button(i18n.t("topic.human", lang), intent_payload("request_human")),)
    return Reply(text, person if offer_person else ())


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {i18n.t('format.and', lang)} {items[-1]}"


def _toeslag(role: str, lang: str) -> str:
    toeslag = amount_on("kinderopvangtoeslag")
    if not toeslag:
        return ""
    return i18n.t(f"eligibility.{role}.toeslag", lang, amount=money(toeslag["amount"], lang),
                  note=figure_note(toeslag, lang))


def outcome(check: str, facts: Mapping[str, Any], role: str | None, lang: str,
            on: date | None = None) -> list[Reply]:
    role = role_of(role)
    result = evaluate(facts, on)
    if check == "priority":
        body = _priority(result, role, lang)
    else:
        body = _reduced_rate(result, role, lang)
    free_price = result[check].get("reason") == "free_price"
    return [*body, _disclaimer(result, check, lang, offer_person=not free_price)]


def _priority(result: Mapping[str, Any], role: str, lang: str) -> list[Reply]:
    p = result["priority"]
    key = f"eligibility.{role}.priority"
    if p.get("reason") == "free_price":
        return phone_replies([i18n.t(f"{key}.free_price", lang), _toeslag(role, lang)], " ")
    groups = _join([i18n.t(f"eligibility.group.{g}", lang) for g in p["groups"]], lang)
    if p["absolute"]:
        lines = [i18n.t(f"{key}.absolute", lang, groups=groups)]
    elif p["applicable"]:
        lines = [i18n.t(f"{key}.groups", lang, groups=groups)]
    elif p["applicable"] is False:
        lines = [i18n.t(f"{key}.none", lang)]
    else:
        lines = [i18n.t(f"{key}.unknown", lang)]
    if p.get("vulnerable_family"):
        lines.append(i18n.t(f"{key}.vulnerable", lang))
    lines.append(i18n.t("eligibility.rules_changed", lang))
    # said together while they fit three SMS segments, else one message each
    replies = phone_replies(lines)
    # what the rules in force say about the providers' and the municipality's own rules
    rules = result["rule_sets"]["priority"]
    notes = [i18n.t(f"eligibility.{name}", lang) for name in ("house_rules", "own_residents")
             if rules.get(name)]
    replies += phone_replies(notes)
    # the two steps as two messages: together they are too long for one SMS
    return [*replies, Reply(i18n.t(f"eligibility.{role}.next_steps", lang)),
            Reply(i18n.t(f"eligibility.{role}.next_steps_2", lang))]


def _reduced_rate(result: Mapping[str, Any], role: str, lang: str) -> list[Reply]:
    r = result["reduced_rate"]
    key = f"eligibility.{role}.reduced"
    if r.get("reason") == "free_price":
        return phone_replies([i18n.t(f"{key}.free_price", lang), _toeslag(role, lang)], " ")
    if r["applicable"]:
        replies = [Reply(i18n.t(f"{key}.yes", lang))]
        for route in r["routes"]:
            replies += phone_replies(_route_texts(route, r, role, lang), "\n")
        online = [route for route in r["routes"] if (r.get("route_details") or {}).get(
            route, {}).get("request_via") == "mijn_kind_en_gezin"]
        if online:  # asked for online with an eID: the loket can do it for the family
            last = replies.pop()
            replies += phone_replies([last.text, i18n.t(f"eligibility.{role}.no_eid", lang)],
                                     "\n")
        return replies
    text = i18n.t(f"{key}.none" if r["applicable"] is False else f"{key}.unknown", lang)
    return [Reply(text), *phone_replies(_route_texts("ocmw", r, role, lang), "\n")]


def _route_texts(route: str, r: Mapping[str, Any], role: str, lang: str) -> list[str]:
    """A route, and for the OCMW its dated amounts."""
    texts = [i18n.t(f"eligibility.{role}.route.{route}", lang)]
    if route == "ocmw":
        tariff = (r.get("amounts") or {}).get("ocmw_tariff") or amount_on("ocmw_tariff")
        if tariff:
            texts.append(i18n.t("eligibility.ocmw_amounts", lang,
                                standard=money(tariff["standard_minimum"], lang),
                                lowest=money(tariff["lowest_possible"], lang),
                                note=figure_note(tariff, lang)))
    return texts
