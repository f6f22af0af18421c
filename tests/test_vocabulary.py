"""Entity values are found in any language, without accents and with a typo."""

from __future__ import annotations

import pytest

from bot.vocabulary import vocabulary


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("wat is een onthaalouder", "care_type", "gezinsopvang"),
        ("wat is een onthaalmoedr", "care_type", "gezinsopvang"),  # one typo
        ("KINDERDAGVERBLIJF in mechelen?", "care_type", "groepsopvang"),
        ("c'est quoi une creche", "care_type", "groepsopvang"),  # no accent
        ("kan het in het Engels", "language", "en"),
        ("en français svp", "language", "fr"),
        ("türkçe olur mu", "language", "tr"),
        ("turkce yazar misiniz", "language", "tr"),
    ],
)
def test_finds_value(text: str, entity: str, value: str) -> None:
    found = [(m.entity, m.value) for m in vocabulary().find(text)]
    assert (entity, value) in found


def test_offsets_point_into_the_original_text() -> None:
    text = "Is er een crèche in Mechelen?"
    (match,) = [m for m in vocabulary().find(text) if m.entity == "care_type"]
    assert text[match.start : match.end] == match.text
    assert match.text.lower().startswith("cr")


@pytest.mark.parametrize("text", ["I want to talk to a person", "single mother", "fresh start"])
def test_no_false_language_matches(text: str) -> None:
    assert not [m for m in vocabulary().find(text) if m.entity == "language"]


def test_dont_know_phrases() -> None:
    vocab = vocabulary()
    assert vocab.is_phrase("Ik weet het niet", "dont_know")
    assert vocab.is_phrase("je sais pas", "dont_know")
    assert not vocab.is_phrase("ik weet het wel", "dont_know")


def test_every_word_in_the_word_lists_is_text() -> None:
    # YAML reads a bare `no`, `on` or `yes` as a boolean: the English "no" was no negation and
    # the Turkish "on" (ten) no number until they were quoted
    import yaml

    from bot.settings import DATA_DIR

    def not_text(node: object, path: str) -> list[str]:
        if isinstance(node, dict):
            return [p for k, v in node.items() for p in not_text(v, f"{path}.{k}")]
        if isinstance(node, list):
            return [f"{path}: {v!r}" for v in node if isinstance(v, bool)] + [
                p for v in node if isinstance(v, (dict, list)) for p in not_text(v, path)]
        return []

    files = [*DATA_DIR.glob("answers/*.yml"), *DATA_DIR.glob("vocab/*.yml"),
             *(DATA_DIR / name for name in ("time_words.yml", "crisis_words.yml",
                                            "language_markers.yml", "optout.yml",
                                            "partner_words.yml", "house_rules_words.yml"))]
    found = [p for f in files for p in not_text(yaml.safe_load(f.read_text("utf-8")), f.name)]
    assert not found, found
