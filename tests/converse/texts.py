"""What the assistant said, recognised the way a person reads it: a reverse index from the
locale texts to their keys, and the one table that maps question keys to persona topics.

The index is built from ``locales/<lang>.yml`` at run time, so reworded texts are followed
automatically; a new *question* needs one line in :data:`TOPIC_RULES` (the run lists bot
messages it could not map, so a missing line shows up).
"""

from __future__ import annotations

import re
import string
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot import i18n

# Question keys -> persona topics. First matching rule wins; ``{topic}`` is the named group.
# Keep specific rules above the generic ``….q.<field>`` ones.
TOPIC_RULES: tuple[tuple[str, str], ...] = (
    (r"intake\.(parent|toeleider)\.summary", "confirm"),
    (r"intake\.change_which", "change_which"),
    (r"intake\.(parent|toeleider)\.q\.(?P<topic>\w+)", "{topic}"),  # frequency, location, …
    (r"places\.q\.child", "child_birth"),
    (r"places\.q\.days", "frequency"),
    (r"places\.q\.(?P<topic>\w+)", "{topic}"),  # location, start
    (r"eligibility\.(parent|toeleider)\.q\.(?P<topic>\w+)", "{topic}"),
    # "earlier you said you raise the child alone, now a partner: which is right?"
    (r"conflict\.(parent|toeleider)\.(?P<topic>\w+)", "{topic}"),
    # "are you asking for a family you support?" (its answers and notices are statements)
    (r"role_?check(\.q|\.question)?|(.+\.)?q\.role(_?check)?|role\.q(\..+)?", "role_check"),
    (r"language\.(menu|unsupported)", "language"),
    (r"delete\.confirm", "delete_confirm"),
)

# Texts that say an answer was not understood: a re-ask of the pending topic, also when the
# question itself is not repeated in the same turn.
REASK_RULES: tuple[str, ...] = (
    r"(.+\.)?invalid(\..+)?",  # places.invalid.*, intake.invalid.*, eligibility.invalid, …
    r"answer\.choices",  # "I did not quite understand your answer. You can choose: …"
    r"fallback\.rephrase",
)

# Texts with a "?" that do not wait for an answer the persona must give ("How can I help?"):
# they end a goal and are not reported as unmapped questions.
NOT_ASKING: tuple[str, ...] = (
    r"greet\..+", r"language\.confirm", r"anything_else", r"thank", r"bot_challenge",
    r"toeleider\.welcome", r"fallback\..+", r"care_types\..+", r"price\..+",
    r"intake\.toeleider\.done", r"intake\.resume", r"handoff\..+", r"channel\..+",
    r"canned\..+", r"request_update\..+", r"webchat\..+", r"eligibility\..+\.priority\..+",
    r"eligibility\..+\.reduced\..+", r"eligibility\..+\.next_steps(_2)?", r"places\..+",
    r"topic\..+", r"my_data\..+", r"delete\..+", r"role_?check\..+",
    # the loket's help with the attest (a person is offered by a button), the municipality's
    # replacement care, "no eID?"
    r"attest\..+", r"eligibility\.own_residents", r"eligibility\..+\.no_eid",
    # what the house rules and the contract may ask (the topics are offered by buttons)
    r"house_rules\..+",
)

# A text counts for recognising the language of a message only with this much literal text:
# short labels ("OK", "Mechelen (demo)") are the same in many languages.
LANGUAGE_LITERAL = 20
# Shorter templates (button labels, single words) are only recognised as a whole message.
MIN_LITERAL = 10

_PLACEHOLDER = "(.{1,300}?)"  # a filled-in value: a name, a date, a list of places
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def normalise(text: str) -> str:
    """Whitespace collapsed and direction marks dropped: channels may re-wrap a text."""
    return " ".join(_BIDI.sub("", text).split())


def _compiled(rules: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rule) for rule in rules)


_TOPICS = tuple((re.compile(rule), topic) for rule, topic in TOPIC_RULES)
_REASKS = _compiled(REASK_RULES)
_NOT_ASKING = _compiled(NOT_ASKING)


