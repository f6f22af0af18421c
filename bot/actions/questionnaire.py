"""One question at a time: the shared skeleton of our forms.

Each form has one re-asked slot (``answer_slot``). The subclass says which field to ask next,
how to ask it, how to read an answer and what an answer changes; this class does the Rasa
part: extraction only when a question is pending, a kind explanation for an answer it cannot
read, skipping a question after two misses (with the loket's contact, so nobody is trapped),
and stepping aside for intents that are new questions (the interruption rules answer them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot import i18n, loket
from bot.actions.base import conversation_language, send
from bot.replies import Reply

MAX_FAILURES = 2
FAILURES_SLOT = "answer_failures"
# Intents that are never an answer to a form question: the form steps aside.
NOT_AN_ANSWER = frozenset({
    "greet", "goodbye", "thank", "bot_challenge", "choose_language", "ask_care_types",
    "ask_price", "check_priority", "check_reduced_rate", "find_free_place", "start_intake",
    "request_human", "identify_toeleider", "ask_loket_contact", "delete_my_data",
})
# For a free-text question ("which languages do you speak at home?") almost anything is an
# answer; only these still interrupt.
STOPS_FREE_TEXT = frozenset({"request_human", "goodbye", "delete_my_data"})


@dataclass(frozen=True)
class Answer:
    """How a reply to a question was read: ``declined`` is "I don't know"/skip."""

    value: Any = None
    understood: bool = False
    declined: bool = False
    problem: str | None = None  # a locale key explaining why it could not be used


class Questionnaire(FormValidationAction):
    form = ""
    answer_slot = ""
    asked_slot = ""
    notice_slot = ""  # optional: a text said before the next question (e.g. "changed: …")
    invalid_key = ""  # default explanation of an answer that cannot be used
    free_text_fields: frozenset[str] = frozenset()
    skip_key = ""  # said when a question is skipped after two misses

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # rasa_sdk finds a slot's extraction and validation by method name
        super().__init_subclass__(**kwargs)
        if cls.answer_slot:
            setattr(cls, f"extract_{cls.answer_slot}", Questionnaire.extract_answer)
            setattr(cls, f"validate_{cls.answer_slot}", Questionnaire.validate_answer)

    def name(self) -> str:
        return f"validate_{self.form}"

    # --- what a subclass provides ---------------------------------------------------------
    @abstractmethod
    def next_field(self, tracker: Tracker) -> str | None:
        raise NotImplementedError

    @abstractmethod
    def ask(self, field: str, tracker: Tracker, lang: str) -> Reply:
        raise NotImplementedError

    @abstractmethod
    def interpret(self, field: str, tracker: Tracker, lang: str) -> Answer:
        raise NotImplementedError

    @abstractmethod
    def accept(self, field: str, value: Any, tracker: Tracker) -> dict[str, Any]:
        raise NotImplementedError

    @abstractmethod
    def decline(self, field: str, tracker: Tracker) -> dict[str, Any]:
        raise NotImplementedError

    # --- the Rasa part ---------------------------------------------------------------------
    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        return [] if self.next_field(tracker) is None else [self.answer_slot]

    async def extract_answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> dict[str, Any]:
        asked = tracker.get_slot(self.asked_slot)
        if tracker.get_slot("requested_slot") != self.answer_slot or not asked:
            return {}
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name")
        text = (message.get("text") or "").strip()
        is_payload = text.startswith("/")
        interrupting = STOPS_FREE_TEXT if asked in self.free_text_fields else NOT_AN_ANSWER
        if intent in interrupting and not is_payload and not text.isdigit():
            return {}  # a new question: the interruption rules answer it
        lang, _ = conversation_language(tracker)
        answer = self.interpret(asked, tracker, lang)
        return {self.answer_slot: {"field": asked, "value": answer.value,
                                   "understood": answer.understood, "declined": answer.declined,
                                   "problem": answer.problem}}

    def validate_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: DomainDict) -> dict[str, Any]:
        if not isinstance(value, dict) or not value.get("field"):
            return {self.answer_slot: None}
        field = value["field"]
        lang, _ = conversation_language(tracker)
        done = {self.answer_slot: None, FAILURES_SLOT: 0.0}
        if value.get("declined"):
            return {**done, **self.decline(field, tracker)}
        if value.get("understood"):
            return {**done, **self.accept(field, value.get("value"), tracker)}
        failures = int(tracker.get_slot(FAILURES_SLOT) or 0) + 1
        if failures < MAX_FAILURES:
            send(dispatcher, [Reply(i18n.t(value.get("problem") or self.invalid_key, lang))])
            return {self.answer_slot: None, FAILURES_SLOT: float(failures)}
        # the second miss: skip this question rather than trap the family; offer a person
        send(dispatcher, [Reply(i18n.t(self.skip_key, lang)),
                          Reply(loket.load().contact_text(lang))])
        return {**done, **self.decline(field, tracker)}


class AskNext(Action, ABC):
    """``action_ask_<answer_slot>``: asks the questionnaire's next field."""

    @abstractmethod
    def questionnaire(self) -> Questionnaire: ...

    def name(self) -> str:
        return f"action_ask_{self.questionnaire().answer_slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        lang, events = conversation_language(tracker)
        form = self.questionnaire()
        field = form.next_field(tracker)
        if field is None:
            return events
        question = form.ask(field, tracker, lang)
        notice = tracker.get_slot(form.notice_slot) if form.notice_slot else None
        if notice:
            send(dispatcher, [Reply(str(notice))])
            events.append(SlotSet(form.notice_slot, None))
        send(dispatcher, [question])
        return [*events, SlotSet(form.asked_slot, field)]
