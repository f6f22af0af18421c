"""One question at a time: the shared skeleton of our forms.

Each form has one re-asked slot (``answer_slot``). The subclass says which field to ask next,
how to ask it, how its reader reads an answer and what an answer, a correction or a fact said
in passing changes; the decision what a message *is* comes from ``bot.pending.read_turn`` (the
pending question first). This class does the Rasa part: a digression makes the form step aside
(it extracts nothing, Rasa's interruption rules answer, then the same question is asked again);
an answer it cannot read gets a kind explanation; after two misses the question is skipped with
the loket's contact, so nobody is trapped.

Every form also knows one extra question: the role check ("Are you asking for a family you
support?"), asked once when someone says they are a professional, before anything else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot import i18n, loket, pending, settings
from bot.actions.base import conversation_language, profile_of, send
from bot.nlu import answers, roles
from bot.nlu.said import Fact
from bot.replies import Button, Reply, intent_payload

MAX_FAILURES = 2
FAILURES_SLOT = "answer_failures"
ROLE_CHECK = "role_check"
ROLE_CHECK_SLOT = "role_check"  # {"organisation": …} while the check is pending
# Button payloads of these intents answer the pending question; any other is a topic button
# pressed in the middle (a digression).
ANSWER_PAYLOADS = frozenset({"inform", "affirm", "deny"})


def role_question(lang: str) -> Reply:
    return Reply(i18n.t("role_check.question", lang), (
        Button(i18n.t("role_check.yes", lang), intent_payload("affirm")),
        Button(i18n.t("role_check.no", lang), intent_payload("deny"))))


def read_role_check(text: str, intent: str | None, lang: str) -> pending.Read:
    if text.startswith("/"):
        return pending.Read(intent == "affirm", intent in ("affirm", "deny"))
    claim = roles.claim(text, lang)
    if claim:
        return pending.Read(claim.role == "toeleider", True)
    if answers.has_cue("on_behalf", text, lang):
        # "een gezin dat ik begeleid kan niet betalen": the family they support, whatever
        # "no" the sentence also contains
        return pending.Read(True, True)
    said_yes = answers.read_yes_no(text, lang, "on_behalf")
    return pending.Read(said_yes, said_yes is not None, problem="role_check.invalid")


def facts_of(value: Any) -> list[Fact]:
    return [Fact(**f) for f in (value or []) if isinstance(f, dict)]


class Questionnaire(FormValidationAction):
    form = ""
    answer_slot = ""
    asked_slot = ""
    notice_slot = ""  # optional: a text said before the next question (e.g. "changed: …")
    invalid_key = ""  # default explanation of an answer that cannot be used
    skip_key = ""  # said when a question is skipped after two misses
    free_text_fields: frozenset[str] = frozenset()
    correctable: tuple[str, ...] = ()  # fields a sentence may change at any question

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
    def next_question(self, tracker: Tracker) -> str | None:
        """The dialogue's own next field (the role check comes before it)."""

    @abstractmethod
    def ask_field(self, field: str, tracker: Tracker, lang: str) -> Reply: ...

    @abstractmethod
    def reader(self, field: str, tracker: Tracker, lang: str) -> pending.Question: ...

    @abstractmethod
    def accept(self, field: str, value: Any, tracker: Tracker) -> dict[str, Any]: ...

    @abstractmethod
    def decline(self, field: str, tracker: Tracker) -> dict[str, Any]: ...

    def known(self, tracker: Tracker) -> dict[str, Any]:
        """Answers given so far (field -> value), so that a correction can find its field."""
        return {}

    def keep(self, facts: list[Fact], tracker: Tracker, overwrite: tuple[str, ...] = ()
             ) -> dict[str, Any]:
        """Store facts said in passing (and a correction); default: the shared profile."""
        profile = profile_of(tracker)
        if not profile.absorb(facts, overwrite, add_reasons=False):
            return {}
        return {"place_search": profile.place_search, "facts": profile.facts,
                "said": profile.said}

    def corrected_text(self, field: str, value: Any, lang: str) -> str:
        return i18n.t("answer.noted", lang)

    def correct(self, fix: Fact, facts: list[Fact], tracker: Tracker, lang: str
                ) -> dict[str, Any]:
        """A correction of an earlier answer: store it and say so."""
        out = self.keep([fix, *facts], tracker, overwrite=(fix.field,))
        return {**out, **self._notice(self.corrected_text(fix.field, fix.value, lang))}

    def role_changed(self, role: str, organisation: str | None, tracker: Tracker
                     ) -> dict[str, Any]:
        """Hook: the intake moves its draft to the new role."""
        return {}

    # --- fields, with the role check first ---------------------------------------------------
    def next_field(self, tracker: Tracker) -> str | None:
        if tracker.get_slot(ROLE_CHECK_SLOT):
            return ROLE_CHECK
        return self.next_question(tracker)

    def ask(self, field: str, tracker: Tracker, lang: str) -> Reply:
        if field == ROLE_CHECK:
            return role_question(lang)
        return self.ask_field(field, tracker, lang)

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
        intent = message.get("intent") or {}
        text = (message.get("text") or "").strip()
        lang = conversation_language(tracker, may_switch=False)[0]
        if text.startswith("/") and intent.get("name") not in ANSWER_PAYLOADS:
            return {}  # a topic button pressed in the middle: its rule answers it
        if asked == ROLE_CHECK:
            question = pending.Question(ROLE_CHECK, lambda t: read_role_check(
                t, intent.get("name"), lang))
        else:
            question = self.reader(asked, tracker, lang)
        if text.startswith("/"):  # a button: its value, or "skip" / "I don't know"
            read = question.read(text)
            kind = "declined" if read.skipped else "answer" if read.ok else "unreadable"
            turn = pending.Turn(kind, read.value, asked, read.problem)
        else:
            turn = pending.read_turn(
                question, pending.Message(text, intent.get("name"),
                                          float(intent.get("confidence") or 0.0),
                                          message.get("entities") or []),
                lang, settings.today(), role=tracker.get_slot("role") or "parent",
                known=self.known(tracker), correctable=self.correctable)
        if (turn.kind in ("noted", "digression") and _said_twice(tracker, text)) or (
                turn.kind == "role" and _said_before(tracker, text)):
            # the same words again after "noted", after the answer to a digression or after
            # the role check they set off: the person means them as the answer (never a loop
            # of the same detour)
            read = question.read(text)
            if read.ok:
                turn = pending.Turn("answer", read.value, asked, facts=turn.facts)
            else:  # counted as a miss, so the question is explained, then skipped, not looped
                turn = pending.Turn("unreadable", facts=turn.facts, problem=read.problem)
        if turn.kind == "digression":
            return {}  # something else: the interruption rules answer, the form asks again
        return {self.answer_slot: {
            "kind": turn.kind, "field": asked, "value": _plain(turn.value),
            "corrected": turn.field if turn.kind == "correction" else None,
            "problem": turn.problem, "facts": [asdict(f) for f in turn.facts]}}

    def validate_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: DomainDict) -> dict[str, Any]:
        if not isinstance(value, dict) or not value.get("field"):
            return {self.answer_slot: None}
        field, kind = value["field"], value.get("kind")
        lang, _ = conversation_language(tracker, may_switch=False)
        done = {self.answer_slot: None, FAILURES_SLOT: 0.0}
        facts = facts_of(value.get("facts"))
        if kind == "role":
            return {**done, **self._role(value.get("value") or {}, tracker, lang)}
        if kind == "language":
            return {**done, "language": value.get("value"),
                    **self._notice(i18n.t("language.switched", str(value.get("value"))))}
        if field == ROLE_CHECK and kind in ("answer", "declined"):
            said_yes = bool(value.get("value")) if kind == "answer" else False
            checked = self._role_checked(said_yes, tracker, lang)
            return {**done, **_merged(self.keep(facts, tracker), checked)}
        if kind == "correction":
            corrected = str(value.get("corrected"))
            return {**done, **self.correct(Fact(corrected, value.get("value")), facts, tracker,
                                           lang)}
        if kind == "noted":
            return {**done, **self.keep(facts, tracker),
                    **self._notice(i18n.t("answer.noted", lang))}
        if kind == "declined":
            return {**done, **self.keep(facts, tracker), **self.decline(field, tracker)}
        if kind == "answer":
            kept = self.keep([f for f in facts if f.field != field], tracker)
            return {**done, **_merged(kept, self.accept(field, value.get("value"), tracker))}
        failures = int(tracker.get_slot(FAILURES_SLOT) or 0) + 1
        if failures < MAX_FAILURES:
            send(dispatcher, [Reply(self.explain(field, value.get("problem"), tracker, lang))])
            return {self.answer_slot: None, FAILURES_SLOT: float(failures)}
        # the second miss: skip this question rather than trap the family; offer a person
        send(dispatcher, [Reply(i18n.t(self.skip_key, lang)),
                          loket.load().contact_reply(lang)])
        if field == ROLE_CHECK:
            return {**done, **self._role_checked(False, tracker, lang)}
        return {**done, **self.decline(field, tracker)}

    def explain(self, field: str, problem: str | None, tracker: Tracker, lang: str) -> str:
        """Why an answer could not be used; a subclass writes the choices out."""
        return i18n.t(problem or self.invalid_key, lang)

    def _notice(self, text: str) -> dict[str, Any]:
        return {self.notice_slot: text} if self.notice_slot else {}

    def _role(self, claim: dict[str, Any], tracker: Tracker, lang: str) -> dict[str, Any]:
        if claim.get("role") == "toeleider":  # check once before anything changes
            return {ROLE_CHECK_SLOT: {"organisation": claim.get("organisation")}}
        out = {"role": "parent", **self.role_changed("parent", None, tracker)}
        return {**out, **self._notice(i18n.t("role_check.parent", lang))}

    def _role_checked(self, toeleider: bool, tracker: Tracker, lang: str) -> dict[str, Any]:
        pending_check = tracker.get_slot(ROLE_CHECK_SLOT) or {}
        organisation = pending_check.get("organisation") if toeleider else None
        role = "toeleider" if toeleider else "parent"
        out: dict[str, Any] = {ROLE_CHECK_SLOT: None, "role": role,
                               **self.role_changed(role, organisation, tracker)}
        if organisation:
            profile = profile_of(tracker)
            profile.absorb([Fact("organisation", organisation)])
            out["said"] = profile.said
        key = "role_check.toeleider" if toeleider else "role_check.parent"
        return {**out, **self._notice(i18n.t(key, lang))}


