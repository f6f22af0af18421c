"""Which language a conversation is in.

Detection on short chat messages is unreliable ("ok", "merci", "3"), so the conversation's
language is sticky: it changes only on an explicit choice or on a clear message of at least
three words; anything shorter only gives a *guess*, used while no language is known yet.

Two detector backends: lingua restricted to our languages (default, most accurate on short
text) and langdetect (selectable by configuration). A few extra languages are candidates only
so that a clear message in an unsupported language can be recognised as such.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import yaml

from bot.i18n import DEFAULT, SUPPORTED
from bot.settings import DATA_DIR
from bot.textnorm import fold, words

# Languages people may write in that we cannot answer yet: recognised, then offered the menu.
UNSUPPORTED_CANDIDATES: tuple[str, ...] = ("de", "es", "it", "pt", "pl", "ro", "ru", "fa", "so")
SWITCH_MIN_WORDS = 3
# Arabizi writes ع, ء, ح, ق as 3, 2, 7, 9 inside words: a word with such a digit between or
# before letters is Arabic in Latin letters, whatever a detector thinks
_ARABIZI = re.compile(r"(?!\d+(?:de|ste|th|rd|nd|st|er|eme|ieme|inci|nci|uncu|ncu)$)"
                     r"[a-z]*[2379][a-z]{2,}")
SWITCH_MIN_CONFIDENCE = 0.5
UNSUPPORTED_MIN_CONFIDENCE = 0.85


@dataclass(frozen=True)
class Detection:
    lang: str | None
    confidence: float


class Detector(Protocol):
    name: str

    def detect(self, text: str) -> Detection: ...


class LinguaDetector:
    name = "lingua"

    def __init__(self, candidates: tuple[str, ...]) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in candidates]
        self._detector = LanguageDetectorBuilder.from_languages(*langs).build()

    def detect(self, text: str) -> Detection:
        values = self._detector.compute_language_confidence_values(text)
        if not values or values[0].value <= 0:
            return Detection(None, 0.0)
        top = values[0]
        return Detection(top.language.iso_code_639_1.name.lower(), float(top.value))


class LangdetectDetector:
    name = "langdetect"

    def __init__(self, candidates: tuple[str, ...]) -> None:
        from langdetect import DetectorFactory

        DetectorFactory.seed = 0  # deterministic answers
        self._candidates = set(candidates)

    def detect(self, text: str) -> Detection:
        from langdetect import detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        try:
            ranked = detect_langs(text)
        except LangDetectException:
            return Detection(None, 0.0)
        for guess in ranked:
            if guess.lang in self._candidates:
                return Detection(guess.lang, float(guess.prob))
        return Detection(None, 0.0)


BACKENDS = {"lingua": LinguaDetector, "langdetect": LangdetectDetector}


@lru_cache(maxsize=4)
def detector(backend: str | None = None, with_unsupported: bool = True) -> Detector:
    backend = backend or os.environ.get("BOT_LANGID_BACKEND", "lingua")
    if backend not in BACKENDS:
        raise ValueError(f"unknown language detector backend {backend!r}")
    # a language once added to data/languages.yml is spoken, no longer an unsupported one
    unsupported = tuple(code for code in UNSUPPORTED_CANDIDATES if code not in SUPPORTED)
    candidates = SUPPORTED + (unsupported if with_unsupported else ())
    return BACKENDS[backend](candidates)


@lru_cache(maxsize=1)
def _markers_file() -> dict:
    return yaml.safe_load((DATA_DIR / "language_markers.yml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def latin_markers() -> dict[str, frozenset[str]]:
    """Words that mark a language written in Latin letters (Arabizi, transliterated Ukrainian)."""
    return {lang: frozenset(fold(w) for w in ws) for lang, ws in _markers_file()["markers"].items()}


@lru_cache(maxsize=1)
def shared_greetings() -> frozenset[str]:
    return frozenset(fold(str(w)) for w in _markers_file().get("shared_greetings") or [])


def marks(text: str, lang: str) -> bool:
    """Whether the message holds a word that only ``lang`` writes in Latin letters
    ("bghit une place en crèche": Darija with French words), or ``lang``'s script."""
    if script_language(text) == lang:
        return True
    markers = latin_markers().get(lang, frozenset())
    return any(fold(w) in markers for w in words(text)) or (
        lang == "ar" and any(_ARABIZI.fullmatch(fold(w)) for w in words(text)))


def short_words() -> dict[str, str]:
    """Folded greeting or thanks of one or two words -> its language."""
    return {fold(w): lang for lang, ws in _markers_file()["short_words"].items() for w in ws}


@lru_cache(maxsize=1)
def loanwords() -> frozenset[str]:
    return frozenset(fold(w) for w in _markers_file()["loanwords"])


