"""What the provider's household rules (huishoudelijk reglement) and written contract may and
may not ask of a family, said as the dated rules of ``data/house_rules.yml`` hold on a date.

Plain Python: the action (bot/actions/information.py) passes the loket's today and the
topics the question names; this module picks the entries in force and renders short,
phone-sized replies (a first short answer, the details per topic on request) with the date
of the rules used, where a family can complain, and a button to a person of the loket.
Loading checks the data strictly and names the place of a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import dated, i18n, settings
from bot.replies import Button, Reply, intent_payload
from bot.textnorm import chat_fold, tokens_with_spans

RULES_FILE = settings.DATA_DIR / "house_rules.yml"
WORDS_FILE = settings.DATA_DIR / "house_rules_words.yml"

# The parts of the answer, in the order they are said and offered.
TOPICS: tuple[str, ...] = ("absence", "price", "deposit", "changes", "complaint")
# Which dated rules each topic says (complaints: contact data, not a dated rule); a rule two
# topics share is said once.
TOPIC_RULES: dict[str, tuple[str, ...]] = {
    "absence": ("respite_days", "absence_charge"),
    "price": ("short_day", "absence_charge"),
    "deposit": ("deposit",),
    "changes": ("change_notice",),
    "complaint": (),
}
RULES: tuple[str, ...] = tuple(dict.fromkeys(r for rules in TOPIC_RULES.values()
                                             for r in rules))
APPLIES_TO = frozenset({"income_related", "all"})
TOPIC_ENTITY = "house_rules_topic"
# prefixes written attached to an Arabic word (longest first)
_AR_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل")


class HouseRulesError(Exception):
    """data/house_rules.yml or data/house_rules_words.yml is malformed (a bug in the data)."""


@dataclass(frozen=True)
class Entry:
    """One value of a rule from ``valid_from`` on, with its source."""

    valid_from: date
    value: Mapping[str, Any]
    applies_to: str
    source: str
    last_checked: date
    source_date: date | None = None


@dataclass(frozen=True)
class Complaints:
    name: str
    phone: str
    email: str
    disputes: str
    source: str
    last_checked: date


@dataclass(frozen=True)
class HouseRules:
    rules: Mapping[str, tuple[Entry, ...]]
    complaints: Complaints

    def holding(self, rule: str, on: date) -> Entry | None:
        """The entry of ``rule`` in force on ``on`` (None before the first)."""
        return dated.in_force(self.rules.get(rule, ()), on)[0]


def _url(value: Any, where: str) -> str:
    if not (isinstance(value, str) and value.startswith(("http://", "https://"))):
        raise HouseRulesError(f"{where}: every source must be a URL")
    return value


def _date(node: Mapping[str, Any], key: str, where: str) -> date:
    value = node.get(key)
    if not isinstance(value, date):
        raise HouseRulesError(f"{where}: {key} must be a date")
    return value


def _entry(node: Any, where: str) -> Entry:
    if not isinstance(node, dict):
        raise HouseRulesError(f"{where}: an entry must be a mapping")
    value = node.get("value")
    if not isinstance(value, dict) or not value:
        raise HouseRulesError(f"{where}: value must be a mapping")
    if node.get("applies_to") not in APPLIES_TO:
        raise HouseRulesError(f"{where}: applies_to must be one of {sorted(APPLIES_TO)}")
    source = _url(node.get("source"), where)
    for url in [node.get("copy"), *(node.get("other_sources") or [])]:
        if url is not None:
            _url(url, where)
    source_date = _date(node, "source_date", where) if "source_date" in node else None
    return Entry(_date(node, "valid_from", where), value, node["applies_to"], source,
                 _date(node, "last_checked", where), source_date)


def _complaints(node: Any, where: str) -> Complaints:
    if not isinstance(node, dict) or not isinstance(node.get("klachtendienst"), dict):
        raise HouseRulesError(f"{where}: a klachtendienst mapping is needed")
    service = node["klachtendienst"]
    for key in ("name", "phone", "email"):
        if not (isinstance(service.get(key), str) and service[key].strip()):
            raise HouseRulesError(f"{where}.klachtendienst: {key} is missing")
    for url in [node.get("steps_source"), *(node.get("other_sources") or [])]:
        _url(url, where)
    if not (isinstance(node.get("disputes"), str) and node["disputes"].strip()):
        raise HouseRulesError(f"{where}: disputes (who settles a dispute) is missing")
    return Complaints(service["name"], service["phone"], service["email"], node["disputes"],
                      _url(service.get("source"), where), _date(node, "last_checked", where))


@lru_cache(maxsize=4)
def load(path: Path = RULES_FILE) -> HouseRules:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules: dict[str, tuple[Entry, ...]] = {}
    for name in RULES:
        rules[name] = dated.series((data.get("rules") or {}).get(name), _entry,
                                   f"{path.name}: {name}", HouseRulesError)
    unknown = set(data.get("rules") or {}) - set(RULES)
    if unknown:
        raise HouseRulesError(f"{path.name}: rules nobody says: {sorted(unknown)}")
    return HouseRules(rules, _complaints(data.get("complaints"), f"{path.name}: complaints"))


# --------------------------------------------------------------- what the question is about

@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    open_end: bool  # the last word may go on ("respijt*")


def _phrase(text: str) -> _Phrase:
    open_end = text.endswith("*")
    words = tuple(t for t, _, _ in tokens_with_spans(chat_fold(text.rstrip("*"))))
    return _Phrase(words, open_end)


@lru_cache(maxsize=4)
def topic_words(path: Path = WORDS_FILE) -> dict[str, tuple[_Phrase, ...]]:
    """topic -> its phrases in every language."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    topics = data.get("topics") or {}
    if set(topics) != set(TOPICS):
        raise HouseRulesError(f"{path.name}: the topics must be {list(TOPICS)}")
    out: dict[str, tuple[_Phrase, ...]] = {}
    for topic in TOPICS:
        langs = topics[topic] or {}
        missing = [lang for lang in i18n.SUPPORTED if not langs.get(lang)]
        if missing:
            raise HouseRulesError(f"{path.name}: {topic} has no words for {missing}")
        phrases = [_phrase(str(p)) for lang in i18n.SUPPORTED for p in langs[lang]]
        if any(not p.words for p in phrases):
            raise HouseRulesError(f"{path.name}: {topic} has an empty phrase")
        out[topic] = tuple(phrases)
    return out


