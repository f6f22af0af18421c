"""Keeping special-category data (health, allergies) out of logs and transcripts.

The snelfiche summary repeats those answers so the family can check them; the copy of that
summary in the conversation log (and the channel message store) gets those lines masked.
"""

from __future__ import annotations

from functools import lru_cache

from bot import i18n

MASK = "***"
SENSITIVE_FIELDS = ("allergies", "health")


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
