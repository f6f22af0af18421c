"""Text normalisation shared by the vocabulary matcher and the language rules.

People type on phones without accents and with odd capitals; we compare on a folded form
(case-folded, diacritics removed) while keeping a map back to the original characters so that
entity offsets still point into what the person wrote.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"\w+", re.UNICODE)


# Letters that carry no combining mark yet are typed plain on phones ("hayir" for "hayır").
_PLAIN = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d"})


def fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().translate(
        _PLAIN)


def fold(text: str) -> str:
    return "".join(fold_char(c) for c in text)


# Digits of every script people type (Arabic-Indic, Persian) read as Latin digits; letter
# variants that phones and writers mix up are unified after folding.
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
AFTER_FOLD = str.maketrans({"ı": "i", "ة": "ه", "ى": "ي", "ـ": None, "’": "'", "ʼ": "'",
                            "‘": "'", "`": "'", "–": "-", "—": "-", "ё": "е", "ъ": "ь"})


def chat_fold(text: str) -> str:
    """``fold`` plus digits in Latin script and unified letter variants: the form in which
    answers are compared with word lists ("Kreş" = "kres", "٣" = "3", "ё" = "е")."""
    return fold(text.translate(DIGITS)).translate(AFTER_FOLD)


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Folded text and, for every folded character, the index of its original character."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = fold_char(char)
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def words(text: str) -> list[str]:
    """Tokens that contain at least one letter (numbers and emoji are not words)."""
    return [w for w in _WORD.findall(text) if any(c.isalpha() for c in w)]


def tokens_with_spans(folded: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(folded)]


def phrase_set(phrases: Iterable[str]) -> frozenset[tuple[str, ...]]:
    """Phrases as folded word tuples, for ``contains_phrase``."""
    return frozenset(tuple(t for t, _, _ in tokens_with_spans(fold(str(p)))) for p in phrases)


def contains_phrase(text: str, phrases: frozenset[tuple[str, ...]]) -> bool:
    """Whether ``text`` contains one of the phrases as whole words (no case, no accents)."""
    tokens = [t for t, _, _ in tokens_with_spans(fold(text))]
    lengths = {len(p) for p in phrases}
    return any(tuple(tokens[i:i + n]) in phrases
               for n in lengths for i in range(len(tokens) - n + 1))
