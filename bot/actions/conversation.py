"""Greeting, goodbye, thanks, who-am-I, language choice, toeleider intro and the fallback."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot import conversation, i18n, loket
from bot.actions.base import ReplyAction, bot_actions, entity_values
from bot.replies import Reply, topic_buttons


class ActionGreet(ReplyAction):
    action_name = "action_greet"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        first_time = self.action_name not in bot_actions(tracker)
        return conversation.welcome(lang, first_time), []


class ActionGoodbye(ReplyAction):
    action_name = "action_goodbye"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("goodbye", lang))], []


class ActionThank(ReplyAction):
    action_name = "action_thank"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("thank", lang), topic_buttons(lang))], []


class ActionBotChallenge(ReplyAction):
    action_name = "action_bot_challenge"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("bot_challenge", lang), topic_buttons(lang))], []


class ActionAnythingElse(ReplyAction):
    """A yes or no that answers no question: offer the topics again."""

    action_name = "action_anything_else"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("anything_else", lang), topic_buttons(lang))], []


class ActionChooseLanguage(ReplyAction):
    action_name = "action_choose_language"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        codes = entity_values(tracker, "language")
        new, replies = conversation.language_chosen(codes[-1] if codes else None, lang)
        return replies, ([SlotSet("language", new)] if new else [])


class ActionIdentifyToeleider(ReplyAction):
    action_name = "action_identify_toeleider"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("toeleider.welcome", lang), topic_buttons(lang))], [
            SlotSet("role", "toeleider")
        ]


class ActionFallback(ReplyAction):
    """Two steps: ask to rephrase with suggestions, then point to the loket."""

    action_name = conversation.FALLBACK_ACTION

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        unsupported = entity_values(tracker, "detected_language", "unsupported")
        if unsupported:
            return [conversation.unsupported_language()], []
        step = conversation.fallback_step(bot_actions(tracker))
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return conversation.fallback(step, intent == "out_of_scope", lang, loket.load()), []