def _merged(kept: dict[str, Any], accepted: dict[str, Any]) -> dict[str, Any]:
    """Both start from the same slots: a dict slot gets the facts kept and the answer."""
    out = {**kept, **accepted}
    for key, value in accepted.items():
        if isinstance(value, dict) and isinstance(kept.get(key), dict):
            out[key] = {**kept[key], **value}
    return out


def _plain(value: Any) -> Any:
    """Slot values are JSON: a role claim becomes a dict."""
    if isinstance(value, roles.Claim):
        return {"role": value.role, "organisation": value.organisation}
    return value


class AskNext(Action, ABC):
    """``action_ask_<answer_slot>``: asks the questionnaire's next field."""

    @abstractmethod
    def questionnaire(self) -> Questionnaire: ...

    def name(self) -> str:
        return f"action_ask_{self.questionnaire().answer_slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        lang, events = conversation_language(tracker, may_switch=False)
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


def _said_before(tracker: Tracker, text: str) -> bool:
    """Whether an earlier user message had the same words."""
    texts = [e.get("text") for e in tracker.events if e.get("event") == "user"]
    return any((t or "").strip() == text for t in texts[:-1])


def _said_twice(tracker: Tracker, text: str) -> bool:
    """Whether the user's message before this one had the same words."""
    texts = [e.get("text") for e in tracker.events if e.get("event") == "user"]
    return len(texts) >= 2 and (texts[-2] or "").strip() == text
