"""Plain-text phone channels: SMS encoding and segments, splitting at sentence boundaries,
buttons as numbered options.

An SMS is GSM-7 when every character is in the GSM 03.38 default alphabet or its extension
table (which costs two septets), otherwise UCS-2 (Arabic, Cyrillic, Turkish ş/ğ/ı, emoji…).
One SMS holds 160 GSM-7 septets or 70 UCS-2 units; a longer text travels as a concatenated
message of 153 / 67 per segment (the rest is the reassembly header), and an escape pair or a
surrogate pair is never cut between segments. A reply goes as one concatenated message up to
Twilio's limit of 1600 characters (error 21617 beyond): the phone shows it as one message, in
one piece, where separate SMS may arrive out of order and each costs its own header. Only a
longer reply (or one over ``SMS_MAX_SEGMENTS``, when a loket caps the cost) is sent as several,
cut where a sentence or a line ends, and never inside a numbered list ("1. …" lines: the
options a family answers with a number).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

GSM7, UCS2 = "gsm7", "ucs2"

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {GSM7: 160, UCS2: 70}
PER_SEGMENT = {GSM7: 153, UCS2: 67}
TWILIO_MAX_CHARS = 1600
# What our texts are written to fit (459 GSM-7 or 201 UCS-2 characters, about Twilio's advice
# of ~320): a guideline the content tests keep, not a cap on sending.
DEFAULT_MAX_SEGMENTS = 3


def max_segments() -> int | None:
    """Segments one SMS may use before the reply is cut into several (env SMS_MAX_SEGMENTS);
    None (the default): no cap but Twilio's 1600 characters."""
    value = os.environ.get("SMS_MAX_SEGMENTS", "").strip()
    try:
        return max(1, int(value)) if value else None
    except ValueError:
        return None


_GSM_ALL = _GSM_BASIC | _GSM_EXTENSION


def encoding(text: str) -> str:
    # set operations, not a Python loop per character: every part of every reply is counted
    return GSM7 if _GSM_ALL.issuperset(text) else UCS2


def _units(char: str, enc: str) -> int:
    if enc == GSM7:
        return 2 if char in _GSM_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1  # a surrogate pair in UTF-16


