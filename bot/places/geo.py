"""Municipalities and postcodes of Flanders and Brussels, and the configured neighbours.

Data: ``data/geo/municipalities.csv`` and ``data/geo/neighbours.csv`` (see data/geo/README.md).
Parents type place names on a phone: matching ignores case, accents, hyphens and apostrophes,
accepts the French/English names and sub-municipalities, and forgives small typos.
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bot import settings

GEO_DIR = settings.DATA_DIR / "geo"

# Postcode ranges of the Brussels-Capital Region and the Flemish provinces (bpost).
POSTCODE_RANGES = ((1000, 1299), (1500, 3999), (8000, 9999))

REGIONS = {"BRU": "brussels"}  # every other province code is Flemish

# Words that are also municipality names: inside a longer sentence they are not taken as a
# place ("as soon as", "een boom", "ham"); alone they are.
_COMMON_WORDS = {"as", "ham", "boom", "peer", "mol", "lint", "hove", "bree", "geel", "meer",
                 "lot", "berg", "perk", "paal", "essen", "lede", "zele", "niel", "kessel",
                 "reet", "weert", "doel", "baal", "eke", "velm", "marke", "lille"}
_FILLER = {"in", "te", "to", "at", "near", "bij", "rond", "regio", "omgeving", "gemeente",
           "stad", "city", "town", "commune", "ville", "a", "à", "van", "of", "the", "ik",
           "woon", "i", "live", "je", "habite", "we", "wonen"}
_FUZZY_CUTOFF = 0.8
SHORT_ANSWER_WORDS = 3  # a place name typed as an answer; longer is a sentence


@dataclass(frozen=True)
class Location:
    """A resolved place: the municipality (canonical Dutch name) and a postcode in it."""

    municipality: str | None
    postcode: str | None
    province: str | None
    region: str  # flanders | brussels
    matched: str  # the name or postcode that matched
    how: str  # postcode | name | alias | fuzzy
    postcodes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def known(self) -> bool:
        return self.municipality is not None


@dataclass(frozen=True)
class _Municipality:
    name: str
    province: str
    postcodes: tuple[str, ...]
    aliases: tuple[str, ...]

    @property
    def region(self) -> str:
        return REGIONS.get(self.province, "flanders")


def normalise(text: str) -> str:
    """Lower case, no accents, hyphens/apostrophes/dots as spaces, ``st`` as ``sint``."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[-_'’`.,;:/()?!\"«»¿¡]+", " ", text)  # chat punctuation too: "mechelen?"
    words = ["sint" if word in ("st", "sint", "sin") else word for word in text.split()]
    return " ".join(words)


@dataclass
class _Index:
    municipalities: dict[str, _Municipality]
    by_postcode: dict[str, str]
    by_name: dict[str, tuple[str, str]]  # normalised name -> (municipality, how)
    compact: dict[str, str]  # normalised name without spaces -> normalised name
    neighbours: dict[str, tuple[str, ...]]


