"""Evaluate priority (voorrang) and reduced-rate (IVT) rules for one family on one date.

Plain Python over the dated data in ``data/eligibility`` (see ``rules.py``); no Rasa here. The
answer is always an *indication*: three-valued (true / false / null = cannot tell yet), with
the rule set and the amounts used, their dates and sources, and the facts still worth asking.
An unknown fact is never treated as false.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from itertools import product
from typing import Any

from bot import settings
from bot.eligibility.rules import (
    AmountTable,
    Member,
    Rules,
    RuleSet,
    VulnerableFamily,
    load_rules,
)

CHECKS = ("priority", "reduced_rate")
GATE_FACT = "care_pricing"
# Where priority and IVT do not apply because of the pricing, what the family gets instead
# (a code for the conversation layer and the amount table that goes with it).
ALTERNATIVE_FOR_PRICING = {"free_price": "kinderopvangtoeslag"}


class FactError(ValueError):
    """The facts given are not valid (unknown name, wrong type or value)."""


def validate_facts(facts: Any, rules: Rules | None = None) -> dict[str, Any]:
    """The known facts (null = unknown, dropped), after a strict check of names and values."""
    rules = rules or load_rules()
    if not isinstance(facts, Mapping):
        raise FactError("facts must be a JSON object of fact names to values")
    known: dict[str, Any] = {}
    for name, value in facts.items():
        spec = rules.facts.get(name) if isinstance(name, str) else None
        if spec is None:
            raise FactError(f"unknown fact {name!r}; known facts: {', '.join(rules.facts)}")
        if value is None:
            continue
        problem = spec.problem(value)
        if problem:
            raise FactError(f"fact {name!r} {problem} (got {value!r})")
        known[name] = value
    return known


def _check_date(on: date | None) -> date:
    if on is None:
        return settings.today()
    if isinstance(on, datetime):
        return on.date()
    if not isinstance(on, date):
        raise FactError(f"the date must be a date, got {on!r}")
    return on


def _any(values: Iterable[bool | None]) -> bool | None:
    """Three-valued OR: true if one is true, false if all are false, else unknown."""
    values = list(values)
    if True in values:
        return True
    if None in values:
        return None
    return False


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _amount(table: AmountTable, on: date) -> dict[str, Any] | None:
    entry = table.entry_on(on)
    if entry is None:
        return None
    out: dict[str, Any] = {"table": table.name, "unit": table.unit, "uncertain": False,
                           "date_estimated": False}
    out.update(_jsonable(entry))
    # newer figures that are reported but not confirmed: kept out of answers, named here
    out["unconfirmed_newer"] = [e["valid_from"].isoformat() for e in table.unconfirmed_after(on)]
    # Yearly indexed: a later calendar year means an indexation this file does not have yet.
    if table.indexation.startswith("yearly"):
        out["outdated"] = on.year > entry["valid_from"].year
    else:
        out["outdated"] = None
    return out


def amount_on(table: str, on: date | None = None, *, rules: Rules | None = None
              ) -> dict[str, Any] | None:
    """The entry of an amount table in force on ``on`` (with valid_from, source, flags)."""
    rules = rules or load_rules()
    if table not in rules.amounts:
        raise KeyError(f"unknown amount table {table!r}")
    return _amount(rules.amounts[table], _check_date(on))


def _derive(known: dict[str, Any], on: date, rules: Rules
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    facts = dict(known)
    derived: dict[str, Any] = {}
    for item in rules.derived:
        if facts.get(item.fact) is not None or facts.get(item.source_fact) is None:
            continue
        threshold = _amount(rules.amounts[item.below_amount_of], on)
        if threshold is None:
            continue
        facts[item.fact] = facts[item.source_fact] < threshold["amount"]
        derived[item.fact] = {"value": facts[item.fact], "from": item.source_fact,
                              "threshold": threshold}
    return facts, derived


def _members(members: Iterable[Member], facts: dict[str, Any]
             ) -> tuple[list[tuple[str, bool | None]], list[str]]:
    values, open_facts = [], []
    for member in members:
        values.append((member.name, member.when.value(facts)))
        open_facts.extend(member.when.open_facts(facts))
    return values, open_facts


def _vulnerable(rule: VulnerableFamily, facts: dict[str, Any]
                ) -> tuple[bool | None, list[str], list[str]]:
    """(value, traits that hold, open facts) for "at least n of the traits, one required"."""
    values = {t.name: t.when.value(facts) for t in rule.traits}
    unknown = [name for name, value in values.items() if value is None]

    def holds(assign: dict[str, bool]) -> bool:
        enough = sum(assign.values()) >= rule.min_traits
        return enough and (not rule.required_any_of or any(assign[r] for r in rule.required_any_of))

    # At most 5 traits: trying every completion is exact and cheap. A trait is worth asking
    # when flipping it changes the result for some completion of the other unknowns.
    outcomes: set[bool] = set()
    pivotal: set[str] = set()
    for combo in product((False, True), repeat=len(unknown)):
        assign = {**values, **dict(zip(unknown, combo, strict=True))}
        result = holds(assign)
        outcomes.add(result)
        for name in unknown:
            if not assign[name] and holds({**assign, name: True}) != result:
                pivotal.add(name)
    value = outcomes.pop() if len(outcomes) == 1 else None
    open_facts = [f for t in rule.traits if t.name in pivotal for f in t.when.open_facts(facts)]
    return value, [name for name, v in values.items() if v], open_facts


def _not_applicable(pricing: str, rules: Rules, on: date) -> dict[str, Any]:
    alternative = ALTERNATIVE_FOR_PRICING.get(pricing)
    out: dict[str, Any] = {"reason": pricing, "instead": alternative}
    if alternative in rules.amounts:
        out["instead_amount"] = _amount(rules.amounts[alternative], on)
    return out


def _priority(rule_set: RuleSet, facts: dict[str, Any], pricing: str | None, rules: Rules,
              on: date) -> tuple[dict[str, Any], list[str]]:
    base: dict[str, Any] = {"rule_set": rule_set.id}
    vf_rule = rule_set.vulnerable_family
    shares: dict[str, float] = {}
    if vf_rule is not None:
        shares["vulnerable_family_min"] = vf_rule.share_min
    for group in (*rule_set.absolute_groups, *rule_set.groups):
        if "share_max" in group.details:
            shares[f"{group.name}_max"] = group.details["share_max"]
    if rule_set.derogation is not None:
        shares["derogation_max"] = rule_set.derogation.share_max
    base["shares"] = shares
    if pricing is not None and pricing not in rule_set.applies_to_pricing:
        return {"applicable": False, "absolute": False, "groups": [],
                "vulnerable_family": False, **base, **_not_applicable(pricing, rules, on)}, []

    absolute_values, open_facts = _members(rule_set.absolute_groups, facts)
    absolute_open = list(open_facts)
    other_values, other_open = _members(rule_set.groups, facts)
    open_facts += other_open
    all_values = absolute_values + other_values
    absolute = _any(v for _, v in absolute_values)
    if vf_rule is None:
        # No kwetsbaar-gezin share in these rules: no priority can come from it.
        vulnerable, traits = False, []
    else:
        vulnerable, traits, vf_open = _vulnerable(vf_rule, facts)
        open_facts += vf_open
    out: dict[str, Any] = {
        "applicable": _any([v for _, v in all_values] + [vulnerable]),
        "absolute": absolute,
        "groups": [name for name, value in all_values if value],
        "vulnerable_family": vulnerable,
        **base,
        "absolute_groups": [name for name, value in absolute_values if value],
        "open_groups": [name for name, value in all_values if value is None],
        "open_absolute_facts": absolute_open,
        "vulnerable_family_traits": traits,
    }
    if rule_set.derogation is not None:
        # A derogation only matters for a family without absolute priority.
        ground = None if absolute else rule_set.derogation.when.value(facts)
        if not absolute:
            open_facts += rule_set.derogation.when.open_facts(facts)
        out["derogation"] = {"share_max": rule_set.derogation.share_max, "ground": ground,
                             **_jsonable(rule_set.derogation.details)}
    if "proofs" in rule_set.extra:
        out["proofs"] = list(rule_set.extra["proofs"])
    return out, open_facts


def _reduced_rate(rule_set: RuleSet, facts: dict[str, Any], pricing: str | None, rules: Rules,
                  on: date) -> tuple[dict[str, Any], list[str]]:
    base: dict[str, Any] = {
        "rule_set": rule_set.id,
        "rules": rule_set.summary(),
        "amounts": {name: _amount(rules.amounts[name], on) for name in rule_set.amounts},
    }
    if "help_line" in rule_set.extra:
        base["help_line"] = rule_set.extra["help_line"]
    if pricing is not None and pricing not in rule_set.applies_to_pricing:
        return {"applicable": False, "routes": [], **base,
                **_not_applicable(pricing, rules, on)}, []
    values, open_facts = _members(rule_set.routes, facts)
    out = {
        "applicable": _any(v for _, v in values),
        "routes": [name for name, value in values if value],
        **base,
        "open_routes": [name for name, value in values if value is None],
        "route_details": {r.name: _jsonable(r.details) for r in rule_set.routes},
    }
    return out, open_facts


def _ordered(names: Iterable[str], rules: Rules) -> list[str]:
    unique = list(dict.fromkeys(names))
    return sorted(unique, key=rules.ask_rank)


def contradictions(old_facts: Mapping[str, Any], new_facts: Mapping[str, Any], *,
                   rules: Rules | None = None) -> list[str]:
    """Facts in ``new_facts`` whose value conflicts with an earlier answer in ``old_facts``.

    A conflict is a different value for the same fact, or a pair of answers that breaks an
    implication of facts.yml (``partner_works: true`` vs an earlier ``single_parent: true``).
    """
    rules = rules or load_rules()
    old = validate_facts(old_facts, rules)
    new = validate_facts(new_facts, rules)
    found = [name for name, value in new.items() if name in old and old[name] != value]
    for rule in rules.implications:
        if rule.when.value(new) is True and rule.then.value(old) is False:
            found += [name for name in rule.when.facts if name in new]
        if rule.when.value(old) is True and rule.then.value(new) is False:
            found += [name for name in rule.then.facts if name in new]
    return _ordered(found, rules)


def evaluate(facts: Mapping[str, Any], on: date | None = None, *,
             rules: Rules | None = None) -> dict[str, Any]:
    """Priority and reduced-rate indication for ``facts`` under the rules in force on ``on``.

    Raises FactError for invalid facts and rules.NoRulesError (both ValueError) for a date the
    data does not cover.
    """
    rules = rules or load_rules()
    on = _check_date(on)
    known = validate_facts(facts, rules)
    effective, derived = _derive(known, on, rules)
    priority_set = rules.rule_set_on("priority", on)
    reduced_set = rules.rule_set_on("reduced_rate", on)
    pricing = known.get(GATE_FACT)

    priority, priority_open = _priority(priority_set, effective, pricing, rules, on)
    reduced, reduced_open = _reduced_rate(reduced_set, effective, pricing, rules, on)
    # Unknown pricing: evaluated as income-related, but the answer could still become "not
    # applicable", so the pricing is always the first thing to ask.
    gate = [GATE_FACT] if pricing is None else []
    by_check = {
        "priority": gate + _ordered(priority_open, rules),
        "reduced_rate": gate + _ordered(reduced_open, rules),
    }
    result: dict[str, Any] = {
        "indication": True,
        "on": on.isoformat(),
        "rules": priority_set.summary(),
        "last_checked": min(priority_set.last_checked, reduced_set.last_checked).isoformat(),
        "rule_sets": {"priority": priority_set.summary(), "reduced_rate": reduced_set.summary()},
        "priority": priority,
        "reduced_rate": reduced,
        "missing_facts": gate + _ordered(priority_open + reduced_open, rules),
        "missing_facts_by_check": by_check,
        "facts": dict(known),
        "derived": derived,
        "inconsistent_facts": contradictions(known, known, rules=rules),
    }
    if pricing != "income_related":
        # Free price (or not known yet): the Groeipakket supplement is the other money route.
        alternative = ALTERNATIVE_FOR_PRICING["free_price"]
        result[alternative] = _amount(rules.amounts[alternative], on)
    return result
