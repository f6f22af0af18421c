"""Priority and reduced-rate checks: a questionnaire form (``eligibility_form``).

Which fact to ask, how to read the answer and what to say come from
``bot.eligibility.dialogue``; this module only moves values between the tracker and it.
Facts live in the ``facts`` slot for the whole conversation, so later steps never ask again.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from bot import i18n, pending
from bot.actions.base import ReplyAction, StartsForm, conversation_language, profile_of
from bot.actions.questionnaire import AskNext, Questionnaire
from bot.eligibility import dialogue
from bot.eligibility.questions import answer_values
from bot.nlu.said import NEED_FACTS, Fact, partner_reasons_only
from bot.profile import PARTNER_WORK
from bot.replies import Reply

CONFLICT = "conflict:"  # pseudo-field: a contradiction to settle
# contradictions asked about (locales conflict.*): the others are changed and said so
CONFLICT_FACTS = frozenset({"single_parent"})


def _facts(tracker: Tracker) -> dict[str, Any]:
    return dict(tracker.get_slot("facts") or {})


def _declined(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot("declined_facts") or [])


def _check(tracker: Tracker) -> str:
    check = tracker.get_slot("eligibility_check")
    return check if check in dialogue.CHECKS else "priority"


class ActionStartEligibility(StartsForm):
    form = "eligibility_form"
    action_name = "action_start_eligibility"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        # the message's own check, or the one it ranks first when it started as a follow-up
        ranking = [r.get("name") for r in tracker.latest_message.get("intent_ranking") or []]
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        asked = [i for i in [intent, *ranking] if i in ("check_priority", "check_reduced_rate")]
        check = "reduced_rate" if asked and asked[0] == "check_reduced_rate" else "priority"
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
    notice_slot = "intake_notice"
    # the need itself can be corrected here too ("sorry, she is 8 months"), and the facts
    # that free words change most ("no, I do live alone")
    correctable = ("child_birth", "start", "frequency", "location", "care_type",
                   "work_situation", "single_parent")

    def keep(self, facts: list[Fact], tracker: Tracker, overwrite: tuple[str, ...] = ()
             ) -> dict[str, Any]:
        # an answer about income or work mentions dates and counts that are no care need
        return super().keep([f for f in facts if f.field not in NEED_FACTS
                             or f.field in overwrite], tracker, overwrite)

    def correct(self, fix: Fact, facts: list[Fact], tracker: Tracker, lang: str
                ) -> dict[str, Any]:
        # an answer of this check that a later message contradicts ("alone" earlier, "my
        # husband works" now): ask which is right rather than change it silently
        if fix.field in _facts(tracker) and fix.field in CONFLICT_FACTS:
            return {**self.keep(facts, tracker), "fact_conflict": fix.field}
        return super().correct(fix, facts, tracker, lang)

    def next_question(self, tracker: Tracker) -> str | None:
        conflict = tracker.get_slot("fact_conflict")
        if conflict:  # settle a contradiction before anything else
            return CONFLICT + conflict
        return dialogue.next_question(_check(tracker), _facts(tracker), _declined(tracker))

    def ask_field(self, field: str, tracker: Tracker, lang: str) -> Reply:
        if field.startswith(CONFLICT):
            return dialogue.conflict_question(field.removeprefix(CONFLICT),
                                              tracker.get_slot("role"), lang)
        return dialogue.question(field, tracker.get_slot("role"), lang)

    def reader(self, field: str, tracker: Tracker, lang: str) -> pending.Question:
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name")
        entities = message.get("entities") or []
        facts = _facts(tracker)

        def contradiction(text: str) -> pending.Read | None:
            conflict = None if field.startswith(CONFLICT) else dialogue.conflicting_fact(
                text, facts)
            return pending.Read({CONFLICT: conflict}, True) if conflict else None

        def read(text: str) -> pending.Read:
            answer = dialogue.interpret(field.removeprefix(CONFLICT), text, intent, entities,
                                        lang)
            if answer.value == dialogue.UNKNOWN:
                return pending.Read(skipped=True)
            return pending.Read(answer.value, answer.understood)

        return pending.Question(field, read, before=contradiction)

    def known(self, tracker: Tracker) -> dict[str, Any]:
        profile = profile_of(tracker)
        return {**{f: profile.get(f) for f in self.correctable}, **_facts(tracker)}

    def explain(self, field: str, problem: str | None, tracker: Tracker, lang: str) -> str:
        fact = field.removeprefix(CONFLICT)
        values = answer_values(fact) if not field.startswith(CONFLICT) else []
        if values and values != [True, False]:
            labels = [dialogue.value_label(fact, v, lang) for v in values]
            return i18n.t("answer.choices", lang,
                          choices=i18n.t("format.list_sep", lang).join(labels))
        return super().explain(field, problem, tracker, lang)

    def accept(self, field: str, value: Any, tracker: Tracker) -> dict[str, Any]:
        if isinstance(value, dict) and CONFLICT in value:  # ask which is right, keep both
            return {"fact_conflict": value[CONFLICT]}
        if field.startswith(CONFLICT):
            field = field.removeprefix(CONFLICT)
            return {"facts": {**_facts(tracker), field: value}, "fact_conflict": None}
        out: dict[str, Any] = {"facts": {**_facts(tracker), field: value}}
        if field == "work_situation":
            said = dict(tracker.get_slot("said") or {})
            text = tracker.latest_message.get("text") or ""
            lang = conversation_language(tracker, may_switch=False)[0]
            partner_only = partner_reasons_only(text, lang)
            if partner_only or said.get(PARTNER_WORK):  # merged into the kept ``said``
                out["said"] = {**said, PARTNER_WORK: partner_only}
        return out

    def decline(self, field: str, tracker: Tracker) -> dict[str, Any]:
        if field.startswith(CONFLICT):  # "I don't know": the earlier answer no longer holds
            field = field.removeprefix(CONFLICT)
            facts = {k: v for k, v in _facts(tracker).items() if k != field}
            return {"facts": facts, "fact_conflict": None}
        return {"declined_facts": [*_declined(tracker), field]}


class ActionAskFactAnswer(AskNext):
    def questionnaire(self) -> Questionnaire:
        return ValidateEligibilityForm()


def interrupted_form(tracker: Tracker, started_by: str) -> str | None:
    """The form that the message starting ``started_by``'s check stopped (its rule
    deactivates the active form first), or None when no form was active then."""
    events = tracker.events
    start = next((i for i in range(len(events) - 1, -1, -1)
                  if events[i].get("event") == "action" and events[i].get("name") == started_by),
                 None)
    if start is None:
        return None
    stopped = passed_user = False
    for event in reversed(events[:start]):
        kind = event.get("event")
        if kind == "active_loop" and not passed_user:
            stopped = stopped or not event.get("name")
        elif kind == "user":
            if not stopped:
                return None
            passed_user = True
        elif kind == "active_loop":
            return event.get("name") or None
    return None


class ActionEligibilityResult(ReplyAction):
    action_name = "action_eligibility_result"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        replies = dialogue.outcome(_check(tracker), _facts(tracker), tracker.get_slot("role"),
                                   lang)
        events: list[EventType] = [SlotSet("asked_fact", None)]
        if tracker.get_slot("intake_draft_id") and \
                interrupted_form(tracker, "action_start_eligibility") == "intake_form":
            # asked in the middle of the snelfiche ("le CPAS peut m'aider pour payer ?"): the
            # answer, then the fiche goes on where it was
            events.append(FollowupAction("action_start_intake"))
        return replies, events
