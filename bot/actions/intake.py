"""The snelfiche as a questionnaire form (``intake_form``) and the deletion of a family's data.

Fields, questions, checks and the summary come from ``bot.intake.dialogue``; answers go
straight into the draft care request (``bot.intake.store``), never into slots.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot import i18n, loket, settings
from bot.actions.base import ReplyAction, conversation_language
from bot.actions.questionnaire import Answer, AskNext, Questionnaire
from bot.db import session_scope
from bot.intake import dialogue, store
from bot.intake.models import CareRequest
from bot.replies import Button, Reply, intent_payload

COPY_FOR_NEXT_FAMILY = ("organisation", "toeleider_name", "toeleider_contact")


def _today() -> date:
    return settings.today()


def _draft_id(tracker: Tracker) -> int | None:
    value = tracker.get_slot("intake_draft_id")
    return int(value) if value else None


def _answers(tracker: Tracker) -> dict[str, Any]:
    """The draft's answers; before consent only the (refused) consent lives in a slot."""
    draft_id = _draft_id(tracker)
    if draft_id:
        with session_scope() as session:
            request = session.get(CareRequest, draft_id)
            if request is not None:
                answers = store.answers(request)
                if request.status != "draft":
                    answers[dialogue.CONFIRM] = True
                return answers
    consent = tracker.get_slot("intake_consent")
    return {} if consent is None else {"consent": consent}


class ActionStartIntake(ReplyAction):
    """Resumes the sender's draft, or starts a new request (nothing stored before consent)."""

    action_name = "action_start_intake"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        with session_scope() as session:
            draft = store.latest_draft(session, tracker.sender_id)
            draft_id = draft.id if draft else None
        events: list[EventType] = [SlotSet("declined_intake_fields", []),
                                   SlotSet("intake_change", False), SlotSet("answer_failures", 0.0)]
        role = dialogue.role_of(tracker.get_slot("role"))
        if draft_id:
            return [Reply(i18n.t("intake.resume", lang))], [
                *events, SlotSet("intake_draft_id", float(draft_id))]
        return [Reply(i18n.t(f"intake.{role}.intro", lang))], [
            *events, SlotSet("intake_draft_id", None), SlotSet("intake_consent", None)]


