"""A person takes over: record the request for the loket's inbox and pause the bot while the
loket is open. Outside opening hours the family is told when a person will answer and the bot
stays available meanwhile (the inbox pauses the conversation when a worker claims it)."""

from __future__ import annotations

from datetime import datetime, timezone

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType

from bot import handoff, i18n, loket
from bot.actions.base import ReplyAction, entity_values
from bot.db import session_scope
from bot.replies import Reply


class ActionHandoff(ReplyAction):
    action_name = "action_handoff"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        urgent = bool(entity_values(tracker, "urgency"))
        desk = loket.load()
        now = datetime.now(timezone.utc)
        is_open = desk.is_open(now)
        with session_scope() as session:
            handoff.open_handoff(session, tracker.sender_id,
                                 channel=tracker.get_latest_input_channel(), language=lang,
                                 reason="crisis" if urgent else "request", urgent=urgent,
                                 paused=is_open)
        replies = [Reply(i18n.t("handoff.crisis", lang))] if urgent else []
        if is_open:
            return [*replies, Reply(i18n.t("handoff.open", lang))], [ConversationPaused()]
        opening = desk.next_opening(now)
        when = desk.moment_text(opening, lang) if opening else "?"
        return [*replies, Reply(i18n.t("handoff.closed", lang, when=when)),
                Reply(desk.contact_text(lang))], []
