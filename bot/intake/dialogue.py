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
from functools import lru_cache
from typing import Any

import phonenumbers

from bot import dates, i18n, loket
from bot.eligibility.dialogue import day
from bot.intake.store import SENSITIVE
from bot.nlu import answers as nlu_answers
from bot.nlu import roles, said
from bot.places import geo
from bot.replies import Button, Reply, intent_payload, phone_parts, phone_replies
from bot.textnorm import DIGITS
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
    Field("organisation", "organisation", roles=("toeleider",)),
    Field("toeleider_name", "name", roles=("toeleider",)),
    Field("toeleider_contact", "contact", roles=("toeleider",)),
    Field("child_name", "name"),
    Field("child_birth", "birth"),
    Field("start", "start"),
    Field("frequency", "choice", values=("1", "2", "3", "4", "5", "occasional")),
    # several reasons may apply (a list): work and Dutch lessons
    Field("reason", "choice", values=("work", "job_seeking", "training", "job_interview",
                                      "integration", "crisis_health", "development", "other")),
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
    before: tuple[str, ...] = ()
    if field == "consent":
        # what is kept and for how long, as its own message before the question: together
        # they are longer than three SMS segments
        before = (i18n.t("intake.consent_info", lang, months=loket.load().retention_months),)
    buttons: list[Button] = []
    if spec.kind == "yesno":
        buttons = [Button(value_label(field, v, lang), _payload(v)) for v in (True, False)]
    elif spec.kind == "choice":
        buttons = [Button(value_label(field, v, lang), _payload(v)) for v in spec.values]
    if spec.optional:
        buttons.append(Button(i18n.t("intake.skip", lang), _payload(None)))
    elif field in ("frequency", "start"):
        buttons.append(Button(i18n.t("answer.dont_know", lang), _payload(None)))
    return Reply(text, tuple(buttons), before)


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
              today: date, sender_id: str = "", answers_so_far: Mapping[str, Any] | None = None
              ) -> Read:
    """Read a reply to the question about ``field``: a button, or the person's own words."""
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
        if field == "reason" and isinstance(value, str):
            value = [value]
        return Read(value, True) if _button_value_fits(field, value) else Read(
            problem="intake.invalid.text")
    if field == CONFIRM:
        return _confirm(text, intent, entities, lang, answers_so_far or {})
    assert spec is not None
    optional_skip = spec.optional or field in ("frequency", "start")
    if optional_skip and (vocabulary().is_phrase(text, "skip")
                          or vocabulary().is_phrase(text, "dont_know")):
        return Read(skipped=True)
    if field == "phone" and channel_phone(sender_id):
        said_yes = nlu_answers.read_yes_no(text, lang)
        if said_yes and not _digits(text):
            return Read(channel_phone(sender_id), True)
    if spec.kind == "yesno":
        said_yes = nlu_answers.read_yes_no(text, lang, field)
        if said_yes is None and intent in ("affirm", "deny"):
            said_yes = intent == "affirm"
        return Read(said_yes, True) if said_yes is not None else Read(
            problem="intake.invalid.yesno")
    if spec.kind == "choice":
        return _choice(spec, text, lang)
    read = _CHECKS[spec.kind](text, lang, today)
    if not read.ok and spec.optional and spec.kind in ("email", "phone") and "@" not in text \
            and nlu_answers.says_nothing(text, lang):
        return Read(skipped=True)  # "geen e-mail", "heb ik niet", "yok"
    return read


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text.translate(DIGITS))


def _button_value_fits(field: str, value: Any) -> bool:
    """A button's value is only trusted when it is one this field offers."""
    if field == CONFIRM:
        return value is True
    spec = BY_NAME[field]
    if spec.kind == "yesno":
        return isinstance(value, bool)
    if spec.kind == "choice":
        if field == "reason":
            return isinstance(value, list) and bool(value) and all(
                v in spec.values for v in value)
        return isinstance(value, str) and value in spec.values
    return False  # free fields have no buttons


def options(field: str, lang: str) -> list[nlu_answers.Option]:
    return [nlu_answers.Option(v, value_label(field, v, lang)) for v in BY_NAME[field].values]


@lru_cache(maxsize=1)
def _care_type_forms() -> dict[str, list[str]]:
    """Words for a childminder or a crèche in every language (data/vocab)."""
    return {value: sorted(vocabulary().surface_forms("care_type", value))
            for value in ("gezinsopvang", "groepsopvang")}


