"""Information answers: care types, price, the loket's contact, and honest referrals."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType

from bot import care_info, i18n, loket
from bot.actions.base import ReplyAction, entity_values
from bot.replies import Reply


class ActionExplainCareTypes(ReplyAction):
    action_name = "action_explain_care_types"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return care_info.explain_care_types(entity_values(tracker, "care_type"), lang), []


class ActionExplainPrice(ReplyAction):
    action_name = "action_explain_price"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return care_info.explain_price(lang), []


class ActionLoketContact(ReplyAction):
    action_name = "action_loket_contact"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(loket.load().contact_text(lang))], []


class ActionReferToLoket(ReplyAction):
    """For a question the chat cannot settle yet: say so plainly and give the loket's contact."""

    action_name = "action_refer_to_loket"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        key = f"referral.{intent}" if i18n.has(f"referral.{intent}") else "referral.default"
        return [Reply(i18n.t(key, lang)), Reply(loket.load().contact_text(lang))], []
