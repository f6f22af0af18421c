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
