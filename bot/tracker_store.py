"""Rasa's SQL tracker store, plus erasure: when a family asks to delete its data, the action
marks the sender (bot.intake.store.erase_sender) and this store removes every conversation
event of that sender right after saving the turn.

Deleting inside the action would not work: Rasa saves the turn after the action and, finding
no stored events, would write the whole conversation back.
"""

from __future__ import annotations

import logging

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_speedups

# This module is loaded by the Rasa server only (endpoints.yml): the right place for fixes of
# Rasa's own hot spots.
rasa_speedups.apply()

REDACTED = "[redacted: kept encrypted in the care request]"
ERASING_ACTION = "action_delete_my_data"


def _ran_recently(tracker: DialogueStateTracker) -> bool:
    """Whether the erasing action ran since the last user message (the turn being saved)."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if getattr(event, "action_name", None) == ERASING_ACTION:
            return True
    return False

logger = logging.getLogger(__name__)


def erase_events(store: SQLTrackerStore, sender_id: str) -> int:
    with store.session_scope() as session:
        count = (session.query(store.SQLEvent)
                 .filter(store.SQLEvent.sender_id == sender_id).delete())
        session.commit()
    return int(count or 0)


def redact_sensitive_answers(tracker: DialogueStateTracker) -> int:
    """Blank the text of messages that answered a health or allergy question of the
    snelfiche, and mask those lines in the summary the bot showed: those answers are kept
    only encrypted, in the care request."""
    from bot.intake.store import SENSITIVE
    from bot.redaction import redact_summary

    asked = None
    redacted = 0
    for event in tracker.events:
        if isinstance(event, SlotSet) and event.key == "asked_intake_field":
            asked = event.value
        elif isinstance(event, BotUttered) and event.text:
            masked = redact_summary(event.text)
            if masked != event.text:
                event.text = masked
                redacted += 1
        elif isinstance(event, UserUttered) and asked in SENSITIVE and event.text != REDACTED:
            if event.text and not event.text.startswith("/"):
                event.text = REDACTED
                event.parse_data["text"] = REDACTED
                redacted += 1
    return redacted


class ErasingTrackerStore(SQLTrackerStore):
    async def save(self, tracker: DialogueStateTracker) -> None:
        redact_sensitive_answers(tracker)
        await super().save(tracker)
        if tracker.latest_action_name != ERASING_ACTION and not _ran_recently(tracker):
            return  # no erasure asked in this turn: spare the database a query per message
        from bot.db import session_scope
        from bot.intake.store import erasure_done, pending_erasures

        with session_scope() as session:
            if not pending_erasures(session, tracker.sender_id):
                return
            removed = erase_events(self, tracker.sender_id)
            erasure_done(session, tracker.sender_id)
        logger.info("erased %d conversation events of one sender on request", removed)
