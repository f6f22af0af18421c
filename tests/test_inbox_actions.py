"""The actions the inbox executes in a conversation (bot/actions/staff.py)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import i18n
from bot.actions.staff import ActionRequestUpdate, ActionStaffHandback, ActionStaffSay


def _tracker(slots: dict[str, Any], events: list[dict] | None = None,
             lang: str = "fr") -> Tracker:
    return Tracker("web-1", {"language": lang, **slots},
                   {"text": "merci", "intent": {"name": "thank"}, "entities": []},
                   events or [], True, None, {}, "action_listen")


async def test_staff_say_utters_the_slot_marked_as_staff_and_clears_it() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionStaffSay().run(
        dispatcher, _tracker({"staff_text": "Bonjour, je regarde.", "staff_worker": "ann"}), {})
    assert dispatcher.messages[0]["text"] == "Bonjour, je regarde."
    assert dispatcher.messages[0]["staff"] == "ann"  # ends up in the bot event's metadata
    assert events == [SlotSet("staff_text", None), SlotSet("staff_worker", None)]


async def test_staff_say_reads_the_text_from_the_events_without_the_slot() -> None:
    dispatcher = CollectingDispatcher()
    events = [{"event": "slot", "name": "staff_text", "value": "old"},
              {"event": "slot", "name": "staff_text", "value": "Hallo"},
              {"event": "slot", "name": "staff_worker", "value": "bert"}]
    await ActionStaffSay().run(dispatcher, _tracker({}, events), {})
    assert [(m["text"], m["staff"]) for m in dispatcher.messages] == [("Hallo", "bert")]


async def test_staff_say_without_text_says_nothing() -> None:
    dispatcher = CollectingDispatcher()
    cleared = [{"event": "slot", "name": "staff_text", "value": "x"},
               {"event": "slot", "name": "staff_text", "value": None}]
    await ActionStaffSay().run(dispatcher, _tracker({}, cleared), {})
    assert dispatcher.messages == []


async def test_handback_says_the_bot_is_back_in_the_conversation_language() -> None:
    dispatcher = CollectingDispatcher()
    await ActionStaffHandback().run(dispatcher, _tracker({}, lang="ar"), {})
    assert [m["text"] for m in dispatcher.messages] == [i18n.t("handoff.back", "ar")]


async def test_request_update_in_the_family_language() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionRequestUpdate().run(
        dispatcher, _tracker({"request_update": "KO-ABC234:placed"}, lang="en"), {})
    assert [m["text"] for m in dispatcher.messages] == [
        i18n.t("request_update.placed", "en", reference="KO-ABC234")]
    assert SlotSet("request_update", None) in events
    dispatcher = CollectingDispatcher()
    await ActionRequestUpdate().run(dispatcher, _tracker({"request_update": "KO-X:bogus"}), {})
    assert dispatcher.messages == []