def topic_of(key: str) -> str | None:
    """The persona topic a locale key asks, or None when it asks nothing a persona answers."""
    for rule, topic in _TOPICS:
        found = rule.fullmatch(key)
        if found:
            return topic.format(**found.groupdict())
    return None


def is_reask(key: str) -> bool:
    return any(rule.fullmatch(key) for rule in _REASKS)


def is_statement(key: str) -> bool:
    """A key known not to ask anything, even when its text has a question mark."""
    return any(rule.fullmatch(key) for rule in _NOT_ASKING)


@dataclass(frozen=True)
class Template:
    key: str
    lang: str
    text: str  # normalised
    pattern: re.Pattern[str]
    anchor: str  # the longest literal fragment: a cheap substring test before the regex
    literal: int  # characters of literal text


@dataclass(frozen=True)
class Match:
    key: str
    lang: str
    start: int
    end: int
    literal: int

    @property
    def topic(self) -> str | None:
        return topic_of(self.key)


def template(key: str, lang: str, text: str) -> Template:
    """A locale text as a pattern: literal parts escaped, each ``{placeholder}`` any text."""
    parts: list[str] = []
    literals: list[str] = []
    for literal, field, _spec, _conv in string.Formatter().parse(normalise(text)):
        if literal:
            parts.append(re.escape(literal))
            literals.append(literal)
        if field is not None:
            parts.append(_PLACEHOLDER)
    # A placeholder at either end would stretch the match over neighbouring texts
    # ("{n} dagen per week" inside a summary): the literal text alone identifies it.
    while parts and parts[0] == _PLACEHOLDER:
        parts.pop(0)
    while parts and parts[-1] == _PLACEHOLDER:
        parts.pop()
    anchor = max(literals, key=len, default="")
    return Template(key, lang, normalise(text), re.compile("".join(parts)), anchor,
                    sum(map(len, literals)))


class TemplateIndex:
    """Every locale text of every language; ``matches`` says which ones a bot message shows."""

    def __init__(self, catalogs: Mapping[str, Mapping[str, str]] | None = None) -> None:
        if catalogs is None:
            catalogs = {lang: i18n.catalog(lang) for lang in i18n.SUPPORTED}
        self.templates = [template(key, lang, text) for lang, catalog in catalogs.items()
                          for key, text in catalog.items() if text and text.strip()]
        self._cache: dict[str, tuple[Match, ...]] = {}
        self._lock = threading.Lock()

    def matches(self, text: str) -> tuple[Match, ...]:
        """Templates found in ``text``, in reading order; a template lying inside a longer one
        that also matched is dropped (``What is your name?`` inside a longer question)."""
        with self._lock:
            cached = self._cache.get(text)
        if cached is not None:
            return cached
        norm = normalise(text)
        found: list[Match] = []
        for tpl in self.templates:
            if tpl.literal < MIN_LITERAL:
                if tpl.text == norm:
                    found.append(Match(tpl.key, tpl.lang, 0, len(norm), tpl.literal))
                continue
            if tpl.anchor not in norm:
                continue
            found += [Match(tpl.key, tpl.lang, m.start(), m.end(), tpl.literal)
                      for m in tpl.pattern.finditer(norm)]
        kept: list[Match] = []
        for m in sorted(found, key=lambda m: -m.literal):
            if not any(k.start <= m.start and m.end <= k.end and k.literal > m.literal
                       for k in kept):
                kept.append(m)
        result = tuple(sorted(kept, key=lambda m: (m.end, m.start)))
        with self._lock:
            self._cache[text] = result
        return result

    def languages(self, text: str) -> set[str]:
        """Languages whose texts make up this message (empty: none recognised)."""
        return {m.lang for m in self.matches(text) if m.literal >= LANGUAGE_LITERAL}

    def question(self, text: str, role: str) -> Match | None:
        """The last question in ``text`` with a persona topic. Where two keys share a text
        (``What is your name?`` for a parent and for a social worker) the persona reads it
        in its own role, as a person would."""
        best: Match | None = None
        for m in self.matches(text):
            if m.topic is None:
                continue
            if best is None or (m.end, m.start) > (best.end, best.start):
                best = m
            elif (m.end, m.start) == (best.end, best.start) and f".{role}." in m.key \
                    and f".{role}." not in best.key:
                best = m
        return best