def _variants(token: str) -> set[str]:
    """A token and, for an Arabic word, the word without an attached prefix."""
    out = {token}
    for prefix in _AR_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            out.add(token[len(prefix):])
    return out


def _matches(phrase: _Phrase, tokens: Sequence[set[str]], at: int) -> bool:
    n = len(phrase.words)
    if at + n > len(tokens):
        return False
    for i, word in enumerate(phrase.words):
        last = i == n - 1
        if not any(t == word or (last and phrase.open_end and t.startswith(word))
                   for t in tokens[at + i]):
            return False
    return True


def topics_in(text: str) -> tuple[str, ...]:
    """The topics a question names, in answer order ("waarborg?" -> deposit)."""
    tokens = [_variants(t) for t, _, _ in tokens_with_spans(chat_fold(text))]
    found = []
    for topic, phrases in topic_words().items():
        if any(_matches(p, tokens, i) for p in phrases for i in range(len(tokens))):
            found.append(topic)
    return tuple(t for t in TOPICS if t in found)


# ------------------------------------------------------------------------------ the answer

def _day(d: date, lang: str) -> str:
    return i18n.t("format.date", lang, d=d.day, m=d.month, y=d.year)


def _money(amount: float, lang: str) -> str:
    from bot.eligibility.dialogue import money

    return money(amount, lang, decimals=0 if float(amount).is_integer() else 2)


