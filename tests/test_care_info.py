"""Care-type explanations with the dated facts of data/care_types.yml (the date is an input)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from bot import care_facts, care_info, i18n
from bot.eligibility.dialogue import money
from bot.eligibility.rules import RULES_DIR, Rules, load_rules

BEFORE, FROM_2027 = date(2026, 12, 31), date(2027, 1, 1)


def _jan_2027(lang: str) -> str:
    return i18n.t("format.date", lang, d=1, m=1, y=2027)


def _text(care_type: str, lang: str, on: date) -> str:
    return "\n".join(r.text for r in care_info.explain_care_types([care_type], lang, on))


def test_the_data_has_the_2027_kindratio_with_its_source() -> None:
    assert care_facts.holding("gezinsopvang", "max_children", BEFORE).current.value == 8
    held = care_facts.holding("gezinsopvang", "max_children", FROM_2027)
    assert held.current.value == 7 and held.next is None
    assert held.current.source == "https://www.opgroeien.be/veelgestelde-vragen/kinderopvang"
    assert held.current.source_date == date(2026, 6, 4)
    ratio = care_facts.holding("groepsopvang", "children_per_carer", FROM_2027).current
    assert ratio.value == {"babies": 5, "older": 8, "mixed": 7}
    assert care_facts.holding("gezinsopvang", "max_children", date(2010, 1, 1)) is None


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_gezinsopvang_before_2027_says_8_and_the_coming_7(lang: str) -> None:
    text = _text("gezinsopvang", lang, BEFORE)
    assert i18n.t("care_fact.max_children", lang, n=8) in text
    assert i18n.t("care_fact.next.max_children", lang, n=7, date=_jan_2027(lang)) in text


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_gezinsopvang_from_2027_says_7_only(lang: str) -> None:
    text = _text("gezinsopvang", lang, FROM_2027)
    assert i18n.t("care_fact.max_children", lang, n=7) in text
    assert "8" not in text and "2027" not in text


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_groepsopvang_ratio_on_the_date_asked_about(lang: str) -> None:
    new = i18n.t("care_fact.children_per_carer_by_group", lang, babies=5, older=8, mixed=7)
    before = _text("groepsopvang", lang, BEFORE)
    assert i18n.t("care_fact.children_per_carer", lang, all=9) in before
    assert i18n.t("care_fact.next.children_per_carer_by_group", lang, date=_jan_2027(lang),
                  babies=5, older=8, mixed=7) in before
    after = _text("groepsopvang", lang, date(2027, 6, 1))
    assert new in after and "2027" not in after
    assert i18n.t("care_fact.min_children", lang, n=9) in after  # unchanged in the data


def test_the_explanation_uses_the_bots_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TODAY", "2027-01-01")
    _, facts = care_info.explain_care_types(["gezinsopvang"], "nl")
    assert i18n.t("care_fact.max_children", "nl", n=7) in facts.text
    monkeypatch.setenv("BOT_TODAY", "2026-12-31")
    _, facts = care_info.explain_care_types(["gezinsopvang"], "nl")
    assert i18n.t("care_fact.max_children", "nl", n=8) in facts.text


def test_care_types_without_dated_facts_are_unchanged() -> None:
    (reply,) = care_info.explain_care_types(["occasionele_opvang"], "en", BEFORE)
    assert reply.text == i18n.t("care_types.occasionele_opvang", "en")


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_every_dated_value_can_be_said_in_every_language(lang: str) -> None:
    for care_type, facts in care_facts.load().items():
        assert care_type in care_info.CARE_TYPES
        # the figures go as their own message after the text (three SMS segments each)
        assert "{facts}" not in i18n.catalog(lang)[f"care_types.{care_type}"]
        for fact, series in facts.items():
            for entry in series:
                assert entry.source.startswith("https://")
                assert care_info._fact_text(fact, entry.value, lang)
                assert care_info._fact_text(fact, entry.value, lang, entry.valid_from)


def test_a_bad_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "care_types.yml"
    entries = [{"valid_from": date(2027, 1, 1), "value": 7, "source": "https://x.invalid"},
               {"valid_from": date(2014, 4, 1), "value": 8, "source": "https://x.invalid"}]
    bad.write_text(yaml.safe_dump({"care_types": {"gezinsopvang": {"max_children": entries}}}))
    with pytest.raises(care_facts.CareFactsError, match="date order"):
        care_facts.load(bad)
    bad.write_text(yaml.safe_dump({"care_types": {"gezinsopvang": {"max_children": [
        {"valid_from": date(2014, 4, 1), "value": 8}]}}}))
    with pytest.raises(care_facts.CareFactsError, match="source"):
        care_facts.load(bad)


# ------------------------------------------------ income tariff: confirmed figures only

def _rules_with_2025_confirmed(folder: Path) -> Rules:
    """The rules files with one edit: the reported 2025 tariff marked confirmed."""
    for name in ("facts.yml", "voorrang.yml", "ivt.yml"):
        (folder / name).write_text((RULES_DIR / name).read_text(encoding="utf-8"))
    text = (RULES_DIR / "amounts.yml").read_text(encoding="utf-8")
    block = text[text.index("minimum: 6.47"):]
    text = text.replace(block, block.replace("uncertain: true", "uncertain: false", 1), 1)
    (folder / "amounts.yml").write_text(text, encoding="utf-8")
    return load_rules(folder)


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_price_quotes_the_confirmed_2024_minimum_not_the_reported_2025_figures(
        lang: str) -> None:
    text = "\n".join(r.text for r in care_info.explain_price(lang, date(2026, 12, 3)))
    assert money(6.24, lang) in text
    assert i18n.t("format.date", lang, d=1, m=1, y=2024) in text
    assert money(6.47, lang) not in text and money(35.89, lang) not in text


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_once_confirmed_the_2025_figures_are_quoted_with_their_date(
        lang: str, tmp_path: Path) -> None:
    rules = _rules_with_2025_confirmed(tmp_path)
    text = "\n".join(r.text for r in care_info.explain_price(lang, date(2026, 12, 3),
                                                              rules=rules))
    assert i18n.t("price.range_both", lang, minimum=money(6.47, lang),
                  maximum=money(35.89, lang)) in text
    assert i18n.t("format.date", lang, d=1, m=1, y=2025) in text
    assert money(6.24, lang) not in text
    # asked about 2024, the 2024 figure still holds
    text_2024 = "\n".join(r.text for r in care_info.explain_price(lang, date(2024, 6, 1),
                                                                   rules=rules))
    assert money(6.24, lang) in text_2024 and money(6.47, lang) not in text_2024
