"""Free-place search: a questionnaire form (``place_search_form``) and the results action.

What to ask and how to show results come from ``bot.places.dialogue``; the search is the same
function the command line uses (``bot.places.search``), with one database session per call.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot import pending, settings
from bot.actions.base import ReplyAction, StartsForm, entity_values, profile_of
from bot.actions.questionnaire import AskNext, Questionnaire
from bot.db import session_scope
from bot.places import dialogue
from bot.places.search import SearchError, search
from bot.places.unmet import record_unmet_need
from bot.profile import SEARCH_KEYS
from bot.replies import Reply


def today() -> date:
    return settings.today()


def _search(tracker: Tracker) -> dict[str, Any]:
    return dict(tracker.get_slot("place_search") or {})


def _declined(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot("declined_search_fields") or [])


class ActionStartPlaceSearch(StartsForm):
    """Keeps what is known from earlier, adds what the question itself says."""

    form = "place_search_form"
    action_name = "action_start_place_search"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        if entity_values(tracker, "page"):  # "more results": nothing to ask
            return [], []
        message = tracker.latest_message
        text = message.get("text") or ""
        found = {} if text.startswith("/") else dialogue.prefill(
            text, message.get("entities", []), lang, today())
        care_types = entity_values(tracker, "care_type")
        search = {**_search(tracker), **found}
        if care_types and "care_type" not in found:  # a button; words were read above
            search["care_type"] = care_types[-1]  # ("sadochok abo niania": either)
        return [], [SlotSet("place_search", search), SlotSet("declined_search_fields", []),
                    SlotSet("answer_failures", 0.0)]


# the search's own field names -> the shared names (bot.profile, bot.nlu.said)
AS_PROFILE = {key: field for field, key in SEARCH_KEYS.items()}


class ValidatePlaceSearchForm(Questionnaire):
    form = "place_search_form"
    answer_slot = "search_answer"
    asked_slot = "asked_search_field"
    invalid_key = "places.invalid.start"
    skip_key = "places.skip"
    notice_slot = "intake_notice"
    correctable = ("child_birth", "start", "frequency", "location", "care_type")

    def next_question(self, tracker: Tracker) -> str | None:
        return dialogue.next_field(_search(tracker), _declined(tracker))

    def ask_field(self, field: str, tracker: Tracker, lang: str) -> Reply:
        return dialogue.question(field, lang)

    def reader(self, field: str, tracker: Tracker, lang: str) -> pending.Question:
        def read(text: str) -> pending.Read:
            if dialogue.declines(text) and field != "location":
                return pending.Read(skipped=True)
            value, problem = dialogue.interpret(field, text, lang, today())
            return pending.Read(value, problem is None, problem=problem)

        return pending.Question(AS_PROFILE.get(field, field), read)

    def known(self, tracker: Tracker) -> dict[str, Any]:
        profile = profile_of(tracker)
        return {f: profile.get(f) for f in self.correctable}

    def accept(self, field: str, value: Any, tracker: Tracker) -> dict[str, Any]:
        return {"place_search": {**_search(tracker), field: value}}

    def decline(self, field: str, tracker: Tracker) -> dict[str, Any]:
        return {"declined_search_fields": [*_declined(tracker), field]}


class ActionAskSearchAnswer(AskNext):
    def questionnaire(self) -> Questionnaire:
        return ValidatePlaceSearchForm()


class ActionPlaceResults(ReplyAction):
    """Three results a message; "more" pages on. No result: say so, suggest, record the need."""

    action_name = "action_place_results"

    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]:
        wanted = _search(tracker)
        if not wanted.get("location"):  # the family skipped it: no search without a place
            return [Reply(dialogue.i18n.t("places.need_location", lang))], []
        next_page = bool(entity_values(tracker, "page"))
        offset = int(tracker.get_slot("search_offset") or 0) + dialogue.PAGE_SIZE \
            if next_page else 0
        now = today()
        kwargs = dialogue.search_kwargs(wanted, now)
        try:
            with session_scope() as session:
                rows = search(session, **kwargs, limit=dialogue.PAGE_SIZE + 1, offset=offset)
                if not rows and offset == 0:
                    record_unmet_need(
                        session, care_type=kwargs["care_type"], postcode=kwargs["postcode"],
                        municipality=(wanted.get("location") or {}).get("municipality"),
                        start=date.fromisoformat(kwargs["start"]),
                        child_birth_date=(date.fromisoformat(wanted["child"])
                                          if wanted.get("child") else None),
                        days_per_week=kwargs["days_per_week"], occasional=kwargs["occasional"],
                        urgent=kwargs["urgent"], language=lang, source="bot")
        except SearchError:
            rows = []
        if not rows:
            return dialogue.no_results(wanted, lang, now), [SlotSet("search_offset", 0.0)]
        has_more = len(rows) > dialogue.PAGE_SIZE
        replies = dialogue.results(rows[: dialogue.PAGE_SIZE], offset, has_more, lang)
        return replies, [SlotSet("search_offset", float(offset))]
