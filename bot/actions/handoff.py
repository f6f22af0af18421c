"""A person takes over: record the request for the loket's inbox and pause the bot while the
loket is open. Outside opening hours, on a holiday and in a closure period the family is told
when a person will answer and the bot stays available meanwhile (the inbox pauses the
conversation when a worker claims it)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType

from bot import handoff, i18n, loket, settings
from bot.actions.base import ReplyAction, entity_values
from bot.db import session_scope
from bot.nlu import said
from bot.replies import Reply


class ActionHandoff(ReplyAction):
    action_name = "action_handoff"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        crisis = "crisis" in entity_values(tracker, "urgency")
        # a need that cannot wait ("dringend", a start within a month) is urgent in the queue
        # too, without the crisis words
        urgent = crisis or bool((tracker.get_slot("place_search") or {}).get("urgent")) or any(
            f.field == "urgent" for f in said.extract(tracker.latest_message.get("text") or "",
                                                       lang, settings.today()))
        desk = loket.load()
        now = settings.now()
        is_open = desk.is_open(now)
        with session_scope() as session:
            handoff.open_handoff(session, tracker.sender_id,
                                 channel=tracker.get_latest_input_channel(), language=lang,
                                 reason="crisis" if crisis else "request", urgent=urgent,
                                 paused=is_open)
        replies = [Reply(i18n.t("handoff.crisis", lang))] if crisis else []
        if is_open:
            return [*replies, Reply(i18n.t("handoff.open", lang))], [ConversationPaused()]
        return [*replies, Reply(desk.closed_handoff_text(now, lang)),
                desk.contact_reply(lang)], []
