"""``python -m bot eligibility --json --facts '<json>' [--on YYYY-MM-DD]`` (contract §5)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from bot.cli import CliError, print_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--facts", default="{}",
                        help="facts as a JSON object, e.g. '{\"work_situation\": \"working\"}'")
    parser.add_argument("--on", default=None, metavar="YYYY-MM-DD",
                        help="evaluate the rules in force on this date (default: today)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")


def _parse_date(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"--on must be a date as YYYY-MM-DD, got {text!r}") from None


def _parse_facts(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--facts is not valid JSON: {exc.msg} at position {exc.pos}") from None


def _tri(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def _summary(result: dict[str, Any]) -> str:
    """Compact developer output (English): not shown to families."""
    priority, reduced = result["priority"], result["reduced_rate"]
    rules = result["rules"]
    lines = [
        f"on {result['on']}: priority rules {rules['id']} ({rules['status']}, from "
        f"{rules['valid_from']}), reduced rate {reduced['rule_set']}; indication only, "
        f"last checked {result['last_checked']}",
        f"priority: applicable={_tri(priority['applicable'])} "
        f"absolute={_tri(priority['absolute'])} "
        f"vulnerable_family={_tri(priority['vulnerable_family'])} "
        f"groups={','.join(priority['groups']) or '-'}",
        f"reduced rate: applicable={_tri(reduced['applicable'])} "
        f"routes={','.join(reduced['routes']) or '-'}",
    ]
    if "reason" in priority:
        lines.append(f"not applicable: {priority['reason']}, instead: {priority['instead']}")
    for name, amount in reduced.get("amounts", {}).items():
        if amount is None:
            continue
        figures = {k: v for k, v in amount.items() if isinstance(v, (int, float))
                   and not isinstance(v, bool)}
        flags = [flag for flag in ("uncertain", "outdated") if amount.get(flag)]
        flags += [f"unconfirmed, not quoted: {day}" for day in amount.get("unconfirmed_newer", [])]
        lines.append(f"  {name} from {amount['valid_from']}: "
                     + ", ".join(f"{k}={v}" for k, v in figures.items())
                     + (f" [{', '.join(flags)}]" if flags else ""))
    lines.append("missing facts: " + (", ".join(result["missing_facts"]) or "-"))
    if result["inconsistent_facts"]:
        lines.append("inconsistent facts: " + ", ".join(result["inconsistent_facts"]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `--help` and argument errors stay fast.
    from bot.eligibility.engine import evaluate

    on = _parse_date(args.on)
    facts = _parse_facts(args.facts)
    try:
        result = evaluate(facts, on)
    except ValueError as exc:  # FactError, NoRulesError
        raise CliError(str(exc)) from None
    if args.json:
        print_json(result)
    else:
        print(_summary(result))
    return 0