@lru_cache(maxsize=4)
def _index(geo_dir: Path = GEO_DIR) -> _Index:
    municipalities: dict[str, _Municipality] = {}
    by_postcode: dict[str, str] = {}
    by_name: dict[str, tuple[str, str]] = {}
    ambiguous: set[str] = set()
    with open(geo_dir / "municipalities.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            aliases = tuple(a.strip() for a in row["aliases"].split("|") if a.strip())
            item = _Municipality(
                row["name"].strip(), row["province"].strip(), tuple(row["postcodes"].split()),
                aliases,
            )
            municipalities[item.name] = item
            for postcode in item.postcodes:
                by_postcode[postcode] = item.name
            for name, how in [(item.name, "name")] + [(a, "alias") for a in aliases]:
                key = normalise(name)
                if key in by_name and by_name[key][0] != item.name:
                    ambiguous.add(key)
                by_name.setdefault(key, (item.name, how))
    names = geo_dir / "names.yml"  # exonyms and other scripts: "Malines", "Мехелен", "ميخلن"
    if names.exists():
        other = (yaml.safe_load(names.read_text(encoding="utf-8")) or {}).get("names") or {}
        for name, spellings in other.items():
            if name not in municipalities:
                continue
            for spelling in spellings or ():
                key = normalise(str(spelling))
                if key in by_name and by_name[key][0] != name:
                    ambiguous.add(key)
                by_name.setdefault(key, (name, "alias"))
    for key in ambiguous:
        by_name.pop(key, None)
    compact = {key.replace(" ", ""): key for key in by_name}
    neighbours: dict[str, set[str]] = {}
    path = geo_dir / "neighbours.csv"
    if path.exists():
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                name = row["municipality"].strip()
                for other in (n.strip() for n in row["neighbours"].split("|")):
                    if other and other != name:
                        neighbours.setdefault(name, set()).add(other)
                        neighbours.setdefault(other, set()).add(name)
    return _Index(
        municipalities,
        by_postcode,
        by_name,
        compact,
        {name: tuple(sorted(others)) for name, others in neighbours.items()},
    )


def _location(name: str, postcode: str | None, matched: str, how: str) -> Location:
    item = _index().municipalities[name]
    return Location(
        municipality=name,
        postcode=postcode or item.postcodes[0],
        province=item.province,
        region=item.region,
        matched=matched,
        how=how,
        postcodes=item.postcodes,
    )


def clean_postcode(code: str | int) -> str | None:
    text = str(code).strip().upper()
    text = re.sub(r"^(B|BE)[- ]?", "", text)
    return text if re.fullmatch(r"\d{4}", text) else None


def is_valid_postcode(code: str | int, *, strict: bool = False) -> bool:
    """A postcode of Flanders or Brussels (``B-2800`` and ``2800`` alike).

    Known postcodes of the list and every code in the Flemish/Brussels ranges (which also holds
    the large-customer codes) are valid; ``strict`` accepts listed postcodes only.
    """
    text = clean_postcode(code)
    if text is None:
        return False
    if text in _index().by_postcode:
        return True
    if strict:
        return False
    number = int(text)
    return any(low <= number <= high for low, high in POSTCODE_RANGES)


def municipality_of(postcode: str | int) -> str | None:
    text = clean_postcode(postcode)
    return _index().by_postcode.get(text) if text else None


def postcodes_of(municipality: str) -> tuple[str, ...]:
    item = _index().municipalities.get(municipality)
    return item.postcodes if item else ()


def municipalities() -> list[str]:
    """Canonical names of all municipalities, sorted."""
    return sorted(_index().municipalities)


def display_name(municipality: str, lang: str) -> str:
    """The name a family reads: in French, a Brussels municipality by its French name
    ("Forest", not "Vorst"); stored and shown to the loket by the name in municipalities.csv."""
    item = _index().municipalities.get(municipality)
    if lang == "fr" and item is not None and item.province == "BRU" and item.aliases:
        return item.aliases[0]
    return municipality


def province_of(municipality: str) -> str | None:
    item = _index().municipalities.get(municipality)
    return item.province if item else None


def neighbours(municipality: str) -> list[str]:
    """Configured neighbours of a municipality (any spelling ``resolve_location`` accepts)."""
    index = _index()
    name = municipality if municipality in index.municipalities else None
    if name is None:
        found = resolve_location(municipality)
        name = found.municipality if found else None
    return list(index.neighbours.get(name, ())) if name else []


def _exact(key: str) -> tuple[str, str] | None:
    index = _index()
    hit = index.by_name.get(key)
    if hit is None and " " not in key:
        full = index.compact.get(key)  # "sintkatelijnewaver", "skw"
        hit = index.by_name.get(full) if full else None
    return hit


def _fuzzy(key: str) -> tuple[str, str] | None:
    index = _index()
    if len(key.replace(" ", "")) < 4:
        return None
    names = list(index.by_name)
    best = difflib.get_close_matches(key, names, n=2, cutoff=_FUZZY_CUTOFF)
    if not best:
        squeezed = key.replace(" ", "")
        compact = difflib.get_close_matches(squeezed, list(index.compact), n=2,
                                            cutoff=_FUZZY_CUTOFF)
        best = [index.compact[c] for c in compact]
    if not best:
        return None
    if len(best) == 2:
        first = difflib.SequenceMatcher(None, key, best[0]).ratio()
        second = difflib.SequenceMatcher(None, key, best[1]).ratio()
        target = (index.by_name[best[0]][0], index.by_name[best[1]][0])
        if first - second < 0.05 and target[0] != target[1]:
            return None  # too close to call: better to ask than to guess
    return index.by_name[best[0]][0], "fuzzy"


# Cyrillic as Latin, so that "Мехелен" or "Антверпен" can be matched like a typo of the Dutch
# name when names.yml does not list that spelling.
_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ё": "io",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "ch",
    "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ь": "", "ъ": "", "ы": "y", "э": "e",
    "ю": "iu", "я": "ia", "'": "", "ʼ": ""})
# ... and as a Dutch ear writes it: Ukrainian "г" and "х" are an "h", "ау" is the Dutch "ou"
# ("Торхаут" is Torhout, not the nearer-looking Turnhout of "torchaut")
_CYRILLIC_AS_DUTCH = str.maketrans({"г": "h", "х": "h"})


def _as_dutch(text: str) -> str:
    return text.lower().translate(_CYRILLIC_AS_DUTCH).translate(_CYRILLIC).replace("au", "ou")


_ARABIC_LETTER_PREFIXES = ("ف", "ب", "ل", "و")


def _arabic_unprefixed(text: str) -> str:
    """Darija joins "in"/"to" to the name ("فميخلن", "لأنتويرب"): try the name alone."""
    words = []
    for word in text.split():
        if len(word) > 3 and "\u0600" <= word[0] <= "\u06ff" and word[0] in _ARABIC_LETTER_PREFIXES:
            word = word[1:]
        words.append(word)
    return " ".join(words)


