"""The eligibility conversation without Rasa: what is asked, how answers are read, what is said."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from bot import i18n
from bot.eligibility import dialogue

TODAY = date(2026, 11, 25)
DATE = re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{4}\b")  # d/m/y or d.m.y, by locale


def test_first_question_is_the_pricing_gate() -> None:
    assert dialogue.next_question("priority", {}, [], TODAY) == "care_pricing"


def test_free_price_settles_at_once() -> None:
    assert dialogue.next_question("priority", {"care_pricing": "free_price"}, [], TODAY) is None


def test_work_settles_priority_without_more_questions() -> None:
    facts = {"care_pricing": "income_related", "work_situation": "working"}
    assert dialogue.next_question("priority", facts, [], TODAY) is None


def test_a_group_priority_still_asks_whether_it_is_absolute() -> None:
    # a single mother has priority; whether she works or follows Dutch lessons decides if her
    # request must be looked at first
    facts = {"care_pricing": "income_related", "single_parent": True}
    assert dialogue.next_question("priority", facts, [], TODAY) == "work_situation"
    assert dialogue.next_question("priority", {**facts, "work_situation": "none"}, [],
                                  TODAY) is None
    assert dialogue.next_question("priority", facts, ["work_situation"], TODAY) is None


def test_declined_questions_are_not_asked_again() -> None:
    first = dialogue.next_question("priority", {}, [], TODAY)
    second = dialogue.next_question("priority", {}, [first], TODAY)
    assert second and second != first


def test_unknown_pricing_is_not_false() -> None:
    # "I don't know" on pricing: the check goes on as if income-related
    assert dialogue.next_question("priority", {}, ["care_pricing"], TODAY) == "work_situation"


def test_question_has_numbered_choices_and_dont_know() -> None:
    reply = dialogue.question("work_situation", "parent", "nl")
    assert reply.text == i18n.t("eligibility.parent.q.work_situation", "nl")
    assert len(reply.buttons) == 6
    assert reply.buttons[-1].title == i18n.t("answer.dont_know", "nl")


def test_toeleider_is_asked_about_the_family() -> None:
    assert (dialogue.question("single_parent", "toeleider", "en").text
            == i18n.t("eligibility.toeleider.q.single_parent", "en"))
    assert "family" in dialogue.question("single_parent", "toeleider", "en").text


def test_low_income_question_shows_the_threshold() -> None:
    assert "27.000" in dialogue.question("low_income", "parent", "nl").text


@pytest.mark.parametrize(
    ("fact", "text", "intent", "entities", "expected"),
    [
        ("single_parent", "ja", "affirm", [], True),
        ("single_parent", "nee hoor", "deny", [], False),
        ("single_parent", "2", "inform", [], False),
        ("single_parent", "3", "inform", [], dialogue.UNKNOWN),
        ("single_parent", "ik weet het niet", "inform", [], dialogue.UNKNOWN),
        ("work_situation", "werk zoeken", "inform", [], "job_seeking"),
        ("work_situation", "/inform", "inform",
         [{"entity": "fact_value", "value": json.dumps("integration_course")}],
         "integration_course"),
    ],
)
def test_reading_answers(fact, text, intent, entities, expected) -> None:
    answer = dialogue.interpret(fact, text, intent, entities, "nl")
    assert answer.understood and answer.value == expected


@pytest.mark.parametrize("text", ["blabla", "9", "misschien morgen"])
def test_unclear_answers_are_not_guessed(text: str) -> None:
    assert not dialogue.interpret("single_parent", text, "inform", [], "nl").understood


def test_absolute_priority_outcome_names_the_reason_and_is_an_indication() -> None:
    facts = {"care_pricing": "income_related", "work_situation": "working"}
    replies = dialogue.outcome("priority", facts, "parent", "en", TODAY)
    text = "\n".join(r.text for r in replies)
    assert i18n.t("eligibility.group.work", "en") in text
    assert "indication" in replies[-1].text
    assert "30/4/2025" in replies[-1].text  # the rules in force since the court ruling


def test_free_price_explains_the_allowance_with_its_date() -> None:
    replies = dialogue.outcome("priority", {"care_pricing": "free_price"}, "parent", "nl", TODAY)
    assert "€ 3,50" in replies[0].text and DATE.search(replies[0].text)


def test_leefloon_route() -> None:
    facts = {"care_pricing": "income_related", "receives_leefloon": True}
    replies = dialogue.outcome("reduced_rate", facts, "parent", "fr", TODAY)
    # requested on Mijn Kind en Gezin: the loket can do it for a family without eID
    assert replies[1].text == (i18n.t("eligibility.parent.route.leefloon", "fr") + "\n"
                               + i18n.t("eligibility.parent.no_eid", "fr"))


SCENARIOS = [
    ("priority", {"care_pricing": "free_price"}),
    ("priority", {"care_pricing": "income_related", "work_situation": "working"}),
    ("priority", {"care_pricing": "income_related", "work_situation": "none",
                  "foster_child": False, "sibling_in_location": False, "single_parent": False,
                  "low_income": False, "region": "flanders"}),
    ("reduced_rate", {"care_pricing": "income_related", "cannot_afford_income_tariff": True}),
    ("reduced_rate", {"care_pricing": "free_price"}),
    ("reduced_rate", {"care_pricing": "income_related", "foster_child": False,
                      "receives_leefloon": False, "income_dropped_20pct_3_months": False,
                      "cannot_afford_income_tariff": False}),
]


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
@pytest.mark.parametrize("role", ["parent", "toeleider"])
@pytest.mark.parametrize(("check", "facts"), SCENARIOS)
def test_every_figure_shown_carries_a_date(check, facts, role, lang) -> None:
    for reply in dialogue.outcome(check, facts, role, lang, TODAY):
        for line in reply.text.split("\n"):
            if "€" in line:
                assert DATE.search(line), f"{lang}: figure without a date: {line}"


def test_price_explanation_figure_has_a_date() -> None:
    from bot import care_info

    for lang in i18n.SUPPORTED:
        texts = [r.text for r in care_info.explain_price(lang)]
        assert any("€" in t and DATE.search(t) for t in texts), lang


def test_a_partner_after_single_parent_is_a_conflict_to_ask_about() -> None:
    facts = {"single_parent": True}
    assert dialogue.conflicting_fact("nee, mijn man werkt voltijds", facts) == "single_parent"
    assert dialogue.conflicting_fact("my husband works", facts) == "single_parent"
    assert dialogue.conflicting_fact("mijn man werkt", {"single_parent": False}) is None
    assert dialogue.conflicting_fact("ik werk halftijds", facts) is None
    reply = dialogue.conflict_question("single_parent", "parent", "nl")
    assert reply.text == i18n.t("conflict.parent.single_parent", "nl")
    assert [b.title for b in reply.buttons] == [i18n.t("conflict.option.single_parent.true", "nl"),
                                               i18n.t("conflict.option.single_parent.false", "nl")]


# ------------------------------------------- the loket and the attest; the providers' rules

INCOME_WORK = {"care_pricing": "income_related", "work_situation": "working"}


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
@pytest.mark.parametrize("role", ["parent", "toeleider"])
def test_priority_names_the_loket_for_the_attest_and_offers_a_person(role, lang) -> None:
    replies = dialogue.outcome("priority", INCOME_WORK, role, lang, TODAY)
    text = "\n".join(r.text for r in replies)
    assert "Mijn Opgroeien" in text
    if role == "toeleider":
        assert "Medewerker Lokaal Loket Kinderopvang" in text
    assert [b.payload for b in replies[-1].buttons] == ["/request_human"]
    assert "30/4/2025" in replies[-1].text or "30.4.2025" in replies[-1].text


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_priority_says_each_provider_has_its_rules_and_the_residents_rule(lang) -> None:
    replies = dialogue.outcome("priority", INCOME_WORK, "parent", lang, TODAY)
    texts = [r.text for r in replies]
    # after the outcome; together, or one message each where both do not fit one SMS
    notes = "\n\n".join(texts[1:])
    assert i18n.t("eligibility.house_rules", lang) in notes
    assert i18n.t("eligibility.own_residents", lang) in notes
    assert i18n.t("eligibility.house_rules", lang) not in texts[0]


def test_the_providers_rules_come_with_the_rules_in_force() -> None:
    """The notes belong to the restored rules (model household rules of 16-02-2026): not said
    for a date under the annulled 2024 rules."""
    texts = [r.text for r in dialogue.outcome("priority", INCOME_WORK, "parent", "nl",
                                              date(2024, 6, 1))]
    assert not any(i18n.t("eligibility.house_rules", "nl") in t for t in texts)


def test_free_price_offers_no_attest_help() -> None:
    replies = dialogue.outcome("priority", {"care_pricing": "free_price"}, "parent", "en", TODAY)
    assert not any(r.buttons for r in replies)
    assert not any("Mijn Opgroeien" in r.text for r in replies)


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
@pytest.mark.parametrize("role", ["parent", "toeleider"])
def test_price_ends_with_the_loket_attest_path_and_a_person(role, lang) -> None:
    from bot import care_info

    last = care_info.explain_price(lang, TODAY, role=role, more=True)[-1]  # "more about it"
    assert last.text == i18n.t(f"attest.{role}", lang) and "Mijn Opgroeien" in last.text
    assert [b.payload for b in last.buttons] == ["/request_human"]


@pytest.mark.parametrize("text, lang, expected", [
    ("ми отримуємо допомогу від OCMW, не знаю чи це leefloon", "uk", dialogue.UNKNOWN),
    ("I get money from the OCMW but I dont know if it is leefloon", "en", dialogue.UNKNOWN),
    ("ja, maar ik weet niet hoeveel", "nl", True),
    ("oui je touche le revenu d'integration", "fr", True),
])
def test_a_yes_no_answer_that_says_it_does_not_know_is_unknown(text, lang, expected) -> None:
    answer = dialogue.interpret("receives_leefloon", text, "inform", [], lang)
    assert answer.understood and answer.value == expected