class ValidateIntakeForm(Questionnaire):
    form = "intake_form"
    answer_slot = "intake_answer"
    asked_slot = "asked_intake_field"
    invalid_key = "intake.invalid.text"
    skip_key = "intake.skipped"
    notice_slot = "intake_notice"
    free_text_fields = frozenset({"organisation", "toeleider_name", "child_name", "allergies",
                                  "health", "home_languages", "comfort", "parent_name"})

    def next_field(self, tracker: Tracker) -> str | None:
        declined = list(tracker.get_slot("declined_intake_fields") or [])
        return dialogue.next_field(_answers(tracker), tracker.get_slot("role"), declined)

    def ask(self, field: str, tracker: Tracker, lang: str) -> Reply:
        return dialogue.question(field, tracker.get_slot("role"), lang, tracker.sender_id,
                                 _answers(tracker), bool(tracker.get_slot("intake_change")))

    def interpret(self, field: str, tracker: Tracker, lang: str) -> Answer:
        message = tracker.latest_message
        fix = dialogue.correction(message.get("text") or "", lang, _answers(tracker), field,
                                  _today(), tracker.sender_id)
        if fix:  # "no, her date of birth is 3 May": change that, then ask the same again
            return Answer({"correct": fix[0], "value": fix[1]}, True)
        read = dialogue.interpret(field, message.get("text") or "",
                                  (message.get("intent") or {}).get("name"),
                                  message.get("entities", []), lang, _today(),
                                  tracker.sender_id)
        return Answer(read.value, read.ok, read.skipped, read.problem)

    def accept(self, field: str, value: Any, tracker: Tracker) -> dict[str, Any]:
        lang, _ = conversation_language(tracker)
        if field == "consent" and value is not True:
            return {"intake_consent": False}
        with session_scope() as session:
            request = self._request(session, tracker, lang)
            if isinstance(value, dict) and "correct" in value:
                store.save_answer(session, request, value["correct"], value["value"])
                return {"intake_notice": dialogue.corrected_notice(value["correct"],
                                                                   value["value"], lang)}
            if field == dialogue.CONFIRM:
                if isinstance(value, dict):  # "change something": the menu, then the field
                    changed = value.get("change")
                    if changed:
                        store.clear_answer(session, request, changed)
                    return {"intake_change": not changed}
                store.confirm(session, request)
                return {"intake_change": False}
            store.save_answer(session, request, field, value)
            return {"intake_draft_id": float(request.id)}

    def decline(self, field: str, tracker: Tracker) -> dict[str, Any]:
        lang, _ = conversation_language(tracker)
        if field == "consent":
            return {"intake_consent": False}
        if dialogue.BY_NAME.get(field) and dialogue.BY_NAME[field].optional:
            with session_scope() as session:
                request = self._request(session, tracker, lang)
                store.save_answer(session, request, field, None)
                return {"intake_draft_id": float(request.id)}
        declined = list(tracker.get_slot("declined_intake_fields") or [])
        return {"declined_intake_fields": [*declined, field]}

    @staticmethod
    def _request(session: Any, tracker: Tracker, lang: str) -> CareRequest:
        draft_id = _draft_id(tracker)
        request = session.get(CareRequest, draft_id) if draft_id else None
        if request is not None:
            return request
        # consent was just given: the first moment anything about the family is stored
        role = dialogue.role_of(tracker.get_slot("role"))
        prefill = dialogue.prefill(tracker.get_slot("place_search") or {},
                                   tracker.get_slot("facts") or {})
        previous = store.latest_confirmed(session, tracker.sender_id)
        if role == "toeleider" and previous is not None:
            prefill.update({k: v for k, v in store.answers(previous).items()
                            if k in COPY_FOR_NEXT_FAMILY})
        channel = tracker.get_latest_input_channel()
        return store.start_draft(session, tracker.sender_id, channel=channel, role=role,
                                 language=lang, prefill=prefill,
                                 eligibility=tracker.get_slot("facts") or None)



class ActionAskIntakeAnswer(AskNext):
    def questionnaire(self) -> Questionnaire:
        return ValidateIntakeForm()


class ActionIntakeDone(ReplyAction):
    """After the form: the reference and the next step, or a kind goodbye without consent."""

    action_name = "action_intake_done"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        role = dialogue.role_of(tracker.get_slot("role"))
        desk = loket.load()
        reset = [SlotSet("asked_intake_field", None), SlotSet("intake_consent", None)]
        draft_id = _draft_id(tracker)
        reference = None
        if draft_id:
            with session_scope() as session:
                request = session.get(CareRequest, draft_id)
                reference = request.reference if request is not None else None
        if reference is None:  # consent refused (or family consent): nothing was stored
            return [Reply(i18n.t("intake.no_consent", lang)), Reply(desk.contact_text(lang))], \
                reset
        text = i18n.t(f"intake.{role}.done", lang, reference=reference,
                      days=desk.response_working_days)
        buttons: tuple[Button, ...] = ()
        if role == "toeleider":
            buttons = (Button(i18n.t("intake.another_family", lang),
                              intent_payload("start_intake")),)
        return [Reply(text, buttons)], [*reset, SlotSet("intake_draft_id", None)]


class ActionConfirmDelete(ReplyAction):
    action_name = "action_confirm_delete"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        buttons = (Button(i18n.t("delete.yes", lang), intent_payload("affirm")),
                   Button(i18n.t("delete.no", lang), intent_payload("deny")))
        return [Reply(i18n.t("delete.confirm", lang), buttons)], []


class ActionDeleteMyData(ReplyAction):
    """Erases the sender's requests and messages now, its conversation after this turn."""

    action_name = "action_delete_my_data"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        with session_scope() as session:
            counts = store.erase_sender(session, tracker.sender_id)
        text = i18n.t("delete.done", lang, requests=counts.get("requests", 0),
                      messages=counts.get("messages", 0))
        return [Reply(text)], []


class ActionDeleteCancelled(ReplyAction):
    action_name = "action_delete_cancelled"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("delete.cancelled", lang))], []
