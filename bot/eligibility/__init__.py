"""Eligibility for priority (voorrang) and the individual reduced rate (IVT), as dated data.

Public entry points (plain Python, no Rasa):

- ``evaluate(facts, on) -> dict``: the indication for one family on one date (contract §5);
- ``next_fact(check, facts, on) -> str | None`` and ``answer_values(fact)``: what to ask next;
- ``contradictions(old_facts, new_facts) -> list[str]``: answers that conflict;
- ``amount_on(table, on)``: a dated amount with its source.
"""

from bot.eligibility.engine import (
    CHECKS,
    FactError,
    amount_on,
    contradictions,
    evaluate,
    validate_facts,
)
from bot.eligibility.questions import answer_spec, answer_values, choice_value, next_fact
from bot.eligibility.rules import NoRulesError, RulesDataError, load_rules

__all__ = [
    "CHECKS",
    "FactError",
    "NoRulesError",
    "RulesDataError",
    "amount_on",
    "answer_spec",
    "answer_values",
    "choice_value",
    "contradictions",
    "evaluate",
    "load_rules",
    "next_fact",
    "validate_facts",
]
