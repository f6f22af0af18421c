"""Keywords as Twilio and the carriers expect them: opt-out, opt-in and help (STOP / START /
HELP in six languages, ``data/optout.yml``).

Only a message that is one keyword alone counts: "stop" opts out, "stop met de vragen" is an
ordinary message. Matching is on the folded form (case and accents ignored, trailing
punctuation and repeated spaces dropped), so "Arrêt !" and "ARRET" are the same word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.settings import DATA_DIR
from bot.textnorm import fold

OPTOUT_FILE = DATA_DIR / "optout.yml"
OPTOUT, OPTIN, HELP = "optout", "optin", "help"
KINDS = (OPTOUT, OPTIN, HELP)

_EDGE = re.compile(r"^[\s\W_]+|[\s\W_]+$", re.UNICODE)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Keyword:
    kind: str  # OPTOUT | OPTIN | HELP
    languages: tuple[str, ...]  # languages whose list holds the word (STOP: all of them)

    @property
    def language(self) -> str | None:
        """The one language this word belongs to, if only one (for the confirmation text)."""
        return self.languages[0] if len(self.languages) == 1 else None


def normalise(text: str) -> str:
    return _SPACES.sub(" ", _EDGE.sub("", fold(text or "")))


@cache
def keywords(path: Path = OPTOUT_FILE) -> dict[str, Keyword]:
    """``{folded word: Keyword}``; a word of two kinds is a data error."""
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    langs: dict[tuple[str, str], list[str]] = {}
    for kind in KINDS:
        for lang, words in (data.get(kind) or {}).items():
            for word in words or []:
                if not isinstance(word, str):  # YES, NO, ON unquoted: YAML booleans
                    raise ValueError(f"{path.name}: {kind}.{lang} has {word!r}; quote it")
                langs.setdefault((kind, normalise(word)), []).append(lang)
    table: dict[str, Keyword] = {}
    for (kind, word), word_langs in langs.items():
        if word in table:
            raise ValueError(f"{path.name}: {word!r} is a {table[word].kind} and a {kind} word")
        table[word] = Keyword(kind, tuple(dict.fromkeys(word_langs)))
    return table


def classify(text: str | None) -> Keyword | None:
    """The keyword ``text`` consists of, or None for an ordinary message."""
    if not text or len(text) > 40:
        return None
    return keywords().get(normalise(text))
