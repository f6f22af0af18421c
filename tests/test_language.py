"""Language detection and the sticky-language rules."""

from __future__ import annotations

import pytest

from bot import language

CLEAR = {
    "nl": "ik zoek opvang voor mijn dochter in Mechelen",
    "fr": "je cherche une place pour mon fils à Bruxelles",
    "en": "I am looking for childcare for my son",
    "ar": "أبحث عن مكان في الحضانة لابني",
    "tr": "oğlum için kreşte yer arıyorum",
    "uk": "я шукаю місце в садочку для доньки",
}


@pytest.mark.parametrize(("lang", "text"), CLEAR.items())
def test_clear_message_switches(lang: str, text: str) -> None:
    found = language.assess(text)
    assert found.guess == lang
    assert found.switch == lang


@pytest.mark.parametrize("text", ["ok", "merci", "3", "👍", "ja graag", "2800", "ok 👍 merci"])
def test_short_number_emoji_never_switch(text: str) -> None:
    assert language.assess(text).switch is None


def test_arabizi_is_recognised_as_arabic() -> None:
    assert language.assess("salam bghit blasa f creche").switch == "ar"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hallo, ich suche einen Kitaplatz für meine Tochter", "de"),
        ("Hola, busco una guardería para mi hijo pequeño", "es"),
    ],
)
def test_clear_unsupported_language(text: str, code: str) -> None:
    found = language.assess(text)
    assert found.unsupported == code
    assert found.switch is None


def test_resolve_prefers_sticky_slot_then_guess_then_dutch() -> None:
    assert language.resolve("fr", "en") == "fr"
    assert language.resolve(None, "en") == "en"
    assert language.resolve(None, None) == "nl"
    assert language.resolve(None, "de") == "nl"


@pytest.mark.parametrize("backend", ["lingua", "langdetect"])
def test_both_backends_work(backend: str) -> None:
    det = language.detector(backend, with_unsupported=False)
    assert det.detect(CLEAR["fr"]).lang == "fr"


@pytest.mark.parametrize(("text", "lang"), [("hallo", "nl"), ("Bonjour", "fr"), ("hi", "en"),
                                            ("merhaba", "tr"), ("goeiemorgen!", "nl")])
def test_a_one_word_greeting_guesses_its_language_without_switching(text: str, lang: str) -> None:
    found = language.assess(text)
    assert found.guess == lang and found.switch is None


def test_a_greeting_shared_by_several_of_our_languages_guesses_none() -> None:
    # "salam" is written by Arab, Turkish, Maghrebi French and Persian families alike
    for text in ("salam", "slm", "Salam!"):
        assert language.assess(text) == language.Assessment(), text
    assert language.assess("salam alaykum").guess == "ar"  # the full greeting is Arabic
    assert language.assess("selam").guess == "tr"


def test_beside_a_shared_greeting_the_other_word_says_the_language() -> None:
    assert language.assess("Salam bonjour").guess == "fr"
    assert language.assess("salam hello").guess == "en"
    assert language.assess("salam merhaba").guess == "tr"


def test_a_greeting_opening_a_message_too_short_for_the_detector_guesses_its_language() -> None:
    # the detector reads "Hello sir/madam" as Spanish or Italian, at low confidence
    assert language.assess("Hello sir/madam").guess == "en"
    assert language.assess("Hello sir").guess == "en"
    assert language.assess("Hello sir/madam").switch is None  # a guess, never a switch