def resolve_location(text: str | int | None, fuzzy: bool = True) -> Location | None:
    """A postcode or a municipality name (typos, case and accents ignored) as a Location.

    Returns None when nothing matches. A postcode in the Flemish/Brussels ranges that is not in
    the list gives a Location without municipality (``known`` is False). Names in other
    languages and scripts come from names.yml; Cyrillic is also read as Latin. Without
    ``fuzzy`` only exact names count (a place said in passing; much cheaper).
    """
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    variants = [raw]
    if _SAINT.search(raw):  # "St-Josse", "St.-Niklaas", "St Truiden"
        variants += [_SAINT.sub("Saint-", raw), _SAINT.sub("Sint-", raw)]
    if any("\u0600" <= c <= "\u06ff" for c in raw):
        variants.append(_arabic_unprefixed(raw))
    if any("\u0400" <= c <= "\u04ff" for c in raw):
        bare = _without_case_endings(raw)
        variants += [bare, _as_dutch(raw), _as_dutch(bare), raw.lower().translate(_CYRILLIC),
                     bare.lower().translate(_CYRILLIC)]
    if re.search(r"[a-zçğıöşü]{3}(?:['’]?(?:d|t)[ae]n?|['’]?y?[ae]|['’]?n?[iıuü]n)\b",
                 raw, re.I):
        variants.append(_without_turkish_endings(raw))
    for variant in dict.fromkeys(variants):  # every exact reading before any typo
        found = _resolve(variant, False)
        if found is not None:
            return found
    if not fuzzy:
        return None
    for variant in dict.fromkeys(variants):
        found = _resolve(variant, True)
        if found is not None:
            return found
    return None


_SAINT = re.compile(r"\bSt[.]?(?:-|\s)\s*(?=[A-Z])", re.IGNORECASE)
_TURKISH_ENDINGS = ("dan", "den", "tan", "ten", "nin", "nın", "nun", "nün", "da", "de", "ta",
                    "te", "ya", "ye", "in", "ın", "un", "ün", "a", "e")


def _without_turkish_endings(text: str) -> str:
    """"genkte oturuyorum", "borgerhoutta", "Gent'ten": Turkish joins the case ending to the
    name; a word becomes the name only when the name without the ending is one."""
    out = []
    for word in text.split():
        bare = re.split(r"['’]", word)[0]
        if bare != word and _exact(normalise(bare)):
            out.append(bare)
            continue
        for ending in _TURKISH_ENDINGS:
            if len(word) > len(ending) + 2 and word.lower().endswith(ending) \
                    and _exact(normalise(word[: -len(ending)])):
                word = word[: -len(ending)]
                break
        out.append(word)
    return " ".join(out)


_SLAVIC_ENDINGS = ("ові", "ом", "ою", "е", "і", "у", "а", "и")


def _without_case_endings(text: str) -> str:
    """"в Антверпені", "живем в Антверпене": the name in the nominative."""
    out = []
    for word in text.split():
        for ending in _SLAVIC_ENDINGS:
            if len(word) > 4 and word.lower().endswith(ending):
                word = word[: -len(ending)]
                break
        out.append(word)
    return " ".join(out)


def _resolve(raw: str, fuzzy: bool = True) -> Location | None:
    index = _index()
    postcode_match = re.search(r"(?<!\d)(?:B-?)?(\d{4})(?!\d)", raw)
    if postcode_match:
        code = postcode_match.group(1)
        name = index.by_postcode.get(code)
        if name:
            return _location(name, code, code, "postcode")
        if is_valid_postcode(code):
            return Location(None, code, None, "brussels" if code < "1300" else "flanders",
                            code, "postcode")
    key = normalise(re.sub(r"\d+", " ", raw))
    if not key:
        return None
    hit = _exact(key)
    if hit:
        return _location(hit[0], None, raw, hit[1])
    words = [w for w in key.split() if w not in _FILLER] or key.split()
    stripped = " ".join(words)
    if stripped != key:
        hit = _exact(stripped)
        if hit:
            return _location(hit[0], None, raw, hit[1])
    # A name inside a sentence ("ik woon in mechelen"): longest word run first.
    if len(words) > 1:
        for size in range(min(len(words), 6), 0, -1):
            for start in range(len(words) - size + 1):
                part = " ".join(words[start:start + size])
                if part in _COMMON_WORDS:
                    continue
                hit = _exact(part)
                if hit:
                    return _location(hit[0], None, part, hit[1])
    hit = _fuzzy(stripped) if fuzzy else None
    if hit:
        return _location(hit[0], None, raw, hit[1])
    if len(words) > 1 and fuzzy:
        for size in range(min(len(words), 4), 0, -1):
            for start in range(len(words) - size + 1):
                part = " ".join(words[start:start + size])
                if len(part) < 5 or part in _COMMON_WORDS:
                    continue
                hit = _fuzzy(part)
                if hit:
                    return _location(hit[0], None, part, hit[1])
    return None
