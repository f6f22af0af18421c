"""Every text exists, non-empty, in every supported language, with the same placeholders."""

from __future__ import annotations

import re

import pytest

from bot import i18n
from bot.settings import ROOT

SOURCE = i18n.catalog("nl")


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_locale_has_every_key_with_same_placeholders(lang: str) -> None:
    texts = i18n.catalog(lang)
    missing = [k for k in SOURCE if not texts.get(k, "").strip()]
    extra = [k for k in texts if k not in SOURCE]
    assert not missing, f"{lang} lacks {missing}"
    assert not extra, f"{lang} has keys nl does not: {extra}"
    for key, text in SOURCE.items():
        assert i18n.placeholders(texts[key]) == i18n.placeholders(text), f"{lang}:{key}"


def test_language_names_are_distinct_endonyms() -> None:
    names = [name for _, name in i18n.language_menu()]
    assert len(set(names)) == len(i18n.SUPPORTED)
    assert names[0] == "Nederlands"


def _keys_used_in_code() -> set[str]:
    """Literal keys passed to i18n.t(...) anywhere in bot/ and connectors/."""
    pattern = re.compile(r"""i18n\.t\(\s*["']([a-z_.]*[a-z_])["']\s*[,)]""")
    keys: set[str] = set()
    for folder in ("bot", "connectors"):
        for path in (ROOT / folder).rglob("*.py"):
            keys.update(pattern.findall(path.read_text(encoding="utf-8")))
    return keys


def test_every_key_used_in_code_exists() -> None:
    used = _keys_used_in_code()
    assert used, "the scan found no keys: the pattern is broken"
    assert not [k for k in used if k not in SOURCE]


def test_missing_key_is_an_error_not_a_silent_fallback() -> None:
    with pytest.raises(i18n.MissingText):
        i18n.t("no.such.key", "fr")


def test_render_with_placeholders() -> None:
    text = i18n.t("loket.contact", "en", name="N", address="A", phone="P", email="E", hours="H")
    assert "Phone: P" in text and text.startswith("N\n")
