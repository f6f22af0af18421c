"""Loading and validating the dated rules-as-data in ``data/eligibility/*.yml``.

The files hold every rule, threshold and amount with its dates and sources, so that a decree
change, a court ruling or a yearly indexation is a data edit, never a code change. Loading
checks the files strictly (known facts and values, dates, sources, no overlapping rule sets)
and raises :class:`RulesDataError` naming the file and the place, so a bad edit fails the
tests instead of giving a family a wrong answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from bot.settings import DATA_DIR

RULES_DIR = DATA_DIR / "eligibility"

GROUPS = (
    "work", "single_parent", "low_income", "foster_child", "sibling", "dutch_speaking_brussels",
)
ROUTES = ("foster_child", "income_drop", "leefloon", "ocmw")
PRICINGS = ("income_related", "free_price")
STATUSES = ("in_force", "superseded", "annulled")
FACT_TYPES = ("bool", "choice", "number")
INDEXATIONS = ("yearly_1_january", "yearly", "index_linked")
_NUMBER_OPS = ("min", "max", "below")
_EPSILON = 1e-9  # averages like (0.6 + 1.0) / 2 must meet a 0.8 minimum


class RulesDataError(Exception):
    """A data file under data/eligibility is malformed (a bug in the data, not user input)."""


class NoRulesError(ValueError):
    """No rule set in the data covers the date asked about."""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: str
    values: tuple[Any, ...] = ()  # allowed values of a choice
    min: float | None = None
    max: float | None = None
    choices: tuple[float, ...] = ()  # values a conversation may offer for a number

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not a valid answer for this fact, or None when it is."""
        if self.type == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.type == "choice":
            if isinstance(value, str) and value in self.values:
                return None
            return "must be one of " + ", ".join(self.values)
        if not is_number(value):
            return "must be a number"
        if self.min is not None and value < self.min:
            return f"must be at least {self.min:g}"
        if self.max is not None and value > self.max:
            return f"must be at most {self.max:g}"
        return None


@dataclass(frozen=True)
class Condition:
    """All clauses must hold; a clause on an unknown fact is undecided (None), never false."""

    clauses: tuple[tuple[str, Any], ...]

    @property
    def facts(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.clauses)

    @staticmethod
    def clause_value(expected: Any, facts: dict[str, Any], name: str) -> bool | None:
        if facts.get(name) is None:
            return None
        value = facts[name]
        if isinstance(expected, tuple):
            return value in expected
        if isinstance(expected, dict):
            ok = True
            if "min" in expected:
                ok = ok and value >= expected["min"] - _EPSILON
            if "max" in expected:
                ok = ok and value <= expected["max"] + _EPSILON
            if "below" in expected:
                ok = ok and value < expected["below"]
            return ok
        if isinstance(expected, bool):
            return value is expected
        return value == expected

    def value(self, facts: dict[str, Any]) -> bool | None:
        results = [self.clause_value(exp, facts, name) for name, exp in self.clauses]
        if False in results:
            return False
        if None in results:
            return None
        return True

    def open_facts(self, facts: dict[str, Any]) -> list[str]:
        """Unknown facts that could still decide this condition (none once it is decided)."""
        if self.value(facts) is not None:
            return []
        return [name for name, _ in self.clauses if facts.get(name) is None]


@dataclass(frozen=True)
class Member:
    """A priority group, a vulnerable-family trait or an IVT route: a name and its condition."""

    name: str
    when: Condition
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VulnerableFamily:
    share_min: float
    min_traits: int
    required_any_of: tuple[str, ...]
    traits: tuple[Member, ...]


@dataclass(frozen=True)
class Derogation:
    share_max: float
    when: Condition
    details: dict[str, Any]


@dataclass(frozen=True)
class RuleSet:
    kind: str  # priority | reduced_rate
    id: str
    valid_from: date
    valid_to: date | None
    status: str
    last_checked: date
    sources: tuple[str, ...]
    note: str
    applies_to_pricing: tuple[str, ...]
    extra: dict[str, Any]  # annulled_on, proofs, help_line, … passed through to answers
    absolute_groups: tuple[Member, ...] = ()
    groups: tuple[Member, ...] = ()
    vulnerable_family: VulnerableFamily | None = None
    derogation: Derogation | None = None
    routes: tuple[Member, ...] = ()
    amounts: tuple[str, ...] = ()

    def covers(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "source": self.sources[0],
            "sources": list(self.sources),
            "status": self.status,
            "last_checked": self.last_checked.isoformat(),
        }
        if "annulled_on" in self.extra:
            out["annulled_on"] = self.extra["annulled_on"].isoformat()
        for key in _SAID_EXTRAS:
            if key in self.extra:
                out[key] = {k: v.isoformat() if isinstance(v, date) else v
                            for k, v in self.extra[key].items()}
        return out


