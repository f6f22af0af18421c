"""Priority and reduced-rate checks as a Rasa form with one re-asked slot (``fact_answer``).

Which fact to ask, how to read the answer and what to say come from
``bot.eligibility.dialogue``; this module only moves values between the tracker and it.
Facts live in the ``facts`` slot for the whole conversation, so later steps never ask again.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot import i18n, loket
from bot.actions.base import ReplyAction, conversation_language, send
from bot.eligibility import dialogue
from bot.replies import Reply

MAX_FAILURES = 2
# Intents that are never an answer to a question: the form steps aside (see data/dialogue).
NOT_AN_ANSWER = frozenset({
    "greet", "goodbye", "thank", "bot_challenge", "choose_language", "ask_care_types",
    "ask_price", "check_priority", "check_reduced_rate", "find_free_place", "start_intake",
    "request_human", "identify_toeleider", "ask_loket_contact", "delete_my_data",
})


def _facts(tracker: Tracker) -> dict[str, Any]:
    return dict(tracker.get_slot("facts") or {})


def _declined(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot("declined_facts") or [])


def _check(tracker: Tracker) -> str:
    check = tracker.get_slot("eligibility_check")
    return check if check in dialogue.CHECKS else "priority"


class ActionStartEligibility(ReplyAction):
    action_name = "action_start_eligibility"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        check = "reduced_rate" if intent == "check_reduced_rate" else "priority"
        role = tracker.get_slot("role")
        intro = i18n.t(f"eligibility.{dialogue._role(role)}.intro.{check}", lang)
        return [Reply(intro)], [SlotSet("eligibility_check", check),
                                SlotSet("answer_failures", 0.0)]


class ActionAskFactAnswer(Action):
    def name(self) -> str:
        return "action_ask_fact_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        lang, events = conversation_language(tracker)
        fact = dialogue.next_question(_check(tracker), _facts(tracker), _declined(tracker))
        if fact is None:  # nothing left: the form ends on its next run
            return events
        send(dispatcher, [dialogue.question(fact, tracker.get_slot("role"), lang)])
        return [*events, SlotSet("asked_fact", fact)]


class ValidateEligibilityForm(FormValidationAction):
    def name(self) -> str:
        return "validate_eligibility_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        done = dialogue.next_question(_check(tracker), _facts(tracker), _declined(tracker)) is None
        return [] if done else ["fact_answer"]

    async def extract_fact_answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        asked = tracker.get_slot("asked_fact")
        if tracker.get_slot("requested_slot") != "fact_answer" or not asked:
            return {}
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name")
        entities = message.get("entities", [])
        text = message.get("text") or ""
        has_button = any(e.get("entity") == "fact_value" for e in entities)
        if intent in NOT_AN_ANSWER and not has_button and not text.strip().isdigit():
            return {}  # a new question: let the interruption rules answer it
        lang, _ = conversation_language(tracker)
        answer = dialogue.interpret(asked, text, intent, entities, lang)
        if not answer.understood:
            return {"fact_answer": {"fact": asked, "invalid": True}}
        return {"fact_answer": {"fact": asked, "value": answer.value}}

    def validate_fact_answer(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        lang, _ = conversation_language(tracker)
        fact = value.get("fact") if isinstance(value, dict) else None
        if not fact:
            return {"fact_answer": None}
        facts, declined = _facts(tracker), _declined(tracker)
        if value.get("invalid"):
            failures = int(tracker.get_slot("answer_failures") or 0) + 1
            if failures < MAX_FAILURES:
                send(dispatcher, [dialogue.invalid_answer(fact, lang)])
                return {"fact_answer": None, "answer_failures": float(failures)}
            # second miss: skip the question rather than trap the family; offer a person
            send(dispatcher, [Reply(i18n.t("eligibility.skip_after_failures", lang)),
                              Reply(loket.load().contact_text(lang))])
            return {"fact_answer": None, "answer_failures": 0.0,
                    "declined_facts": [*declined, fact]}
        if value.get("value") == dialogue.UNKNOWN:
            return {"fact_answer": None, "answer_failures": 0.0,
                    "declined_facts": [*declined, fact]}
        facts[fact] = value["value"]
        return {"fact_answer": None, "answer_failures": 0.0, "facts": facts}


class ActionEligibilityResult(ReplyAction):
    action_name = "action_eligibility_result"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        replies = dialogue.outcome(_check(tracker), _facts(tracker), tracker.get_slot("role"),
                                   lang)
        return replies, [SlotSet("asked_fact", None)]