def without_loanwords(text: str) -> str:
    """The message without Flemish institution words and place names, which appear in every
    language ("bos yer var mi heusden zolderde" is Turkish, not Dutch)."""
    drop = loanwords()
    places = place_words()
    kept = []
    for word in text.split():
        bare = fold(word).strip(".,!?;:'\"()")
        stem = bare.split("'")[0]  # "Genk'te", "Limburg'dan"
        if bare in drop or stem in places or _place_with_ending(stem, places):
            continue
        kept.append(word)
    return " ".join(kept)


def _place_with_ending(word: str, places: frozenset[str]) -> bool:
    """A place name with a case ending glued on ("zolderde", "mechelende", "gentte")."""
    return len(word) > 5 and any(word[:-n] in places for n in (1, 2, 3) if len(word) - n >= 4)


@lru_cache(maxsize=1)
def place_words() -> frozenset[str]:
    """Words of Flemish and Brussels municipality names (4 letters or more)."""
    import csv

    path = DATA_DIR / "geo" / "municipalities.csv"
    out: set[str] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for name in [row["name"], *row["aliases"].split("|")]:
                out.update(w for w in fold(name).replace("-", " ").split() if len(w) >= 4)
    return frozenset(out)


def script_language(text: str) -> str | None:
    """Arabic or Cyrillic letters settle the language among ours, more reliably than any
    detector on a two-word message; Latin script (nl, fr, en, tr, Arabizi) needs the detector.

    Persian uses Arabic script with four extra letters, so those go to the detector instead.
    Russian written by Ukrainian families is answered in Ukrainian.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    arabic = sum("\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f" for c in letters)
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in letters)
    if arabic * 2 > len(letters) and not any(c in "پچژگ" for c in letters):
        return "ar"
    if cyrillic * 2 > len(letters):
        return "uk"
    return None


@dataclass(frozen=True)
class Assessment:
    """What one message tells about the language.

    ``guess``: best supported language (for a conversation whose language is still unknown);
    ``switch``: set only when the message is clear enough to change a known language;
    ``unsupported``: an unsupported language the message is clearly written in.
    """

    guess: str | None = None
    switch: str | None = None
    unsupported: str | None = None


def assess(text: str, det: Detector | None = None) -> Assessment:
    text = without_loanwords(text)
    ws = words(text)
    if not ws:  # a number, an emoji, punctuation: says nothing about language
        return Assessment()
    long_enough = len(ws) >= SWITCH_MIN_WORDS
    by_script = script_language(text)
    if by_script:
        return Assessment(guess=by_script, switch=by_script if long_enough else None)
    if not long_enough:  # "hallo": a table knows better than a detector on one word
        if " ".join(fold(w) for w in ws) in shared_greetings():
            return Assessment()  # "salam": Arabic, Turkish, French and Persian speakers alike
        # "salam bonjour": the shared greeting says nothing, the other word does
        rest = [w for w in ws if fold(w) not in shared_greetings()] or ws
        known = short_words().get(" ".join(fold(w) for w in rest))
        if known:
            return Assessment(guess=known)
        ws, text = rest, " ".join(rest)
    folded = {fold(w) for w in ws}
    if any(_ARABIZI.fullmatch(w) for w in folded):  # "3likom", "l2awlawiya", "kan9ra"
        return Assessment(guess="ar", switch="ar" if long_enough else None)
    # the language with the most marker words ("tamam inschrijven yapalim": two Turkish, one
    # Dutch); a tie is for the detector
    counts = sorted(((len(folded & markers), lang) for lang, markers in latin_markers().items()),
                    reverse=True)
    if counts and counts[0][0] and (len(counts) == 1 or counts[0][0] > counts[1][0]):
        lang = counts[0][1]
        return Assessment(guess=lang, switch=lang if long_enough else None)
    found = (det or detector()).detect(text)
    # "Hello sir/madam": too little for the detector, but it opens with a greeting
    greeting = next((short_words()[g] for g in (" ".join(fold(w) for w in ws[:2]),
                                                 fold(ws[0])) if g in short_words()), None)
    if found.lang is None:
        return Assessment(guess=greeting)
    if found.lang not in SUPPORTED:
        clear = long_enough and found.confidence >= UNSUPPORTED_MIN_CONFIDENCE
        return Assessment(unsupported=found.lang) if clear else Assessment(guess=greeting)
    switch = found.lang if long_enough and found.confidence >= SWITCH_MIN_CONFIDENCE else None
    return Assessment(guess=found.lang, switch=switch)


def resolve(current: str | None, guess: str | None = None) -> str:
    """The language to answer in: the sticky slot, else the guess, else Dutch."""
    if current in SUPPORTED:
        return current
    if guess in SUPPORTED:
        return guess
    return DEFAULT
