"""Reading start dates, birth dates, ages and days a week from what parents type.

Languages: nl, fr, en, ar (MSA, Moroccan Darija, Arabizi), tr (also without Turkish letters), uk
(and the Russian forms Ukrainian families also type). Word lists: data/time_words.yml.

Own rules come first: they are fast (well under a millisecond), know the relative phrases
("volgende maand", "haftaya", "з наступного місяця") and read numeric dates in the Belgian
day/month order ("3/4" is 3 April). dateparser is only the last resort, for a day number next to
a month word the lists do not know ("3 Şub", "the 3rd of March"); it is imported on first use.

Conventions (``today`` is always passed in, the clock is never read):

- parse_start_date: a date without a year is its next occurrence (today included); a month alone
  is its 1st, or today when it is the current month; "next week" is the Monday of next week.
  A date the text places in the past (an explicit past year, "gisteren") is returned as it is:
  the caller compares it with today and explains.
- parse_birth_date: a date without a year is the most recent one, or the next one when the text
  says the child is expected ("uitgerekend op 10 juni"); a month alone is its 1st. An age
  ("8 maanden") is not a birth date: None, so that the caller can try parse_age_months.
- parse_age_months: whole months, rounded down ("baby van 3 weken" -> 0).
- parse_days_per_week: 1..7 or None; half time ("halftijds", "mi-temps") counts as 3 days and
  "2,5 dagen" as 3, because places are offered per whole day; "3 of 4 dagen" gives the lower 3.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from itertools import pairwise
from typing import Any

import yaml

from bot.settings import DATA_DIR, LANGUAGES
from bot.textnorm import DIGITS, fold

__all__ = [
    "parse_age_months",
    "parse_birth_date",
    "parse_days_per_week",
    "parse_start_date",
    "warm_up",
]

LANGS = LANGUAGES  # data/languages.yml: every language read here has its words in the data
MONTHS_PER_UNIT = {"year": 12.0, "month": 1.0, "week": 7 / 30.44, "day": 1 / 30.44}
DAYS_PER_UNIT = {"year": 365.25, "month": 30.44, "week": 7.0, "day": 1.0}
FULL_WEEK = frozenset(range(5))  # childcare weeks are Monday to Friday
SHORT_ANSWER = 3  # words; "nu" / "now" mean "as soon as possible" only in an answer this short
# A longer run of digits is no day, age or count a family means (and 400 digits overflow).
MAX_NUMBER_DIGITS = 6
CACHE_SIZE = 20_000  # corrected words kept per language
FUZZY_MIN = 6  # words this long forgive one typo (same first letter)

# --- normalising and splitting text --------------------------------------------------------

_DIGITS = DIGITS
_AFTER_FOLD = str.maketrans({"ı": "i", "ة": "ه", "ى": "ي", "ـ": None, "’": "'", "ʼ": "'",
                             "‘": "'", "`": "'", "–": "-", "—": "-"})
_CYRILLIC_APOSTROPHE = re.compile(r"(?<=[\u0400-\u04ff])'(?=[\u0400-\u04ff])")
_HALF_SIGN = re.compile(r"(\d)\s*½")
_TOT_EN_MET = re.compile(r"\bt\s*/\s*m\b|\bt\.\s*e\.\s*m\b\.?")
_TOKEN = re.compile(r"\d+[.,]\d+|\w+|[-/]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_DASHES = frozenset({"-", "/"})
_ARABIC_PREFIXES = ("و", "ف", "ب", "ل", "ك")


def _normalise(text: str) -> str:
    """Digits to ASCII, folded, Arabic/Turkish letter variants unified, apostrophes resolved."""
    text = _HALF_SIGN.sub(r"\1.5", text.translate(_DIGITS)).replace("½", "0.5")
    text = fold(text).translate(_AFTER_FOLD)
    text = _CYRILLIC_APOSTROPHE.sub("", text)  # п'ять -> пять: the apostrophe is part of the word
    text = _TOT_EN_MET.sub(" tem ", text)
    # "من شهر ٣", "mn chhar 3": from 1 March
    text = _MONTH_NUMBER.sub(lambda m: f"1/{m[1] or m[2]}", text)
    times, counts = _multiplicatives()
    text = times.sub(lambda m: f"{counts[m[0]]} x", text)
    return text.replace("'", " ")  # aujourd'hui, Mart'ta, l'année: two words


@lru_cache(maxsize=1)
def _multiplicatives() -> tuple[re.Pattern[str], dict[str, int]]:
    """"twice", "тричі", "مرتين": a regex for the words and what number of times each is."""
    words = {fold(str(w)).translate(_AFTER_FOLD): int(n)
             for table in (_data().get("multiplicatives") or {}).values() for w, n in table.items()}
    alternatives = "|".join(sorted(map(re.escape, words), key=len, reverse=True)) or "(?!)"
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"), words


# "the month 3": Arabic speakers name a month by its number
_MONTH_NUMBER = re.compile(r"(?:ال|ل)?شهر\s+(1[0-2]|0?[1-9])(?![\d/.])"
                           r"|\bl?chh?[ae]r\s+(1[0-2]|0?[1-9])(?![\d/.])")


def _key(entry: str) -> tuple[str, ...]:
    tokens = _TOKEN.findall(_normalise(str(entry)))
    words = tuple(t for t in tokens if t not in _DASHES)
    return words or tuple(tokens)


# --- word lists ----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load((DATA_DIR / "time_words.yml").read_text(encoding="utf-8"))


@dataclass
class _Tok:
    text: str
    suffix: str = ""  # Turkish case ending split off ("pazartesi|den")
    prefix: str = ""  # Arabic letter split off ("و|الخميس", "ل|الجمعة")


@dataclass
class _Lexicon:
    lang: str
    entries: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    fuzzy: dict[str, set[str]] = field(default_factory=dict)
    suffixes: tuple[str, ...] = ()
    max_len: int = 1
    cache: dict[str, _Tok] = field(default_factory=dict)

    def add(self, entry: Any, kinds: Mapping[str, Any]) -> None:
        key = _key(entry)
        if not key:
            return
        meaning = self.entries.setdefault(key, {})
        if "unit" in kinds and "unit" in meaning:
            return  # a unit and its count belong together; the first list wins
        for kind, value in kinds.items():
            meaning.setdefault(kind, value)

    def canonical(self, token: str) -> _Tok:
        """The form of a token the lists know: Arabic prefix or Turkish ending split off, or
        one typo corrected."""
        found = self.cache.get(token)
        if found is None:
            if len(self.cache) > CACHE_SIZE:
                self.cache.clear()  # a long-running server sees endless new words
            found = self.cache[token] = self._canonical(token)
        return found

    def _canonical(self, token: str) -> _Tok:
        if token in self.known or not token.isalpha():
            return _Tok(token)
        if "\u0600" <= token[0] <= "\u06ff":
            if token.startswith("لل") and "ال" + token[2:] in self.known:
                return _Tok("ال" + token[2:], prefix="ل")
            for prefix in _ARABIC_PREFIXES:
                if token.startswith(prefix) and token[1:] in self.known:
                    return _Tok(token[1:], prefix=prefix)
        for suffix in self.suffixes:
            stem = token[: -len(suffix)]
            if token.endswith(suffix) and len(stem) >= 3 and stem in self.stems:
                return _Tok(stem, suffix=suffix)
        corrected = self._correct(token)
        return _Tok(corrected) if corrected else _Tok(token)

    def _correct(self, token: str) -> str | None:
        if len(token) < FUZZY_MIN - 1:
            return None
        candidates: set[str] = set()
        for variant in {token, *_deletes(token)}:
            candidates |= self.fuzzy.get(variant, set())
        candidates = {c for c in candidates if c[0] == token[0] and _one_edit(token, c)}
        meanings = {repr(self.entries.get((c,), c)) for c in candidates}
        return min(candidates) if len(meanings) == 1 else None


def _deletes(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


def _one_edit(a: str, b: str) -> bool:
    """At most one insertion, deletion, substitution or swap of neighbours."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _shared(entry: Any) -> bool:
    """May another language's entry be read? Only when it cannot be a small word of ours."""
    joined = "".join(_key(entry))
    return len(joined) >= 5 or not joined.isascii()


