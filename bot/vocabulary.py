"""Words people use for entity values and form answers, in every language.

``data/vocab/<lang>.yml`` maps canonical values (``gezinsopvang``, ``en``) to the surface forms a
person may type ("onthaalmoeder", "anglais"). Matching is on folded text (no case, no accents)
and forgives one typo in longer single words, which a trained extractor with our small data
could not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import DATA_DIR
from bot.textnorm import fold, fold_with_offsets, tokens_with_spans

ENTITY_KINDS = ("care_type", "language")
PHRASE_KINDS = ("dont_know", "skip")
# One typo is forgiven only in long care-type words ("onthaalmoedr"): language names are short
# and collide with ordinary words ("persan"/"person", "engels"/"engel").
FUZZY_ENTITIES = frozenset({"care_type"})
FUZZY_MIN_LENGTH = 7


@dataclass(frozen=True)
class Match:
    entity: str
    value: str
    start: int
    end: int
    text: str


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    def __init__(self, forms: dict[str, dict[str, set[str]]], phrases: dict[str, set[str]]):
        # forms[entity][value] = surface forms; indexed by folded token tuples
        self._exact: dict[tuple[str, ...], tuple[str, str]] = {}
        self._fuzzy: dict[str, tuple[str, str]] = {}
        self._max_tokens = 1
        for entity, values in forms.items():
            for value, surfaces in values.items():
                for surface in surfaces:
                    toks = tuple(t for t, _, _ in tokens_with_spans(fold(surface)))
                    if not toks:
                        continue
                    self._exact.setdefault(toks, (entity, value))
                    self._max_tokens = max(self._max_tokens, len(toks))
                    fuzzy_ok = entity in FUZZY_ENTITIES and toks[0].isascii()
                    if len(toks) == 1 and len(toks[0]) >= FUZZY_MIN_LENGTH and fuzzy_ok:
                        for variant in _deletes(toks[0]) | {toks[0]}:
                            self._fuzzy.setdefault(variant, (entity, value))
        self._forms = forms
        self._phrases = {
            kind: {" ".join(t for t, _, _ in tokens_with_spans(fold(p))) for p in items}
            for kind, items in phrases.items()
        }

    @classmethod
    def load(cls, folder: Path | None = None) -> Vocabulary:
        forms: dict[str, dict[str, set[str]]] = {kind: {} for kind in ENTITY_KINDS}
        phrases: dict[str, set[str]] = {kind: set() for kind in PHRASE_KINDS}
        for path in sorted((folder or DATA_DIR / "vocab").glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for kind in ENTITY_KINDS:
                for value, surfaces in (data.get(kind) or {}).items():
                    forms[kind].setdefault(str(value), set()).update(map(str, surfaces or []))
                    # the canonical value itself is always a surface form (e.g. "gezinsopvang")
                    if kind == "care_type":
                        forms[kind][str(value)].add(str(value).replace("_", " "))
            for kind in PHRASE_KINDS:
                phrases[kind].update(map(str, data.get(kind) or []))
        return cls(forms, phrases)

    def find(self, text: str) -> list[Match]:
        """Entity mentions in ``text``, longest match first, without overlaps."""
        folded, origin = fold_with_offsets(text)
        toks = tokens_with_spans(folded)
        found: list[Match] = []
        i = 0
        while i < len(toks):
            hit = None
            for n in range(min(self._max_tokens, len(toks) - i), 0, -1):
                key = tuple(t for t, _, _ in toks[i : i + n])
                if key in self._exact:
                    hit = (self._exact[key], n)
                    break
            if hit is None and len(toks[i][0]) >= FUZZY_MIN_LENGTH - 1:
                word = toks[i][0]
                for variant in [word, *_deletes(word)]:
                    if variant in self._fuzzy:
                        hit = (self._fuzzy[variant], 1)
                        break
            if hit is None:
                i += 1
                continue
            (entity, value), n = hit
            start = origin[toks[i][1]]
            end = origin[toks[i + n - 1][2] - 1] + 1
            found.append(Match(entity, value, start, end, text[start:end]))
            i += n
        return found

    def surface_forms(self, entity: str, value: str) -> set[str]:
        """Every way of writing ``value`` the lists know, in all languages."""
        return set(self._forms.get(entity, {}).get(value, set()))

    def is_phrase(self, text: str, kind: str) -> bool:
        """True when the whole message is one of the ``kind`` phrases (e.g. "I don't know")."""
        key = " ".join(t for t, _, _ in tokens_with_spans(fold(text)))
        return bool(key) and key in self._phrases.get(kind, set())

    def has_phrase(self, text: str, kind: str) -> bool:
        """True when the message contains one of the ``kind`` phrases as whole words."""
        key = f" {' '.join(t for t, _, _ in tokens_with_spans(fold(text)))} "
        return any(f" {phrase} " in key for phrase in self._phrases.get(kind, set()))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return Vocabulary.load()