@dataclass(frozen=True)
class AmountTable:
    name: str
    unit: str
    indexation: str
    note: str
    entries: tuple[dict[str, Any], ...]  # sorted by valid_from

    def entry_on(self, on: date) -> dict[str, Any] | None:
        """The figures quoted for ``on``: the newest confirmed entry in force. An entry marked
        ``uncertain: true`` is kept, not quoted, while a confirmed one is in force (a policy
        officer confirms it by setting ``uncertain: false``); it is quoted, flagged, only
        when no confirmed entry is in force at all."""
        in_force = [e for e in self.entries if e["valid_from"] <= on]
        confirmed = [e for e in in_force if not e.get("uncertain")]
        if confirmed:
            return confirmed[-1]
        return in_force[-1] if in_force else None

    def unconfirmed_after(self, on: date) -> list[dict[str, Any]]:
        """Uncertain entries in force on ``on`` that are newer than the quoted one."""
        quoted = self.entry_on(on)
        if quoted is None:
            return []
        return [e for e in self.entries if e.get("uncertain") and
                quoted["valid_from"] < e["valid_from"] <= on]


@dataclass(frozen=True)
class Implication:
    when: Condition
    then: Condition


@dataclass(frozen=True)
class Derived:
    fact: str
    source_fact: str
    below_amount_of: str


@dataclass(frozen=True)
class Rules:
    facts: dict[str, FactSpec]
    ask_order: tuple[str, ...]
    derived: tuple[Derived, ...]
    implications: tuple[Implication, ...]
    priority: tuple[RuleSet, ...]
    reduced_rate: tuple[RuleSet, ...]
    amounts: dict[str, AmountTable]

    def rule_set_on(self, kind: str, on: date) -> RuleSet:
        sets = self.priority if kind == "priority" else self.reduced_rate
        for rule_set in sets:
            if rule_set.covers(on):
                return rule_set
        first = min(s.valid_from for s in sets).isoformat()
        raise NoRulesError(
            f"no {kind} rules in force on {on.isoformat()} (the data starts on {first})"
        )

    def ask_rank(self, fact: str) -> int:
        return self.ask_order.index(fact) if fact in self.ask_order else len(self.ask_order)


# --------------------------------------------------------------------------- loading


