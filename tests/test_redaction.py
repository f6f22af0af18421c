"""Health and allergy notes stay out of logs: the summary lines are masked wherever stored."""

from __future__ import annotations

import pytest

from bot import i18n
from bot.redaction import MASK, redact_summary


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_summary_lines_are_masked_in_every_language(lang: str) -> None:
    text = "\n".join([
        i18n.t("intake.parent.summary", lang),
        f"- {i18n.t('intake.label.child_name', lang)}: Amira",
        f"- {i18n.t('intake.label.allergies', lang)}: pindanoten",
        f"- {i18n.t('intake.label.health', lang)}: astma",
    ])
    masked = redact_summary(text)
    assert "pindanoten" not in masked and "astma" not in masked
    assert "Amira" in masked and masked.count(MASK) == 2


def test_an_sms_part_without_the_header_is_masked_too() -> None:
    part = f"- {i18n.t('intake.label.health', 'nl')}: epilepsie\n- Telefoon: +32470"
    assert "epilepsie" not in redact_summary(part)


def test_other_texts_are_left_alone() -> None:
    assert redact_summary("Hallo, ik heb een vraag: allergieën?") == \
        "Hallo, ik heb een vraag: allergieën?"


def test_pseudonyms_are_stable_and_do_not_show_the_number() -> None:
    from bot.redaction import pseudonym

    first = pseudonym("whatsapp:+32470123456")
    assert first == pseudonym("whatsapp:+32470123456") != pseudonym("sms:+32470123456")
    assert "470123456" not in first and first.startswith("c-")
    assert pseudonym(None) == "-"
