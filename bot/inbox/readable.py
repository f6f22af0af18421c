"""What the worker reads: a tapped button as the words the family saw, a redaction note in
the worker's language, channel and language by name, numbers that stay left to right in
Arabic text, and the first words of a family's last message for the queue.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from markupsafe import Markup, escape

from bot.inbox.texts import has, st
from bot.redaction import BLANKED

CHANNELS = ("webchat", "whatsapp", "sms", "telegram", "rest")
PREVIEW_CHARS = 60
# a phone number or another long run of digits (with + . / - and spaces inside)
_NUMBER = re.compile(r"\+?\d[\d .\-/]{5,}\d")
# what a button sends: an intent, maybe with entities ("/affirm", "/inform{…}")
_PAYLOAD = re.compile(r"/[a-z_]+(\{.*\})?", re.S)


def channel_key(sender: str, channel: str | None) -> str:
    """The channel a family writes on: the conversation id's prefix says it best (the web
    chat, WhatsApp and SMS share Rasa input channels with other ids)."""
    prefix = sender.split(":", 1)[0] if ":" in sender else ""
    if prefix in CHANNELS:
        return prefix
    return channel if channel in CHANNELS else "rest"


def channel_name(sender: str, channel: str | None, lang: str) -> str:
    return st(f"readable.channel.{channel_key(sender, channel)}", lang)


def language_name(code: str | None, lang: str) -> str:
    if not code:
        return "?"
    key = f"readable.language.{code}"
    return st(key, lang) if has(key, lang) else code


def ltr_numbers(text: object) -> Markup:
    """Escaped text with each number in ``<bdi dir="ltr">``: in a right-to-left message
    "+32 489 11 22 33" would otherwise come out as "32 489 11 22 33+"."""
    out, last = [], 0
    raw = "" if text is None else str(text)
    for match in _NUMBER.finditer(raw):
        out.append(escape(raw[last:match.start()]))
        out.append(Markup('<bdi dir="ltr">{}</bdi>').format(match.group(0)))
        last = match.end()
    out.append(escape(raw[last:]))
    return Markup("").join(out)


def _payload_words(payload: str) -> str:
    """A payload no button of the conversation explains (``/inform{"intake_value":
    "\\"groepsopvang\\""}``): its entity values, else the intent."""
    intent, _, entities = payload[1:].partition("{")
    values = []
    if entities:
        try:
            parsed = json.loads("{" + entities)
        except ValueError:
            parsed = {}
        for value in parsed.values() if isinstance(parsed, dict) else ():
            if isinstance(value, str):
                try:
                    value = json.loads(value)  # buttons carry JSON inside the string
                except ValueError:
                    pass
            values.append(str(value).replace("_", " "))
    return ", ".join(values) or intent.replace("_", " ")


def readable(lines: list[dict[str, Any]], conversation_language: str | None,
             lang: str) -> list[dict[str, Any]]:
    """Each line with ``shown`` (what to show), ``lang`` (of the message) and ``note``
    (``tapped`` or ``redacted``, in the worker's language), from the raw transcript."""
    buttons: dict[str, str] = {}
    out = []
    for line in lines:
        text = line.get("text") or ""
        shown, note = text, None
        if line["who"] == "family":
            if text == BLANKED:
                shown, note = st("readable.redacted", lang), "redacted"
            elif _PAYLOAD.fullmatch(text):
                shown, note = buttons.get(text) or _payload_words(text), "tapped"
        else:
            buttons = {b["payload"]: b["title"] for b in line.get("buttons") or []} or buttons
        message_lang = (line.get("language") if line["who"] == "family" else None) \
            or conversation_language or "nl"
        out.append({**line, "shown": shown, "lang": message_lang, "note": note,
                    "note_text": st(f"readable.{note}_label", lang) if note else ""})
    return out


def preview(lines: list[dict[str, Any]], lang: str) -> str:
    """The first words of the family's last message (as readable shows it)."""
    for line in reversed(readable(lines, None, lang)):
        if line["who"] == "family":
            text = " ".join(str(line["shown"]).split())
            return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1] + "…"
    return ""


class PreviewCache:
    """The transcript per conversation for the queue's last words, kept while the tracker's
    newest event is the same (``version``, from the live watcher) or, without one, a few
    seconds: every worker's live queue asks for it, Rasa need not answer each time."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self._rows: dict[str, tuple[float, Any, list[dict[str, Any]] | None]] = {}

    def lines(self, sender: str, fetch, version: Any = None) -> list[dict[str, Any]] | None:
        now = time.monotonic()
        hit = self._rows.get(sender)
        if hit and (hit[1] == version if version is not None else
                    now - hit[0] < self.seconds):
            return hit[2]
        try:
            rows = fetch(sender)
        except Exception:  # Rasa down: the queue still shows, without last words
            rows = None
        if len(self._rows) > 2000:
            self._rows.clear()
        self._rows[sender] = (now, version, rows)
        return rows
