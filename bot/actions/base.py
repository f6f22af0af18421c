"""What every action shares: the conversation language and sending replies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.language import resolve
from bot.replies import Reply

# Rasa's own bookkeeping actions: not something the assistant "said".
_INTERNAL_ACTIONS = frozenset(
    {"action_listen", "action_extract_slots", "action_session_start", "action_unlikely_intent"}
)


def entity_values(tracker: Tracker, entity: str, role: str | None = None) -> list[str]:
    return [
        str(e.get("value"))
        for e in tracker.latest_message.get("entities", [])
        if e.get("entity") == entity and (role is None or e.get("role") == role)
    ]


def conversation_language(tracker: Tracker) -> tuple[str, list[EventType]]:
    """The language to answer in, and a SlotSet that pins it when it was not known yet."""
    current = tracker.get_slot("language")
    guesses = entity_values(tracker, "detected_language", "guess")
    lang = resolve(current, guesses[0] if guesses else None)
    return lang, ([] if current == lang else [SlotSet("language", lang)])


def bot_actions(tracker: Tracker) -> list[str]:
    """Names of the actions the assistant ran before the current turn, oldest first."""
    names = [
        e.get("name")
        for e in tracker.events
        if e.get("event") == "action" and e.get("name") not in _INTERNAL_ACTIONS
    ]
    return [n for n in names if n]


def send(dispatcher: CollectingDispatcher, replies: list[Reply]) -> None:
    for reply in replies:
        dispatcher.utter_message(
            text=reply.text, buttons=[b.as_dict() for b in reply.buttons] or None
        )


class ReplyAction(Action, ABC):
    """An action that answers with replies rendered in the conversation language."""

    action_name = ""

    def name(self) -> str:
        return self.action_name

    @abstractmethod
    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, events = conversation_language(tracker)
        replies, more = self.respond(tracker, lang)
        send(dispatcher, replies)
        return events + more
