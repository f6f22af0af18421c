"""Crisis words (``data/crisis_words.yml``): a message that signals danger goes to a person,
urgent, whatever the intent classifier thought."""

from __future__ import annotations

from functools import lru_cache

import yaml

from bot.settings import DATA_DIR
from bot.textnorm import fold, phrase_set, tokens_with_spans

EXCEPTIONS_KEY = "not_a_crisis"


@lru_cache(maxsize=1)
def _phrases() -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
    """(crisis phrases, phrases about childcare that contain a crisis word)."""
    data = yaml.safe_load((DATA_DIR / "crisis_words.yml").read_text(encoding="utf-8"))
    exceptions = data.pop(EXCEPTIONS_KEY, [])
    return phrase_set(p for phrases in data.values() for p in phrases), phrase_set(exceptions)


def _find(tokens: list[str], phrases: frozenset[tuple[str, ...]]) -> list[tuple[int, int]]:
    lengths = {len(p) for p in phrases}
    return [(i, i + n) for n in lengths for i in range(len(tokens) - n + 1)
            if tuple(tokens[i:i + n]) in phrases]


def signals_crisis(text: str) -> bool:
    crisis, exceptions = _phrases()
    tokens = [t for t, _, _ in tokens_with_spans(fold(text))]
    covered = {i for start, end in _find(tokens, exceptions) for i in range(start, end)}
    return any(not set(range(start, end)) <= covered for start, end in _find(tokens, crisis))
