"""Priority and reduced-rate checks: a questionnaire form (``eligibility_form``).

Which fact to ask, how to read the answer and what to say come from
``bot.eligibility.dialogue``; this module only moves values between the tracker and it.
Facts live in the ``facts`` slot for the whole conversation, so later steps never ask again.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot import i18n
from bot.actions.base import ReplyAction
from bot.actions.questionnaire import Answer, AskNext, Questionnaire
from bot.eligibility import dialogue
from bot.replies import Reply

CONFLICT = "conflict:"  # pseudo-field: a contradiction to settle


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
        intro = i18n.t(f"eligibility.{dialogue.role_of(role)}.intro.{check}", lang)
        return [Reply(intro)], [SlotSet("eligibility_check", check),
                                SlotSet("answer_failures", 0.0)]


class ValidateEligibilityForm(Questionnaire):
    form = "eligibility_form"
    answer_slot = "fact_answer"
    asked_slot = "asked_fact"
    invalid_key = "eligibility.invalid"
    skip_key = "eligibility.skip_after_failures"

    def next_field(self, tracker: Tracker) -> str | None:
        conflict = tracker.get_slot("fact_conflict")
        if conflict:  # settle a contradiction before anything else
            return CONFLICT + conflict
        return dialogue.next_question(_check(tracker), _facts(tracker), _declined(tracker))

    def ask(self, field: str, tracker: Tracker, lang: str) -> Reply:
        if field.startswith(CONFLICT):
            return dialogue.conflict_question(field.removeprefix(CONFLICT),
                                              tracker.get_slot("role"), lang)
        return dialogue.question(field, tracker.get_slot("role"), lang)

    def interpret(self, field: str, tracker: Tracker, lang: str) -> Answer:
        message = tracker.latest_message
        if field.startswith(CONFLICT):
            field = field.removeprefix(CONFLICT)
        else:
            conflict = dialogue.conflicting_fact(message.get("text") or "", _facts(tracker))
            if conflict:
                return Answer({CONFLICT: conflict}, True)
        read = dialogue.interpret(field, message.get("text") or "",
                                  (message.get("intent") or {}).get("name"),
                                  message.get("entities", []), lang)
        return Answer(read.value, read.understood, read.value == dialogue.UNKNOWN)

    def accept(self, field: str, value: Any, tracker: Tracker) -> dict[str, Any]:
        if isinstance(value, dict) and CONFLICT in value:  # ask which is right, keep both
            return {"fact_conflict": value[CONFLICT]}
        if field.startswith(CONFLICT):
            field = field.removeprefix(CONFLICT)
            return {"facts": {**_facts(tracker), field: value}, "fact_conflict": None}
        return {"facts": {**_facts(tracker), field: value}}

    def decline(self, field: str, tracker: Tracker) -> dict[str, Any]:
        if field.startswith(CONFLICT):  # "I don't know": the earlier answer no longer holds
            field = field.removeprefix(CONFLICT)
            facts = {k: v for k, v in _facts(tracker).items() if k != field}
            return {"facts": facts, "fact_conflict": None}
        return {"declined_facts": [*_declined(tracker), field]}



class ActionAskFactAnswer(AskNext):
    def questionnaire(self) -> Questionnaire:
        return ValidateEligibilityForm()


class ActionEligibilityResult(ReplyAction):
    action_name = "action_eligibility_result"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        replies = dialogue.outcome(_check(tracker), _facts(tracker), tracker.get_slot("role"),
                                   lang)
        return replies, [SlotSet("asked_fact", None)]