def _each(section: Mapping[str, Any], langs: list[str], shared: bool):
    """(value, entry) from a {lang: {value: [entries]}} section."""
    for code in langs:
        for value, entries in (section.get(code) or {}).items():
            for entry in entries or []:
                if not shared or _shared(entry):
                    yield value, entry


def _each_flat(section: Mapping[str, Any], langs: list[str], shared: bool):
    """entries from a {lang: [entries]} section."""
    for code in langs:
        for entry in section.get(code) or []:
            if not shared or _shared(entry):
                yield entry


@cache
def _lexicon(lang: str) -> _Lexicon:
    data = _data()
    lex = _Lexicon(lang)
    own = [lang, *data.get("also_read", {}).get(lang, [])]
    others = [other for other in LANGS if other not in own]

    def read_shared(langs: list[str], shared: bool) -> None:
        for month, entry in _each(data["months"], langs, shared):
            lex.add(entry, {"month": int(month)})
        for day, entry in _each(data["weekdays"], langs, shared):
            lex.add(entry, {"weekday": int(day)})
        for unit, entry in _each(data["units"], langs, shared):
            lex.add(entry, {"unit": unit})
        for code in langs:
            for unit, by_count in (data["counted_units"].get(code) or {}).items():
                for count, entry in _each({code: by_count}, [code], shared):
                    lex.add(entry, {"unit": unit, "count": float(count)})
        for name, section in data["phrases"].items():
            for entry in _each_flat(section, langs, shared):
                lex.add(entry, {"rel": name})
        for name, section in data["days"].items():
            for entry in _each_flat(section, langs, shared):
                lex.add(entry, {name: True})

    read_shared(own, shared=False)
    for month, entry in _each(data["month_abbreviations"], own, False):
        lex.add(entry, {"month_ctx": int(month)})
    for day, entry in _each(data["weekday_abbreviations"], own, False):
        lex.add(entry, {"weekday_abbr": int(day)})
    for number, entry in _each(data["numbers"], own, False):
        lex.add(entry, {"num": float(number)})
    for unit, entry in _each(data["unit_abbreviations"], own, False):
        lex.add(entry, {"unit": unit})
    for entry in _each_flat(data["month_context"], own, False):
        lex.add(entry, {"month_context": True})
    for name, section in data["words"].items():
        for entry in _each_flat(section, own, False):
            lex.add(entry, {name: True})
    read_shared(others, shared=True)  # after all of ours, so that our meaning of a word wins

    for key, meaning in lex.entries.items():
        lex.known.update(key)
        lex.max_len = max(lex.max_len, len(key))
        if len(key) == 1 and meaning.keys() & {"month", "month_ctx", "weekday", "unit"}:
            lex.stems.add(key[0])
    for word in lex.known:
        if len(word) >= FUZZY_MIN and word.isalpha():
            for variant in (word, *_deletes(word)):
                lex.fuzzy.setdefault(variant, set()).add(word)
    if lang == "tr":
        endings = {_normalise(s) for s in data["turkish_suffixes"]}
        lex.suffixes = tuple(sorted(endings, key=len, reverse=True))
    return lex


