"""The form skeleton (bot/actions/questionnaire.py) at action level: each form's validation
action and its ``action_ask_*`` run directly on a rasa_sdk Tracker with a
CollectingDispatcher, the way Rasa's form loop calls them, without any server (milliseconds a
turn). What is checked is what Rasa gets back: the slots set, whether the form goes on,
steps aside or ends, and which text is said and asked next."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import db, i18n, loket
from bot.actions.conversation import ActionAskRoleAnswer, ValidateRoleForm
from bot.actions.eligibility import (
    ActionAskFactAnswer,
    ActionEligibilityResult,
    ValidateEligibilityForm,
)
from bot.actions.intake import ActionAskIntakeAnswer, ValidateIntakeForm
from bot.actions.places import ActionAskSearchAnswer, ValidatePlaceSearchForm
from bot.actions.questionnaire import AskNext, Questionnaire
from bot.profile import PARTNER_WORK, Profile
from bot.settings import ROOT

DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
UNSET = object()


@dataclass
class Turn:
    """What one turn gave Rasa: the messages said, the events."""

    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    done: bool = False  # the form set requested_slot to None: it is finished
    stepped_aside: bool = False  # no answer taken: Rasa's rules answer the message instead

    @property
    def texts(self) -> list[str]:
        return [m.get("text") or "" for m in self.messages]

    @property
    def buttons(self) -> list[list[str]]:
        """The button titles of each message."""
        return [[b["title"] for b in m.get("buttons") or []] for m in self.messages]

    def payload(self, title: str) -> str:
        return next(b["payload"] for m in self.messages for b in m.get("buttons") or []
                    if b["title"] == title)

    def slot(self, name: str) -> Any:
        """The last value this turn gave slot ``name`` (``UNSET`` when it did not)."""
        values = [e["value"] for e in self.events
                  if e.get("event") == "slot" and e.get("name") == name]
        return values[-1] if values else UNSET


def press(payload: str) -> tuple[str, str, list[dict[str, Any]]]:
    """A button as Rasa parses its payload: (text, intent, entities)."""
    intent, _, rest = payload.lstrip("/").partition("{")
    values = json.loads("{" + rest) if rest else {}
    return payload, intent, [{"entity": k, "value": v} for k, v in values.items()]


class Dialogue:
    """One conversation with one form, driven as Rasa's form loop does: a message goes to the
    form's validation action; when it took an answer and the form goes on, the ask action
    asks the next question."""

    def __init__(self, form: Questionnaire, ask: AskNext, lang: str = "nl",
                 **slots: Any) -> None:
        self.form, self.ask_action = form, ask
        self.slots: dict[str, Any] = {name: spec.get("initial_value")
                                      for name, spec in DOMAIN["slots"].items()}
        self.slots.update(language=lang, requested_slot=None, **slots)
        self.events: list[dict[str, Any]] = []
        self.message: dict[str, Any] = {"text": "", "intent": {}, "entities": []}

    def tracker(self) -> Tracker:
        return Tracker("unit-sender", dict(self.slots), self.message, list(self.events), False,
                       None, {"name": self.form.form}, "action_listen")

    async def _run(self, action: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.tracker(), DOMAIN)
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
            self.events.append(event)
        return dispatcher.messages, events

    async def start(self) -> Turn:
        """The form was just activated: Rasa requests the answer slot, the ask action asks."""
        self.slots["requested_slot"] = self.form.answer_slot
        return Turn(*await self._run(self.ask_action))

    async def say(self, text: str, intent: str = "inform",
                  entities: list[dict[str, Any]] | None = None) -> Turn:
        self.message = {"text": text, "intent": {"name": intent, "confidence": 1.0},
                        "entities": entities or [],
                        "intent_ranking": [{"name": intent, "confidence": 1.0}]}
        self.events.append({"event": "user", "text": text, "parse_data": self.message})
        messages, events = await self._run(self.form)
        done = SlotSet("requested_slot", None) in events
        if not done and not any(e.get("name") == self.form.answer_slot for e in events):
            # Rasa rejects the form's execution: the rules answer, the question comes later
            return Turn(messages, events, stepped_aside=True)
        if not done:  # Rasa requests the (again empty) answer slot: its ask action runs
            more, asked = await self._run(self.ask_action)
            messages, events = messages + more, events + asked
        return Turn(messages, events, done=done)

    async def press(self, button_payload: str) -> Turn:
        text, intent, entities = press(button_payload)
        return await self.say(text, intent, entities)


@pytest.fixture(autouse=True)
def pinned_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TODAY", "2026-11-25")  # "8 maanden" is a known birth month


def places(lang: str = "nl", **slots: Any) -> Dialogue:
    return Dialogue(ValidatePlaceSearchForm(), ActionAskSearchAnswer(), lang, **slots)


# --- the skeleton, on the free-place search --------------------------------------------


async def test_the_first_missing_field_is_asked_and_remembered() -> None:
    turn = await places().start()
    assert turn.texts == [i18n.t("places.q.location", "nl")]
    assert turn.events == [SlotSet("asked_search_field", "location")]


async def test_fields_known_already_are_not_asked() -> None:
    known = {"location": {"municipality": "Mechelen", "postcode": "2800"}, "start": "2027-01-04"}
    turn = await places(place_search=known).start()
    assert turn.texts == [i18n.t("places.q.child", "nl")]
    assert turn.slot("asked_search_field") == "child"


async def test_an_answer_fills_its_field_and_the_next_question_follows() -> None:
    dialogue = places()
    await dialogue.start()
    turn = await dialogue.say("2800")
    assert turn.slot("place_search") == {
        "location": {"municipality": "Mechelen", "postcode": "2800"}}
    assert turn.slot("search_answer") is None  # emptied: Rasa asks it again for the next field
    assert turn.slot("answer_failures") == 0.0
    assert turn.texts == [i18n.t("places.q.start", "nl")]
    assert turn.buttons == [[i18n.t("places.asap", "nl")]]
    assert turn.slot("asked_search_field") == "start"


async def test_a_button_answer_is_its_value() -> None:
    dialogue = places(place_search={"location": {"municipality": "Mechelen",
                                                 "postcode": "2800"}})
    await dialogue.start()
    turn = await dialogue.say("asap")  # the start question's button
    assert turn.slot("place_search")["start"] == "2026-11-25"
    assert turn.slot("asked_search_field") == "child"


async def test_an_unreadable_answer_is_explained_and_asked_again_then_skipped() -> None:
    dialogue = places(place_search={"location": {"municipality": "Mechelen",
                                                 "postcode": "2800"}})
    await dialogue.start()
    first = await dialogue.say("banaan")
    assert first.texts == [i18n.t("places.invalid.start", "nl"), i18n.t("places.q.start", "nl")]
    assert first.slot("answer_failures") == 1.0
    assert first.slot("asked_search_field") == "start"
    assert first.slot("place_search") is UNSET  # nothing changed
    # the second miss: the question is skipped with the loket's contact, nobody is trapped
    second = await dialogue.say("banaan")
    assert second.texts == [i18n.t("places.skip", "nl"), loket.load().contact_text("nl"),
                            i18n.t("places.q.child", "nl")]
    assert second.slot("declined_search_fields") == ["start"]
    assert second.slot("answer_failures") == 0.0
    assert second.slot("asked_search_field") == "child"


async def test_a_topic_button_in_the_middle_steps_aside() -> None:
    dialogue = places()
    await dialogue.start()
    turn = await dialogue.press("/ask_price")
    assert turn.stepped_aside and turn.texts == []
    assert turn.slot("search_answer") is UNSET and turn.slot("place_search") is UNSET
    assert dialogue.slots["asked_search_field"] == "location"  # asked again after the answer


async def test_the_last_answer_ends_the_form() -> None:
    known = {"location": {"municipality": "Mechelen", "postcode": "2800"},
             "start": "2027-01-04", "child": "2026-03-01"}
    dialogue = places(place_search=known)
    await dialogue.start()
    turn = await dialogue.say("3")
    assert turn.done and turn.texts == []
    assert turn.slot("place_search") == {**known, "days": 3}
    assert turn.slot("requested_slot") is None


# --- the role check, asked first by every form -----------------------------------------


@pytest.mark.parametrize(("button", "role", "notice"), [
    ("/affirm", "toeleider", "role_check.toeleider"),
    ("/deny", "parent", "role_check.parent"),
])
async def test_a_pending_role_check_comes_before_the_next_question(
        button: str, role: str, notice: str) -> None:
    # what a message like "ik ben maatschappelijk werker bij het OCMW" leaves behind
    dialogue = places(role_check={"organisation": "OCMW"})
    asked = await dialogue.start()
    assert asked.texts == [i18n.t("role_check.question", "nl")]
    assert asked.buttons == [[i18n.t("role_check.yes", "nl"), i18n.t("role_check.no", "nl")]]
    assert asked.slot("asked_search_field") == "role_check"
    turn = await dialogue.press(button)
    assert turn.slot("role") == role and turn.slot("role_check") is None
    if role == "toeleider":  # the organisation named is kept for the snelfiche
        assert turn.slot("said") == {"organisation": "OCMW"}
    # the notice is said before the form's own first question, then cleared
    assert turn.texts == [i18n.t(notice, "nl"), i18n.t("places.q.location", "nl")]
    assert turn.slot("intake_notice") is None
    assert turn.slot("asked_search_field") == "location"


async def test_the_role_form_ends_once_the_check_is_answered() -> None:
    dialogue = Dialogue(ValidateRoleForm(), ActionAskRoleAnswer(), "en",
                        role_check={"organisation": None})
    assert (await dialogue.start()).texts == [i18n.t("role_check.question", "en")]
    turn = await dialogue.press("/deny")
    assert turn.done and turn.slot("role") == "parent"
    assert turn.slot("intake_notice") == i18n.t("role_check.parent", "en")  # said after it


# --- the eligibility check: buttons with values, "I don't know" --------------------------


def eligibility(**slots: Any) -> Dialogue:
    return Dialogue(ValidateEligibilityForm(), ActionAskFactAnswer(), "nl",
                    eligibility_check="priority", **slots)


async def test_a_check_button_stores_its_fact_and_asks_the_next() -> None:
    dialogue = eligibility()
    asked = await dialogue.start()
    assert asked.texts == [i18n.t("eligibility.parent.q.care_pricing", "nl")]
    turn = await dialogue.press(asked.payload(asked.buttons[0][0]))  # "income related"
    assert turn.slot("facts") == {"care_pricing": "income_related"}
    assert turn.texts == [i18n.t("eligibility.parent.q.work_situation", "nl")]
    assert turn.slot("asked_fact") == "work_situation"


async def test_dont_know_declines_the_fact_and_moves_on() -> None:
    dialogue = eligibility(facts={"care_pricing": "income_related"})
    asked = await dialogue.start()
    turn = await dialogue.press(asked.payload(asked.buttons[0][-1]))  # "I don't know"
    assert turn.slot("declined_facts") == ["work_situation"]
    assert turn.slot("facts") is UNSET  # no answer stored for it
    assert turn.texts == [i18n.t("eligibility.parent.q.foster_child", "nl")]
    assert turn.slot("asked_fact") == "foster_child"


async def test_the_partners_work_is_the_familys_situation_but_no_reason_for_the_snelfiche(
        ) -> None:
    dialogue = eligibility(facts={"care_pricing": "income_related"})
    await dialogue.start()
    turn = await dialogue.say("mijn man werkt deeltijds")
    assert turn.slot("facts")["work_situation"] == "working"
    said = turn.slot("said")
    assert said[PARTNER_WORK] is True
    # the snelfiche asks why this parent needs care instead of filing "work"
    assert "reason" not in Profile.of({}, turn.slot("facts"), said).intake_prefill()
    other = eligibility(facts={"care_pricing": "income_related"})
    await other.start()
    own = await other.say("ik werk voltijds")
    assert own.slot("facts")["work_situation"] == "working"
    assert own.slot("said") == {"reason": ["work"]}  # their own work is their reason


def _events_of_a_check(interrupting: str | None) -> list[dict[str, Any]]:
    """What Rasa records when "le CPAS peut m'aider ?" comes while ``interrupting`` (a form,
    or nothing) is active: its rule stops the form, then starts the check."""
    before = [{"event": "active_loop", "name": interrupting}] if interrupting else []
    stop = [{"event": "action", "name": "action_deactivate_loop"},
            {"event": "active_loop", "name": None}] if interrupting else []
    return [*before, {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "les questions d'avant"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "le cpas peut m'aider pour payer?"},
            *stop, {"event": "action", "name": "action_start_eligibility"},
            {"event": "active_loop", "name": "eligibility_form"},
            {"event": "active_loop", "name": None}]


@pytest.mark.parametrize("interrupting, resumes", [
    ("intake_form", True), ("place_search_form", False), (None, False)])
async def test_a_check_asked_in_the_middle_of_the_snelfiche_goes_back_to_it(
        interrupting: str | None, resumes: bool) -> None:
    slots = {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}
    slots.update(language="fr", intake_draft_id=7.0, eligibility_check="reduced_rate",
                 facts={"care_pricing": "income_related", "receives_leefloon": True})
    tracker = Tracker("unit-sender", slots, {"text": "", "intent": {}, "entities": []},
                      _events_of_a_check(interrupting), False, None, {}, "eligibility_form")
    dispatcher = CollectingDispatcher()
    events = await ActionEligibilityResult().run(dispatcher, tracker, DOMAIN)
    assert dispatcher.messages  # the answer to the check first
    followups = [e["name"] for e in events if e.get("event") == "followup"]
    assert followups == (["action_start_intake"] if resumes else [])


async def test_words_that_set_off_the_role_check_once_are_an_answer_the_second_time() -> None:
    # "our leefloon comes from the OCMW of Gent, I am a social worker there"... said again
    # after "no, I am the mother": an answer to the question, not a second role check
    dialogue = eligibility(facts={"care_pricing": "income_related"})
    await dialogue.start()
    text = "ik ben maatschappelijk werker bij het OCMW Gent"
    first = await dialogue.say(text)
    assert first.slot("role_check") not in (UNSET, None)  # who is asking? asked once
    await dialogue.say("nee, ik ben de mama")
    again = await dialogue.say(text)
    assert again.slot("role_check") in (UNSET, None)


# --- the snelfiche: consent first, nothing stored before it -------------------------------


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("BOT_DB_URL", url)
    db.upgrade(url)
    yield url
    db.dispose_engine(url)


def intake(lang: str) -> Dialogue:
    return Dialogue(ValidateIntakeForm(), ActionAskIntakeAnswer(), lang)


def _requests(url: str) -> int:
    from sqlalchemy import func, select

    from bot.intake.models import CareRequest

    with db.session_scope(url) as session:
        return int(session.execute(select(func.count()).select_from(CareRequest)).scalar())


async def test_refused_consent_ends_the_snelfiche_and_stores_nothing(store: str) -> None:
    dialogue = intake("fr")
    asked = await dialogue.start()
    assert asked.slot("asked_intake_field") == "consent"
    # what is kept, then the question with its buttons: two messages, each fits a phone
    months = loket.load().retention_months
    assert asked.texts == [i18n.t("intake.consent_info", "fr", months=months),
                           i18n.t("intake.parent.q.consent", "fr")]
    assert asked.buttons == [[], [i18n.t("answer.yes", "fr"), i18n.t("answer.no", "fr")]]
    turn = await dialogue.press("/deny")
    assert turn.done and turn.slot("intake_consent") is False
    assert _requests(store) == 0


async def test_consent_opens_a_draft_and_the_first_question_follows(store: str) -> None:
    dialogue = intake("fr")
    await dialogue.start()
    turn = await dialogue.press("/affirm")
    assert turn.slot("intake_draft_id") == 1.0
    assert turn.texts == [i18n.t("intake.parent.q.child_name", "fr")]
    assert turn.slot("asked_intake_field") == "child_name"
    assert _requests(store) == 1


# --- a professional who says so outright ------------------------------------------------------


async def test_a_professional_for_a_family_is_welcomed_as_one_on_the_first_message() -> None:
    from bot.actions.conversation import ActionIdentifyToeleider

    text = ("bjr je suis assistante sociale au CPAS d'Anderlecht, j'accompagne une maman qui "
            "cherche une creche pour son bebe de 5 mois")
    slots = {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}
    slots.update(language="fr")
    message = {"text": text, "intent": {"name": "identify_toeleider", "confidence": 0.97},
               "entities": [], "intent_ranking": [{"name": "identify_toeleider",
                                                   "confidence": 0.97}]}
    tracker = Tracker("unit-sender", slots, message,
                      [{"event": "user", "text": text, "parse_data": message}], False, None,
                      {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = await ActionIdentifyToeleider().run(dispatcher, tracker, DOMAIN)
    assert [m["text"] for m in dispatcher.messages] == [i18n.t("toeleider.welcome", "fr")]
    assert SlotSet("role", "toeleider") in events


def _tracker_for(text: str, intent: str, slots: dict[str, Any] | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return Tracker("kept", {"role": "toeleider", **(slots or {})}, message,
                   [{"event": "user", "text": text, "parse_data": message}], False, None,
                   {}, "action_listen")


def test_a_professional_s_introduction_keeps_the_family_s_need_and_a_side_remark_does_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.actions.base import kept_facts

    monkeypatch.setenv("BOT_TODAY", "2026-12-03")
    intro = ("Bonjour, je suis assistante sociale au CPAS d'Anderlecht. J'accompagne une maman "
             "seule qui commence une formation en janvier. Elle cherche une crèche pour son "
             "fils de 14 mois.")
    slots = {e["name"]: e["value"]
             for e in kept_facts(_tracker_for(intro, "identify_toeleider"), [], "fr")
             if e.get("event") == "slot"}
    assert slots["place_search"]["start"] == "2027-01-01"
    assert slots["place_search"]["care_type"] == "groepsopvang"
    # a start said about something else is no need, nor the urgency it would imply
    aside = "Bonjour, je commence une formation en janvier, merci pour l'info"
    events = kept_facts(_tracker_for(aside, "thank"), [], "fr")
    search = next((e["value"] for e in events if e.get("name") == "place_search"), {})
    assert "start" not in search and "urgent" not in search


def test_a_first_message_that_tells_no_language_answers_in_dutch_and_pins_none() -> None:
    from bot.actions.base import conversation_language

    tracker = _tracker_for("salam", "greet", {"role": None})
    assert conversation_language(tracker) == ("nl", [])
    known = _tracker_for("salam", "greet", {"language": "ar"})
    assert conversation_language(known) == ("ar", [])


def test_a_social_worker_is_offered_to_register_the_family_not_my_child() -> None:
    from bot.replies import topic_buttons

    titles = [b.title for b in topic_buttons("fr", "toeleider")]
    assert i18n.t("topic.intake_family", "fr") in titles
    assert i18n.t("topic.intake", "fr") not in titles
    assert i18n.t("topic.intake", "fr") in [b.title for b in topic_buttons("fr")]


def test_a_message_with_a_word_of_the_conversation_s_language_does_not_switch_it() -> None:
    from bot.actions.base import conversation_language

    def with_switch(text: str, lang: str, switch: str) -> Tracker:
        tracker = _tracker_for(text, "find_free_place", {"language": lang})
        tracker.latest_message["entities"] = [
            {"entity": "detected_language", "role": role, "value": switch}
            for role in ("guess", "switch")]
        return tracker

    # Darija with French words in an Arabic conversation stays Arabic …
    assert conversation_language(with_switch("slt jcherche une place wach kayn", "ar", "fr")) \
        == ("ar", [])
    # … a whole French sentence switches
    lang, events = conversation_language(
        with_switch("je cherche une place en crèche pour ma fille", "ar", "fr"))
    assert lang == "fr" and any(e.get("name") == "language" for e in events)
