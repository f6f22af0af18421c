"""The snelfiche conversation in plain Python: which field is next, how to ask it, how to read
and check an answer, and the summary. The Rasa form (bot/actions/intake.py) only wires it in.

Answers are never kept in conversation slots (they would sit unencrypted in the tracker
store): they go straight into the draft care request (bot/intake/store.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers

from bot import dates, i18n, loket
from bot.eligibility.dialogue import day
from bot.places import geo
from bot.replies import Button, Reply, intent_payload
from bot.textnorm import fold
from bot.vocabulary import vocabulary

CONFIRM = "confirm"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    optional: bool = False
    roles: tuple[str, ...] = ("parent", "toeleider")
    values: tuple[str, ...] = ()


FIELDS: tuple[Field, ...] = (
    Field("consent", "yesno"),
    Field("family_consent", "yesno", roles=("toeleider",)),
    Field("organisation", "text", roles=("toeleider",)),
    Field("toeleider_name", "name", roles=("toeleider",)),
    Field("toeleider_contact", "contact", roles=("toeleider",)),
    Field("child_name", "name"),
    Field("child_birth", "birth"),
    Field("start", "start"),
    Field("frequency", "choice", values=("1", "2", "3", "4", "5", "occasional")),
    Field("reason", "choice", values=("work", "training", "job_interview", "integration",
                                      "crisis_health", "development", "other")),
    Field("location", "location"),
    Field("care_type", "choice", optional=True,
          values=("gezinsopvang", "groepsopvang", "no_preference")),
    Field("allergies", "text", optional=True),
    Field("health", "text", optional=True),
    Field("home_languages", "text", optional=True),
    Field("comfort", "text", optional=True),
    Field("parent_name", "name"),
    Field("phone", "phone"),
    Field("email", "email", optional=True),
)
BY_NAME = {f.name: f for f in FIELDS}
# Facts the eligibility check may already know: reason for care from the work situation.
REASON_FROM_WORK = {"working": "work", "job_seeking": "job_interview",
                    "vocational_training": "training", "integration_course": "integration"}


def role_of(role: str | None) -> str:
    return role if role in ("parent", "toeleider") else "parent"


def refused(answers: Mapping[str, Any]) -> bool:
    return answers.get("consent") is False or answers.get("family_consent") is False


def next_field(answers: Mapping[str, Any], role: str | None, declined: list[str]) -> str | None:
    """The next field to ask; ``confirm`` when all is there; None when consent was refused
    or the request is confirmed."""
    if refused(answers) or answers.get(CONFIRM):
        return None
    for f in FIELDS:
        if role_of(role) in f.roles and f.name not in answers and f.name not in declined:
            return f.name
    return CONFIRM


def prefill(place_search: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """What the conversation already knows from the free-place search and eligibility."""
    out: dict[str, Any] = {}
    if place_search.get("location"):
        out["location"] = place_search["location"]
    if place_search.get("start"):
        out["start"] = place_search["start"]
    if place_search.get("child"):
        out["child_birth"] = place_search["child"]
    if place_search.get("days"):
        out["frequency"] = str(place_search["days"])
    if place_search.get("care_type") in ("gezinsopvang", "groepsopvang"):
        out["care_type"] = place_search["care_type"]
    reason = REASON_FROM_WORK.get(str(facts.get("work_situation")))
    if reason:
        out["reason"] = reason
    return out


def channel_phone(sender_id: str) -> str | None:
    """The family's number when it writes by SMS or WhatsApp ("whatsapp:+32…")."""
    match = re.fullmatch(r"(?:whatsapp|sms):(\+\d{6,15})", sender_id or "")
    return match.group(1) if match else None


# --- asking ------------------------------------------------------------------------------

def _payload(value: Any) -> str:
    return intent_payload("inform", intake_value=json.dumps(value))