# --- reading a message into items ----------------------------------------------------------

@dataclass(frozen=True)
class _Item:
    words: tuple[str, ...]
    kinds: Mapping[str, Any]
    digits: bool = False  # a number written in digits
    suffix: str = ""
    prefix: str = ""

    def has(self, *kinds: str) -> bool:
        return any(k in self.kinds for k in kinds)

    @property
    def num(self) -> float | None:
        return self.kinds.get("num")

    @property
    def unknown(self) -> bool:
        return not self.kinds and not self.digits and self.words[0].isalpha()


# A digit between letters is a letter in Arabizi (3 = ع, 7 = ح, 2 = ء), never a number.
_ARABIZI_WORD = re.compile(r"[^\W\d_]+\d+[^\W\d_]+")


def _tokens(norm: str, lex: _Lexicon) -> list[_Tok]:
    out: list[_Tok] = []
    for raw in _TOKEN.findall(norm):
        if raw in lex.known or raw in _DASHES or _NUMBER.fullmatch(raw):
            out.append(_Tok(raw))
        elif _ARABIZI_WORD.fullmatch(raw):
            out.append(_Tok(raw))  # "m3a", "n3es", "l2awlawiya": Arabizi letters, no number
        elif any(c.isdigit() for c in raw):
            # "3dagen", "8m", "1ste": a number glued to a word we know; "3ndo" (Arabizi for
            # "he has") stays one unknown word
            parts = [p if p.isdigit() else lex.canonical(p).text
                     for p in re.findall(r"\d+|[^\W\d_]+", raw)]
            if all(p.isdigit() or p in lex.known for p in parts):
                out.extend(_Tok(p) for p in parts)
            else:
                out.append(_Tok(raw))
        else:
            out.append(lex.canonical(raw))
    return out


def _scan(norm: str, lang: str) -> list[_Item]:
    lex = _lexicon(lang if lang in LANGS else "nl")
    toks = _tokens(norm, lex)
    items: list[_Item] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok.text not in _DASHES:
            match = _longest_phrase(toks, i, lex)
            if match:
                key, i = match
                items.append(_Item(key, lex.entries[key]))
                continue
        if _NUMBER.fullmatch(tok.text) and len(tok.text) <= MAX_NUMBER_DIGITS:
            value = float(tok.text.replace(",", "."))
            items.append(_Item((tok.text,), {"num": value}, digits=True))
        else:
            kinds = dict(lex.entries.get((tok.text,), {}))
            if tok.text in _DASHES:
                kinds["dash"] = True
            items.append(_Item((tok.text,), kinds, suffix=tok.suffix, prefix=tok.prefix))
        i += 1
    return items


def _longest_phrase(toks: list[_Tok], start: int, lex: _Lexicon) -> tuple[tuple, int] | None:
    """The longest listed phrase from ``start`` (a dash inside is skipped: "mi-temps")."""
    words: list[str] = []
    ends: list[int] = []
    j = start
    while j < len(toks) and len(words) < lex.max_len:
        if toks[j].text in _DASHES and words:
            j += 1
            continue
        words.append(toks[j].text)
        j += 1
        ends.append(j)
    for n in range(len(words), 1, -1):
        key = tuple(words[:n])
        if key in lex.entries:
            return key, ends[n - 1]
    return None


