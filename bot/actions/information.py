"""Information answers: care types, price, house rules and the contract, the loket's contact."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType

from bot import care_info, house_rules, i18n, loket, settings
from bot.actions.base import ReplyAction, entity_values
from bot.replies import Reply


class ActionExplainCareTypes(ReplyAction):
    action_name = "action_explain_care_types"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return care_info.explain_care_types(entity_values(tracker, "care_type"), lang), []


class ActionExplainPrice(ReplyAction):
    action_name = "action_explain_price"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        more = care_info.MORE in entity_values(tracker, "page")  # its "more" button
        return care_info.explain_price(lang, role=tracker.get_slot("role"), more=more), []


class ActionExplainHouseRules(ReplyAction):
    """What the provider's house rules and contract may ask, as the rules hold today: the
    topics a button names, else those the words name ("waarborg?"), else the overview."""

    action_name = "action_explain_house_rules"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        topics = entity_values(tracker, house_rules.TOPIC_ENTITY)
        if not topics:
            topics = list(house_rules.topics_in(tracker.latest_message.get("text") or ""))
        return house_rules.explain(lang, settings.today(), topics), []


class ActionLoketContact(ReplyAction):
    action_name = "action_loket_contact"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        # on a holiday or in a closure period it says so, and when the loket opens again
        return [loket.load().contact_reply(lang, settings.now())], []


class ActionMediaReceived(ReplyAction):
    """The assistant reads text only; the loket can look at what was sent (kept with the
    conversation by the channel)."""

    action_name = "action_media_received"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        kind = (entity_values(tracker, "media_type") or ["other"])[-1]
        key = "channel.location_received" if kind == "location" else "channel.media_received"
        return [Reply(i18n.t(key, lang))], []
