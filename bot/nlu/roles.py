"""Who is writing: a parent, or a professional (toeleider) asking for a family.

Someone is taken for a social worker only when they say so as a professional: a role word
("maatschappelijk werker", "assistante sociale", "social worker") or an organisation named in a
professional frame ("ik werk bij het OCMW", "namens het CAW"). Words about work are never a
role: "ik werk in een fabriek", "calisiyorum", "je travaille" are a parent's reason for care.
A parent's own words ("ik ben de mama", "je suis la maman") always win, also over a role word
in the same message ("pas une assistante sociale").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from bot.nlu import answers
from bot.nlu.answers import Forms, Token, tokenize
from bot.places import geo
from bot.settings import LANGUAGES
from bot.textnorm import chat_fold

MAX_ORGANISATION_WORDS = 6
# Turkish writes a case ending after an apostrophe: "CAW Limburg'dan", "OCMW Gent'te"
_SUFFIX = re.compile(r"(?<=[^\W\d_]{3})['\u2019][^\W\d_]{1,4}[.,]?$")
_ST = re.compile(r"^(?:st|ste|sint|saint|sainte)\.?\s+")  # "St-Josse" is "Saint-Josse"
_LINK = re.compile(r"^(?:(?:van|de|of|du|in|à|a|te|uit)\s+|d')")  # "OCMW van Mechelen"
# a regional service names its province: "CAW Limburg", "Kind en Gezin Antwerpen"
_PROVINCES = frozenset({"limburg", "antwerpen", "oost-vlaanderen", "west-vlaanderen",
                        "vlaams-brabant", "brussel", "bruxelles", "brussels"})
_STOP = re.compile(r"[,.;!?\n]|\s(?:en|and|et|ve|і|и|و|maar|but|mais|en ik|and i)\s", re.I)


@dataclass(frozen=True)
class Claim:
    role: str  # "toeleider" | "parent"
    organisation: str | None = None
    span: tuple[int, int] | None = None  # characters of the claim: not read for other facts
    # the message itself says it is for a family they support ("voor een gezin dat ik
    # begeleid"): the role check is answered already
    for_a_family: bool = False


@cache
def _organisations() -> Forms:
    names: list[str] = []
    for lang in LANGUAGES:
        names += [str(n) for n in answers._file(lang).get("organisations") or []]
    return Forms({"organisation": names})


def _organisation(text: str, tokens: list[Token]) -> tuple[str | None, int, int]:
    """The organisation a professional names, with the place after it ("OCMW Mechelen",
    "CPAS de Bruxelles"), as written; and its character span."""
    hits = _organisations().hits(tokens)
    if not hits:
        return None, 0, 0
    hit = hits[0]
    start, end = tokens[hit.start].start, tokens[hit.end - 1].end
    official = ""
    own = _own_name(text, tokens, hit.end)
    if own is not None:  # "CVO Kisp у Генті": the school's own name belongs to it
        end = own
    rest = text[end:]
    stop = _STOP.search(rest)
    tail = rest[: stop.start()] if stop else rest
    tail_words = tail.split()[:4]
    # keep a place after the name ("OCMW (van) Mechelen", "CAW Limburg'dan"); stop before
    # anything else
    for n in range(len(tail_words), 0, -1):
        words = [_SUFFIX.sub("", w).strip(" .,()") for w in tail_words[:n]]
        if not all(words):
            continue
        said_place = " ".join(words)
        place = geo.resolve_location(said_place, fuzzy=False)
        named, written_place = (_ST.sub("saint ", _LINK.sub("", chat_fold(x)).replace("-", " "))
                                for x in (place.matched if place else "", said_place))
        # the name as written, or with a case ending ("Лёвена", "Gentte")
        is_place = (place and place.municipality and place.how != "fuzzy" and named
                    and written_place.startswith(named)
                    and len(written_place) - len(named) <= 3)
        if is_place or (n == 1 and chat_fold(said_place) in _PROVINCES):
            written = " ".join([*tail_words[:n - 1], _SUFFIX.sub("", tail_words[n - 1])])
            end += len(tail) - len(tail.lstrip()) + len(written)
            if is_place and chat_fold(place.municipality) not in chat_fold(written):
                # the loket reads "ОЦМВ Лёвена (Leuven)", "CPAS de St-Josse (Sint-Joost-ten-Node)"
                official = f" ({place.municipality})"
            break
    return text[start:end].strip(" .,") + official, start, end


_FUNCTION_WORDS = frozenset({"the", "and", "het", "een", "les", "des", "une", "der", "die", "das",
                             "und", "van", "voor", "pour", "for", "with", "met", "avec"})


def _own_name(text: str, tokens: list[Token], after: int) -> int | None:
    """The end of a capitalised name right after an organisation's acronym ("CVO Kisp",
    "CAW Delta"), when it is not a place (kept by the place rule) nor a word like "Ik"."""
    if after >= len(tokens) or tokens[after].after_break:
        return None
    token = tokens[after]
    word = text[token.start:token.end]
    acronym = text[tokens[after - 1].start:tokens[after - 1].end]
    if not (acronym.isupper() and word[:1].isupper() and not word.isupper() and len(word) >= 3
            and word.isalpha()) or geo.resolve_location(word, fuzzy=False) is not None:
        return None
    if word.lower() in _FUNCTION_WORDS or any(
            answers.has_cue(kind, word, lang) for kind in ("self", "question", "negation")
           for lang in LANGUAGES):
        return None
    return token.end


def _after_frame(text: str, tokens: list[Token], frame_end: int) -> str | None:
    """The words after "ik werk bij" / "I work at" up to the end of the clause."""
    rest = text[tokens[frame_end - 1].end:] if frame_end else text
    stop = _STOP.search(rest)
    words = (rest[: stop.start()] if stop else rest).split()
    words = [w for w in words if w.lower() not in ("het", "de", "the", "le", "la", "l'", "een")]
    return " ".join(words[:MAX_ORGANISATION_WORDS]).strip(" .,") or None


MAX_INTRODUCED_NAME_WORDS = 3
_ARTICLES = frozenset({"het", "de", "the", "le", "la", "l", "les"})


def _introduced_from(before: str, lang: str) -> bool:
    """Whether the words before an organisation are a writer naming themself from it: a
    greeting, "I am", "this is", "ici" (optional), one to three name words and "from"
    ("Bonjour, Jeroen de Pleegzorg", "this is Hannah from Atlas"), opening the message."""
    tokens = tokenize(before)
    if not tokens:
        return False
    start = 0
    introduced = False
    for kind in ("closed.greeting", "cues.introduce"):
        at = [h for h in answers.forms(kind, lang).hits(tokens) if h.start == start]
        if at:
            start = max(h.end for h in at)
            introduced = kind == "cues.introduce"
    rest = tokens[start:]
    froms = answers.forms("cues.from_organisation", lang)
    if len(rest) >= 3 and rest[-1].text in _ARTICLES and froms.hits(rest[-2:-1]):
        rest = rest[:-1]  # "ik ben Sofie van het OCMW", "de l'Agentschap"
    if len(rest) < 2 or not froms.hits(rest[-1:]):
        return False
    names = rest[:-1]
    # without "I am" the name must look like one ("Jeroen de Pleegzorg"), not words
    # ("ми отримуємо допомогу від OCMW": we get help from the OCMW)
    if not introduced and not all(before[t.start:t.end][:1].isupper()
                                  or not before[t.start:t.end][:1].isalpha() for t in names):
        return False
    return len(names) <= MAX_INTRODUCED_NAME_WORDS and all(
        not answers.has_cue(kind, [t], lang) for t in names
        for kind in ("parent", "on_behalf", "own_child", "negation"))


@lru_cache(maxsize=256)  # the same message is read by the form, the facts and the action
def claim(text: str, lang: str) -> Claim | None:
    """A parent's or a professional's own statement of who they are, or None."""
    tokens = tokenize(text)
    if not tokens:
        return None
    parent = answers.cue_hits("parent", tokens, lang)
    if parent:
        hit = parent[0]
        return Claim("parent", span=(tokens[hit.start].start, tokens[hit.end - 1].end))
    roles = answers.cue_hits("professional", tokens, lang)
    frames = answers.cue_hits("professional_frame", tokens, lang)
    supports = answers.cue_hits("supports", tokens, lang)
    organisation, org_start, org_end = _organisation(text, tokens)
    # an organisation alone is no role: "de papa is ingeschreven bij de VDAB" is a parent;
    # beside a family the writer supports it is ("ici Jonas du OCMW … que j'accompagne"), and
    # so is a writer who introduces themself from it ("أنا هبة من Kind en Gezin")
    if not roles and not (organisation and (frames or supports or _introduced_from(
            text[:org_start], lang))):
        return None
    for_a_family = bool(supports) or answers.has_cue("on_behalf", tokens, lang)
    if not for_a_family and answers.has_cue("own_child", tokens, lang):
        # "je suis éducatrice en crèche et je cherche une place pour mon fils": her own child
        return None
    spans = [(tokens[h.start].start, tokens[h.end - 1].end) for h in [*roles, *frames,
                                                                       *supports]]
    if organisation:
        spans.append((org_start, org_end))
    elif frames:
        organisation = _after_frame(text, tokens, frames[0].end)
        if organisation:
            spans.append((tokens[frames[0].end - 1].end, tokens[frames[0].end - 1].end
                          + len(organisation) + 1))
    return Claim("toeleider", organisation,
                 (min(s for s, _ in spans), max(e for _, e in spans)), for_a_family)
