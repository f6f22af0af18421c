"""What to ask next, and which answers a question allows. Codes only: the words are in locales/.

The conversation asks one fact at a time: :func:`next_fact` gives it, :func:`answer_values`
the values it may offer as numbered choices, :func:`choice_value` turns the number a parent
typed back into the value, and :func:`contradictions` spots an answer that conflicts with an
earlier one so the conversation can ask which is right.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.eligibility.engine import CHECKS, FactError, contradictions, evaluate
from bot.eligibility.rules import Rules, load_rules

__all__ = ["answer_spec", "answer_values", "choice_value", "contradictions", "next_fact"]


def next_fact(check: str, facts: Mapping[str, Any], on: date | None = None, *,
              rules: Rules | None = None) -> str | None:
    """The single next fact to ask for ``check`` ("priority" | "reduced_rate"), or None."""
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; use one of {', '.join(CHECKS)}")
    missing = evaluate(facts, on, rules=rules)["missing_facts_by_check"][check]
    return missing[0] if missing else None


def answer_spec(fact: str, *, rules: Rules | None = None) -> dict[str, Any]:
    """Type and allowed values of a fact: {"type", "values"} plus "min"/"max" for numbers."""
    rules = rules or load_rules()
    spec = rules.facts.get(fact)
    if spec is None:
        raise FactError(f"unknown fact {fact!r}")
    out: dict[str, Any] = {"fact": fact, "type": spec.type, "values": answer_values(fact,
                                                                                   rules=rules)}
    if spec.type == "number":
        out["min"], out["max"] = spec.min, spec.max
        out["free_number"] = True  # choices are offered, any number in range is accepted
    return out


def answer_values(fact: str, *, rules: Rules | None = None) -> list[Any]:
    """Values to offer as numbered choices, in order (1 = first). Empty: ask a free number."""
    rules = rules or load_rules()
    spec = rules.facts.get(fact)
    if spec is None:
        raise FactError(f"unknown fact {fact!r}")
    if spec.type == "bool":
        return [True, False]
    if spec.type == "choice":
        return list(spec.values)
    return list(spec.choices)


def choice_value(fact: str, number: int, *, rules: Rules | None = None) -> Any:
    """The value of numbered choice ``number`` (1-based) for ``fact``."""
    values = answer_values(fact, rules=rules)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(values):
        raise FactError(f"choice {number!r} is not between 1 and {len(values)} for {fact!r}")
    return values[number - 1]
