"""Keeping special-category data (health, allergies) out of logs and transcripts.

The snelfiche summary repeats those answers so the family can check them; the copy of that
summary in the conversation log (and the channel message store) gets those lines masked.
The family's own answer to such a question is blanked in the conversation log by the tracker
store; it notes the message id here, so that the channel layer in the same Rasa process blanks
its stored copy too (``note_blanked`` / ``was_blanked``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import lru_cache

from bot import i18n

MASK = "***"
SENSITIVE_FIELDS = ("allergies", "health")
BLANKED = "[redacted: kept encrypted in the care request]"

_blanked: OrderedDict[str, None] = OrderedDict()
_blanked_lock = threading.Lock()
_BLANKED_MAX = 10_000  # a turn reads its own note at once; a bound all the same


def note_blanked(message_id: str | None) -> None:
    """The tracker store blanked the family message with this id (a sensitive answer)."""
    if not message_id:
        return
    with _blanked_lock:
        _blanked[message_id] = None
        while len(_blanked) > _BLANKED_MAX:
            _blanked.popitem(last=False)


def was_blanked(message_id: str | None) -> bool:
    """Whether the tracker store blanked this message (and forget the note)."""
    if not message_id:
        return False
    with _blanked_lock:
        if message_id not in _blanked:
            return False
        del _blanked[message_id]
        return True


@lru_cache(maxsize=1)
def _labels() -> tuple[str, ...]:
    """The summary lines' beginnings for health and allergies, in every language."""
    return tuple(f"- {i18n.t(f'intake.label.{field}', lang)}:"
                 for lang in i18n.SUPPORTED for field in SENSITIVE_FIELDS)


def redact_summary(text: str | None) -> str | None:
    """The text with health and allergy lines of a snelfiche summary masked."""
    if not text:
        return text
    labels = _labels()
    if not any(label in text for label in labels):  # also an SMS part without the header
        return text
    lines = [f"{line.split(':', 1)[0]}: {MASK}" if line.startswith(labels) else line
             for line in text.split("\n")]
    return "\n".join(lines)


def pseudonym(conversation: str | None) -> str:
    """A stable stand-in for a conversation id or phone number in server logs: the logs can
    be followed per conversation, but outlive a family's deletion without naming it."""
    if not conversation:
        return "-"
    return "c-" + hashlib.sha256(conversation.encode()).hexdigest()[:10]
