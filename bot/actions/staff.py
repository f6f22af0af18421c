"""Messages the loket's inbox sends through the conversation, so they reach the family on its
own channel: a worker's reply, the sign that the bot is back, a care request's new status.

The inbox sets a slot and asks Rasa to execute one of these actions; each clears its slot.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import i18n
from bot.actions.base import ReplyAction
from bot.intake.models import STATUSES
from bot.replies import Reply


def _slot(tracker: Tracker, name: str) -> Any:
    """The slot's value; read from the events too, so a value set just before through the
    HTTP API is found even when the slot is missing from the domain."""
    value = tracker.get_slot(name)
    if value is not None:
        return value
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return None


class ActionStaffSay(Action):
    """A worker's text, as a bot message marked with the worker (``metadata.staff``), so the
    transcript tells staff and bot apart."""

    def name(self) -> str:
        return "action_staff_say"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = _slot(tracker, "staff_text")
        worker = _slot(tracker, "staff_worker") or "staff"
        if text:
            dispatcher.utter_message(text=str(text), staff=str(worker))
        return [SlotSet("staff_text", None), SlotSet("staff_worker", None)]


class ActionStaffHandback(ReplyAction):
    action_name = "action_staff_handback"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("handoff.back", lang))], []


class ActionRequestUpdate(ReplyAction):
    """``request_update`` is "<reference>:<status>"; the text is ``request_update.<status>``."""

    action_name = "action_request_update"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        value = str(_slot(tracker, "request_update") or "")
        reference, _, status = value.rpartition(":")
        clear = [SlotSet("request_update", None)]
        if not reference or status not in STATUSES or status == "draft":
            return [], clear
        return [Reply(i18n.t(f"request_update.{status}", lang, reference=reference))], clear
