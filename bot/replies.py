"""What the assistant says, as channel-neutral data: text plus optional buttons.

Channels render buttons their own way (Telegram: inline keyboard; SMS/WhatsApp: numbered options
whose number is accepted as the answer; the terminal chat: numbered options too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bot import i18n


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    # messages sent just before this one (a long text in phone-sized parts; the buttons and
    # the question end the last part)
    before: tuple[str, ...] = field(default_factory=tuple)


def fits_a_phone(text: str) -> bool:
    """Whether ``text`` fits the three SMS segments our texts are written to (counted as the
    SMS channel counts them, in the text's own encoding)."""
    from connectors import sms

    return sms.segments(sms.gsm_friendly(text)) <= sms.DEFAULT_MAX_SEGMENTS


def phone_replies(texts: list[str], sep: str = "\n\n") -> list[Reply]:
    """Texts said one after the other, joined (by ``sep``) into as few messages as fit a
    phone; a text too long alone (a list of five priority groups) is cut where a sentence
    ends, as the SMS channel cuts."""
    from connectors import sms

    joined: list[str] = []
    for text in texts:
        if not fits_a_phone(text):
            joined += sms.split_text(text, fits_a_phone)
        elif joined and fits_a_phone(joined[-1] + sep + text):
            joined[-1] += sep + text
        else:
            joined.append(text)
    return [Reply(text) for text in joined]


def phone_parts(head: str, lines: list[str], room: str = "") -> list[str]:
    """``head`` and ``lines`` as messages that each fit a phone, cut between lines only;
    ``room``: what the channel may add to a part (buttons written out as options)."""
    parts: list[str] = []
    current = head
    for line in lines:
        joined = f"{current}\n{line}" if current else line
        if current and not fits_a_phone(joined + room):
            parts.append(current)
            current = line
        else:
            current = joined
    return [*parts, current] if current else parts


def intent_payload(intent: str, **entities: str) -> str:
    """A Rasa payload that triggers ``intent`` with ``entities`` without NLU."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


# Topics offered when a person does not know what to ask: intent -> locale key of its label.
TOPICS: tuple[tuple[str, str], ...] = (
    ("ask_care_types", "topic.care_types"),
    ("ask_price", "topic.price"),
    ("find_free_place", "topic.free_place"),
    ("start_intake", "topic.intake"),
    ("ask_loket_contact", "topic.loket"),
    ("request_human", "topic.human"),
)


def topic_buttons(lang: str, role: str | None = None) -> tuple[Button, ...]:
    """The topics; a social worker registers the family, not "my child"."""
    return tuple(Button(i18n.t(f"{key}_family" if role == "toeleider" and key == "topic.intake"
                               else key, lang), intent_payload(intent))
                 for intent, key in TOPICS)


def language_buttons() -> tuple[Button, ...]:
    return tuple(
        Button(name, intent_payload("choose_language", language=code))
        for code, name in i18n.language_menu()
    )