def _choice(spec: Field, text: str, lang: str) -> Read:
    if spec.name == "frequency" and nlu_answers.option_number(text) is None:
        days = dates.parse_days_per_week(text, lang)
        if days:
            return Read(str(min(days, 5)), True)
    extra = _care_type_forms() if spec.name == "care_type" else None
    found = nlu_answers.read_choice(spec.name, text, lang, options(spec.name, lang), extra)
    if spec.name == "reason" and found:
        # several reasons may apply: work and Dutch lessons
        return Read(said.reason_values(found, text, lang), True)
    if spec.name == "care_type" and len(found) > 1:
        preferred = _preferred(text, lang, found)
        if preferred:
            return Read(preferred, True)  # "plutôt une crèche, pas à l'aise avec une gardienne"
        return Read("no_preference", True)  # "een onthaalouder of een crèche, allebei goed"
    if found:
        return Read(found[0], True)
    return Read(problem=f"intake.invalid.{spec.name}")


def _preferred(text: str, lang: str, found: list[str]) -> str | None:
    """The option named right after a preference word ("plutôt", "liever", "rather")."""
    tokens = nlu_answers.tokenize(text)
    cues = nlu_answers.cue_hits("prefer", tokens, lang)
    if not cues:
        return None
    after = nlu_answers.tokenize(text[tokens[cues[0].end - 1].end:])
    named = nlu_answers.read_choice("care_type", " ".join(t.text for t in after[:4]), lang,
                                    options("care_type", lang), _care_type_forms())
    return named[0] if named and named[0] in found else None


def _confirm(text: str, intent: str | None, entities: list[dict], lang: str,
             answers_so_far: Mapping[str, Any]) -> Read:
    change = _entity(entities, "change_field")
    if change in BY_NAME:
        return Read({"change": change}, True)
    named = [f for f in FIELDS if f.name not in ("consent", "family_consent")
             and nlu_answers.Forms({f.name: [i18n.t(f"intake.label.{f.name}", lang)]}).values(
                 text)]
    if named:  # "het telefoonnummer is fout": change that one
        return Read({"change": named[0].name}, True)
    choice = nlu_answers.read_choice("confirm", text, lang, [
        nlu_answers.Option("send", i18n.t("intake.confirm_send", lang)),
        nlu_answers.Option("change", i18n.t("intake.change", lang))])
    if choice:
        return Read(True, True) if choice[0] == "send" else Read({"change": None}, True)
    said_yes = nlu_answers.read_yes_no(text, lang)
    if said_yes is None and intent in ("affirm", "deny"):
        said_yes = intent == "affirm"
    if said_yes is True:
        return Read(True, True)
    if said_yes is False:
        return Read({"change": None}, True)
    return Read(problem="intake.invalid.confirm")


def _name(text: str, lang: str, today: date, whose: str = "self") -> Read:
    if text.startswith("/"):
        return Read(problem="intake.invalid.name")
    tokens = nlu_answers.tokenize(text)
    maybe = nlu_answers.forms("names.maybe", lang).hits(tokens)
    if maybe and maybe[-1].end < len(tokens):
        # "we don't know yet, maybe Martina": the name they think of, not the doubt
        tentative = nlu_answers.read_name(text[tokens[maybe[-1].end].start:], lang, whose)
        if tentative:
            return Read(tentative, True)
    if nlu_answers.forms("names.none", lang).hits(tokens):
        return Read(skipped=True)  # "nog geen naam", "ещё не выбрали имя": ask nothing more
    parts = said.clauses(text, lang)
    # the clause that says it is a name ("ой, забыла сказать, … Зовут Марк"), else the whole
    # answer, else its first clause ("Mona Abdallah, my number is …"), never a word like "oops"
    naming = [p for p in parts if any(nlu_answers.forms(k, lang).hits(
        nlu_answers.tokenize(p)) for k in ("names.verbs", f"names.{whose}"))] \
        if len(parts) > 1 else []
    name = None
    for part in [*naming, text, *parts[:1]]:
        name = nlu_answers.read_name(part, lang, whose)
        if name and not _only_cue(name, "correction", lang):
            break
        name = None
    if name and naming and name.islower() and len(parts) > 1:
        # "Назар, ім'я вже вибрали": the capitalised name first, the naming clause a remark
        first = nlu_answers.read_name(parts[0], lang, whose)
        if first and first[:1].isupper():
            name = first
    return Read(name, True) if name else Read(problem="intake.invalid.name")