def length(text: str, enc: str | None = None) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) that ``text`` takes."""
    enc = enc or encoding(text)
    if enc == GSM7:  # (the sum of _units, without a call per character)
        return len(text) + sum(1 for c in text if c in _GSM_EXTENSION)
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def segments(text: str) -> int:
    """Segments one SMS with ``text`` takes (0 for an empty text)."""
    if not text:
        return 0
    enc = encoding(text)
    if length(text, enc) <= SINGLE[enc]:
        return 1
    count, used = 1, 0
    for char in text:
        units = _units(char, enc)
        if used + units > PER_SEGMENT[enc]:  # a 2-unit character is never split
            count, used = count + 1, 0
        used += units
    return count


@dataclass(frozen=True)
class SmsPart:
    text: str
    encoding: str
    segments: int


# A sentence ends at . ! ? … (also Arabic ؟ and ۔) plus closing quotes, before a space, or at
# a line end; "1." at the start of a line is an option number, not a sentence end.
_SENTENCE_END = re.compile(r"[.!?…؟۔]+[\"'”’»)]*(?=\s)|\n")
_OPTION_NUMBER = re.compile(r"(?:^|\n)[^\S\n]*\d{1,2}\.\Z")
_SPACE = re.compile(r"\s")
_LIST_ITEM = re.compile(r"[^\S\n]*\d{1,2}[.)][^\S\n]")  # "1. …", " 2) …" at a line start


def _lists(text: str) -> list[tuple[int, int]]:
    """Spans of numbered lists: consecutive lines that start with "1." "2)" …"""
    spans: list[tuple[int, int]] = []
    start = end = None
    at = 0
    for line in text.split("\n"):
        if _LIST_ITEM.match(line):
            start = at if start is None else start
            end = at + len(line)
        elif start is not None:
            spans.append((start, end or start))
            start = None
        at += len(line) + 1
    if start is not None:
        spans.append((start, end or start))
    return spans


def _inside(cut: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < cut < end for start, end in spans)


def _longest_fitting(text: str, fits: Callable[[str], bool]) -> int:
    lo, hi = 1, len(text)  # text[:lo] always goes, even if one character does not "fit"
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[:mid]):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _cut(text: str, limit: int) -> int:
    """Where to end the first part, at most ``limit`` characters in: after the last sentence or
    line end, else at the last space, else hard; never inside a numbered list (unless a list
    alone is longer than a part: then between two of its lines)."""
    if limit >= len(text):
        return len(text)
    window = text[: limit + 1]  # a space just past the limit is a fine place to cut
    lists = _lists(text)
    ends = [
        m.end() for m in _SENTENCE_END.finditer(window)
        if 0 < m.end() <= limit and not _OPTION_NUMBER.search(window[: m.end()])
    ]
    spaces = [m.start() for m in _SPACE.finditer(window) if m.start() > 0]
    for candidates in (ends, spaces):
        allowed = [c for c in candidates if not _inside(c, lists)]
        if allowed:
            return allowed[-1]
    between_items = [m.start() for m in re.finditer("\n", window) if 0 < m.start() <= limit]
    if between_items:
        return between_items[-1]
    return ends[-1] if ends else spaces[-1] if spaces else limit


def split_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """``text`` cut into parts that each ``fits``, at sentence ends where possible."""
    rest = text.strip()
    parts: list[str] = []
    while rest and not fits(rest):
        cut = _cut(rest, _longest_fitting(rest, fits))
        head, rest = rest[:cut].rstrip(), rest[cut:].strip()
        if head:
            parts.append(head)
    if rest:
        parts.append(rest)
    return parts


def split_chars(text: str, limit: int) -> list[str]:
    """For channels that count plain characters (WhatsApp 1600, Telegram 4096)."""
    return split_text(text, lambda part: len(part) <= limit)


# Typographic look-alikes that alone would turn a Dutch or English SMS into UCS-2 (less than
# half the characters per segment). Letters are never replaced: "être" stays "être".
_LOOKALIKES = str.maketrans({
    "«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'",
    "–": "-", "—": "-", "‑": "-", "…": "...", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    "•": "-",
})


def gsm_friendly(text: str) -> str:
    """``text`` with typographic quotes, dashes and spaces made plain, when that makes it
    GSM-7 (like Twilio's Smart Encoding); otherwise unchanged."""
    plain = text.translate(_LOOKALIKES)
    return plain if plain != text and encoding(plain) == GSM7 else text


def split_sms(text: str, max_segs: int | None = None) -> list[SmsPart]:
    """The SMS to send for ``text``: one concatenated message when it fits Twilio's 1600
    characters (and ``max_segs`` / SMS_MAX_SEGMENTS segments, when set)."""
    limit = max_segs or max_segments()
    text = gsm_friendly(text)

    def fits(part: str) -> bool:
        return (limit is None or segments(part) <= limit) and len(part) <= TWILIO_MAX_CHARS

    return [SmsPart(p, encoding(p), segments(p)) for p in split_text(text, fits)]


# --- buttons as numbered options ------------------------------------------------------------

_NUMBER_DECOR = str.maketrans("", "", "\ufe0f\u20e3")  # keycap emoji 1️⃣ = "1" + FE0F + 20E3


def with_options(text: str, titles: Sequence[str]) -> str:
    """``text`` followed by the buttons as "1. …" lines (the reply "1" chooses the first)."""
    if not titles:
        return text
    options = "\n".join(f"{n}. {title}" for n, title in enumerate(titles, 1))
    return f"{text}\n\n{options}" if text else options


def chosen_option(text: str | None, count: int) -> int | None:
    """The 0-based option a reply that is just a number picks ("2", " 2. ", "٢", "2️⃣")."""
    if not text or not count:
        return None
    stripped = text.translate(_NUMBER_DECOR).strip().rstrip(".)").strip()
    if not stripped.isdecimal() or len(stripped) > 3:
        return None
    number = int(stripped)  # int() reads every Unicode decimal digit (Arabic-Indic too)
    return number - 1 if 1 <= number <= count else None
