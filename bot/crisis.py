"""Crisis words (``data/crisis_words.yml``): a message that signals danger goes to a person,
urgent, whatever the intent classifier thought."""

from __future__ import annotations

from functools import lru_cache

import yaml

from bot.settings import DATA_DIR
from bot.textnorm import contains_phrase, phrase_set


@lru_cache(maxsize=1)
def _phrases() -> frozenset[tuple[str, ...]]:
    data = yaml.safe_load((DATA_DIR / "crisis_words.yml").read_text(encoding="utf-8"))
    return phrase_set(p for phrases in data.values() for p in phrases)


def signals_crisis(text: str) -> bool:
    return contains_phrase(text, _phrases())
