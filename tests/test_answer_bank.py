"""The answer readers measured on the answer bank (tests/answer_bank/<lang>.yml): free-typed
answers to the snelfiche and eligibility questions with the value a careful person reads in
them, written without looking at the readers. Every third answer of a question is held out:
counted, never shown, never tuned on. A floor per language and part keeps what was reached;
`python -m tests.test_answer_bank` prints the figures and the misses of the tuning part."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import i18n
from bot.eligibility import dialogue as eligibility
from bot.intake import dialogue as intake

BANK = Path(__file__).parent / "answer_bank"
ELIGIBILITY_FIELDS = ("single_parent", "low_income")
AGE_TOLERANCE_DAYS = 31  # an age in months stands for a birth date within about a month

# Share of the bank each language's readers get right (tuning part, held-out part); raise it
# as they improve.
FLOOR = {"nl": (1.0, 0.97), "fr": (1.0, 0.91), "en": (0.98, 1.0), "ar": (0.97, 0.86),
         "tr": (1.0, 0.97), "uk": (0.98, 0.97)}


def load(lang: str, held_out: bool) -> tuple[date, list[tuple[str, str, Any]]]:
    data = yaml.safe_load((BANK / f"{lang}.yml").read_text(encoding="utf-8"))
    items = [(field, str(item["text"]), item["value"])
             for field, answers in data["answers"].items()
             for i, item in enumerate(answers) if (i % 3 == 2) is held_out]
    return date.fromisoformat(str(data["today"])), items


def read(field: str, text: str, lang: str, today: date) -> Any:
    if field in ELIGIBILITY_FIELDS:
        answer = eligibility.interpret(field, text, None, [], lang)
        return answer.value if answer.understood else None
    got = intake.reader(field, text, "inform", [], lang, today)
    return got.value if got.ok else None


def right(field: str, got: Any, expected: Any, today: date) -> bool:
    if field == "reason":
        return isinstance(got, list) and sorted(got) == sorted(expected)
    if field == "child_birth" and isinstance(expected, dict):
        months = int(expected["age_months"])
        year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
        target = date(year, month + 1, min(today.day, 28))
        try:
            return abs((date.fromisoformat(str(got)) - target).days) <= AGE_TOLERANCE_DAYS
        except ValueError:
            return False
    return str(got) == str(expected) if not isinstance(expected, bool) else got is expected


def misses(lang: str, held_out: bool = False) -> tuple[int, list[tuple[str, str, Any, Any]]]:
    today, items = load(lang, held_out)
    wrong = []
    for field, text, expected in items:
        got = read(field, text, lang, today)
        if not right(field, got, expected, today):
            wrong.append((field, text, expected, got))
    return len(items), wrong


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_the_readers_get_the_answer_bank_right(lang: str) -> None:
    if not (BANK / f"{lang}.yml").exists():
        pytest.fail(f"no answer bank for {lang}")
    total, wrong = misses(lang)
    share = 1 - len(wrong) / total
    shown = "\n".join(f"  {f}: {t!r} -> {g!r} (expected {e!r})" for f, t, e, g in wrong[:40])
    assert share >= FLOOR[lang][0], f"{lang}: {share:.1%} right, below the floor\n{shown}"
    held, held_wrong = misses(lang, held_out=True)
    held_share = 1 - len(held_wrong) / held
    assert held_share >= FLOOR[lang][1], f"{lang} held out: {held_share:.1%}, below the floor"


if __name__ == "__main__":
    for code in sys.argv[1:] or i18n.SUPPORTED:
        n, bad = misses(code)
        h, held_bad = misses(code, held_out=True)
        print(f"{code}: tuning {n - len(bad)}/{n} ({1 - len(bad) / n:.1%}), "
              f"held out {h - len(held_bad)}/{h} ({1 - len(held_bad) / h:.1%})")
        for f, t, e, g in bad:
            print(f"  {f}: {t!r} -> {g!r} (expected {e!r})")
