"""Eligibility engine over the dated rules in data/eligibility (table-driven)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.eligibility import (
    FactError,
    NoRulesError,
    amount_on,
    answer_spec,
    answer_values,
    choice_value,
    contradictions,
    evaluate,
    load_rules,
    next_fact,
)
from bot.eligibility.rules import RULES_DIR, RulesDataError

OLD = date(2020, 6, 1)  # pre-2024 rules
ANNULLED = date(2024, 10, 1)  # 2024 rules
RESTORED = date(2025, 9, 1)  # restored pre-2024 rules
IKT = {"care_pricing": "income_related"}
ALL_NO = {  # income-related care, every fact known and negative
    **IKT, "region": "flanders", "work_situation": "none", "single_parent": False,
    "low_income": False, "foster_child": False, "sibling_in_location": False,
    "health_or_care_situation": False, "no_secondary_diploma": False, "dutch_speaking": False,
    "receives_leefloon": False, "income_dropped_20pct_3_months": False,
    "cannot_afford_income_tariff": False,
}


def prio(facts: dict[str, Any], on: date) -> dict[str, Any]:
    return evaluate(facts, on)["priority"]


# ------------------------------------------------------------------ rule sets and boundaries

@pytest.mark.parametrize("on, rule_id", [
    (date(2014, 4, 1), "voorrang-2014"),
    (date(2024, 3, 31), "voorrang-2014"),
    (date(2024, 4, 1), "voorrang-2024"),
    (date(2025, 4, 29), "voorrang-2024"),
    (date(2025, 4, 30), "voorrang-2025-restored"),
    (date(2026, 11, 25), "voorrang-2025-restored"),
])
def test_rule_set_boundaries(on: date, rule_id: str) -> None:
    result = evaluate({}, on)
    assert result["rules"]["id"] == rule_id
    assert result["rules"]["valid_from"] and result["rules"]["source"].startswith("http")
    assert result["indication"] is True and result["last_checked"]


def test_annulled_set_is_marked() -> None:
    rules = evaluate({}, ANNULLED)["rules"]
    assert rules["status"] == "annulled" and rules["annulled_on"] == "2025-04-30"
    assert evaluate({}, RESTORED)["rules"]["status"] == "in_force"


def test_before_any_rules_is_an_error() -> None:
    with pytest.raises(NoRulesError):
        evaluate({}, date(2010, 1, 1))
    assert issubclass(NoRulesError, ValueError)


WORK_PART_TIME = {**IKT, "work_situation": "working", "work_fraction": 0.6}


@pytest.mark.parametrize("on, facts, absolute, groups", [
    # Part-time work: absolute priority before and after the 2024 rules, not under them.
    (date(2024, 3, 31), WORK_PART_TIME, True, ["work"]),
    (date(2024, 4, 1), {**WORK_PART_TIME, "foster_child": False, "sibling_in_location": False},
     False, []),
    (date(2025, 4, 29), {**WORK_PART_TIME, "foster_child": False,
                         "sibling_in_location": False}, False, []),
    (date(2025, 4, 30), WORK_PART_TIME, True, ["work"]),
    # 4/5 on average (3/5 + 5/5) qualifies in 2024; job seeking does not.
    (ANNULLED, {**IKT, "work_situation": "working", "work_fraction": (0.6 + 1.0) / 2},
     True, ["work"]),
    (ANNULLED, {**IKT, "work_situation": "integration_course", "work_fraction": 1.0},
     True, ["work"]),
    (ANNULLED, {**IKT, "work_situation": "job_seeking", "foster_child": False,
                "sibling_in_location": False}, False, []),
    (RESTORED, {**IKT, "work_situation": "job_seeking"}, True, ["work"]),
    (OLD, {**IKT, "work_situation": "vocational_training"}, True, ["work"]),
    (RESTORED, {**IKT, "work_situation": "integration_course"}, True, ["work"]),
    # Siblings and foster children: absolute in 2024, ordinary groups otherwise.
    (ANNULLED, {**IKT, "sibling_in_location": True}, True, ["sibling"]),
    (ANNULLED, {**IKT, "foster_child": True}, True, ["foster_child"]),
    (RESTORED, {**IKT, "work_situation": "none", "sibling_in_location": True}, False,
     ["sibling"]),
    (OLD, {**IKT, "work_situation": "none", "foster_child": True, "single_parent": True},
     False, ["single_parent", "foster_child"]),
    (RESTORED, {**IKT, "work_situation": "none", "low_income": True}, False, ["low_income"]),
])
def test_priority_outcomes(on: date, facts: dict, absolute: bool, groups: list[str]) -> None:
    result = prio(facts, on)
    assert result["absolute"] is absolute
    assert result["groups"] == groups
    if groups:
        assert result["applicable"] is True


@pytest.mark.parametrize("on", [OLD, ANNULLED, RESTORED])
def test_all_negative_facts_give_no_priority_and_nothing_to_ask(on: date) -> None:
    result = evaluate({**ALL_NO, "work_fraction": 0.0}, on)
    assert result["priority"]["applicable"] is False
    assert result["priority"]["absolute"] is False
    assert result["priority"]["vulnerable_family"] is False
    assert result["reduced_rate"]["applicable"] is False
    assert result["missing_facts"] == []


# ------------------------------------------------------------------ unknown is not false

@pytest.mark.parametrize("on, facts, absolute, applicable", [
    (RESTORED, {}, None, None),
    (RESTORED, {**IKT, "work_situation": "none"}, False, None),
    (ANNULLED, {**IKT, "work_situation": "working"}, None, None),  # fraction unknown
    (ANNULLED, {**IKT, "work_situation": "working", "work_fraction": 0.5}, None, None),
])
def test_unknown_is_not_false(on: date, facts: dict, absolute: Any, applicable: Any) -> None:
    result = prio(facts, on)
    assert result["absolute"] is absolute
    assert result["applicable"] is applicable


def test_null_fact_is_unknown() -> None:
    assert evaluate({"single_parent": None}, RESTORED) == evaluate({}, RESTORED)


@pytest.mark.parametrize("on, facts, missing", [
    # Restored rules: work_fraction never matters; region only for the Brussels group.
    (RESTORED, {**IKT, "work_situation": "working"}, None),
    (ANNULLED, {**IKT, "work_situation": "working"}, "work_fraction"),
])
def test_work_fraction_relevance(on: date, facts: dict, missing: str | None) -> None:
    assert ("work_fraction" in evaluate(facts, on)["missing_facts"]) is (missing is not None)


@pytest.mark.parametrize("on, facts, expected", [
    (RESTORED, {}, ["care_pricing", "work_situation", "foster_child", "sibling_in_location",
                    "single_parent", "low_income", "receives_leefloon",
                    "income_dropped_20pct_3_months", "health_or_care_situation",
                    "no_secondary_diploma", "region", "dutch_speaking",
                    "cannot_afford_income_tariff"]),
    (ANNULLED, {}, ["care_pricing", "work_situation", "work_fraction", "foster_child",
                    "sibling_in_location", "receives_leefloon",
                    "income_dropped_20pct_3_months", "health_or_care_situation",
                    "cannot_afford_income_tariff"]),
    # Job seeking in 2024: fraction irrelevant.
    (ANNULLED, {**IKT, "work_situation": "job_seeking", "foster_child": False,
                "sibling_in_location": False},
     ["receives_leefloon", "income_dropped_20pct_3_months", "health_or_care_situation",
      "cannot_afford_income_tariff"]),
    # Absolute priority in 2024: the derogation ground no longer matters.
    (ANNULLED, {**ALL_NO, "foster_child": True, "health_or_care_situation": None}, []),
    # Flanders: dutch_speaking irrelevant; not Dutch-speaking: region irrelevant.
    (RESTORED, {**ALL_NO, "dutch_speaking": None}, []),
    (RESTORED, {**ALL_NO, "region": None}, []),
    (RESTORED, {**ALL_NO, "region": "brussels", "dutch_speaking": None}, ["dutch_speaking"]),
])
def test_missing_facts_are_exactly_the_relevant_ones(on: date, facts: dict,
                                                     expected: list[str]) -> None:
    assert evaluate(facts, on)["missing_facts"] == expected


# ------------------------------------------------------------------ pricing gate

def test_free_price_is_not_applicable_and_points_to_the_supplement() -> None:
    result = evaluate({"care_pricing": "free_price", "foster_child": True,
                       "work_situation": "working"}, RESTORED)
    for check in ("priority", "reduced_rate"):
        assert result[check]["applicable"] is False
        assert result[check]["reason"] == "free_price"
        assert result[check]["instead"] == "kinderopvangtoeslag"
    assert result["priority"]["groups"] == [] and result["reduced_rate"]["routes"] == []
    assert result["missing_facts"] == []
    supplement = result["kinderopvangtoeslag"]
    assert supplement["amount"] == 3.50 and supplement["uncertain"] is False
    assert supplement["date_estimated"] is True and supplement["outdated"] is True
    assert supplement["source"].startswith("http")


def test_unknown_pricing_is_evaluated_as_income_related_but_asked_first() -> None:
    facts = {"foster_child": True, "work_situation": "working"}
    result = evaluate(facts, RESTORED)
    assert result["priority"]["absolute"] is True
    assert result["reduced_rate"]["routes"] == ["foster_child"]
    assert result["missing_facts"][0] == "care_pricing"
    assert "kinderopvangtoeslag" in result
    assert "kinderopvangtoeslag" not in evaluate({**facts, **IKT}, RESTORED)


# ------------------------------------------------------------------ Brussels

@pytest.mark.parametrize("on, facts, in_group", [
    (RESTORED, {**IKT, "region": "brussels", "dutch_speaking": True}, True),
    (OLD, {**IKT, "region": "brussels", "dutch_speaking": True}, True),
    (RESTORED, {**IKT, "region": "flanders", "dutch_speaking": True}, False),
    (RESTORED, {**IKT, "region": "brussels", "dutch_speaking": False}, False),
    (ANNULLED, {**IKT, "region": "brussels", "dutch_speaking": True}, False),
])
def test_brussels_dutch_speaking_priority(on: date, facts: dict, in_group: bool) -> None:
    result = prio(facts, on)
    assert ("dutch_speaking_brussels" in result["groups"]) is in_group
    if on != ANNULLED:
        assert result["shares"]["dutch_speaking_brussels_max"] == 0.55


# ------------------------------------------------------------------ vulnerable family

TRAIT_FACTS = {
    1: {"work_situation": "working"},
    2: {"single_parent": True},
    3: {"low_income": True},
    4: {"health_or_care_situation": True},
    5: {"no_secondary_diploma": True},
}
NO_TRAITS = {**IKT, "work_situation": "none", "single_parent": False, "low_income": False,
             "health_or_care_situation": False, "no_secondary_diploma": False}


@pytest.mark.parametrize("traits, expected", [
    ((), False),
    ((3,), False),  # one trait is not enough
    ((1, 2), False),  # two traits, but none of 3, 4, 5
    ((1, 3), True),
    ((2, 4), True),
    ((1, 5), True),
    ((3, 4), True),
    ((1, 2, 5), True),
])
@pytest.mark.parametrize("on", [OLD, RESTORED])
def test_vulnerable_family_two_of_five_with_one_of_three_four_five(
        on: date, traits: tuple[int, ...], expected: bool) -> None:
    facts = dict(NO_TRAITS)
    for trait in traits:
        facts.update(TRAIT_FACTS[trait])
    result = prio(facts, on)
    assert result["vulnerable_family"] is expected
    assert len(result["vulnerable_family_traits"]) == len(traits)
    assert result["shares"]["vulnerable_family_min"] == 0.20


@pytest.mark.parametrize("facts, expected, asked", [
    # Traits 1 and 2 known; any of 3, 4, 5 decides.
    ({**IKT, "work_situation": "working", "single_parent": True}, None,
     {"low_income", "health_or_care_situation", "no_secondary_diploma"}),
    # Traits 1 and 2 false, 3 and 4 false: 5 alone can never make two traits.
    ({**NO_TRAITS, "no_secondary_diploma": None}, False, set()),
    # Only trait 3: one more of any trait decides.
    ({**IKT, "low_income": True}, None,
     {"work_situation", "single_parent", "health_or_care_situation", "no_secondary_diploma"}),
])
def test_vulnerable_family_unknowns(facts: dict, expected: Any, asked: set[str]) -> None:
    result = evaluate(facts, RESTORED)
    assert result["priority"]["vulnerable_family"] is expected
    trait_facts = {"work_situation", "single_parent", "low_income", "health_or_care_situation",
                   "no_secondary_diploma"}
    assert asked <= set(result["missing_facts"])
    if expected is False:
        assert not (trait_facts & set(result["missing_facts_by_check"]["priority"]))


def test_no_vulnerable_family_share_under_2024_rules_but_a_derogation() -> None:
    result = prio({**IKT, "work_situation": "job_seeking", "foster_child": False,
                   "sibling_in_location": False, "health_or_care_situation": True}, ANNULLED)
    assert result["vulnerable_family"] is False
    assert result["derogation"]["share_max"] == 0.10
    assert result["derogation"]["ground"] is True


# ------------------------------------------------------------------ low-income threshold

@pytest.mark.parametrize("facts, low_income", [
    ({"household_taxable_income": 20000}, True),
    ({"household_taxable_income": 27000}, False),
    ({"household_taxable_income": 50000, "low_income": True}, True),  # the answer wins
    ({"household_taxable_income": 10000, "low_income": False}, False),
])
def test_low_income_from_taxable_income(facts: dict, low_income: bool) -> None:
    result = evaluate({**IKT, "work_situation": "none", **facts}, RESTORED)
    assert ("low_income" in result["priority"]["groups"]) is low_income
    assert "low_income" not in result["missing_facts"]
    if "low_income" not in facts:
        threshold = result["derived"]["low_income"]["threshold"]
        assert threshold["amount"] == 27000 and threshold["uncertain"] is True
    else:
        assert "low_income" not in result["derived"]


# ------------------------------------------------------------------ reduced rate (IVT)

@pytest.mark.parametrize("facts, applicable, routes", [
    ({"foster_child": True}, True, ["foster_child"]),
    ({"income_dropped_20pct_3_months": True}, True, ["income_drop"]),
    ({"receives_leefloon": True}, True, ["leefloon"]),
    ({"cannot_afford_income_tariff": True}, True, ["ocmw"]),
    ({"receives_leefloon": True, "cannot_afford_income_tariff": True}, True,
     ["leefloon", "ocmw"]),
    ({"foster_child": False, "income_dropped_20pct_3_months": False,
      "receives_leefloon": False, "cannot_afford_income_tariff": False}, False, []),
    ({"foster_child": False}, None, []),
    ({}, None, []),
])
@pytest.mark.parametrize("on", [OLD, ANNULLED, RESTORED])
def test_reduced_rate_routes(on: date, facts: dict, applicable: Any, routes: list) -> None:
    result = evaluate({**IKT, **facts}, on)["reduced_rate"]
    assert result["applicable"] is applicable
    assert result["routes"] == routes


def test_reduced_rate_route_details() -> None:
    details = evaluate(IKT, RESTORED)["reduced_rate"]["route_details"]
    for route in ("foster_child", "income_drop", "leefloon"):
        assert details[route]["request_via"] == "mijn_kind_en_gezin"
    assert details["ocmw"]["request_via"] == "ocmw"
    assert details["ocmw"]["decision_valid_months"] == 12
    assert "bank_statements_last_3_months" in details["ocmw"]["bring"]


def test_reduced_rate_missing_facts_only_for_open_routes() -> None:
    result = evaluate({**IKT, "receives_leefloon": False, "foster_child": False}, RESTORED)
    assert result["missing_facts_by_check"]["reduced_rate"] == [
        "income_dropped_20pct_3_months", "cannot_afford_income_tariff"]


# ------------------------------------------------------------------ amounts on a date

@pytest.mark.parametrize("on, standard, lowest, valid_from, outdated", [
    (date(2015, 6, 1), 5.00, 1.56, "2015-05-01", False),
    (date(2018, 3, 1), 5.15, 1.62, "2018-01-01", False),
    (date(2019, 3, 1), 5.15, 1.62, "2018-01-01", True),  # 2019 not found: flagged
    (date(2024, 1, 1), 6.24, 1.97, "2024-01-01", False),
    # the 2022 figures are uncertain: kept, not quoted; the 2020 ones are, flagged
    (date(2023, 12, 31), 5.32, 1.67, "2020-01-01", True),
    (date(2026, 11, 25), 6.24, 1.97, "2024-01-01", True),
])
def test_ocmw_amounts_on_a_date(on: date, standard: float, lowest: float, valid_from: str,
                                outdated: bool) -> None:
    amounts = evaluate(IKT, on)["reduced_rate"]["amounts"]
    ocmw = amounts["ocmw_tariff"]
    assert (ocmw["standard_minimum"], ocmw["lowest_possible"]) == (standard, lowest)
    assert ocmw["valid_from"] == valid_from
    assert ocmw["source"].startswith("http")
    assert ocmw["outdated"] is outdated
    assert isinstance(ocmw["uncertain"], bool)
    assert amounts["ikt_tariff"]["source"].startswith("http")


def test_2022_and_brugge_figures_are_uncertain() -> None:
    quoted = amount_on("ocmw_tariff", date(2022, 6, 1))
    assert quoted["valid_from"] == "2020-01-01" and quoted["uncertain"] is False
    assert quoted["unconfirmed_newer"] == ["2022-01-01"]
    entry = amount_on("ocmw_tariff", date(2024, 6, 1))
    assert entry["uncertain"] is False
    assert [f["amount"] for f in entry["unclear_figures"]] == [3.74]
    assert entry["unclear_figures"][0]["uncertain"] is True
    assert amount_on("ikt_tariff", date(2024, 6, 1))["minimum"] == 6.24


def test_amount_before_first_entry_is_none() -> None:
    assert amount_on("ocmw_tariff", date(2014, 6, 1)) is None
    with pytest.raises(KeyError):
        amount_on("no_such_table", RESTORED)


def _dated_figures(node: Any, nearest: dict | None, path: str) -> list[tuple[str, dict | None]]:
    """Every number in a data file with the nearest enclosing mapping that has a valid_from."""
    found: list[tuple[str, dict | None]] = []
    if isinstance(node, dict):
        here = node if "valid_from" in node else nearest
        for key, value in node.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append((f"{path}.{key}", here))
            else:
                found += _dated_figures(value, here, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found.append((f"{path}[{i}]", nearest))
            else:
                found += _dated_figures(value, nearest, f"{path}[{i}]")
    return found


@pytest.mark.parametrize("name", ["amounts.yml", "voorrang.yml", "ivt.yml"])
def test_every_figure_has_a_date_and_a_source(name: str) -> None:
    data = yaml.safe_load((RULES_DIR / name).read_text(encoding="utf-8"))
    figures = _dated_figures(data, None, name)
    assert figures, "expected figures in the file"
    for path, owner in figures:
        assert owner is not None, f"{path} has no valid_from"
        assert isinstance(owner["valid_from"], date), path
        sources = owner.get("sources") or [owner.get("source")]
        assert all(isinstance(s, str) and s.startswith("http") for s in sources), path


def test_every_amount_entry_is_dated_sourced_and_flagged() -> None:
    data = yaml.safe_load((RULES_DIR / "amounts.yml").read_text(encoding="utf-8"))
    for name, table in data["tables"].items():
        for entry in table["entries"]:
            assert isinstance(entry["valid_from"], date), name
            assert entry["source"].startswith("http"), name
            if entry.get("date_estimated"):
                assert entry.get("note"), f"{name}: an estimated date needs a note"
    newest_supplement = data["tables"]["kinderopvangtoeslag"]["entries"][-1]
    assert newest_supplement["amount"] == 3.50 and newest_supplement["date_estimated"] is True
    assert data["tables"]["low_income_threshold"]["entries"][-1]["uncertain"] is True


def test_rule_sets_carry_metadata() -> None:
    rules = load_rules()
    for rule_set in (*rules.priority, *rules.reduced_rate):
        assert rule_set.sources and rule_set.last_checked and rule_set.note
        assert rule_set.status in ("in_force", "superseded", "annulled")
    restored = rules.priority[-1]
    assert restored.valid_to is None and "opgroeien.be" in restored.sources[0]


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize("facts, fragment", [
    ({"colour": "red"}, "unknown fact"),
    ({"single_parent": "yes"}, "true or false"),
    ({"single_parent": 1}, "true or false"),
    ({"work_situation": "student"}, "one of"),
    ({"care_pricing": True}, "one of"),
    ({"work_fraction": 1.5}, "at most 1"),
    ({"work_fraction": -0.1}, "at least 0"),
    ({"work_fraction": "0.8"}, "number"),
    ({"work_fraction": True}, "number"),
    ({"household_taxable_income": float("nan")}, "number"),
    (["single_parent"], "JSON object"),
])
def test_invalid_facts(facts: Any, fragment: str) -> None:
    with pytest.raises(FactError, match=fragment):
        evaluate(facts, RESTORED)
    assert issubclass(FactError, ValueError)


def test_bad_data_file_is_reported(tmp_path: Path) -> None:
    for name in ("facts.yml", "amounts.yml", "ivt.yml", "voorrang.yml"):
        (tmp_path / name).write_text((RULES_DIR / name).read_text(encoding="utf-8"))
    text = (tmp_path / "voorrang.yml").read_text(encoding="utf-8")
    (tmp_path / "voorrang.yml").write_text(text.replace("valid_to: 2024-03-31",
                                                        "valid_to: 2024-05-31"))
    with pytest.raises(RulesDataError, match="overlaps"):
        load_rules(tmp_path)


# ------------------------------------------------------------------ questions

@pytest.mark.parametrize("check, facts, on, expected", [
    ("priority", {}, RESTORED, "care_pricing"),
    ("priority", IKT, RESTORED, "work_situation"),
    ("priority", {**IKT, "work_situation": "working"}, ANNULLED, "work_fraction"),
    ("priority", {**IKT, "work_situation": "working"}, RESTORED, "foster_child"),
    ("reduced_rate", IKT, RESTORED, "foster_child"),
    ("reduced_rate", {**IKT, "foster_child": False}, RESTORED, "receives_leefloon"),
    ("reduced_rate", {"care_pricing": "free_price"}, RESTORED, None),
    ("priority", {**ALL_NO}, RESTORED, None),
])
def test_next_fact(check: str, facts: dict, on: date, expected: str | None) -> None:
    assert next_fact(check, facts, on) == expected


def test_next_fact_unknown_check() -> None:
    with pytest.raises(ValueError):
        next_fact("price", {}, RESTORED)


@pytest.mark.parametrize("fact, values", [
    ("single_parent", [True, False]),
    ("care_pricing", ["income_related", "free_price"]),
    ("work_situation", ["working", "job_seeking", "vocational_training", "integration_course",
                        "none"]),
    ("region", ["flanders", "brussels"]),
    ("household_taxable_income", []),
])
def test_answer_values(fact: str, values: list) -> None:
    assert answer_values(fact) == values


def test_answer_spec_and_numbered_choices() -> None:
    spec = answer_spec("work_fraction")
    assert spec["type"] == "number" and spec["min"] == 0 and spec["max"] == 1
    assert 0.8 in spec["values"]
    assert choice_value("work_situation", 2) == "job_seeking"
    assert choice_value("single_parent", 1) is True
    with pytest.raises(FactError):
        choice_value("single_parent", 3)
    with pytest.raises(FactError):
        answer_values("colour")


def test_every_relevant_fact_can_be_asked() -> None:
    rules = load_rules()
    for fact in evaluate({}, RESTORED)["missing_facts"] + evaluate({}, ANNULLED)["missing_facts"]:
        assert fact in rules.ask_order
        assert answer_values(fact), fact


# ------------------------------------------------------------------ contradictions

@pytest.mark.parametrize("old, new, expected", [
    ({"single_parent": True}, {"partner_works": True}, ["partner_works"]),
    ({"partner_works": True}, {"single_parent": True}, ["single_parent"]),
    ({"single_parent": True}, {"single_parent": False}, ["single_parent"]),
    ({"work_situation": "none"}, {"work_fraction": 0.5}, ["work_fraction"]),
    ({"work_fraction": 0.5}, {"work_situation": "none"}, ["work_situation"]),
    ({"single_parent": True}, {"single_parent": True, "low_income": True}, []),
    ({"single_parent": False}, {"partner_works": True}, []),
    ({}, {"partner_works": True}, []),
])
def test_contradictions(old: dict, new: dict, expected: list[str]) -> None:
    assert contradictions(old, new) == expected


def test_inconsistent_facts_are_reported_by_evaluate() -> None:
    result = evaluate({"single_parent": True, "partner_works": True}, RESTORED)
    assert set(result["inconsistent_facts"]) == {"single_parent", "partner_works"}
    assert evaluate({"single_parent": True}, RESTORED)["inconsistent_facts"] == []


# ------------------------------------------------------------------ reported, not confirmed

def test_the_reported_2025_income_tariff_is_stored_but_not_quoted() -> None:
    data = yaml.safe_load((RULES_DIR / "amounts.yml").read_text(encoding="utf-8"))
    reported = data["tables"]["ikt_tariff"]["entries"][-1]
    assert (reported["valid_from"], reported["minimum"], reported["maximum"]) == (
        date(2025, 1, 1), 6.47, 35.89)
    assert reported["uncertain"] is True and reported["source"].startswith("https://")
    for on in (date(2025, 1, 1), date(2026, 12, 3), date(2027, 7, 1)):
        quoted = amount_on("ikt_tariff", on)
        assert (quoted["valid_from"], quoted["minimum"]) == ("2024-01-01", 6.24)
        assert quoted["uncertain"] is False and quoted["unconfirmed_newer"] == ["2025-01-01"]
    assert amount_on("ikt_tariff", date(2024, 12, 31))["unconfirmed_newer"] == []


def test_confirming_the_reported_figures_is_one_edit(tmp_path: Path) -> None:
    for name in ("facts.yml", "voorrang.yml", "ivt.yml"):
        (tmp_path / name).write_text((RULES_DIR / name).read_text(encoding="utf-8"))
    text = (RULES_DIR / "amounts.yml").read_text(encoding="utf-8")
    block = text[text.index("minimum: 6.47"):]
    edited = text.replace(block, block.replace("uncertain: true", "uncertain: false", 1), 1)
    assert edited.count("uncertain: true") == text.count("uncertain: true") - 1
    (tmp_path / "amounts.yml").write_text(edited, encoding="utf-8")
    rules = load_rules(tmp_path)
    quoted = amount_on("ikt_tariff", date(2026, 12, 3), rules=rules)
    assert (quoted["valid_from"], quoted["minimum"], quoted["maximum"]) == (
        "2025-01-01", 6.47, 35.89)
    assert quoted["uncertain"] is False and quoted["unconfirmed_newer"] == []


def test_an_uncertain_figure_is_quoted_flagged_only_without_a_confirmed_one() -> None:
    threshold = amount_on("low_income_threshold", date(2026, 12, 3))
    assert threshold["amount"] == 27000 and threshold["uncertain"] is True
