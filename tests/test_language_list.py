"""The language list is one setting (data/languages.yml) that every part reads: adding a
language is data, not code."""

from __future__ import annotations

import re

import pytest

from bot import dates, i18n, language, settings
from bot.settings import ROOT


def test_the_list_is_read_from_the_data_file() -> None:
    assert settings.LANGUAGES[0] == settings.DEFAULT_LANGUAGE == "nl"
    assert i18n.SUPPORTED == settings.LANGUAGES
    assert i18n.DEFAULT == settings.DEFAULT_LANGUAGE and i18n.RTL == settings.RTL_LANGUAGES
    assert dates.LANGS == settings.LANGUAGES


def test_detection_candidates_are_the_list_then_the_unsupported_ones() -> None:
    class Recorder:
        def __init__(self, candidates: tuple[str, ...]) -> None:
            self.candidates = candidates

    backends = dict(language.BACKENDS)
    language.detector.cache_clear()
    try:
        language.BACKENDS["recorder"] = Recorder  # type: ignore[assignment]
        found = language.detector("recorder").candidates  # type: ignore[attr-defined]
    finally:
        language.BACKENDS.clear()
        language.BACKENDS.update(backends)
        language.detector.cache_clear()
    assert found[: len(settings.LANGUAGES)] == settings.LANGUAGES
    assert not set(found[len(settings.LANGUAGES):]) & set(settings.LANGUAGES)


def test_a_new_language_in_the_file_reaches_every_reader(tmp_path, monkeypatch) -> None:
    path = tmp_path / "languages.yml"
    path.write_text("languages: [nl, fr, pl]\ndefault: nl\nrtl: []\n", encoding="utf-8")
    monkeypatch.setattr(settings, "LANGUAGES_FILE", path)
    assert settings._languages() == (("nl", "fr", "pl"), "nl", frozenset())


@pytest.mark.parametrize("bad", [
    "languages: []\ndefault: nl\n",
    "languages: [fr]\ndefault: nl\n",
    "languages: [nl, nl]\ndefault: nl\n",
    "languages: [nl]\ndefault: nl\nrtl: [ar]\n",
])
def test_a_broken_list_is_an_error(tmp_path, monkeypatch, bad: str) -> None:
    path = tmp_path / "languages.yml"
    path.write_text(bad, encoding="utf-8")
    monkeypatch.setattr(settings, "LANGUAGES_FILE", path)
    with pytest.raises(ValueError):
        settings._languages()


def test_no_module_hard_codes_the_list() -> None:
    """A tuple or list of three or more of our codes written out in code is a second list that
    a new language would miss (the Dutch/French/English notice for an unknown language is a
    choice of three, kept by name)."""
    # not our list: languages the staff of a synthetic location speak; the languages the
    # conversation stories must cover at least
    other_lists = {"bot/places/generate.py", "tests/test_rasa_project.py"}
    codes = "|".join(settings.LANGUAGES)
    written_out = re.compile(rf"""[(\[{{]\s*(?:["'](?:{codes})["']\s*,\s*){{3,}}""")
    offenders = []
    for folder in ("bot", "connectors", "scripts", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if name not in other_lists and written_out.search(path.read_text(encoding="utf-8")):
                offenders.append(name)
    assert not offenders, offenders


def test_the_domain_s_language_slot_takes_the_same_list() -> None:
    """Rasa's categorical slot cannot read our setting: a language added to the list and not
    to domain.yml would be refused by the slot, so the test says so."""
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert tuple(domain["slots"]["language"]["values"]) == settings.LANGUAGES
