"""Crisis words (``data/crisis_words.yml``): a message that signals danger goes to a person,
urgent, whatever the intent classifier thought."""

from __future__ import annotations

from functools import lru_cache

import yaml

from bot.settings import DATA_DIR
from bot.textnorm import fold, tokens_with_spans


@lru_cache(maxsize=1)
def _phrases() -> frozenset[tuple[str, ...]]:
    data = yaml.safe_load((DATA_DIR / "crisis_words.yml").read_text(encoding="utf-8"))
    return frozenset(tuple(t for t, _, _ in tokens_with_spans(fold(str(p))))
                     for phrases in data.values() for p in phrases)


def signals_crisis(text: str) -> bool:
    tokens = [t for t, _, _ in tokens_with_spans(fold(text))]
    phrases = _phrases()
    longest = max((len(p) for p in phrases), default=0)
    for i in range(len(tokens)):
        for n in range(1, longest + 1):
            if tuple(tokens[i:i + n]) in phrases:
                return True
    return False