def _only_cue(text: str, kind: str, lang: str) -> bool:
    tokens = nlu_answers.tokenize(text)
    hits = nlu_answers.cue_hits(kind, tokens, lang)
    return bool(tokens) and sum(h.end - h.start for h in hits) >= len(tokens)


def _text(text: str, lang: str, today: date) -> Read:
    if not text or text.startswith("/"):
        return Read(problem="intake.invalid.text")
    return Read(text[:1000], True)


def _organisation(text: str, lang: str, today: date) -> Read:
    if not text or text.startswith("/"):
        return Read(problem="intake.invalid.text")
    claim = roles.claim(text, lang)
    if claim and claim.organisation:
        return Read(claim.organisation, True)
    return Read(text[:200], True)


_BIRTH_PROBLEMS = {"unreadable": "intake.invalid.child_birth",
                   "too_far_ahead": "intake.invalid.child_birth_future",
                   "too_old": "intake.invalid.child_birth_old"}


def _birth(text: str, lang: str, today: date) -> Read:
    birth, problem = dates.child_birth(text, lang, today)
    if problem:
        said_birth = said.child_facts(text, lang, today)
        if said_birth:  # "ze is geboren op 3 mei, ze is nu 7 maanden"
            return Read(said_birth[0].value, True)
        return Read(problem=_BIRTH_PROBLEMS[problem])
    return Read(birth.isoformat(), True)


def _start(text: str, lang: str, today: date) -> Read:
    cued = said.answered_start(text, lang, today)
    if cued:
        return Read(cued, True)
    start = dates.parse_start_date(text, lang, today)
    if start is None:
        return Read(problem="intake.invalid.start")
    if start < today:
        return Read(problem="intake.invalid.start_past")
    return Read(start.isoformat(), True)


def _location(text: str, lang: str, today: date) -> Read:
    loc = geo.resolve_location(text, fuzzy=len(text.split()) <= geo.SHORT_ANSWER_WORDS)
    # only postcodes that exist: a number in the Flemish range is not enough
    if loc is None or loc.region not in ("flanders", "brussels") or not loc.municipality:
        return Read(problem="intake.invalid.location")
    return Read({"municipality": loc.municipality, "postcode": loc.postcode}, True)


def _phone(text: str, lang: str, today: date) -> Read:
    found = [f for f in said.contact_facts(text) if f.field == "phone"]
    if found:
        return Read(found[0].value, True)
    try:
        number = phonenumbers.parse(text.translate(DIGITS), "BE")
    except phonenumbers.NumberParseException:
        return Read(problem="intake.invalid.phone")
    if not phonenumbers.is_valid_number(number):
        return Read(problem="intake.invalid.phone")
    return Read(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), True)


def _email(text: str, lang: str, today: date) -> Read:
    found = [f for f in said.contact_facts(text) if f.field == "email"]
    return Read(found[0].value, True) if found else Read(problem="intake.invalid.email")


def _contact(text: str, lang: str, today: date) -> Read:
    for check in (_email, _phone):
        read = check(text, lang, today)
        if read.ok:
            return read
    return Read(problem="intake.invalid.contact")


_CHECKS = {"name": _name, "text": _text, "birth": _birth, "start": _start,
           "location": _location, "phone": _phone, "email": _email, "contact": _contact,
           "organisation": _organisation}
WHOSE_NAME = {"child_name": "child", "parent_name": "self", "toeleider_name": "self"}
# "how can we reach you?" is answered with a phone number or an e-mail address: neither is the
# parent's; the parent's own phone and e-mail questions own only their own field
_ANSWER_KINDS = {"name": "name", "text": "free", "contact": "contact",
                 "organisation": "organisation"}


def answer_kind(field: str) -> str:
    """What an answer to ``field`` is made of (bot.pending.Question.kind)."""
    spec = BY_NAME.get(field)
    return _ANSWER_KINDS.get(spec.kind, "structured") if spec else "structured"


def reader(field: str, text: str, intent: str | None, entities: list[dict], lang: str,
           today: date, sender_id: str = "", answers_so_far: Mapping[str, Any] | None = None
           ) -> Read:
    """``interpret`` with the name fields reading whose name it is."""
    spec = BY_NAME.get(field)
    if spec is not None and spec.kind == "name" and _entity(entities, "intake_value") is None:
        return _name(text.strip(), lang, today, WHOSE_NAME.get(field, "self"))
    return interpret(field, text, intent, entities, lang, today, sender_id, answers_so_far)


