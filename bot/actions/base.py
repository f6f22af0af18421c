"""What every action shares: the conversation language and sending replies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import settings
from bot.language import SWITCH_MIN_WORDS, marks, resolve
from bot.nlu import roles, said
from bot.profile import Profile
from bot.replies import Reply
from bot.textnorm import words

# Rasa's own bookkeeping actions: not something the assistant "said".
_INTERNAL_ACTIONS = frozenset(
    {"action_listen", "action_extract_slots", "action_session_start", "action_unlikely_intent"}
)


def entity_values(tracker: Tracker, entity: str, role: str | None = None) -> list[str]:
    return [
        str(e.get("value"))
        for e in tracker.latest_message.get("entities", [])
        if e.get("entity") == entity and (role is None or e.get("role") == role)
    ]


def conversation_language(tracker: Tracker, may_switch: bool = True
                          ) -> tuple[str, list[EventType]]:
    """The language to answer in, and a SlotSet that pins it when it was not known yet.

    The first message sets it; later only a clear, full message switches it (``switch``
    entity) and only when ``may_switch``: an answer to a pending question never does
    ("Nederlands en Arabisch", a name, an e-mail address).
    """
    current = tracker.get_slot("language")
    guesses = entity_values(tracker, "detected_language", "guess")
    switches = entity_values(tracker, "detected_language", "switch") if may_switch else []
    text = tracker.latest_message.get("text") or ""
    clear = len(words(text)) >= SWITCH_MIN_WORDS and not text.startswith("/")
    if current and switches and switches[0] != current and marks(text, current):
        # "bghit une place en crèche pour ma fille" in an Arabic conversation: Darija with
        # French words, no switch to French
        switches = []
    provisional = bool(tracker.get_slot("language_provisional"))
    if provisional and clear and guesses and not switches:
        # the language came from a greeting ("slt", "hi"): the first real message decides
        switches = guesses[:1]
    lang = resolve(switches[0] if switches else current, guesses[0] if guesses else None)
    if current is None and not guesses and not switches and not clear:
        # "salam", "👍": nothing known yet; answer in Dutch, let the first real message decide
        return lang, []
    events: list[EventType] = [] if current == lang else [SlotSet("language", lang)]
    if current is None and not clear:
        events.append(SlotSet("language_provisional", True))
    elif provisional and (clear or switches):
        events.append(SlotSet("language_provisional", False))
    return lang, events


def profile_of(tracker: Tracker) -> Profile:
    """What the conversation knows about the family's need (bot.profile)."""
    return Profile.of(tracker.get_slot("place_search"), tracker.get_slot("facts"),
                      tracker.get_slot("said"))


def bot_actions(tracker: Tracker) -> list[str]:
    """Names of the actions the assistant ran before the current turn, oldest first."""
    names = [
        e.get("name")
        for e in tracker.events
        if e.get("event") == "action" and e.get("name") not in _INTERNAL_ACTIONS
    ]
    return [n for n in names if n]


def send(dispatcher: CollectingDispatcher, replies: list[Reply]) -> None:
    for reply in replies:
        for part in reply.before:
            dispatcher.utter_message(text=part)
        dispatcher.utter_message(
            text=reply.text, buttons=[b.as_dict() for b in reply.buttons] or None
        )


def answered_a_question(tracker: Tracker) -> bool:
    """Whether a form took the latest message as its answer (it ran and was not rejected)."""
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            return False
        if kind == "action" and str(event.get("name") or "").endswith("_form"):
            return True
    return False


PROFILE_SLOTS = ("place_search", "facts", "said")
NEED_INTENTS = frozenset({"find_free_place", "start_intake", "inform", "nlu_fallback"})
INTRODUCING = frozenset({"identify_toeleider", "greet"})


ASKING_ABOUT_CARE = frozenset({"ask_price", "ask_care_types", "ask_house_rules",
                               "check_priority", "check_reduced_rate"})


def role_before_message(tracker: Tracker) -> str:
    """The conversation's role before this message (``outright_role`` may already have set
    the slot for the replies)."""
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == "role":
            return event.get("value") or "parent"
    return "parent"