def _step(items: list[_Item], i: int, direction: int, skip: tuple[str, ...]) -> int | None:
    """Index of the nearest item in ``direction`` that is not one of the ``skip`` kinds."""
    j = i + direction
    while 0 <= j < len(items):
        if not (items[j].has(*skip) and items[j].num is None):
            return j
        j += direction
    return None


def _prev(items: list[_Item], i: int) -> int | None:
    return _step(items, i, -1, ("dash",))


def _next(items: list[_Item], i: int) -> int | None:
    return _step(items, i, 1, ("dash",))


# --- calendar helpers ----------------------------------------------------------------------

def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _occurrence(month: int, day: int, today: date, future: bool) -> date | None:
    """The next (or most recent) date with this day and month; today counts for both."""
    step = 1 if future else -1
    for offset in range(5):  # 29 February may be four years away
        found = _safe_date(today.year + step * offset, month, day)
        if found and (found >= today if future else found <= today):
            return found
    return None


def _last_day(year: int, month: int) -> int:
    return ((date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)).day


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, _last_day(year, month + 1)))


def _shift(today: date, unit: str, count: float, sign: int) -> date:
    if count == int(count) and unit in ("year", "month"):
        return _add_months(today, sign * int(count) * (12 if unit == "year" else 1))
    return today + timedelta(days=sign * round(count * DAYS_PER_UNIT[unit]))


