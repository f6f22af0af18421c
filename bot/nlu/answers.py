"""Reading what people type when they answer a question, in their own words.

The words live in ``data/answers/<lang>.yml`` (format: data/answers/README.md): per question the
forms of each value ("ik zoek werk", "werkzoekend" -> job_seeking), yes and no, paraphrases of
the yes/no facts ("ik ben alleen met de kinderen" -> single_parent yes), and cues that tell what
a message is about (a birth date, a correction, a request for a person).

Matching is on ``chat_fold`` text, whole words: a form ending in ``*`` is a prefix, words of six
letters or more forgive one typo, an Arabic word may carry a prefix (و, ب, ال …), and when forms
overlap the longest wins, so "ik werk niet" beats "werk". Every list of a language is read
together with Dutch and English, because families write Flemish institution words and English
words inside every language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import yaml

from bot.settings import DATA_DIR
from bot.textnorm import chat_fold

ANSWERS_DIR = DATA_DIR / "answers"
ALSO_READ = ("nl", "en")  # code-switching: Dutch and English words appear in every language
FUZZY_MIN = 6
_WORD = re.compile(r"\w+")
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ل", "ف", "ك")


# --- text as tokens with spans in the original -----------------------------------------------

@dataclass(frozen=True)
class Token:
    text: str  # chat-folded
    start: int  # span in the original text
    end: int
    after_break: bool = False  # a full stop, comma, "?" … stands before it


def tokenize(text: str) -> list[Token]:
    # one message is tokenized a dozen times (by clause, per reader): fold it once
    return list(_tokens(text))


@lru_cache(maxsize=2048)
def _tokens(text: str) -> tuple[Token, ...]:
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for c in chat_fold(char):
            folded.append(c)
            origin.append(index)
    flat = "".join(folded)
    out: list[Token] = []
    for m in _WORD.finditer(flat):
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        gap = text[out[-1].end:start] if out else ""
        out.append(Token(m.group(0), start, end, bool(_BREAK.search(gap))))
    return tuple(out)


_BREAK = re.compile(r"[.,;:!?\n؟،]")


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance of at most one, or one swap of neighbours."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    if la > lb:
        a, b = b, a
    return any(a == b[:i] + b[i + 1:] for i in range(len(b)))


@lru_cache(maxsize=8192)  # every form's pattern asks for the same few words' variants
def _variants(token: str) -> tuple[str, ...]:
    """The token and, for an Arabic word, the word without a prefix ("بالعمل" -> "العمل")."""
    out = [token]
    if token and "\u0600" <= token[0] <= "\u06ff":
        for prefix in _ARABIC_PREFIXES:
            if token.startswith(prefix) and len(token) - len(prefix) >= 2:
                out.append(token[len(prefix):])
                if prefix not in ("ال", "لل") and token[len(prefix):][:2] != "ال":
                    out.append("ال" + token[len(prefix):])
        # a verb for another person reads as the listed first person: "تبحث"/"يبحث"/"نبحث"
        # as "أبحث" (folded "ابحث"), Darija "كتخدم"/"كيخدم" as "كنخدم"
        for word in list(out):
            if word[:1] in ("ت", "ي", "ن") and len(word) >= 4:
                out.append("ا" + word[1:])
            if word[:2] in ("كت", "كي") and len(word) >= 5:
                out.append("كن" + word[2:])
    return tuple(out)


# --- forms ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pattern:
    text: str
    prefix: bool

    def matches(self, token: str) -> int:
        """0: no match; 2: exact (or as a prefix); 1: with one typo."""
        fuzzy = False
        real = token in real_words()  # "enfant" is no "en fait" typed wrong
        for variant in (token,) if real else _variants(token):
            if self.prefix:
                if variant.startswith(self.text):
                    return 2
            elif variant == self.text:
                return 2
            elif (not real and len(self.text) >= FUZZY_MIN and len(variant) >= FUZZY_MIN - 1
                  and variant[0] == self.text[0] and not variant.isdigit()
                  and _one_edit(variant, self.text)):
                fuzzy = True
        return 1 if fuzzy else 0


@dataclass(frozen=True)
class Hit:
    value: str
    start: int  # token index
    end: int
    weight: int  # letters of the form: the longest wins

    def overlaps(self, other: Hit) -> bool:
        return self.start < other.end and other.start < self.end


def _patterns(form: str) -> tuple[Pattern, ...]:
    raw = str(form).strip()
    prefix = raw.endswith("*")
    words = [t.text for t in tokenize(raw.rstrip("*"))]
    if not words:
        return ()
    # a short word is never a prefix: "les*" would read "lesbisch"; forms are data, be safe.
    # Arabic words are built on roots of three letters: "حذف*" (حذفها, حذفوا) is enough
    arabic = bool(words[-1]) and "\u0600" <= words[-1][0] <= "\u06ff"
    last_prefix = prefix and len(words[-1]) >= (3 if arabic else 4)
    return tuple(Pattern(w, last_prefix and i == len(words) - 1) for i, w in enumerate(words))


class Forms:
    """Surface forms of values, found in a message as whole-word sequences."""

    def __init__(self, table: Mapping[str, Iterable[str]]) -> None:
        self._exact: dict[str, list[tuple[tuple[Pattern, ...], str]]] = {}
        self._prefix: dict[str, list[tuple[tuple[Pattern, ...], str]]] = {}
        self._fuzzy: dict[str, list[tuple[tuple[Pattern, ...], str]]] = {}
        self.size = 0
        seen: set[tuple[tuple[Pattern, ...], str]] = set()
        for value, forms in table.items():
            for form in forms or ():
                patterns = _patterns(form)
                if not patterns or (patterns, value) in seen:
                    continue
                seen.add((patterns, value))
                self.size += 1
                entry = (patterns, str(value))
                first = patterns[0]
                if first.prefix:
                    self._prefix.setdefault(first.text[:3], []).append(entry)
                    continue
                self._exact.setdefault(first.text, []).append(entry)
                if len(first.text) >= FUZZY_MIN:
                    for i in range(len(first.text)):
                        self._fuzzy.setdefault(first.text[:i] + first.text[i + 1:],
                                               []).append(entry)

    def _candidates(self, token: str) -> list[tuple[tuple[Pattern, ...], str]]:
        found: list[tuple[tuple[Pattern, ...], str]] = []
        for variant in _variants(token):
            found += self._exact.get(variant, [])
            found += self._prefix.get(variant[:3], [])
            if len(variant) >= FUZZY_MIN - 1:
                found += self._fuzzy.get(variant, [])
                for i in range(len(variant)):
                    found += self._fuzzy.get(variant[:i] + variant[i + 1:], [])
                    found += self._exact.get(variant[:i] + variant[i + 1:], [])
        return found

    def hits(self, tokens: Sequence[Token]) -> list[Hit]:
        """Every form found, then the longest of those that overlap, in message order."""
        words = [t.text for t in tokens]
        found: set[Hit] = set()
        for i, word in enumerate(words):
            for patterns, value in self._candidates(word):
                n = len(patterns)
                if i + n > len(words):
                    continue
                grades = [p.matches(words[i + k]) for k, p in enumerate(patterns)]
                if all(grades):
                    # a typo costs more than the letter a longer form has: "calisiyorum"
                    # typed exactly is not "calismiyorum" with a typo
                    weight = sum(len(p.text) for p in patterns) - 3 * grades.count(1)
                    found.add(Hit(value, i, i + n, weight))
        chosen: list[Hit] = []
        for hit in sorted(found, key=lambda h: (-h.weight, h.start)):
            if not any(hit.overlaps(c) for c in chosen):
                chosen.append(hit)
        return sorted(chosen, key=lambda h: h.start)

    def values(self, text: str | Sequence[Token]) -> list[str]:
        tokens = tokenize(text) if isinstance(text, str) else text
        out: list[str] = []
        for hit in self.hits(tokens):
            if hit.value not in out:
                out.append(hit.value)
        return out


# --- the word lists --------------------------------------------------------------------------

@cache
def _file(lang: str) -> dict[str, Any]:
    path = ANSWERS_DIR / f"{lang}.yml"
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@cache
def real_words() -> frozenset[str]:
    """Words of any of our languages that are one letter or a prefix away from a form but mean
    something else (``real_words`` in each file): read only as themselves."""
    out: set[str] = set()
    for path in sorted(ANSWERS_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for word in data.get("real_words") or []:
            out.update(t.text for t in tokenize(str(word)))
    return frozenset(out)


def _langs(lang: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((lang, *ALSO_READ)))


def _section(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def table(path: str, lang: str) -> dict[str, list[str]]:
    """``value -> forms`` at a dotted path ("choices.reason", "facts.single_parent") in the
    language and the languages read with it; a plain list is one value named after the path."""
    merged: dict[str, list[str]] = {}
    for code in _langs(lang):
        node = _section(_file(code), path)
        if isinstance(node, Mapping):
            for value, forms in node.items():
                merged.setdefault(str(value), []).extend(map(str, forms or []))
        elif isinstance(node, list):
            merged.setdefault(path.rsplit(".", 1)[-1], []).extend(map(str, node))
    return merged


@cache
def forms(path: str, lang: str) -> Forms:
    return Forms(table(path, lang))


def has_cue(kind: str, text: str | Sequence[Token], lang: str) -> bool:
    tokens = tokenize(text) if isinstance(text, str) else text
    return bool(forms(f"cues.{kind}", lang).hits(tokens))


def cue_hits(kind: str, tokens: Sequence[Token], lang: str) -> list[Hit]:
    return forms(f"cues.{kind}", lang).hits(tokens)


# --- readers ----------------------------------------------------------------------------------

_NUMBER_ONLY = re.compile(r"^\s*(?:n[or]\.?|nummer|number|numero|n°|#)?\s*(\d{1,2})\s*[.)!]?\s*$",
                          re.IGNORECASE)


def option_number(text: str) -> int | None:
    """A numbered option typed on its own ("2", "2.", "٢", "nr 2")."""
    match = _NUMBER_ONLY.match(chat_fold(text))
    return int(match.group(1)) if match else None


NEGATION_BEFORE = 2  # "not looking for work", "ne cherche pas": words before a form
NEGATION_AFTER = 1  # Dutch and Turkish put it after: "werkt niet"


# A negation does not reach over these: "ik werk niet, maar ik zoek werk".
CLAUSE_WORDS = frozenset({"maar", "en", "but", "and", "mais", "et", "ama", "ve", "але", "і",
                          "но", "и", "و", "لكن"})


def negated(hit: Hit, tokens: Sequence[Token], lang: str) -> bool:
    """Whether a negation word ("niet", "not", "pas", "не", "ما") stands right before or after
    the form in the same clause, so that "is not looking for work" does not count."""
    words = forms("cues.negation", lang)
    before: list[Token] = []
    for i in range(hit.start - 1, max(-1, hit.start - NEGATION_BEFORE - 1), -1):
        if tokens[i + 1].after_break or tokens[i].text in CLAUSE_WORDS:
            break  # "ou pas? moi je travaille": the negation belongs to the other clause
        before.insert(0, tokens[i])
    after = [t for t in tokens[hit.end:hit.end + NEGATION_AFTER]
             if t.text not in CLAUSE_WORDS and not t.after_break]
    around = [*before, *after]
    return bool(around) and bool(words.hits(around))


def negative_form(hit: Hit, tokens: Sequence[Token], lang: str) -> bool:
    """Whether the form itself says "no" ("geen werk", "no job", "isim yok")."""
    return bool(forms("cues.negation", lang).hits(tokens[hit.start:hit.end]))


Extra = tuple[tuple[str, tuple[str, ...]], ...]  # (value, forms) pairs: hashable, cached


def _frozen(extra: Mapping[str, Iterable[str]] | None) -> Extra:
    return tuple((value, tuple(forms_)) for value, forms_ in (extra or {}).items())


@lru_cache(maxsize=512)
def _forms_with(path: str, lang: str, extra: Extra) -> Forms:
    """The forms at ``path`` plus extra ones (button labels, other lists): built once."""
    merged = {value: list(forms_) for value, forms_ in table(path, lang).items()}
    for value, more in extra:
        merged.setdefault(value, []).extend(more)
    return Forms(merged)


def positive_values(path: str, text: str | Sequence[Token], lang: str,
                    extra: Mapping[str, Iterable[str]] | None = None,
                    keep_negated: Iterable[str] = ("none", "no_preference")) -> list[str]:
    """The values named at ``path``, leaving out the ones a negation denies."""
    tokens = tokenize(text) if isinstance(text, str) else text
    keep = set(keep_negated)
    out: list[str] = []
    for hit in _forms_with(path, lang, _frozen(extra)).hits(tokens):
        if (hit.value in keep or not negated(hit, tokens, lang)) and hit.value not in out:
            out.append(hit.value)
    return out


@dataclass(frozen=True)
class Option:
    value: str
    label: str  # the button's words in the conversation's language


def read_choice(field: str, text: str, lang: str, options: Sequence[Option],
                extra: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """The offered values a free-words answer names, in the order it names them: the number
    of an option, its button words, or the forms of ``choices.<field>`` (and ``extra``)."""
    offered = [o.value for o in options]
    number = option_number(text)
    if number is not None:
        return [offered[number - 1]] if 1 <= number <= len(offered) else []
    words: dict[str, list[str]] = {value: list(forms_) for value, forms_ in (extra or {}).items()}
    for option in options:
        words.setdefault(option.value, []).append(option.label)
        # a label with a part in brackets ("Af en toe (occasioneel)"): each part alone too
        for part in re.split(r"[()/]", option.label):
            if part.strip():
                words[option.value].append(part.strip())
    tokens = tokenize(text)
    found: list[str] = []
    for hit in _forms_with(f"choices.{field}", lang, _frozen(words)).hits(tokens):
        if hit.value in found or (hit.value not in ("none", "no_preference", "occasional")
                                  and negated(hit, tokens, lang)):
            continue
        found.append(hit.value)
    return [v for v in found if v in offered]


def read_yes_no(text: str, lang: str, fact: str | None = None) -> bool | None:
    """Yes or no: the fact's own paraphrases first ("ik ben alleen" to "alone?"), then the
    words for yes and no; the first one said counts when both appear ("nee, toch wel ja")."""
    tokens = tokenize(text)
    if fact:
        hits = forms(f"facts.{fact}", lang).hits(tokens)
        if hits:
            strongest = max(hits, key=lambda h: h.weight)
            return strongest.value == "yes" and not _negated_before(strongest, tokens, lang)
    hits = _yes_no(lang).hits(tokens)  # one table: "geen probleem" (yes) beats "geen" (no)
    if not hits:
        return None
    # "i dont agree", "مش موافقة": a yes right after a negation is a no
    return hits[0].value == "yes" and not _negated_before(hits[0], tokens, lang)


def _negated_before(hit: Hit, tokens: Sequence[Token], lang: str) -> bool:
    if hit.start == 0 or tokens[hit.start].after_break:
        return False
    return bool(forms("cues.negation", lang).hits(tokens[max(0, hit.start - 2):hit.start]))


@cache
def _yes_no(lang: str) -> Forms:
    return Forms({"yes": table("yes", lang).get("yes", []),
                  "no": table("no", lang).get("no", [])})


def says_nothing(text: str, lang: str) -> bool:
    """ "geen", "heb ik niet", "no email", "yok": there is nothing to give for this question."""
    tokens = tokenize(text)
    return bool(forms("nothing", lang).hits(tokens)) or read_yes_no(text, lang) is False


def closed_kinds(text: str, lang: str) -> set[str]:
    """The kinds (goodbye, thanks, greeting) of a message made only of such phrases
    ("ok merci, bye"), else the empty set: a longer message is never taken for a goodbye."""
    tokens = tokenize(text)
    if not tokens:
        return set()
    covered: set[int] = set()
    kinds: set[str] = set()
    filler = forms("yes", lang)
    for kind in ("goodbye", "thanks", "greeting"):  # each on its own: "dag" is hello and bye
        for hit in forms(f"closed.{kind}", lang).hits(tokens):
            covered.update(range(hit.start, hit.end))
            kinds.add(kind)
    for hit in filler.hits(tokens):  # "ok", "ja" beside a thanks
        covered.update(range(hit.start, hit.end))
    return kinds if len(covered) == len(tokens) else set()


# "Mme Fatoumata Camara", "mevrouw Peeters", "Ayşe Hanım" keep only the name
_HONORIFIC = re.compile(
    r"^(?:mme|mlle|mm|madame|mademoiselle|monsieur|m\.|mevrouw|mevr\.?|meneer|dhr\.?|mw\.?|"
    r"mrs\.?|mr\.?|ms\.?|miss|bayan|bay|пані|пан|السيدة|السيد)\s+"
    r"|\s+(?:hanım|hanim|bey)$", re.IGNORECASE)
_NOT_A_NAME = re.compile(r"[\d@?/\\:;=+_#<>{}\[\]]")
MAX_NAME_WORDS = 5


_NAME_BREAK = re.compile(r"[,،;!?.]|\s[-–]\s")


def _not_a_name_part(rest: str) -> bool:
    """What follows a comma is a remark, not more of the name ("Peeters, Sanne" is a name):
    more than two words, or a word in lower case."""
    parts = rest.split()
    return len(parts) > 2 or any(p[:1].islower() for p in parts)


def read_name(text: str, lang: str, whose: str = "self") -> str | None:
    """A person's name from "Adam", "hij heet Adam", "mijn naam is Samira El Idrissi",
    "je m'appelle Grace", "Mama: Olena": the introduction and a greeting before it are left
    out."""
    if ":" in text and text.rsplit(":", 1)[1].strip():
        text = text.rsplit(":", 1)[1]
    tokens = tokenize(text)
    start = 0
    # what may stand before the name: a greeting, "hij heet", and for a social worker who the
    # name belongs to ("la maman, Solange Kalala", "annesi Derya Yildiz", "mama: Olena")
    intros = [*(forms(k, lang).hits(tokens) for k in (
        "closed.greeting", f"names.{whose}", "names.self", "names.child", "names.verbs",
        "cues.on_behalf", "cues.parent", "cues.correction"))]  # "sorry, hij heet Adam"
    moved = True
    while moved:
        moved = False
        for hits in intros:
            at = [h for h in hits if h.start == start]
            if at:
                start = max(h.end for h in at)
                moved = True
    if start >= len(tokens):
        return None
    end = len(text)
    later = [h for h in forms("names.verbs", lang).hits(tokens) if h.start > start]
    if later:  # the naming verb after the name: "ze gaat Nora heten", "Adam adını koyduk"
        end = tokens[later[0].start].start
    name = text[tokens[start].start:end].strip().strip(".,!;:-–'\"").strip()
    name = _HONORIFIC.sub("", re.sub(r"\s+", " ", name))
    cut = _NAME_BREAK.search(name)
    if cut and _not_a_name_part(name[cut.end():]):
        name = name[:cut.start()].strip()  # "Lotte, dat zei ik al": not the remark after it
    if not name or _NOT_A_NAME.search(name) or not any(c.isalpha() for c in name):
        return None
    if len(name.split()) > MAX_NAME_WORDS or len(name) > 80:
        return None
    return name
