"""The conversation evaluation (tests/converse): the harness itself without the assistant
(template index, topic recognition, matchers, the persona files, a conversation against a
scripted fake), and a fixed subset of tune personas against the real assistant: at least the
floor fully right, none with a role or language flip or a misfiled answer."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from bot import i18n
from tests.converse import personas as persona_files
from tests.converse.personas import Persona, check_eligibility, check_request, matches
from tests.converse.runner import (
    DONT_KNOW,
    GIVE_UP,
    Assistant,
    Conversation,
    Result,
    failure_report,
    run_personas,
    summary,
)
from tests.converse.texts import TemplateIndex, is_reask, is_statement, topic_of

TODAY = date(2026, 12, 3)
# Three tune personas per language (a parent searching, a parent checking, a social worker),
# run against the real assistant; chosen by id, never by how they fare.
SUBSET = tuple(f"{lang}-{n}" for lang in i18n.SUPPORTED for n in ("01", "02", "04"))


@pytest.fixture(scope="module")
def index() -> TemplateIndex:
    return TemplateIndex()


def render(text: str) -> str:
    """A locale text as the assistant would send it, with plausible values filled in."""
    names = {n for _, n, _, _ in string.Formatter().parse(text) if n}
    return text.format(**{n: "+32470123456" if n == "phone" else "1.234" for n in names})


# --- recognising what the assistant says -----------------------------------------------------

QUESTION_KEYS = ("intake.parent.q.", "intake.toeleider.q.", "places.q.", "eligibility.parent.q.",
                 "eligibility.toeleider.q.")


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_every_question_is_read_back_as_its_topic(index: TemplateIndex, lang: str) -> None:
    checked = 0
    for key, text in i18n.catalog(lang).items():
        if not key.startswith(QUESTION_KEYS):
            continue
        role = "toeleider" if ".toeleider." in key else "parent"
        found = index.question(render(text), role)
        assert found is not None and found.topic == topic_of(key), (key, found)
        checked += 1
    assert checked > 40


def test_the_topic_table() -> None:
    assert topic_of("places.q.child") == "child_birth"
    assert topic_of("intake.toeleider.q.child_birth") == "child_birth"
    assert topic_of("places.q.days") == "frequency"
    assert topic_of("intake.parent.q.frequency") == "frequency"
    assert topic_of("places.q.location") == topic_of("intake.parent.q.location") == "location"
    assert topic_of("eligibility.toeleider.q.work_situation") == "work_situation"
    assert topic_of("intake.toeleider.summary") == "confirm"
    assert topic_of("intake.parent.q.phone_confirm") == "phone_confirm"
    assert topic_of("conflict.parent.single_parent") == "single_parent"
    assert topic_of("role_check.question") == topic_of("intake.q.role") == "role_check"
    assert topic_of("role_check.toeleider") is None  # the notice after the answer
    assert is_reask("role_check.invalid") and is_reask("answer.choices")
    assert topic_of("greet.welcome") is None and topic_of("intake.parent.done") is None
    assert is_reask("intake.invalid.reason") and is_reask("places.invalid.location")
    assert is_reask("eligibility.invalid") and not is_reask("intake.skipped")


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_every_text_that_asks_something_is_mapped_or_declared(lang: str) -> None:
    """A new question in locales/ must get a topic in tests/converse/texts.py (or be declared
    a statement), or personas silently stop answering it."""
    unmapped = [key for key, text in i18n.catalog(lang).items()
                if ("?" in text or "؟" in text) and topic_of(key) is None
                and not is_reask(key) and not is_statement(key)]
    assert not unmapped, f"add to TOPIC_RULES or NOT_ASKING: {unmapped}"


def test_consent_question_inside_the_consent_notice(index: TemplateIndex) -> None:
    text = (i18n.t("intake.consent_info", "nl", months=12) + "\n\n"
            + i18n.t("intake.parent.q.consent", "nl"))
    found = index.question(text, "parent")
    assert found is not None and found.topic == "consent"


def test_summary_is_the_confirm_question_and_its_lines_stay_inside(index: TemplateIndex) -> None:
    text = (i18n.t("intake.parent.summary", "nl") + "\n- Voornaam kind: Adam\n- Hoe vaak: "
            + i18n.t("intake.days", "nl", n=4) + "\n- Gemeente: 2800 Mechelen")
    found = index.question(text, "parent")
    assert found is not None and found.topic == "confirm"
    # a template with a placeholder at its edge must not stretch over the header
    days = [m for m in index.matches(text) if m.key == "intake.days"]
    assert days and all(m.start > 10 for m in days)


def test_a_shared_text_is_read_in_the_persona_role(index: TemplateIndex) -> None:
    text = i18n.t("intake.toeleider.q.toeleider_name", "en")
    assert text == i18n.t("intake.parent.q.parent_name", "en")  # why the tie-break exists
    assert index.question(text, "toeleider").topic == "toeleider_name"
    assert index.question(text, "parent").topic == "parent_name"


def test_languages_of_a_message(index: TemplateIndex) -> None:
    assert index.languages(i18n.t("intake.parent.q.allergies", "en")) == {"en"}
    assert index.languages(i18n.t("places.q.location", "nl")) == {"nl"}
    assert index.languages("ok") == set()
    assert index.matches("something the assistant never says") == ()


def test_templates_from_a_given_catalog() -> None:
    index = TemplateIndex({"en": {"q.phone": "May we call you on {phone}? Answer 'yes'.",
                                  "label": "Yes"}})
    assert [m.key for m in index.matches("May we call you on +32 470? Answer 'yes'.")] == [
        "q.phone"]
    assert [m.key for m in index.matches("Yes")] == ["label"]  # short: only as a whole
    assert index.matches("Yes, of course") == ()


# --- matchers --------------------------------------------------------------------------------

def test_date_matchers() -> None:
    assert matches("child_birth", {"age_months": 8}, "2026-04-03", TODAY)
    assert matches("child_birth", {"age_months": 8}, "2026-05-03", TODAY)  # within 31 days
    assert not matches("child_birth", {"age_months": 8}, "2026-06-10", TODAY)
    assert matches("start", {"between": ["2027-03-01", "2027-03-31"]}, "2027-03-01", TODAY)
    assert not matches("start", {"between": ["2027-03-01", "2027-03-31"]}, "2027-04-01", TODAY)
    assert matches("start", "2027-03-01", "2027-03-01", TODAY)
    assert not matches("start", "2027-03-01", None, TODAY)


def test_value_matchers() -> None:
    assert matches("reason", ["work", "integration"], ["integration", "work"], TODAY)
    assert matches("reason", ["work"], "work", TODAY)
    assert not matches("reason", ["work", "integration"], "work", TODAY)
    assert matches("location", "Mechelen", {"municipality": "Mechelen", "postcode": "2800"},
                   TODAY)
    assert not matches("location", "Mechelen", {"municipality": "Leuven"}, TODAY)
    assert matches("parent_name", "Samira El Idrissi", "  samira el idrissi ", TODAY)
    assert not matches("parent_name", "Samira El Idrissi", "ik ben Samira El Idrissi", TODAY)
    assert matches("home_languages", {"contains": ["nederlands", "arabisch"]},
                   "Arabisch en Nederlands", TODAY)
    assert matches("allergies", {"contains": ["allergieen"]}, "geen allergieën", TODAY)
    assert not matches("health", {"not_contains": ["robot"]}, "ben jij een robot?", TODAY)
    assert matches("email", None, None, TODAY) and matches("email", None, "", TODAY)
    assert not matches("email", None, "geen email", TODAY)
    assert matches("family_consent", True, True, TODAY)
    assert not matches("family_consent", True, "ja", TODAY)


def _persona(**overrides: Any) -> Persona:
    fields: dict[str, Any] = dict(
        id="nl-99", lang="nl", today=TODAY, split="tune", role="parent", about="",
        open=("hallo",), said_up_front=frozenset(), goals=({"do": "register"},),
        knows={}, script={},
        expect={"role": "parent", "language": "nl",
                "request": {"child_name": "Adam", "email": None},
                "eligibility": {"priority": {"applicable": True, "groups_include": ["work"]}}})
    fields.update(overrides)
    return Persona(**fields)


def test_request_check_counts_right_wrong_and_misfiled() -> None:
    check = check_request(_persona(), {"consent": True, "child_name": "adam",
                                       "organisation": "ik werk in een fabriek", "email": None})
    assert (check.expected, check.right) == (2, 2)
    assert check.misfiled == {"organisation": "ik werk in een fabriek"}  # consent: bookkeeping
    check = check_request(_persona(), {"child_name": "Amira", "email": "x@y.be"})
    assert check.right == 0 and set(check.wrong) == {"child_name", "email"}


def test_eligibility_check() -> None:
    ok = {"priority": {"applicable": True, "groups": ["work", "low_income"]}}
    assert check_eligibility(_persona(), ok) == []
    wrong = {"priority": {"applicable": True, "groups": ["low_income"]}}
    assert check_eligibility(_persona(), wrong) == ["priority: ['work'] not in ['low_income']"]


# --- the persona files -----------------------------------------------------------------------

def _known_topics() -> set[str]:
    from bot.eligibility.rules import load_rules
    from bot.intake.dialogue import FIELDS

    return ({f.name for f in FIELDS} | set(load_rules().facts)
            | {"confirm", "phone_confirm", "role_check", "language", "change_which",
               "delete_confirm"})


def test_persona_files_follow_the_format() -> None:
    everyone = persona_files.load()
    langs = {p.lang for p in everyone}
    assert {"nl", "en"} <= langs
    topics = _known_topics()
    for lang in langs:
        mine = [p for p in everyone if p.lang == lang]
        assert len(mine) >= 30, lang
        assert len({p.today for p in mine}) == 1
        for p in mine:
            number = int(p.id.split("-")[1])
            assert (p.split == "heldout") == (number % 3 == 0), f"{p.id}: every third held out"
            dos = [g["do"] for g in p.goals]
            assert "register" in dos and {"check_priority", "check_reduced_rate"} & set(dos), p.id
            unknown = (set(p.knows) | p.said_up_front | set(p.script)) - topics
            assert not unknown, f"{p.id}: unknown topics {unknown}"
            assert p.request, p.id
            if p.role == "toeleider":
                assert p.request.get("family_consent") is True, p.id
                assert p.request.get("organisation"), p.id


def test_a_broken_persona_is_refused(tmp_path) -> None:
    (tmp_path / "nl.yml").write_text(
        "language: nl\ntoday: 2026-12-03\npersonas:\n  - id: nl-01\n    split: tune\n"
        "    role: parent\n    open: [hallo]\n    goals: [{do: register}]\n    knows: {}\n"
        "    expect: {role: parent, language: nl, request: {frequency: '7'}}\n",
        encoding="utf-8")
    with pytest.raises(persona_files.PersonaError, match="frequency"):
        persona_files.load(directory=tmp_path)


# --- a conversation against a scripted fake --------------------------------------------------

def q(key: str, lang: str = "nl") -> dict[str, Any]:
    return {"text": render(i18n.t(key, lang))}


class FakeAssistant:
    """Answers with ``script(message)``; stores what the test says it stored."""

    def __init__(self, script: Callable[[str], list[dict[str, Any]]],
                 stored: dict[str, Any] | None = None,
                 events: list[dict[str, Any]] | None = None,
                 facts: dict[str, Any] | None = None) -> None:
        self.script, self._stored, self.heard = script, stored, []
        self.events, self.facts = events or [], facts or {}

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        assert not sender.startswith("whatsapp:")
        self.heard.append(text)
        return self.script(text)

    def stored(self, sender: str) -> tuple[dict[str, Any] | None, int]:
        return self._stored, int(self._stored is not None)

    def tracker(self, sender: str) -> dict[str, Any]:
        return {"events": self.events, "slots": {"facts": self.facts}}


def talk(persona: Persona, bot: FakeAssistant, index: TemplateIndex) -> Result:
    return Conversation(persona, bot, index).run()  # type: ignore[arg-type]


GOOD = {"status": "new", "role": "parent", "language": "nl",
        "answers": {"consent": True, "child_name": "Adam"}}
WORKING = {"care_pricing": "income_related", "work_situation": "working"}


def test_answers_variants_reasks_and_dont_know(index: TemplateIndex) -> None:
    replies = iter([
        [q("intake.parent.q.child_name")],                       # after "hallo"
        [q("intake.invalid.name")],                              # re-ask without the question
        [q("intake.invalid.name"), q("intake.parent.q.child_name")],
        [q("intake.parent.q.health")],                           # the persona does not know
        [q("intake.parent.done")],
    ])
    persona = _persona(knows={"child_name": ("Adam", "Adam Benali")})
    bot = FakeAssistant(lambda _: next(replies), GOOD, facts=WORKING)
    result = talk(persona, bot, index)
    assert bot.heard == ["hallo", "Adam", "Adam Benali", "Adam Benali", DONT_KNOW["nl"]]
    assert (result.reasks, result.unknown_questions, result.turns) == (2, 1, 5)
    assert result.minimum == 3  # hallo + child_name + health
    assert result.fully_right, result.failures


def test_script_first_then_the_answer_without_counting_a_reask(index: TemplateIndex) -> None:
    def bot_says(text: str) -> list[dict[str, Any]]:
        if text == "hallo":
            return [q("intake.parent.q.allergies")]
        if text == "nee sorry, 4 dagen":
            return [q("bot_challenge"), q("intake.parent.q.allergies")]
        return [q("intake.parent.done")]

    persona = _persona(knows={"allergies": ("geen",)},
                       script={"allergies": "nee sorry, 4 dagen"})
    bot = FakeAssistant(bot_says, GOOD, facts=WORKING)
    result = talk(persona, bot, index)
    assert bot.heard == ["hallo", "nee sorry, 4 dagen", "geen"]
    assert result.reasks == 0 and result.minimum == 3 and result.fully_right


def test_said_up_front_and_goals(index: TemplateIndex) -> None:
    def bot_says(text: str) -> list[dict[str, Any]]:
        if text == "ik zoek opvang in mechelen":
            return [q("places.q.location")]  # asked although it was said
        if text == "mechelen":
            return [q("places.after_results")]  # nothing asked: the goal is done
        return [q("anything_else")]

    persona = _persona(open=("ik zoek opvang in mechelen",), said_up_front=frozenset(
        {"location"}), goals=({"do": "find_place"}, {"do": "register", "say": "inschrijven"}),
        knows={"location": ("mechelen",)})
    bot = FakeAssistant(bot_says, GOOD, facts=WORKING)
    result = talk(persona, bot, index)
    assert bot.heard == ["ik zoek opvang in mechelen", "mechelen", "inschrijven"]
    assert result.reasks == 1 and result.minimum == 2


def test_a_loop_ends_and_fails(index: TemplateIndex) -> None:
    bot = FakeAssistant(lambda _: [q("intake.invalid.reason"), q("intake.parent.q.reason")],
                        GOOD, facts=WORKING)
    result = talk(_persona(knows={"reason": ("ik werk",)}), bot, index)
    assert result.stuck and not result.fully_right
    assert len(bot.heard) == GIVE_UP and result.reasks == GIVE_UP - 1


def test_flips_misfiled_draft_and_eligibility_fail_a_persona(index: TemplateIndex) -> None:
    stored = {"status": "draft", "role": "toeleider", "language": "nl",
              "answers": {"child_name": "Adam", "organisation": "fabriek"}}
    events = [{"event": "slot", "name": "role", "value": "toeleider"},
              {"event": "slot", "name": "language", "value": "nl"}]
    replies = iter([[q("greet.welcome")], [q("intake.parent.q.child_name", "ar")],
                    [q("greet.again")]])
    persona = _persona(open=("hallo", "ik werk in een fabriek"),
                       goals=({"do": "register", "say": "inschrijven"},),
                       knows={"child_name": ("Adam",)})
    result = talk(persona, FakeAssistant(lambda _: next(replies), stored, events, facts={}),
                  index)
    assert result.role_flip and result.language_flip and not result.fully_right
    assert result.misfiled == {"organisation": "fabriek"}
    assert "request not confirmed (draft)" in result.failures
    assert any(f.startswith("priority") for f in result.failures)
    report = failure_report([result])
    assert "nl-99" in report and "ik werk in een fabriek" in report
    held_out = Result(**{**result.__dict__, "split": "heldout"})
    assert failure_report([held_out]) == ""  # held-out conversations are never shown
    row = summary([result, held_out])[0]
    assert (row["lang"], row["split"], row["role_flips"], row["fully_right_pct"]) == (
        "nl", "tune", 1, 0.0)


# --- the real assistant: a fixed subset must be fully right ----------------------------------

@pytest.fixture(scope="module")
def subset_results() -> Iterator[tuple[dict[str, Result], str]]:
    chosen = [p for p in persona_files.load() if p.id in SUBSET]
    missing = set(SUBSET) - {p.id for p in chosen}
    assert not missing, f"personas of the subset not found: {sorted(missing)}"
    with Assistant(chosen[0].today.isoformat()) as assistant:
        results = run_personas(chosen, assistant)
        problems = _logged_problems(assistant.served.log_tail(200_000))
    yield {r.id: r for r in results}, problems


def _logged_problems(log: str, limit: int = 6000) -> str:
    """The assistant's logged errors and tracebacks, so a failure in CI says what went wrong
    inside the assistant (its log folder is gone once the test ends)."""
    lines = log.splitlines()
    keep = [i for i, line in enumerate(lines)
            if any(w in line for w in ("Traceback", "ERROR", "Exception", "exception"))]
    shown = sorted({j for i in keep for j in range(max(0, i - 2), min(len(lines), i + 12))})
    return "\n".join(lines[j] for j in shown)[-limit:]


# A regression floor, like the held-out NLU accuracy floors: the subset's figure when this
# floor was set (16 of 18; the two that fail are ar-02, a Darija "safi bghit nsejlo" the
# classifier does not take for a registration, and tr-02). Raise it as the assistant improves;
# `make converse-eval` reports the full figures.
SUBSET_FULLY_RIGHT_FLOOR = 16


@pytest.mark.e2e
def test_subset_is_right_and_never_flips_or_misfiles(
        subset_results: tuple[dict[str, Result], str]) -> None:
    by_id, logged = subset_results
    results = [by_id[p] for p in SUBSET]
    fully_right = sum(r.fully_right for r in results)
    failing = [r for r in results if not r.fully_right]
    report = failure_report(failing) + "\nthe assistant's logged problems:\n" + logged
    assert fully_right >= SUBSET_FULLY_RIGHT_FLOOR, report
    # whatever else fails, nobody is switched to another role or language, and no answer is
    # stored in a field it does not belong to
    assert not [r.id for r in results if r.role_flip or r.language_flip or r.misfiled], report


def test_a_later_goal_without_words_is_asked_in_plain_words() -> None:
    from tests.converse.runner import goal_words

    assert goal_words({"do": "register"}, 0, "parent", "nl") is None  # the opening asks it
    assert goal_words({"do": "check_priority", "say": "voorrang?"}, 1, "parent", "nl") == \
        "voorrang?"
    assert goal_words({"do": "check_priority"}, 1, "toeleider", "fr") == \
        "la famille a-t-elle la priorité ?"
    for role in ("parent", "toeleider"):
        for goal in ("check_priority", "check_reduced_rate", "register", "find_place"):
            for lang in i18n.SUPPORTED:
                assert goal_words({"do": goal}, 2, role, lang)