def _monday_next_week(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


# --- numeric dates -------------------------------------------------------------------------

_ISO = re.compile(r"(?<![\d.,/-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DMY = re.compile(r"(?<![\d.,/-])(\d{1,2})([./-])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?!\d|[.,/-]\d)")
_MONTH_YEAR = re.compile(r"(?<![\d.,/-])(\d{1,2})[./-](\d{4})(?!\d|[.,/-]\d)")
_NEXT_WORD = re.compile(r"\s*([^\W\d_]+)")


def _numeric_date(norm: str, lang: str, today: date, future: bool) -> date | None:
    """15/3, 3/4 (day/month), 15.04.2027, 2027-03-01, 05/2025; the earliest one in the text."""
    lex = _lexicon(lang if lang in LANGS else "nl")
    found: list[tuple[int, date]] = []
    for m in _ISO.finditer(norm):
        day = _safe_date(int(m[1]), int(m[2]), int(m[3]))
        if day:
            found.append((m.start(), day))
    for m in _DMY.finditer(norm):
        after = _NEXT_WORD.match(norm, m.end())
        if after and "unit" in lex.entries.get((lex.canonical(after[1]).text,), {}):
            continue  # "1.5 jaar", "3-4 dagen": not a date
        day, month = int(m[1]), int(m[3])
        if month > 12 and day <= 12 and m[2] == "/":
            day, month = month, day  # 3/15 can only be month/day
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        if m[4]:
            year = int(m[4]) + (2000 if len(m[4]) == 2 else 0)
            result = _safe_date(year, month, day)
        else:
            result = _occurrence(month, day, today, future)
        if result:
            found.append((m.start(), result))
    for m in _MONTH_YEAR.finditer(norm):
        if 1 <= int(m[1]) <= 12:
            found.append((m.start(), date(int(m[2]), int(m[1]), 1)))
    return min(found)[1] if found else None


# --- dates written with words --------------------------------------------------------------

_GLUE = ("dash", "ordinal")


def _is_day(item: _Item) -> bool:
    return item.digits and item.num is not None and item.num == int(item.num) and \
        1 <= item.num <= 31


def _is_year(item: _Item) -> bool:
    return item.digits and item.num is not None and 1900 <= item.num <= 2100 and \
        len(item.words[0]) == 4


def _named_date(items: list[_Item], today: date, future: bool) -> date | None:
    """"1 maart", "March 1st, 2027", "15 nisanda", "in september", "eind maart", "mei 2024"."""
    found = _named_date_said(items, today, future)
    return found[0] if found else None


def _named_date_said(items: list[_Item], today: date, future: bool, parts_are_days: bool = True
                     ) -> tuple[date, bool] | None:
    """The named date and whether its day was said ("in september": no, "eind maart": yes,
    unless ``parts_are_days`` is False)."""
    for i, item in enumerate(items):
        month = item.kinds.get("month")
        ambiguous = month is None
        if ambiguous:
            month = item.kinds.get("month_ctx")
        if month is None:
            continue
        day = year = None
        after = i
        before = _step(items, i, -1, _GLUE)
        if before is not None and _is_day(items[before]):
            day = int(items[before].num)
        else:
            nxt = _step(items, i, 1, _GLUE)
            if nxt is not None and _is_day(items[nxt]):
                follow = _step(items, nxt, 1, ("dash",))
                if follow is None or items[follow].has("ordinal") or _is_year(items[follow]):
                    day, after = int(items[nxt].num), nxt
        nxt = _step(items, after, 1, _GLUE)
        if nxt is not None and _is_year(items[nxt]):
            year = int(items[nxt].num)
        prev = _prev(items, i)
        if ambiguous and day is None and year is None and not (
            prev is not None and items[prev].has("month_context", "begin", "mid", "end")
        ):
            continue
        said_day = day is not None
        if day is None:
            day = _part_of_month(items, i, month, year or today.year)
            said_day = day is not None and parts_are_days
        result = _month_date(month, day, year, today, future)
        if result:
            return result, said_day
    return None


def month_only(text: str, lang: str, today: date, future: bool = False,
               parts_are_days: bool = True) -> bool:
    """Whether the date in ``text`` names a month without its day ("в феврале", "ocakta"):
    the first of the month it reads as was not said. ``parts_are_days`` False: "end of June"
    is a month too (a due date needs its day)."""
    norm = _normalise(text or "")
    if not norm.strip() or _numeric_date(norm, lang, today, future=future):
        return False
    found = _named_date_said(_scan(norm, lang), today, future, parts_are_days)
    return bool(found) and not found[1]


def _part_of_month(items: list[_Item], i: int, month: int, year: int) -> int | None:
    """"begin/half/eind maart", "mi-mars", "end of March", "mart sonu" -> 1, 15, last day."""
    neighbours = [_step(items, i, -1, ("dash", "ordinal")), _next(items, i)]
    for j in neighbours:
        if j is None:
            continue
        if items[j].has("begin"):
            return 1
        if items[j].has("mid"):
            return 15
        if items[j].has("end"):
            return _last_day(year, month)
    return None


def _month_date(month: int, day: int | None, year: int | None, today: date,
                future: bool) -> date | None:
    if year is not None:
        if day is None and future and (year, month) == (today.year, today.month):
            return today
        return _safe_date(year, month, day or 1)
    if day is not None:
        return _occurrence(month, day, today, future)
    if future:
        if month == today.month:
            return today
        return date(today.year + (month < today.month), month, 1)
    return date(today.year - (month > today.month), month, 1)


def _weekday_date(items: list[_Item], today: date) -> date | None:
    """"vanaf maandag", "lundi", "من الاثنين", "з понеділка": the next one (not today);
    "volgende week woensdag": that day of next week."""
    for item in items:
        if "weekday" in item.kinds:
            weekday = item.kinds["weekday"]
            if any(it.kinds.get("rel") == "next_week" for it in items):
                return _monday_next_week(today) + timedelta(days=weekday)
            return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    return None


def _count_before(items: list[_Item], i: int) -> tuple[float | None, int]:
    """The number in front of a unit and where it starts: "8 maanden", "anderhalf jaar",
    "een half jaar", "one and a half years", "bir buçuk yaş"."""
    j = _prev(items, i)
    if j is None:
        return None, i
    item = items[j]
    if item.num is not None:
        return item.num, j
    if item.has("plus_half"):
        k = _prev(items, j)
        if k is not None and items[k].num is not None:
            return items[k].num + 0.5, k
        return None, i
    if item.has("half"):
        k = _prev(items, j)
        start = j
        if k is not None and items[k].num == 1 and not items[k].digits:  # the article "een"
            start, k = k, _prev(items, k)
        if k is not None and items[k].has("and"):
            n = _prev(items, k)
            if n is not None and items[n].num is not None:
                return items[n].num + 0.5, n
        return 0.5, start
    return None, i


def _half_after(items: list[_Item], i: int) -> float:
    """"2 ans et demi", "1 jaar en een half", "سنة ونصف", "a year and a half"."""
    j = _next(items, i)
    if j is not None and items[j].has("and") and not items[j].has("half"):
        j = _next(items, j)
    if j is not None and items[j].num == 1 and not items[j].digits:
        j = _next(items, j)
    if j is not None and items[j].has("half") and items[j].num is None:
        return 0.5
    return 0.0


def _duration(items: list[_Item], today: date, ago: bool) -> date | None:
    """"over 2 weken", "dans un mois", "بعد أسبوعين", "2 hafta sonra", "через тиждень";
    with ``ago``: "3 maanden geleden", "il y a 2 mois", "منذ شهرين", "2 ay önce"."""
    before, after = ("ago_before", "ago_after") if ago else ("future_before", "future_after")
    short = sum(1 for it in items if not it.has("dash")) <= SHORT_ANSWER + 1
    for i, item in enumerate(items):
        unit = item.kinds.get("unit")
        if unit not in DAYS_PER_UNIT or (unit == "day" and not short):
            continue  # "een vraag over 3 dagen opvang" is not "in 3 days"
        count = item.kinds.get("count")
        start = i
        if count is None:
            count, start = _count_before(items, i)
        marker = _prev(items, start)
        follow = _next(items, i)
        if not ((marker is not None and items[marker].has(before))
                or (follow is not None and items[follow].has(after))):
            continue
        if count is None:
            count = 1.0  # "over een week" has its number; "через тиждень", "بعد شهر" do not
        try:
            return _shift(today, unit, count, -1 if ago else 1)
        except (ValueError, OverflowError):  # "over 99999 jaar": no date a calendar has
            return None
    return None


def _relative(items: list[_Item], today: date, allowed: frozenset[str]) -> date | None:
    short = sum(1 for it in items if not it.has("dash")) <= SHORT_ANSWER
    for i, item in enumerate(items):
        rel = item.kinds.get("rel")
        if rel not in allowed or (rel == "asap_short" and not short):
            continue
        prev = _prev(items, i)
        if prev is not None and items[prev].has("negation"):
            continue  # "niet direct", "pas tout de suite"
        return _RELATIVE[rel](today)
    return None


_RELATIVE = {
    "asap": lambda t: t,
    "asap_short": lambda t: t,
    "this_period": lambda t: t,
    "today": lambda t: t,
    "tomorrow": lambda t: t + timedelta(days=1),
    "after_tomorrow": lambda t: t + timedelta(days=2),
    "yesterday": lambda t: t - timedelta(days=1),
    "next_week": _monday_next_week,
    "next_month": lambda t: _add_months(t.replace(day=1), 1),
    "next_year": lambda t: date(t.year + 1, 1, 1),
    "last_week": lambda t: t - timedelta(days=7),
    "last_month": lambda t: _add_months(t.replace(day=1), -1),
}
_START_RELATIVE = frozenset(_RELATIVE) - {"last_week", "last_month"}
_BIRTH_RELATIVE = frozenset(_RELATIVE) - {"asap", "asap_short", "this_period"}


def _fallback(text: str, items: list[_Item], lang: str, today: date,
              future: bool) -> date | None:
    """dateparser, only for a day number next to a word we do not know ("3 Şub")."""
    days = {int(it.num) for it in items if _is_day(it)}
    near = any(
        _is_day(items[i]) and any(
            j is not None and items[j].unknown and len(items[j].words[0]) >= 3
            for j in (_step(items, i, -1, _GLUE), _step(items, i, 1, _GLUE))
        )
        for i in range(len(items))
    )
    if not days or not near or lang not in LANGS:
        return None
    import dateparser  # slow to import: only when needed

    settings = {
        "PREFER_DATES_FROM": "future" if future else "past",
        "RELATIVE_BASE": datetime(today.year, today.month, today.day),
        "DATE_ORDER": "DMY",
        "PARSERS": ["absolute-time"],
        "REQUIRE_PARTS": ["day", "month"],
    }
    parsed = dateparser.parse(text, languages=[lang], settings=settings)
    if parsed is None or parsed.day not in days:
        return None
    if any(_is_year(it) for it in items):
        return parsed.date()
    return _occurrence(parsed.month, parsed.day, today, future)


# --- the four questions --------------------------------------------------------------------

# A child in care for babies and toddlers: at most ~4 years old, or expected within ~9 months.
MAX_CHILD_AGE_MONTHS = 48
MAX_EXPECTED_DAYS = 9 * 31


def child_birth(text: str, lang: str, today: date) -> tuple[date | None, str | None]:
    """The child's birth date from a date or an age, checked for this kind of care: a date,
    or None and a problem: ``unreadable``, ``too_far_ahead`` or ``too_old``."""
    birth = parse_birth_date(text, lang, today)
    if birth is None:
        months = parse_age_months(text, lang)
        if months is None:
            return None, "unreadable"
        if months > MAX_CHILD_AGE_MONTHS:
            return None, "too_old"
        birth = today - timedelta(days=round(months * 30.44))
    if birth > today + timedelta(days=MAX_EXPECTED_DAYS):
        return None, "too_far_ahead"
    if (today - birth).days > MAX_CHILD_AGE_MONTHS * 30.44:
        return None, "too_old"
    return birth, None


def parse_start_date(text: str, lang: str, today: date) -> date | None:
    """When care should start, or None. Dates without a year are never before ``today``; a
    past date the text states outright is returned as is (the caller checks ``< today``)."""
    norm = _normalise(text or "")
    if not norm.strip():
        return None
    found = _numeric_date(norm, lang, today, future=True)
    if found:
        return found
    items = _scan(norm, lang)
    return (
        _named_date(items, today, future=True)
        or _weekday_date(items, today)
        or _duration(items, today, ago=False)
        or _relative(items, today, _START_RELATIVE)
        or _fallback(text, items, lang, today, future=True)
    )


def parse_birth_date(text: str, lang: str, today: date) -> date | None:
    """A child's birth date, or the expected one ("uitgerekend op 10 juni"), or None.
    An age ("8 maanden") gives None: see parse_age_months."""
    norm = _normalise(text or "")
    if not norm.strip():
        return None
    items = _scan(norm, lang)
    expected = any(it.has("expected") for it in items)
    found = _numeric_date(norm, lang, today, future=expected)
    if found:
        return found
    return (
        _named_date(items, today, future=expected)
        or _duration(items, today, ago=True)
        or _duration(items, today, ago=False)
        or _relative(items, today, _BIRTH_RELATIVE)
        or _fallback(text, items, lang, today, future=expected)
    )


def says_per_week(text: str, lang: str) -> bool:
    """Whether a number of days is counted per week ("3 дні на тиждень", "4 dagen per week")."""
    norm = _normalise(text or "")
    items = _scan(norm, lang) if norm else []
    return any(it.kinds.get("unit") == "week" for it in items) and any(
        it.kinds.get("unit") == "day" for it in items)


_AGE_WORDS = frozenset({"3ndo", "3ndha", "3andou", "3andha", "3omro", "3omra", "3mro", "3mrha",
                        "عمره", "عمرها", "عندو", "عندها"})


def _after_age_word(items: list[_Item], i: int) -> bool:
    return i > 0 and items[i - 1].words[-1] in _AGE_WORDS


def says_ago(text: str, lang: str) -> bool:
    """Whether the text dates something back ("6 ay önce", "3 months ago", "il y a 3 mois")."""
    norm = _normalise(text or "")
    return any(it.has("ago_after", "ago_before") for it in _scan(norm, lang)) if norm else False


def parse_age_months(text: str, lang: str) -> int | None:
    """A child's age in whole months: "8 maanden", "anderhalf jaar" (18), "2 ans et demi" (30),
    "1 jaar en 3 maanden" (15), "عامين" (24), "півтора року" (18), "3 weken" (0)."""
    norm = _normalise(text or "")
    if not norm.strip():
        return None
    items = _scan(norm, lang)
    total = 0.0
    found = False
    for i, item in enumerate(items):
        unit = item.kinds.get("unit")
        if unit not in MONTHS_PER_UNIT:
            continue
        count = item.kinds.get("count")
        if count is None:
            count, _ = _count_before(items, i)
        if count is None and len(item.words[0]) == 1:
            continue  # "I'm a nurse": a lone "m" is a month only after its number ("8 m")
        if count is None:
            nxt = _next(items, i)
            if nxt is not None and items[nxt].num is not None and not items[nxt].has("unit"):
                count = items[nxt].num  # "شهر واحد"
            elif item.has("alone_means_one") and not (
                    item.words == ("3am",) and not _half_after(items, i)
                    and not _after_age_word(items, i)):
                # "عمره سنة", "йому рік", "3am w nss"; but a bare Arabizi "3am" is mostly the
                # Levantine "عم" ("ana 3am edros": I am studying)
                count = 1.0
            else:
                continue
        total += (count + _half_after(items, i)) * MONTHS_PER_UNIT[unit]
        found = True
    return int(total + 1e-9) if found else None


_FIFTHS = re.compile(r"(?<![\d/.,])([1-5])\s*/\s*5(?![\d/])")  # "4/5": the Belgian 4/5 regime


def parse_days_per_week(text: str, lang: str) -> int | None:
    """How many days a week, 1..7, or None: "3", "drie dagen", "voltijds" (5), "halftijds" (3),
    "ma di do" (3), "maandag tot donderdag" (4), "elke dag behalve woensdag" (4), "4/5" (4)."""
    return _days_per_week(text, lang, said=False)


def said_days_per_week(text: str, lang: str) -> int | None:
    """Like parse_days_per_week, but only when words say it is days ("4 dagen", "ma en do",
    "voltijds"): a bare "3" in a sentence is no number of days."""
    return _days_per_week(text, lang, said=True)


def _days_per_week(text: str, lang: str, said: bool) -> int | None:
    norm = _normalise(text or "")
    if not norm.strip():
        return None
    fifths = _FIFTHS.search(norm)
    if fifths:
        return int(fifths[1])
    value = _counted_days(_scan(norm, lang), bare=not said, said=said)
    if value is None:
        return None
    value = math.ceil(value - 1e-9)
    return value if 1 <= value <= 7 else None


def _counted_days(items: list[_Item], bare: bool = True, said: bool = False) -> float | None:
    """A number of days ("3 dagen", "3x", "iki gun", "يومين"), else None. A bare number counts
    only when nothing else says what it is ("3", not "3 weken" or "vanaf 3 maart"), and only
    when ``bare``."""
    words = sum(1 for it in items if not it.has("dash"))
    strong: list[float] = []
    weak: list[float] = []
    skip_to = -1
    for i, item in enumerate(items):
        if i <= skip_to:
            continue
        if item.kinds.get("unit") == "day":
            if "count" in item.kinds:
                strong.append(item.kinds["count"])
            elif (j := _next(items, i)) is not None and items[j].num is not None and \
                    _count_before(items, i)[0] is None:
                strong.append(items[j].num)  # "يوم واحد"
            continue
        if item.num is None:
            continue
        before = _prev(items, i)
        if before is not None and items[before].kinds.get("unit") == "hour":
            continue  # "8 hours a day": per day, not one day
        lower, last = item.num, i
        j = _step(items, i, 1, ("ordinal",))
        if j is not None and items[j].has("range", "or"):  # "3-4 dagen", "3 of 4 dagen"
            k = _step(items, j, 1, ("ordinal",))
            if k is not None and items[k].num is not None:
                last = skip_to = k
        nxt = _step(items, last, 1, ("ordinal",))
        what = items[nxt] if nxt is not None else None
        if what is not None and (what.kinds.get("unit") == "day" or what.has("times")):
            strong.append(lower)
        elif what is not None and what.has("unit", "month", "month_ctx"):
            continue  # "8 uur", "2 weken", "3 maart"
        elif item.digits or (words <= 2 and not item.has("weekday_abbr", "month_ctx")):
            weak.append(lower)  # "3", "drie"; not "tlat" (Tuesday) or "sept" (September)
    if strong:
        # said in passing, the last count is the one meant: "niet 5 dagen maar 4"
        return strong[-1] if said else strong[0]
    full = any(it.has("full_time") for it in items)
    half = any(it.has("half_time") for it in items)
    if not full and half:
        return 3.0
    named = _named_days(items)
    if said and named == 1 and not full:
        return None  # "vanaf maandag", "يوم الاثنين": one weekday is when, not how often
    if named is not None:
        return named
    return weak[0] if weak and bare else None


def _named_days(items: list[_Item]) -> float | None:
    """Weekdays named ("ma di do", "mon wed fri", "lundi au vendredi", "pazartesiden cumaya"),
    full time (5), minus the days after "behalve/sauf/except"."""
    full = any(it.has("full_time") for it in items)
    marks = [i for i, it in enumerate(items) if it.has("weekday", "weekday_abbr")]
    abbreviated_ok = len(marks) >= 2 or len(items) == 1
    days = [i for i in marks if items[i].has("weekday") or abbreviated_ok]
    cut = next((i for i, it in enumerate(items) if it.has("except")), len(items))
    if not days and not full:
        return None  # an "except" needs days: "без пошти" is "without e-mail"

    def weekday(i: int) -> int:
        kinds = items[i].kinds
        return kinds["weekday"] if "weekday" in kinds else kinds["weekday_abbr"]

    chosen: set[int] = set(FULL_WEEK) if full else set()
    left = [i for i in days if i < cut]
    dashes = [items[a + 1] for a, b in pairwise(left) if b == a + 2 and items[a + 1].has("range")]
    # "ma-di-do" is a list of three days; a range has two ends ("ma-vr", "lundi au vendredi")
    listed = len(left) >= 3 and len(dashes) == len(left) - 1
    for a, b in pairwise(left):
        between = items[a + 1 : b]
        joined = (
            (len(between) == 1 and between[0].has("range") and not listed)
            or (not between and (items[b].prefix == "ل" or items[a].suffix in _from_suffixes()))
            or (len(between) == 1 and items[a].suffix in _from_suffixes())
        )
        if joined:
            first, last = weekday(a), weekday(b)
            chosen.update((first + k) % 7 for k in range((last - first) % 7 + 1))
    chosen.update(weekday(i) for i in left)
    if not chosen and cut < len(items):
        chosen = set(FULL_WEEK)  # "behalve woensdag": the other weekdays
    chosen -= {weekday(i) for i in days if i > cut}
    return float(len(chosen)) if chosen else None


@lru_cache(maxsize=1)
def _from_suffixes() -> frozenset[str]:
    return frozenset(_normalise(s) for s in _data()["turkish_from_suffixes"])


def warm_up(langs: tuple[str, ...] = LANGS, dateparser_too: bool = False) -> None:
    """Build the word lists now (about 0.1 s per language) instead of on the first message;
    optionally load dateparser's language data too (slow: about a second)."""
    today = date(2000, 1, 1)  # any day: nothing is kept from these calls
    for lang in langs:
        _lexicon(lang)
        if dateparser_too:
            _fallback("1 xyz", _scan("1 xyz", lang), lang, today, future=True)