def outright_role(tracker: Tracker, lang: str) -> str | None:
    """The role the latest message states outright and that differs from the conversation's:
    a professional asking for a family they support, or a parent saying so."""
    text = tracker.latest_message.get("text") or ""
    if not text or text.startswith("/") or answered_a_question(tracker):
        return None
    claim = roles.claim(text, lang)
    role = tracker.get_slot("role") or "parent"
    if claim and claim.role == "toeleider" and claim.for_a_family and role != "toeleider":
        return "toeleider"
    if claim and claim.role == "parent" and role != "parent":
        return "parent"
    return None


def kept_facts(tracker: Tracker, events: list[EventType], lang: str) -> list[EventType]:
    """What the latest message said in free words ("in Mechelen", "8 maanden", "dringend"),
    kept in the profile slots on top of what ``events`` already set, so it is not asked
    again. Only for a message no form read: a form keeps what it reads itself."""
    text = tracker.latest_message.get("text") or ""
    if not text or text.startswith("/") or answered_a_question(tracker):
        return []
    who: list[EventType] = []
    claim = roles.claim(text, lang)
    set_here = {e.get("name") for e in events if e.get("event") == "slot"}
    # a role said outright is set by ReplyAction.run (outright_role) before the replies; a
    # professional who does not say for whom is asked once, by the next form
    if claim and claim.role == "toeleider" and not {"role", "role_check"} & set_here \
            and (tracker.get_slot("role") or "parent") != "toeleider":
        who.append(SlotSet("role_check", {"organisation": claim.organisation}))
    # "mijn vrouw werkt niet, ik wel": a passing "not working" may be half the family; the
    # check asks about work itself
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    found = said.extract(text, lang, settings.today())
    # a professional's introduction that says what the family looks for ("… commence une
    # formation en janvier. Elle cherche une crèche") is about the need too
    about_need = intent in NEED_INTENTS or (
        intent in INTRODUCING and any(f.field == "care_type" for f in found))
    if not about_need and not said.says_urgent(text, lang):
        found = [f for f in found if f.field != "urgent"]  # only the dropped start said so
    facts = [f for f in found
             if not (f.field == "work_situation" and f.value == "none")
             and (f.field not in said.NEED_FACTS or about_need)
             # "kreş ücretleri çok yüksek": the word for childcare in a question about
             # prices or rules is no preference for a kind of care
             and not (f.field == "care_type" and intent in ASKING_ABOUT_CARE)]
    if not facts:
        return who
    current = {name: tracker.get_slot(name) for name in PROFILE_SLOTS}
    for event in events:
        if event.get("event") == "slot" and event.get("name") in current:
            current[event["name"]] = event.get("value")
    profile = Profile.of(current["place_search"], current["facts"], current["said"])
    if not profile.absorb(facts):
        return who
    return [*who, SlotSet("place_search", profile.place_search),
            SlotSet("facts", profile.facts), SlotSet("said", profile.said)]


class ReplyAction(Action, ABC):
    """An action that answers with replies rendered in the conversation language, and keeps
    the facts the message gave in passing."""

    action_name = ""

    def name(self) -> str:
        return self.action_name

    @abstractmethod
    def respond(self, tracker: Tracker, lang: str) -> tuple[list[Reply], list[EventType]]: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, events = conversation_language(tracker,
                                             may_switch=not answered_a_question(tracker))
        if events and tracker.get_slot("language"):
            tracker.slots["language"] = lang  # the reply goes out in the language switched to
        said_role = outright_role(tracker, lang)
        if said_role:
            # "je suis assistante sociale … une famille que j'accompagne, je voudrais inscrire":
            # the snelfiche's first texts already speak to the social worker
            tracker.slots["role"] = said_role
        replies, more = self.respond(tracker, lang)
        send(dispatcher, replies)
        who = [SlotSet("role", said_role)] if said_role else []
        return events + who + more + kept_facts(tracker, more, lang)


RULE_STARTS = frozenset({"action_listen", "action_deactivate_loop"})


class StartsForm(ReplyAction, ABC):
    """The action that starts a form. Its rule runs the form after it; when it was run as a
    follow-up of another message ("yes, and can she get priority?" answering the role
    check), no rule does, so it runs the form itself."""

    form = ""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        # right after the message (or after a form was stopped for it) the rule runs the form
        if tracker.latest_action_name not in RULE_STARTS:
            events.append(FollowupAction(self.form))
        return events