def _texts(rule: str, entry: Entry, lang: str) -> list[str]:
    """The sentences that say one rule's entry."""
    v = entry.value
    if rule == "respite_days":
        return [i18n.t("house_rules.respite_days", lang, days=v["days_full_time"])]
    if rule == "absence_charge":
        return [i18n.t("house_rules.absence_charge", lang)]
    if rule == "short_day":
        return [i18n.t("house_rules.short_day", lang, hours=v["below_hours"],
                       percent=i18n.t("house_rules.percent", lang, n=v["percent"]))]
    if rule == "deposit":
        return [i18n.t("house_rules.deposit", lang, max=_money(v["max"], lang),
                       low=_money(v["low_income_max"], lang),
                       income=_money(v["low_income_up_to"], lang))]
    if rule == "change_notice":
        return [i18n.t("house_rules.change_notice", lang, months=v["months"],
                       end_within=v["end_within_months"])]
    raise HouseRulesError(f"no text for rule {rule}")


def _as_of(entries: Iterable[Entry], lang: str) -> str:
    """The date the rules said hold from (the newest of them)."""
    return i18n.t("house_rules.as_of", lang, date=_day(max(e.valid_from for e in entries), lang))


def _buttons(lang: str, asked: Sequence[str]) -> tuple[Button, ...]:
    """The other topics, then a person of the loket."""
    more = tuple(Button(i18n.t(f"house_rules.topic.{t}", lang),
                        intent_payload("ask_house_rules", **{TOPIC_ENTITY: t}))
                 for t in TOPICS if t not in asked)
    return (*more, Button(i18n.t("topic.human", lang), intent_payload("request_human")))


def _topic_replies(topic: str, data: HouseRules, on: date, lang: str,
                   said: set[str]) -> list[str]:
    """The texts of one topic, without the rules ``said`` already (which it extends)."""
    if topic == "complaint":
        c = data.complaints
        return [i18n.t("house_rules.complaint.steps", lang),
                i18n.t("house_rules.complaint.service", lang, name=c.name, phone=c.phone,
                       email=c.email),
                i18n.t("house_rules.complaint.disputes", lang, name=c.disputes)]
    held = [(rule, data.holding(rule, on)) for rule in TOPIC_RULES[topic] if rule not in said]
    entries = [(rule, e) for rule, e in held if e is not None]
    said.update(rule for rule, _ in entries)
    if not entries:
        return []
    texts = [t for rule, e in entries for t in _texts(rule, e, lang)]
    texts[-1] = f"{texts[-1]} {_as_of((e for _, e in entries), lang)}"
    return texts


def _unknown(lang: str) -> list[Reply]:
    """No rules known for the date asked about: where to complain is still known."""
    return [Reply(i18n.t("house_rules.unknown", lang), _buttons(lang, TOPICS[:-1]))]


def explain(lang: str, on: date | None = None, topics: Iterable[str] = (), *,
            data: HouseRules | None = None) -> list[Reply]:
    """The answer to a question about house rules and the contract on ``on`` (the loket's
    today when not given): for the topics named, their rules; else a short overview; the
    last reply offers the other topics and a person of the loket."""
    on = on or settings.today()
    data = data or load()
    asked = tuple(t for t in TOPICS if t in set(topics))
    if not asked:
        respite = data.holding("respite_days", on)
        if respite is None:
            return _unknown(lang)
        # the date of the rules as a whole: the newest entry in force
        newest = max(e.valid_from for e in (data.holding(r, on) for r in RULES) if e)
        text = i18n.t("house_rules.overview", lang, days=respite.value["days_full_time"],
                      date=_day(newest, lang))
        return [Reply(text, _buttons(lang, ()))]
    said: set[str] = set()
    texts = [t for topic in asked for t in _topic_replies(topic, data, on, lang, said)]
    if not texts:
        return _unknown(lang)
    replies = [Reply(t) for t in texts]
    return [*replies[:-1], Reply(replies[-1].text, _buttons(lang, asked))]
