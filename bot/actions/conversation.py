"""Greeting, goodbye, thanks, who-am-I, language choice, toeleider intro and the fallback."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from bot import conversation, i18n, loket, pending
from bot.actions.base import ReplyAction, bot_actions, entity_values, role_before_message
from bot.actions.questionnaire import ROLE_CHECK_SLOT, AskNext, Questionnaire
from bot.nlu import roles
from bot.replies import Button, Reply, topic_buttons

# What the answer to the role check may ask for at the same time ("ja, kan de mama voorrang
# krijgen?"): that starts right after the check instead of being lost.
FOLLOW_UP = {"start_intake": "action_start_intake", "check_priority": "action_start_eligibility",
             "check_reduced_rate": "action_start_eligibility",
             "find_free_place": "action_start_place_search"}
FOLLOW_UP_CONFIDENCE = 0.4
NEXT_REQUEST_CONFIDENCE = 0.08


def next_request(ranking: list[dict]) -> str | None:
    """The start action of the best-ranked request after the top intent, if any."""
    for entry in ranking[1:4]:
        action = FOLLOW_UP.get(str(entry.get("name")))
        if action and float(entry.get("confidence") or 0) >= NEXT_REQUEST_CONFIDENCE:
            return action
    return None


def _topics(tracker: Tracker, lang: str) -> tuple[Button, ...]:
    """The topic buttons for the conversation's role."""
    return topic_buttons(lang, tracker.get_slot("role"))


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
        return [Reply(i18n.t("thank", lang), _topics(tracker, lang))], []


class ActionBotChallenge(ReplyAction):
    action_name = "action_bot_challenge"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("bot_challenge", lang), _topics(tracker, lang))], []


class ActionAnythingElse(ReplyAction):
    """A yes or no that answers no question: offer the topics again."""

    action_name = "action_anything_else"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("anything_else", lang), _topics(tracker, lang))], []


class ActionChooseLanguage(ReplyAction):
    action_name = "action_choose_language"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        codes = entity_values(tracker, "language")
        new, replies = conversation.language_chosen(codes[-1] if codes else None, lang)
        return replies, ([SlotSet("language", new), SlotSet("language_provisional", False)]
                         if new else [])


class ActionIdentifyToeleider(ReplyAction):
    """Someone says who they are. A professional is asked once whether they ask for a family
    they support (the role form); "I am the mother" is a parent at once; words about work
    ("ik werk in een fabriek") are no role at all: kept as a fact, and the topics offered."""

    action_name = "action_identify_toeleider"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        claim = roles.claim(tracker.latest_message.get("text") or "", lang)
        role = role_before_message(tracker)
        if claim and claim.role == "toeleider" and role != "toeleider" and claim.for_a_family:
            # "ik ben maatschappelijk werker en vraag dit voor een gezin": nothing to check;
            # what the same message asks ("kunnen ze minder betalen?") comes next
            follow = next_request(tracker.latest_message.get("intent_ranking") or [])
            welcome = Reply(i18n.t("toeleider.welcome", lang),
                            () if follow else topic_buttons(lang, "toeleider"))
            return [welcome], [SlotSet("role", "toeleider"),
                               *([FollowupAction(follow)] if follow else [])]
        if claim and claim.role == "toeleider" and role != "toeleider":
            return [], [SlotSet(ROLE_CHECK_SLOT, {"organisation": claim.organisation})]
        if claim and claim.role == "parent" and role == "toeleider":
            return [Reply(i18n.t("role_check.parent", lang), topic_buttons(lang, "parent"))], [
                SlotSet("role", "parent")]
        # no role at all ("mon assistante sociale m'a dit de vous écrire, je voudrais une
        # place"): what else the message asks comes next
        follow = next_request(tracker.latest_message.get("intent_ranking") or [])
        if follow:
            return [], [FollowupAction(follow)]
        return [Reply(i18n.t("anything_else", lang), _topics(tracker, lang))], []


class ValidateRoleForm(Questionnaire):
    """The role check on its own, when no other form is asking (bot.actions.questionnaire)."""

    form = "role_form"
    answer_slot = "role_answer"
    asked_slot = "asked_role"
    invalid_key = "role_check.invalid"
    skip_key = "role_check.skipped"
    notice_slot = "intake_notice"

    def next_question(self, tracker: Tracker) -> str | None:
        return None  # only the role check itself, which the skeleton asks first

    def ask_field(self, field: str, tracker: Tracker, lang: str) -> Reply:
        raise ValueError(field)

    def reader(self, field: str, tracker: Tracker, lang: str) -> pending.Question:
        raise ValueError(field)

    def accept(self, field: str, value: Any, tracker: Tracker) -> dict[str, Any]:
        return {}

    def decline(self, field: str, tracker: Tracker) -> dict[str, Any]:
        return {}


class ActionAskRoleAnswer(AskNext):
    def questionnaire(self) -> Questionnaire:
        return ValidateRoleForm()


class ActionRoleDone(ReplyAction):
    """After the role check: what the assistant can do for this person, or straight on with
    what the same message asked for."""

    action_name = "action_role_done"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        notice = tracker.get_slot("intake_notice")
        events: list[EventType] = [SlotSet("intake_notice", None)] if notice else []
        intent = tracker.latest_message.get("intent") or {}
        follow = FOLLOW_UP.get(str(intent.get("name")))
        text = tracker.latest_message.get("text") or ""
        if follow and float(intent.get("confidence") or 0) >= FOLLOW_UP_CONFIDENCE \
                and not text.startswith("/"):
            return [Reply(str(notice))] if notice else [], [*events, FollowupAction(follow)]
        if not notice:
            return [], []
        text = i18n.t("toeleider.welcome", lang) if tracker.get_slot("role") == "toeleider" \
            else str(notice)
        return [Reply(text, _topics(tracker, lang))], events


class ActionFallback(ReplyAction):
    """Two steps: ask to rephrase with suggestions, then point to the loket."""

    action_name = conversation.FALLBACK_ACTION

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        unsupported = entity_values(tracker, "detected_language", "unsupported")
        if unsupported:
            return [conversation.unsupported_language()], []
        if conversation.had_crisis(tracker.events):
            # after a crisis message, never "did you mean…": the numbers and a person again
            desk = loket.load()
            return [Reply(i18n.t("handoff.crisis_followup", lang)),
                    desk.contact_reply(lang)], []
        step = conversation.fallback_step(bot_actions(tracker))
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        if step <= 1 and conversation.tells_facts(text, lang):
            # "je suis maman seule avec mon fils de 2 ans": no question, but kept, not rejected
            return [Reply(i18n.t("fallback.noted", lang), _topics(tracker, lang))], []
        return conversation.fallback(step, intent == "out_of_scope", lang, loket.load()), []