def value_label(field: str, value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return i18n.t("answer.yes" if value else "answer.no", lang)
    if field == "frequency" and str(value).isdigit():
        return i18n.t("intake.days", lang, n=value)
    return i18n.t(f"intake.value.{field}.{value}", lang)


def question(field: str, role: str | None, lang: str, sender_id: str = "",
             answers: Mapping[str, Any] | None = None, changing: bool = False) -> Reply:
    role = role_of(role)
    if field == CONFIRM:
        return change_menu(answers or {}, role, lang) if changing else summary(
            answers or {}, role, lang)
    spec = BY_NAME[field]
    if field == "phone" and channel_phone(sender_id):
        text = i18n.t(f"intake.{role}.q.phone_confirm", lang, phone=channel_phone(sender_id))
        return Reply(text, (Button(i18n.t("answer.yes", lang), _payload(True)),))
    text = i18n.t(f"intake.{role}.q.{field}", lang)
    if field == "consent":
        info = i18n.t("intake.consent_info", lang, months=loket.load().retention_months)
        text = info + "\n\n" + text
    buttons: list[Button] = []
    if spec.kind == "yesno":
        buttons = [Button(value_label(field, v, lang), _payload(v)) for v in (True, False)]
    elif spec.kind == "choice":
        buttons = [Button(value_label(field, v, lang), _payload(v)) for v in spec.values]
    if spec.optional:
        buttons.append(Button(i18n.t("intake.skip", lang), _payload(None)))
    elif field in ("frequency", "start"):
        buttons.append(Button(i18n.t("answer.dont_know", lang), _payload(None)))
    return Reply(text, tuple(buttons))


# --- reading an answer -------------------------------------------------------------------

@dataclass(frozen=True)
class Read:
    value: Any = None
    ok: bool = False
    skipped: bool = False
    problem: str | None = None


def _entity(entities: list[dict], name: str) -> Any:
    for e in entities:
        if e.get("entity") == name:
            return e.get("value")
    return None


def interpret(field: str, text: str, intent: str | None, entities: list[dict], lang: str,
              today: date, sender_id: str = "") -> Read:
    text = text.strip()
    spec = BY_NAME.get(field)
    raw = _entity(entities, "intake_value")
    if raw is not None:
        try:
            value = json.loads(str(raw))
        except json.JSONDecodeError:  # someone typed a payload by hand
            return Read(problem="intake.invalid.text")
        if value is None:
            return Read(skipped=True) if spec is None or spec.optional or field in (
                "frequency", "start") else Read(problem="intake.invalid.text")
        if field == "phone" and value is True:
            return Read(channel_phone(sender_id), bool(channel_phone(sender_id)))
        return Read(value, True) if _button_value_fits(field, value) else Read(
            problem="intake.invalid.text")
    if field == CONFIRM:
        change = _entity(entities, "change_field")
        if change in BY_NAME:
            return Read({"change": change}, True)
        if intent == "affirm":
            return Read(True, True)
        if intent == "deny":
            return Read({"change": None}, True)
        return Read(problem="intake.invalid.confirm")
    assert spec is not None
    optional_skip = spec.optional or field in ("frequency", "start")
    if optional_skip and (vocabulary().is_phrase(text, "skip")
                          or vocabulary().is_phrase(text, "dont_know")):
        return Read(skipped=True)
    if spec.kind == "yesno" or (field == "phone" and channel_phone(sender_id)
                                and intent in ("affirm", "deny")):
        if intent in ("affirm", "deny"):
            if field == "phone":
                return Read(channel_phone(sender_id), True) if intent == "affirm" else Read(
                    problem="intake.invalid.phone")
            return Read(intent == "affirm", True)
        if spec.kind == "yesno":
            return Read(problem="intake.invalid.yesno")
    if spec.kind == "choice":
        return _choice(spec, text, lang)
    return _CHECKS[spec.kind](text, lang, today)


def _button_value_fits(field: str, value: Any) -> bool:
    """A button's value is only trusted when it is one this field offers."""
    if field == CONFIRM:
        return value is True
    spec = BY_NAME[field]
    if spec.kind == "yesno":
        return isinstance(value, bool)
    if spec.kind == "choice":
        return isinstance(value, str) and value in spec.values
    return False  # free fields have no buttons


def _choice(spec: Field, text: str, lang: str) -> Read:
    if text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(spec.values):
        return Read(spec.values[int(text) - 1], True)
    folded = fold(text)
    hits = [v for v in spec.values if fold(value_label(spec.name, v, lang)) == folded]
    if len(hits) == 1:
        return Read(hits[0], True)
    if spec.name == "frequency":
        days = dates.parse_days_per_week(text, lang)
        if days:
            return Read(str(min(days, 5)), True)
    return Read(problem=f"intake.invalid.{spec.name}")


def _name(text: str, lang: str, today: date) -> Read:
    if not 1 <= len(text) <= 80 or not any(c.isalpha() for c in text) or text.startswith("/"):
        return Read(problem="intake.invalid.name")
    return Read(text, True)


def _text(text: str, lang: str, today: date) -> Read:
    if not text or text.startswith("/"):
        return Read(problem="intake.invalid.text")
    return Read(text[:1000], True)


_BIRTH_PROBLEMS = {"unreadable": "intake.invalid.child_birth",
                   "too_far_ahead": "intake.invalid.child_birth_future",
                   "too_old": "intake.invalid.child_birth_old"}


def _birth(text: str, lang: str, today: date) -> Read:
    birth, problem = dates.child_birth(text, lang, today)
    return Read(problem=_BIRTH_PROBLEMS[problem]) if problem else Read(birth.isoformat(), True)


def _start(text: str, lang: str, today: date) -> Read:
    start = dates.parse_start_date(text, lang, today)
    if start is None:
        return Read(problem="intake.invalid.start")
    if start < today:
        return Read(problem="intake.invalid.start_past")
    return Read(start.isoformat(), True)


def _location(text: str, lang: str, today: date) -> Read:
    loc = geo.resolve_location(text)
    # only postcodes that exist: a number in the Flemish range is not enough
    if loc is None or loc.region not in ("flanders", "brussels") or not loc.municipality:
        return Read(problem="intake.invalid.location")
    return Read({"municipality": loc.municipality, "postcode": loc.postcode}, True)


def _phone(text: str, lang: str, today: date) -> Read:
    try:
        number = phonenumbers.parse(text, "BE")
    except phonenumbers.NumberParseException:
        return Read(problem="intake.invalid.phone")
    if not phonenumbers.is_valid_number(number):
        return Read(problem="intake.invalid.phone")
    return Read(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


def _email(text: str, lang: str, today: date) -> Read:
    return Read(text.lower(), True) if _EMAIL.match(text) else Read(
        problem="intake.invalid.email")


def _contact(text: str, lang: str, today: date) -> Read:
    for check in (_email, _phone):
        read = check(text, lang, today)
        if read.ok:
            return read
    return Read(problem="intake.invalid.contact")


_CHECKS = {"name": _name, "text": _text, "birth": _birth, "start": _start,
           "location": _location, "phone": _phone, "email": _email, "contact": _contact}


# --- corrections at any time -------------------------------------------------------------

# Fields whose new value can be read from a sentence ("nee, haar geboortedatum is 3 mei").
CORRECTABLE = ("child_birth", "start", "location", "phone", "email")


def correction(text: str, lang: str, answers: Mapping[str, Any], asked: str | None,
               today: date, sender_id: str = "") -> tuple[str, Any] | None:
    """An earlier answer the message corrects: (field, new value), or None."""
    words = set(re.findall(r"\w+", fold(text)))
    for field in CORRECTABLE:
        if field == asked or field not in answers:
            continue
        label_words = {w for w in re.findall(r"\w+", fold(i18n.t(f"intake.label.{field}", lang)))
                       if len(w) >= 5}
        if not label_words & words:
            continue
        read = interpret(field, text, "inform", [], lang, today, sender_id)
        if read.ok:
            return field, read.value
    return None


def corrected_notice(field: str, value: Any, lang: str) -> str:
    return i18n.t("intake.corrected", lang, field=i18n.t(f"intake.label.{field}", lang),
                  value=display(field, value, lang))


# --- summary and the end -----------------------------------------------------------------

def display(field: str, value: Any, lang: str) -> str:
    if field in ("child_birth", "start"):
        return day(value, lang)
    if field == "location" and isinstance(value, Mapping):
        return " ".join(str(v) for v in (value.get("postcode"), value.get("municipality")) if v)
    if isinstance(value, bool) or BY_NAME[field].kind == "choice":
        return value_label(field, value, lang)
    return str(value)


def summary(answers: Mapping[str, Any], role: str, lang: str) -> Reply:
    lines = [f"- {i18n.t(f'intake.label.{f.name}', lang)}: {display(f.name, answers[f.name], lang)}"
             for f in FIELDS
             if f.name in answers and answers[f.name] is not None
             and f.name not in ("consent", "family_consent")]
    text = i18n.t(f"intake.{role_of(role)}.summary", lang) + "\n" + "\n".join(lines)
    buttons = (Button(i18n.t("intake.confirm_send", lang), _payload(True)),
               Button(i18n.t("intake.change", lang), intent_payload("deny")))
    return Reply(text, buttons)


def change_menu(answers: Mapping[str, Any], role: str | None, lang: str) -> Reply:
    buttons = tuple(
        Button(i18n.t(f"intake.label.{f.name}", lang),
               intent_payload("inform", change_field=f.name))
        for f in FIELDS
        if role_of(role) in f.roles and f.name not in ("consent", "family_consent")
        and f.name in answers)
    return Reply(i18n.t("intake.change_which", lang), buttons)
