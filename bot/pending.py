"""The pending question comes first: how a message is read while the assistant waits for an
answer (in the snelfiche, the eligibility check, the free-place search and the role check).

The message is first an answer to that question, read by that question's own reader. Only what
clearly is something else is not: a crisis, someone saying who they are, a request for another
language, a correction of an earlier answer, or a question or request the intent classifier is
sure of *and* the words confirm (a goodbye only when the whole message is one; a person only
when it asks for one). A global intent never overrides a plausible answer.

Plain Python: the forms (bot/actions/questionnaire.py) call :func:`read_turn` and act on the
:class:`Turn` it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.nlu import answers, roles, said
from bot.nlu.said import Fact

# Fields whose answer is free text: almost anything is an answer, so only a clear digression
# interrupts (a question the classifier is sure of, a goodbye that is only a goodbye …).
# Questions that are answered and then the same question is asked again: a message that
# asks one is taken for it even when it names a value ("Kreş ayda ne kadar tutar?" at the
# care-type question), since taking it wrongly costs only the question again.
ANSWER_AND_RETURN = frozenset({"ask_care_types", "ask_price", "ask_loket_contact",
                               "ask_house_rules", "bot_challenge"})
INTERRUPTING_QUESTIONS = frozenset({
    "ask_care_types", "ask_price", "ask_loket_contact", "ask_house_rules", "bot_challenge",
    "check_priority", "check_reduced_rate", "find_free_place", "start_intake",
})
# Facts that a free-text answer may carry only by mistake: said without a correction word they
# are still a correction or a fact, not an allergy ("hij is geboren op 3 mei").
UNMISTAKABLE = frozenset({"child_birth", "start", "phone", "email"})
# What a correction word may change from a free-text question: facts that cannot be read in
# an answer about allergies or sleep ("no, he's healthy" names no reason for care)
FREE_TEXT_CORRECTIONS = UNMISTAKABLE | {"location", "frequency", "child_name"}
SURE = 0.75  # classifier confidence that a free-text answer is in fact another question
LIKELY = 0.4  # … for a message the pending question's reader could not read at all


@dataclass(frozen=True)
class Read:
    """What a question's own reader made of a message."""

    value: Any = None
    ok: bool = False
    skipped: bool = False  # "I don't know", "skip"
    problem: str | None = None  # a locale key explaining why it could not be used


@dataclass(frozen=True)
class Question:
    field: str
    read: Callable[[str], Read]
    free_text: bool = False
    # the summary: any fact said that differs from an answer is a correction of that answer
    open_to_corrections: bool = False
    # what the answer is made of, so that it is not also taken for another fact: a phone
    # number answering "how can we reach you?" is not the parent's phone; "OCMW Mechelen" is
    # not the family's municipality; "hij slaapt bij oma in Gent" is no place to search
    kind: str = "structured"  # structured | free | name | contact | organisation
    # read before anything else: a contradiction the dialogue asks about ("alone" earlier,
    # "my husband works" now), which no correction may settle on its own
    before: Callable[[str], Read | None] | None = None


@dataclass(frozen=True)
class Message:
    text: str
    intent: str | None = None
    confidence: float = 0.0
    entities: Sequence[Mapping[str, Any]] = ()

    @property
    def crisis(self) -> bool:
        return any(e.get("entity") == "urgency" and e.get("value") == "crisis"
                   for e in self.entities)


@dataclass(frozen=True)
class Turn:
    """``kind``: answer | declined | correction | role | language | noted | digression |
    unreadable. ``facts``: what else the message said (kept, so it is not asked later)."""

    kind: str
    value: Any = None
    field: str | None = None
    problem: str | None = None
    facts: tuple[Fact, ...] = ()


def language_request(text: str, lang: str, answering_languages: bool = False) -> str | None:
    """An explicit request for another language ("in het Nederlands aub", "can you speak
    English"): the language asked for, else None. A bare language name is an answer to a
    question about languages ("Nederlands en Arabisch"), and a request anywhere else."""
    from bot.i18n import SUPPORTED
    from bot.vocabulary import vocabulary

    codes = [m.value for m in vocabulary().find(text) if m.entity == "language"]
    if not codes or codes[-1] not in SUPPORTED:
        return None  # "російська": a language we do not speak is no request to switch
    tokens = answers.tokenize(text)
    if answers.has_cue("language_request", tokens, lang):
        return codes[-1]
    if answering_languages or len(set(codes)) > 1:
        # "українська, трохи російська", "Nederlands en Arabisch": the languages a family
        # speaks, not a request
        return None
    names = {t.text for m in vocabulary().find(text) if m.entity == "language"
             for t in answers.tokenize(m.text)}
    rest = [t for t in tokens if t.text not in names]
    return codes[-1] if len(rest) <= 1 else None  # "English?", "English please"


def _gate(intent: str, message: Message, lang: str, free_text: bool) -> bool:
    """Whether the words confirm that the message is this intent and no answer."""
    tokens = answers.tokenize(message.text)
    if intent in ("goodbye", "thank", "greet"):
        kinds = answers.closed_kinds(message.text, lang)
        return {"goodbye": "goodbye", "thank": "thanks", "greet": "greeting"}[intent] in kinds
    if intent == "request_human":
        return message.crisis or answers.has_cue("person", tokens, lang)
    if intent == "delete_my_data":
        return answers.has_cue("delete", tokens, lang)
    if intent == "see_my_data":
        return answers.has_cue("see", tokens, lang) or answers.has_cue("data", tokens, lang)
    if intent == "share_media":
        return True
    if intent == "find_free_place" and not answers.has_cue("place", tokens, lang):
        return False  # "Kreşte helal yemek veriyorlar mı?" names a crèche, seeks no place
    if intent in INTERRUPTING_QUESTIONS:
        # a question needs a question's words ("wat kost…?"): "geen e-mail" is no contact
        # question, even when the classifier leans that way
        asks = "?" in message.text or answers.has_cue("question", tokens, lang)
        return message.confidence >= SURE or (asks and message.confidence >= LIKELY)
    return False  # affirm, deny, inform, out_of_scope, identify_toeleider, choose_language …