class _Reader:
    """Validation helpers that name the file and the place of a problem."""

    def __init__(self, path: Path):
        self.path = path
        with path.open(encoding="utf-8") as fh:
            try:
                self.data = yaml.safe_load(fh)
            except yaml.YAMLError as exc:
                raise RulesDataError(f"{path.name}: not valid YAML: {exc}") from exc
        if not isinstance(self.data, dict):
            raise RulesDataError(f"{path.name}: expected a mapping at the top")

    def fail(self, where: str, message: str) -> RulesDataError:
        return RulesDataError(f"{self.path.name}: {where}: {message}")

    def get(self, node: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
            *, optional: bool = False, default: Any = None) -> Any:
        if not isinstance(node, dict):
            raise self.fail(where, "expected a mapping")
        if key not in node or node[key] is None:
            if optional:
                return default
            raise self.fail(where, f"'{key}' is required")
        value = node[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
            raise self.fail(where, f"'{key}' has the wrong type ({type(value).__name__})")
        return value

    def url(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise self.fail(where, f"source must be an http(s) URL, got {value!r}")
        return value


def _condition(reader: _Reader, node: Any, facts: dict[str, FactSpec], where: str) -> Condition:
    if not isinstance(node, dict) or not node:
        raise reader.fail(where, "a condition must be a non-empty mapping of facts")
    clauses: list[tuple[str, Any]] = []
    for name, expected in node.items():
        spec = facts.get(name)
        if spec is None:
            raise reader.fail(where, f"unknown fact '{name}'")
        if isinstance(expected, list):
            for item in expected:
                if spec.problem(item):
                    raise reader.fail(where, f"{name}: {item!r} {spec.problem(item)}")
            clauses.append((name, tuple(expected)))
        elif isinstance(expected, dict):
            if spec.type != "number" or not expected or set(expected) - set(_NUMBER_OPS):
                raise reader.fail(where, f"{name}: bounds need a number fact and min/max/below")
            if not all(is_number(v) for v in expected.values()):
                raise reader.fail(where, f"{name}: bounds must be numbers")
            clauses.append((name, dict(expected)))
        else:
            if spec.problem(expected):
                raise reader.fail(where, f"{name}: {expected!r} {spec.problem(expected)}")
            clauses.append((name, expected))
    return Condition(tuple(clauses))


def _load_facts(reader: _Reader) -> tuple[dict[str, FactSpec], tuple[str, ...]]:
    raw = reader.get(reader.data, "facts", dict, "top")
    facts: dict[str, FactSpec] = {}
    for name, node in raw.items():
        where = f"facts.{name}"
        kind = reader.get(node, "type", str, where)
        if kind not in FACT_TYPES:
            raise reader.fail(where, f"type must be one of {', '.join(FACT_TYPES)}")
        values = tuple(reader.get(node, "values", list, where, optional=kind != "choice",
                                  default=[]))
        if kind == "choice" and not all(isinstance(v, str) for v in values):
            raise reader.fail(where, "choice values must be strings")
        bounds = [reader.get(node, key, (int, float), where, optional=True)
                  for key in ("min", "max")]
        choices = tuple(float(c) for c in reader.get(node, "choices", list, where,
                                                     optional=True, default=[]))
        facts[name] = FactSpec(name, kind, values, bounds[0], bounds[1], choices)
        for choice in choices:
            if facts[name].problem(choice):
                raise reader.fail(where, f"choice {choice!r} {facts[name].problem(choice)}")
    order = tuple(reader.get(reader.data, "ask_order", list, "top"))
    unknown = [name for name in order if name not in facts]
    if unknown or len(set(order)) != len(order):
        raise reader.fail("ask_order", f"unknown or repeated facts: {unknown or order}")
    return facts, order


def _load_derived(reader: _Reader, facts: dict[str, FactSpec]) -> tuple[Derived, ...]:
    out = []
    for name, node in (reader.get(reader.data, "derived", dict, "top", optional=True,
                                  default={})).items():
        where = f"derived.{name}"
        source = reader.get(node, "from", str, where)
        if name not in facts or facts.get(source) is None or facts[source].type != "number":
            raise reader.fail(where, "needs a known fact derived from a known number fact")
        out.append(Derived(name, source, reader.get(node, "below_amount_of", str, where)))
    return tuple(out)


def _load_implications(reader: _Reader, facts: dict[str, FactSpec]) -> tuple[Implication, ...]:
    out = []
    for i, node in enumerate(reader.get(reader.data, "implications", list, "top",
                                        optional=True, default=[])):
        where = f"implications[{i}]"
        out.append(Implication(
            _condition(reader, reader.get(node, "if", dict, where), facts, where),
            _condition(reader, reader.get(node, "then", dict, where), facts, where),
        ))
    return tuple(out)


def _members(reader: _Reader, nodes: Any, key: str, allowed: tuple[str, ...] | None,
             facts: dict[str, FactSpec], where: str) -> tuple[Member, ...]:
    if not isinstance(nodes, list):
        raise reader.fail(where, "expected a list")
    out = []
    for i, node in enumerate(nodes):
        here = f"{where}[{i}]"
        name = reader.get(node, key, str, here)
        if allowed is not None and name not in allowed:
            raise reader.fail(here, f"{key} '{name}' is not one of {', '.join(allowed)}")
        when = _condition(reader, reader.get(node, "when", dict, here), facts, here)
        details = {k: v for k, v in node.items() if k not in (key, "when")}
        out.append(Member(name, when, details))
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise reader.fail(where, f"repeated {key}")
    return tuple(out)


_META = ("id", "valid_from", "valid_to", "status", "last_checked", "sources", "note",
         "content_of")
_EXTRA = ("annulled_on", "annulled_by", "proofs", "help_line", "house_rules", "own_residents")
# Extras that the conversation says in words: each is dated and sourced.
_SAID_EXTRAS = ("house_rules", "own_residents")
_PRIORITY_BODY = ("applies_to_pricing", "absolute_groups", "groups", "vulnerable_family",
                  "derogation")
_REDUCED_BODY = ("applies_to_pricing", "routes", "amounts")


def _rule_set(reader: _Reader, kind: str, node: dict[str, Any], by_id: dict[str, dict],
              facts: dict[str, FactSpec], where: str) -> RuleSet:
    body_keys = _PRIORITY_BODY if kind == "priority" else _REDUCED_BODY
    body = dict(node)
    ref = reader.get(node, "content_of", str, where, optional=True)
    if ref is not None:
        if ref not in by_id:
            raise reader.fail(where, f"content_of '{ref}' names no earlier rule set")
        body = {**{k: v for k, v in by_id[ref].items() if k not in _META}, **body}
    valid_from = reader.get(node, "valid_from", date, where)
    valid_to = reader.get(node, "valid_to", date, where, optional=True)
    if valid_to is not None and valid_to < valid_from:
        raise reader.fail(where, "valid_to is before valid_from")
    status = reader.get(node, "status", str, where)
    if status not in STATUSES:
        raise reader.fail(where, f"status must be one of {', '.join(STATUSES)}")
    sources = reader.get(node, "sources", list, where)
    if not sources:
        raise reader.fail(where, "at least one source is required")
    pricing = tuple(reader.get(body, "applies_to_pricing", list, where))
    if not pricing or set(pricing) - set(PRICINGS):
        raise reader.fail(where, f"applies_to_pricing must use {', '.join(PRICINGS)}")
    unknown = set(body) - set(_META) - set(body_keys) - set(_EXTRA)
    if unknown:
        raise reader.fail(where, f"unknown keys: {', '.join(sorted(unknown))}")
    extra = {k: v for k, v in body.items() if k in _EXTRA}
    for key in _SAID_EXTRAS:
        if key in extra:
            said = reader.get(extra, key, dict, where)
            reader.url(said.get("source"), f"{where}.{key}")
            if not isinstance(said.get("source_date"), date):
                raise reader.fail(f"{where}.{key}", "source_date must be a date")
    common = dict(
        kind=kind,
        id=reader.get(node, "id", str, where),
        valid_from=valid_from,
        valid_to=valid_to,
        status=status,
        last_checked=reader.get(node, "last_checked", date, where),
        sources=tuple(reader.url(s, where) for s in sources),
        note=reader.get(node, "note", str, where),
        applies_to_pricing=pricing,
        extra=extra,
    )
    if status == "annulled" and not isinstance(extra.get("annulled_on"), date):
        raise reader.fail(where, "an annulled rule set needs annulled_on (a date)")
    if kind == "reduced_rate":
        amounts = tuple(reader.get(body, "amounts", list, where, optional=True, default=[]))
        routes = _members(reader, reader.get(body, "routes", list, where), "route", ROUTES,
                          facts, f"{where}.routes")
        return RuleSet(**common, routes=routes, amounts=amounts)
    vulnerable = None
    vf = reader.get(body, "vulnerable_family", dict, where, optional=True)
    if vf is not None:
        here = f"{where}.vulnerable_family"
        traits = _members(reader, reader.get(vf, "traits", list, here), "trait", None, facts,
                          f"{here}.traits")
        required = tuple(reader.get(vf, "required_any_of", list, here, optional=True,
                                    default=[]))
        if set(required) - {t.name for t in traits}:
            raise reader.fail(here, "required_any_of names an unknown trait")
        min_traits = reader.get(vf, "min_traits", int, here)
        if not 1 <= min_traits <= len(traits):
            raise reader.fail(here, "min_traits out of range")
        vulnerable = VulnerableFamily(float(reader.get(vf, "share_min", (int, float), here)),
                                      min_traits, required, traits)
    derogation = None
    dg = reader.get(body, "derogation", dict, where, optional=True)
    if dg is not None:
        here = f"{where}.derogation"
        derogation = Derogation(
            float(reader.get(dg, "share_max", (int, float), here)),
            _condition(reader, reader.get(dg, "when", dict, here), facts, here),
            {k: v for k, v in dg.items() if k not in ("share_max", "when")},
        )
    absolute = _members(reader, reader.get(body, "absolute_groups", list, where), "group",
                        GROUPS, facts, f"{where}.absolute_groups")
    groups = _members(reader, reader.get(body, "groups", list, where, optional=True,
                                         default=[]), "group", GROUPS, facts, f"{where}.groups")
    if {g.name for g in absolute} & {g.name for g in groups}:
        raise reader.fail(where, "a group is both absolute and ordinary")
    return RuleSet(**common, absolute_groups=absolute, groups=groups,
                   vulnerable_family=vulnerable, derogation=derogation)


def _load_rule_sets(reader: _Reader, kind: str, facts: dict[str, FactSpec]
                    ) -> tuple[RuleSet, ...]:
    if reader.data.get("kind") != kind:
        raise reader.fail("top", f"kind must be '{kind}'")
    by_id: dict[str, dict] = {}
    sets: list[RuleSet] = []
    for i, node in enumerate(reader.get(reader.data, "rule_sets", list, "top")):
        rule_set = _rule_set(reader, kind, node, by_id, facts, f"rule_sets[{i}]")
        if rule_set.id in by_id:
            raise reader.fail(f"rule_sets[{i}]", f"repeated id '{rule_set.id}'")
        by_id[rule_set.id] = node
        sets.append(rule_set)
    sets.sort(key=lambda s: s.valid_from)
    for before, after in pairwise(sets):
        if before.valid_to is None or before.valid_to >= after.valid_from:
            raise reader.fail("rule_sets", f"'{before.id}' overlaps '{after.id}'")
    if not sets:
        raise reader.fail("rule_sets", "no rule sets")
    return tuple(sets)


def check_dated_entry(reader: _Reader, entry: Any, where: str) -> None:
    """Every figure carries a valid_from date and a source URL (and flags, when given, bools)."""
    if not isinstance(reader.get(entry, "valid_from", date, where), date):
        raise reader.fail(where, "valid_from must be a date")
    reader.url(entry.get("source"), where)
    for url in entry.get("other_sources") or []:
        reader.url(url, where)
    for flag in ("uncertain", "date_estimated"):
        if flag in entry and not isinstance(entry[flag], bool):
            raise reader.fail(where, f"'{flag}' must be true or false")
    for key, value in entry.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for i, sub in enumerate(value):
                check_dated_entry(reader, sub, f"{where}.{key}[{i}]")
        elif not (value is None or isinstance(value, (str, bool, date, list)) or
                  is_number(value)):
            raise reader.fail(where, f"'{key}' has an unexpected value {value!r}")


def _load_amounts(reader: _Reader) -> dict[str, AmountTable]:
    tables: dict[str, AmountTable] = {}
    for name, node in reader.get(reader.data, "tables", dict, "top").items():
        where = f"tables.{name}"
        indexation = reader.get(node, "indexation", str, where)
        if indexation not in INDEXATIONS:
            raise reader.fail(where, f"indexation must be one of {', '.join(INDEXATIONS)}")
        entries = reader.get(node, "entries", list, where)
        if not entries:
            raise reader.fail(where, "no entries")
        for i, entry in enumerate(entries):
            check_dated_entry(reader, entry, f"{where}.entries[{i}]")
        starts = [e["valid_from"] for e in entries]
        if starts != sorted(set(starts)):
            raise reader.fail(where, "entries must be in date order without repeated dates")
        tables[name] = AmountTable(name, reader.get(node, "unit", str, where), indexation,
                                   reader.get(node, "note", str, where, optional=True,
                                              default=""),
                                   tuple(entries))
    return tables


@lru_cache(maxsize=4)
def load_rules(data_dir: Path | None = None) -> Rules:
    """All rules, amounts and fact definitions, validated. Cached: the files are read once."""
    folder = Path(data_dir) if data_dir is not None else RULES_DIR
    facts_reader = _Reader(folder / "facts.yml")
    facts, order = _load_facts(facts_reader)
    amounts_reader = _Reader(folder / "amounts.yml")
    amounts = _load_amounts(amounts_reader)
    derived = _load_derived(facts_reader, facts)
    for item in derived:
        if item.below_amount_of not in amounts:
            raise facts_reader.fail(f"derived.{item.fact}", "names an unknown amount table")
    ivt_reader = _Reader(folder / "ivt.yml")
    rules = Rules(
        facts=facts,
        ask_order=order,
        derived=derived,
        implications=_load_implications(facts_reader, facts),
        priority=_load_rule_sets(_Reader(folder / "voorrang.yml"), "priority", facts),
        reduced_rate=_load_rule_sets(ivt_reader, "reduced_rate", facts),
        amounts=amounts,
    )
    for rule_set in rules.reduced_rate:
        if set(rule_set.amounts) - set(amounts):
            raise ivt_reader.fail(rule_set.id, "names an unknown amount table")
    return rules
