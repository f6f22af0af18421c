"""The snelfiche as a questionnaire form (``intake_form``) and the deletion of a family's data.

Fields, questions, checks and the summary come from ``bot.intake.dialogue``; answers go
straight into the draft care request (``bot.intake.store``), never into slots.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot import i18n, loket, pending, settings
from bot.actions.base import ReplyAction, StartsForm, conversation_language, profile_of
from bot.actions.questionnaire import AskNext, Questionnaire
from bot.db import session_scope
from bot.intake import dialogue, store
from bot.intake.models import CareRequest
from bot.nlu.said import Fact
from bot.privacy import erasure, export
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


class ActionStartIntake(StartsForm):
    """Resumes the sender's draft, or starts a new request (nothing stored before consent)."""

    form = "intake_form"
    action_name = "action_start_intake"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        with session_scope() as session:
            draft = store.latest_draft(session, tracker.sender_id)
            draft_id = draft.id if draft else None
        events: list[EventType] = [SlotSet("declined_intake_fields", []),
                                   SlotSet("intake_change", False), SlotSet("answer_failures", 0.0)]
        role = dialogue.role_of(tracker.get_slot("role"))
        if draft_id:
            # right after a check asked in the middle of the fiche, no "welcome back"
            key = "intake.back_to_form" if tracker.latest_action_name == \
                "action_eligibility_result" else "intake.resume"
            return [Reply(i18n.t(key, lang))], [
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
    free_text_fields = frozenset({"allergies", "health", "home_languages", "comfort"})
    correctable = dialogue.CORRECTABLE

    def next_question(self, tracker: Tracker) -> str | None:
        declined = list(tracker.get_slot("declined_intake_fields") or [])
        return dialogue.next_field(_answers(tracker), tracker.get_slot("role"), declined)

    def ask_field(self, field: str, tracker: Tracker, lang: str) -> Reply:
        return dialogue.question(field, tracker.get_slot("role"), lang, tracker.sender_id,
                                 _answers(tracker), bool(tracker.get_slot("intake_change")))

    def reader(self, field: str, tracker: Tracker, lang: str) -> pending.Question:
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name")
        entities = message.get("entities") or []
        so_far = _answers(tracker) if field == dialogue.CONFIRM else None
        return pending.Question(
            field, lambda text: pending.Read(*_fields(dialogue.reader(
                field, text, intent, entities, lang, _today(), tracker.sender_id, so_far))),
            free_text=field in self.free_text_fields,
            open_to_corrections=field == dialogue.CONFIRM, kind=dialogue.answer_kind(field))

    def known(self, tracker: Tracker) -> dict[str, Any]:
        return _answers(tracker)

    def explain(self, field: str, problem: str | None, tracker: Tracker, lang: str) -> str:
        spec = dialogue.BY_NAME.get(field)
        if spec is not None and spec.kind == "choice":
            return choices_text([dialogue.value_label(field, v, lang) for v in spec.values], lang)
        return super().explain(field, problem, tracker, lang)

    def corrected_text(self, field: str, value: Any, lang: str) -> str:
        shown = dialogue.fact_value(field, value)
        return dialogue.corrected_notice(field, shown, lang) if shown is not None else \
            i18n.t("answer.noted", lang)

    def keep(self, facts: list[Fact], tracker: Tracker, overwrite: tuple[str, ...] = ()
             ) -> dict[str, Any]:
        out = super().keep(facts, tracker, overwrite)
        draft_id = _draft_id(tracker)
        if not draft_id:
            return out  # before consent nothing goes into a request: the profile keeps it
        role = dialogue.role_of(tracker.get_slot("role"))
        with session_scope() as session:
            request = session.get(CareRequest, draft_id)
            if request is None or request.status != "draft":
                return out
            answered = store.answers(request)
            for fact in facts:
                spec = dialogue.BY_NAME.get(fact.field)
                value = dialogue.fact_value(fact.field, fact.value)
                if spec is None or role not in spec.roles or value is None:
                    continue
                if fact.field in answered and fact.field not in overwrite:
                    continue  # said again in passing: the earlier answer stands
                store.save_answer(session, request, fact.field, value)
        return out

    def role_changed(self, role: str, organisation: str | None, tracker: Tracker
                     ) -> dict[str, Any]:
        draft_id = _draft_id(tracker)
        if draft_id:
            with session_scope() as session:
                request = session.get(CareRequest, draft_id)
                if request is not None and request.status == "draft":
                    store.change_role(session, request, role, organisation)
        return {}

    def accept(self, field: str, value: Any, tracker: Tracker) -> dict[str, Any]:
        lang, _ = conversation_language(tracker, may_switch=False)
        if field == "consent" and value is not True:
            return {"intake_consent": False}
        with session_scope() as session:
            if field == "family_consent" and value is not True:
                # "not yet": nothing about this family is kept, and another can start later
                draft_id = _draft_id(tracker)
                request = session.get(CareRequest, draft_id) if draft_id else None
                if request is not None and request.status == "draft":
                    session.delete(request)
                return {"intake_consent": False, "intake_draft_id": None}
            request = self._request(session, tracker, lang)
            if field == dialogue.CONFIRM:
                if isinstance(value, dict):  # "change something": the menu, then the field
                    changed = value.get("change")
                    if changed:
                        store.clear_answer(session, request, changed)
                        declined = [f for f in tracker.get_slot("declined_intake_fields") or []
                                    if f != changed]
                        return {"intake_change": False, "declined_intake_fields": declined}
                    return {"intake_change": True}
                store.confirm(session, request)
                return {"intake_change": False}
            store.save_answer(session, request, field, value)
            return {"intake_draft_id": float(request.id)}

    def decline(self, field: str, tracker: Tracker) -> dict[str, Any]:
        lang, _ = conversation_language(tracker, may_switch=False)
        if field == "consent":
            return {"intake_consent": False}
        if field == "family_consent":
            return self.accept(field, False, tracker)
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
        prefill = {k: v for k, v in profile_of(tracker).intake_prefill().items()
                   if role in dialogue.BY_NAME[k].roles}
        previous = store.latest_confirmed(session, tracker.sender_id)
        if role == "toeleider" and previous is not None:
            prefill.update({k: v for k, v in store.answers(previous).items()
                            if k in COPY_FOR_NEXT_FAMILY and k not in prefill})
        channel = tracker.get_latest_input_channel()
        return store.start_draft(session, tracker.sender_id, channel=channel, role=role,
                                 language=lang, prefill=prefill,
                                 eligibility=tracker.get_slot("facts") or None)


def _fields(read: dialogue.Read) -> tuple[Any, bool, bool, str | None]:
    return read.value, read.ok, read.skipped, read.problem


def choices_text(labels: list[str], lang: str) -> str:
    """An answer that could not be read: the choices written out, not "choose a number"."""
    return i18n.t("answer.choices", lang, choices=i18n.t("format.list_sep", lang).join(labels))


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
            return [Reply(i18n.t("intake.no_consent", lang)), desk.contact_reply(lang)], \
                reset
        # "within N working days" counted from the loket's today, without its holidays and
        # closure periods, and said as the last day
        days = desk.response_working_days
        by = desk.day_text(desk.working_days_after(settings.today(), days), lang)
        text = i18n.t(f"intake.{role}.done", lang, reference=reference, days=days, by=by)
        buttons: tuple[Button, ...] = ()
        if role == "toeleider":
            buttons = (Button(i18n.t("intake.another_family", lang),
                              intent_payload("start_intake")),)
        return [Reply(text, buttons)], [*reset, SlotSet("intake_draft_id", None)]


class ActionSeeMyData(ReplyAction):
    """The right of access: what is stored, never a deletion (that is asked for apart)."""

    action_name = "action_see_my_data"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        with session_scope() as session:
            stored = export.stored_requests(session, tracker.sender_id)
        desk = loket.load()
        contact = " / ".join(c for c in (desk.phone, desk.email) if c)
        return dialogue.data_overview(stored, tracker.get_slot("role"), lang, contact), []


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
            counts = erasure.erase_sender(session, tracker.sender_id)
        text = i18n.t("delete.done", lang, requests=counts.get("requests", 0),
                      messages=counts.get("messages", 0))
        return [Reply(text)], []


class ActionDeleteCancelled(ReplyAction):
    action_name = "action_delete_cancelled"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        return [Reply(i18n.t("delete.cancelled", lang))], []