# --- corrections at any time -------------------------------------------------------------

# Fields whose new value can be read from a sentence at any question ("nee, hij is geboren op
# 3 mei", "sorry, 4 dagen", "actually from March").
CORRECTABLE = ("child_birth", "start", "frequency", "location", "care_type", "reason",
               "phone", "email", "child_name")


def fact_value(field: str, value: Any) -> Any:
    """A fact said in free words (bot.nlu.said) as this field's answer, or None."""
    if field == "care_type":
        return value if value in ("gezinsopvang", "groepsopvang", "no_preference") else None
    if field == "reason":
        return [v for v in value if v in BY_NAME["reason"].values] or None
    return value if field in BY_NAME else None


def corrected_notice(field: str, value: Any, lang: str) -> str:
    return i18n.t("intake.corrected", lang, field=i18n.t(f"intake.label.{field}", lang),
                  value=display(field, value, lang))


# --- summary and the end -----------------------------------------------------------------

def display(field: str, value: Any, lang: str) -> str:
    if field == "reason" and isinstance(value, list):
        return i18n.t("format.list_sep", lang).join(value_label(field, v, lang) for v in value)
    if field in ("child_birth", "start"):
        return day(value, lang)
    if field == "location" and isinstance(value, Mapping):
        name = value.get("municipality")
        return " ".join(str(v) for v in (value.get("postcode"),
                                         geo.display_name(name, lang) if name else None) if v)
    if isinstance(value, bool) or BY_NAME[field].kind == "choice":
        return value_label(field, value, lang)
    return str(value)


def summary(answers: Mapping[str, Any], role: str, lang: str) -> Reply:
    lines = [f"- {i18n.t(f'intake.label.{f.name}', lang)}: {display(f.name, answers[f.name], lang)}"
             for f in FIELDS
             if f.name in answers and answers[f.name] is not None
             and f.name not in ("consent", "family_consent")]
    # a full fiche is longer than a phone shows well: sent in parts cut between lines
    buttons = (Button(i18n.t("intake.confirm_send", lang), _payload(True)),
               Button(i18n.t("intake.change", lang), intent_payload("deny")))
    options = "".join(f"\n{n}. {b.title}" for n, b in enumerate(buttons, 1)) + "\n"
    *first, last = phone_parts(i18n.t(f"intake.{role_of(role)}.summary", lang), lines, options)
    return Reply(last, buttons, tuple(first))


def change_menu(answers: Mapping[str, Any], role: str | None, lang: str) -> Reply:
    """Every field of the role, also the ones skipped: anything can be added back."""
    buttons = tuple(
        Button(i18n.t(f"intake.label.{f.name}", lang),
               intent_payload("inform", change_field=f.name))
        for f in FIELDS
        if role_of(role) in f.roles and f.name not in ("consent", "family_consent"))
    return Reply(i18n.t("intake.change_which", lang), buttons)


# --- the right of access -----------------------------------------------------------------

def data_overview(requests: list[tuple[str, str | None, Mapping[str, Any]]], role: str | None,
                  lang: str, contact: str) -> list[Reply]:
    """What is stored about the sender, in its language: each request's answers, health and
    allergy notes only as "kept encrypted", the conversation itself; how to get a copy (the
    loket's export) and how to have it erased. ``requests``: (status, reference, answers)."""
    if not requests:
        head = i18n.t("my_data.none", lang)
        return [Reply(head), Reply(i18n.t("my_data.next", lang, contact=contact))]
    parts = [i18n.t("my_data.intro", lang)]
    for status, reference, answers in requests:
        title = i18n.t("my_data.draft", lang) if status == "draft" else i18n.t(
            "my_data.request", lang, reference=reference or "?")
        lines = [title]
        for f in FIELDS:
            if f.name not in answers or answers[f.name] in (None, "") or f.name in (
                    "consent", "family_consent"):
                continue
            shown = i18n.t("my_data.encrypted", lang) if f.name in SENSITIVE else \
                display(f.name, answers[f.name], lang)
            lines.append(f"- {i18n.t(f'intake.label.{f.name}', lang)}: {shown}")
        parts.append("\n".join(lines))
    parts.append(i18n.t("my_data.conversation", lang))
    # a whole fiche is long: as many messages as fit a phone, cut between lines
    return [*phone_replies(parts), Reply(i18n.t("my_data.next", lang, contact=contact))]