def _only_no_marks(text: str, lang: str) -> bool:
    """Whether every correction word in the message is also a plain "no" ("nee", "hayır")."""
    tokens = answers.tokenize(text)
    noes = answers.forms("no", lang)
    return all(noes.hits(tokens[h.start:h.end])
               for h in answers.cue_hits("correction", tokens, lang))


def _may_carry(question: Question, fact: Fact) -> bool:
    if question.field.startswith("toeleider_") and fact.field in ("phone", "email"):
        return False  # "Mona, en mijn nummer is …": the professional's contact, not the family's
    kind = "free" if question.free_text else question.kind
    if kind == "contact":
        return fact.field not in ("phone", "email", "location")
    if kind == "organisation":
        return fact.field not in ("location", "organisation")
    if kind in ("free", "name"):
        return fact.field in UNMISTAKABLE
    return True


def read_turn(question: Question, message: Message, lang: str, today: date, *,
              role: str = "parent", known: Mapping[str, Any] | None = None,
              correctable: Sequence[str] = ()) -> Turn:
    """How to take ``message`` while ``question`` waits for an answer.

    ``known``: the answers given so far (field -> value), for corrections; ``correctable``:
    the fields this dialogue can change from a sentence.
    """
    known = known or {}
    text = message.text.strip()
    if message.crisis:
        return Turn("digression")
    claim = roles.claim(text, lang)
    if claim and question.field not in ("organisation", "role_check") and claim.role != role:
        return Turn("role", claim)
    wanted = language_request(text, lang, answering_languages=question.field in (
        "home_languages", "language"))
    if wanted and wanted != lang:
        return Turn("language", wanted)
    if question.before is not None:
        early = question.before(text)
        if early is not None:
            return Turn("answer", early.value, question.field)
    read = question.read(text)  # the question's own reading, asked once
    said_here = [f for f in said.extract(text, lang, today) if f.field != question.field]
    if question.open_to_corrections and not any(f.field == "child_name" for f in said_here):
        renamed = said.corrected_child_name(text, lang, cue_needed=False)
        if renamed:  # "ze heet Lotte" at the summary
            said_here.append(Fact("child_name", renamed))
    facts = [f for f in said_here if _may_carry(question, f)]
    marker = answers.has_cue("correction", text, lang)
    # with a correction word ("oei, niet in Mechelen maar in Leuven") any answer given earlier
    # may change; without one only what cannot be mistaken for this answer
    candidates = said_here if marker else facts
    if question.free_text:  # "no, he's healthy" at the health question is no new reason
        candidates = [f for f in candidates if f.field in FREE_TEXT_CORRECTIONS]
    corrections = [f for f in candidates
                   if f.field in correctable and f.field in known
                   and known[f.field] not in (None, f.value)
                   and (marker or question.open_to_corrections or said.refines(f, known[f.field])
                        or (question.free_text and f.cued and f.field in UNMISTAKABLE))]
    if corrections and not question.free_text and marker \
            and all(f.field not in UNMISTAKABLE for f in corrections) \
            and _only_no_marks(text, lang) and read.ok:
        # "hayır, işsizlik parası alıyorum" at "leefloon?": the "no" answers the question and
        # the rest explains it; a correction of a fact the answer may carry needs a real
        # correction word ("sorry", "eigenlijk")
        corrections = []
    if corrections:
        first = corrections[0]
        rest = tuple(f for f in facts if f is not first)
        return Turn("correction", first.value, first.field, facts=rest)
    intent = message.intent or ""
    if question.free_text and _gate(intent, message, lang, free_text=True):
        return Turn("digression")
    if question.free_text and text.rstrip().endswith(("?", "؟")):
        # "هي الحضانة بتقدم أكل حلال؟" at the allergy question: a question, never the allergy
        return Turn("unreadable", facts=tuple(facts), problem="answer.question_later")
    if question.free_text and any(f.cued and f.field in correctable and f.field in UNMISTAKABLE
                                  for f in facts):
        # "hij is geboren op 3 mei" at the allergy question: a fact, not an allergy
        return Turn("noted", facts=tuple(facts))
    asks = "?" in text or answers.has_cue("question", text, lang)
    if intent in ANSWER_AND_RETURN and asks and message.confidence >= LIKELY \
            and len(answers.tokenize(text)) > 2 \
            and not (read.ok and "?" not in text):
        # a question word in a readable answer ("بس كم يوم" = only a few days) is no question
        return Turn("digression")
    if not question.free_text and "?" in text and answers.has_cue("what_is", text, lang):
        # "а що таке leefloon?": the word of the question said back is no yes
        return Turn("unreadable", facts=tuple(facts))
    if read.skipped:
        return Turn("declined", facts=tuple(facts))
    if read.ok:
        return Turn("answer", read.value, question.field, facts=tuple(facts))
    if _gate(intent, message, lang, free_text=False):
        return Turn("digression")
    # a fact already known as said ("both work full time" again) is no news: not "noted"
    useful = tuple(f for f in facts if f.field in correctable
                   and (f.field not in known or known[f.field] != f.value))
    if useful:
        return Turn("noted", facts=useful)
    return Turn("unreadable", problem=read.problem)
