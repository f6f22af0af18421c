"""Property-based tests of every parser of outside input: whatever a family, a toeleider, a
CSV file or a webhook sends, the parser answers (a value or an explained refusal) and never
raises; results stay in range; a refusal names a locale key that exists.

Two kinds of generated text: anything Unicode has, and sentences built from the words the
parsers know (time words, numbers, dates, vocabulary), which reach far deeper into the rules.

Crashes this suite found were fixed; the inputs that caused them stay as regression tests at
the end. While a new crash is open it can be listed in KNOWN_BUGS: the property tests then skip
exactly the inputs that hit it (same function, same exception) and nothing else.
"""

from __future__ import annotations

import csv
import io
import json
import os
import traceback
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st

from bot import dates, i18n, pending
from bot.eligibility import dialogue as eligibility_dialogue
from bot.eligibility.questions import answer_values
from bot.intake import dialogue as intake
from bot.places import csv_io, geo
from bot.places import dialogue as places_dialogue
from bot.settings import DATA_DIR

LANGS = i18n.SUPPORTED
ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 25)

# (file, function that raised, exception) -> bug; see the regression tests at the end.
# (file, function that raised, exception) -> bug. Crashes found here were fixed; their inputs
# stay below as regression tests. A new crash goes here (and in REGRESSIONS) until fixed.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


def known_bug(exc: BaseException) -> str | None:
    """The KNOWN_BUGS entry of this exception: the innermost frame of the project's code."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.is_relative_to(ROOT) and path.parts[len(ROOT.parts)] in ("bot", "connectors"):
            key = (path.relative_to(ROOT).as_posix(), frame.name, type(exc).__name__)
            return KNOWN_BUGS.get(key)
    return None


@contextmanager
def past_known_bugs() -> Iterator[None]:
    """Inputs that hit a reported bug are dropped; any other exception fails the test."""
    try:
        yield
    except Exception as exc:
        if known_bug(exc) is None:
            raise
        reject()


# make test-fast sets FUZZ_SCALE=0.2 (scripts/test.sh): a fifth of the generated inputs in the
# edit loop, every one of them in make test
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
FAST = settings(max_examples=max(20, round(250 * SCALE)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=max(20, round(100 * SCALE)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@cache
def _known_words() -> tuple[str, ...]:
    """Every word of the time-word lists and the vocabulary, the way people type them."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            found.update(node.split())
            found.add(node)

    walk(yaml.safe_load((DATA_DIR / "time_words.yml").read_text(encoding="utf-8")))
    for path in sorted((DATA_DIR / "vocab").glob("*.yml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return tuple(sorted(found))


_DATEISH = st.one_of(
    st.integers(-3, 40).map(str),
    st.integers(0, 100000).map(str),
    st.builds(lambda d, m, y: f"{d}/{m}/{y}", st.integers(0, 40), st.integers(0, 14),
              st.integers(0, 10000)),
    st.builds(lambda d, m: f"{d}-{m}", st.integers(0, 40), st.integers(0, 14)),
    st.builds(lambda d, m, y: f"{d}.{m}.{y}", st.integers(0, 40), st.integers(0, 14),
              st.integers(0, 99)),
    st.sampled_from(["½", "2,5", "3.5", "٣", "۴", "²", "1½", "t/m", "-", "/", "'", "?", "...",
                     "0", "00", "9999", "31/02", "29/2", "+", "x", "٢٠٢٥", "1e9"]),
)
@cache
def _unit_words() -> tuple[str, ...]:
    data = yaml.safe_load((DATA_DIR / "time_words.yml").read_text(encoding="utf-8"))
    return tuple(sorted({w for units in data["units"].values() for words in units.values()
                         for w in words}))


_NUMBER = st.one_of(st.integers(0, 60), st.integers(0, 10**12)).map(str)
_WORD = st.sampled_from(_known_words())
# "over 3 maanden", "vanaf 99999 jaar": a count next to a unit reaches the arithmetic
_COUNTED = st.tuples(_WORD, _NUMBER, st.sampled_from(_unit_words())).map(" ".join)
WORDY = st.lists(st.one_of(_WORD, _DATEISH, _NUMBER, _COUNTED), max_size=8).map(" ".join)
ANY_TEXT = st.text(max_size=60)
TEXT = st.one_of(ANY_TEXT, WORDY)
TODAY = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
LANG = st.sampled_from(LANGS)


# --- bot.dates -------------------------------------------------------------------------------


@FAST
@given(TEXT, LANG, TODAY)
@example("volgende week", "nl", date(2100, 12, 31))
@example("31/12/9999", "nl", DAY)
@example("29/2", "nl", date(2027, 3, 1))
def test_start_and_birth_dates_are_dates_or_none(text: str, lang: str, today: date) -> None:
    for parse in (dates.parse_start_date, dates.parse_birth_date):
        with past_known_bugs():
            result = parse(text, lang, today)
        assert result is None or type(result) is date


@FAST
@given(TEXT, LANG)
@example("-3 maanden", "nl")
@example("anderhalf jaar", "nl")
def test_ages_are_whole_months_from_zero(text: str, lang: str) -> None:
    with past_known_bugs():
        months = dates.parse_age_months(text, lang)
    assert months is None or (type(months) is int and months >= 0)


@FAST
@given(TEXT, LANG)
@example("0 dagen", "nl")
@example("12 dagen", "nl")
@example("2,5 jours", "fr")
def test_days_per_week_are_one_to_seven(text: str, lang: str) -> None:
    with past_known_bugs():
        days = dates.parse_days_per_week(text, lang)
    assert days is None or (type(days) is int and 1 <= days <= 7)


# --- the snelfiche's answers -----------------------------------------------------------------

FREE_FIELDS = ("phone", "email", "location", "child_name", "parent_name", "toeleider_name",
               "toeleider_contact", "child_birth", "start", "organisation", "allergies")
CHOICE_FIELDS = ("frequency", "reason", "care_type", "consent")
INTENT = st.sampled_from([None, "affirm", "deny", "inform", "nlu_fallback"])
SENDER = st.sampled_from(["", "whatsapp:+32470123456", "sms:+32470123456", "telegram:42",
                          "rest-user"])


def _check_read(read: intake.Read, lang: str) -> None:
    # a read that is neither ok nor skipped nor explained gets the form's general explanation
    if read.problem is not None:
        assert not read.ok
        assert i18n.has(read.problem, lang), read.problem


@FAST
@given(st.sampled_from(FREE_FIELDS), TEXT, INTENT, LANG, TODAY, SENDER)
@example("phone", "+32 470 12 34 56", None, "nl", DAY, "")
@example("phone", "0", None, "nl", DAY, "")
@example("email", "a@b.co", None, "nl", DAY, "")
@example("child_birth", "3 maanden", None, "nl", DAY, "")
@example("phone", "ja", "affirm", "nl", DAY, "whatsapp:+32470123456")
def test_intake_free_answers_never_raise(field: str, text: str, intent: str | None, lang: str,
                                         today: date, sender: str) -> None:
    with past_known_bugs():
        read = intake.interpret(field, text, intent, [], lang, today, sender)
    _check_read(read, lang)
    if read.ok and field in ("child_birth", "start"):
        date.fromisoformat(read.value)
    if read.ok and field == "phone" and read.value is not None:
        assert read.value.startswith("+") and read.value[1:].isdigit()
    if read.ok and field == "location":
        assert read.value["municipality"] in geo.municipalities()


@FAST
@given(st.sampled_from(CHOICE_FIELDS), TEXT, INTENT, LANG)
@example("frequency", "3", None, "nl")
@example("frequency", "٣", None, "ar")
def test_intake_choices_never_raise(field: str, text: str, intent: str | None,
                                    lang: str) -> None:
    with past_known_bugs():
        read = intake.interpret(field, text, intent, [], lang, DAY)
    _check_read(read, lang)
    if read.ok and field != "consent":
        values = read.value if isinstance(read.value, list) else [read.value]
        assert values and all(v in intake.BY_NAME[field].values for v in values)


# A button payload is text too: "/inform{"intake_value": "…"}" typed by hand reaches the
# form exactly like a tapped button.
BUTTON_VALUE = st.one_of(st.text(max_size=20), st.builds(json.dumps, st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6)))


@FAST
@given(st.sampled_from(FREE_FIELDS + CHOICE_FIELDS), BUTTON_VALUE, LANG)
@example("frequency", '"3"', "nl")
@example("start", "null", "nl")
def test_intake_button_values_are_checked(field: str, raw: str, lang: str) -> None:
    with past_known_bugs():
        read = intake.interpret(field, "/inform", "inform",
                                [{"entity": "intake_value", "value": raw}], lang, DAY)
    _check_read(read, lang)
    if read.ok:  # an accepted answer is shown in the summary: it must be displayable
        try:
            intake.display(field, read.value, lang)
        except Exception:
            reject()  # known bug "button-unchecked": see test_known_bug


CORRECTABLE_ANSWERS = {"child_birth": "2025-05-12", "start": "2027-01-04",
                       "location": {"municipality": "Mechelen", "postcode": "2800"},
                       "phone": "+32470123456", "email": "a@b.be", "frequency": "3",
                       "reason": ["work"], "care_type": "groepsopvang"}


@FAST
@given(TEXT, LANG, st.sampled_from([None, *intake.CORRECTABLE, "child_name"]), SENDER)
@example("nee, de geboortedatum is 3 mei", "nl", "start", "")
@example("mijn telefoonnummer is 0470 12 34 56", "nl", None, "")
def test_corrections_never_raise(text: str, lang: str, asked: str | None, sender: str) -> None:
    """Any message at any question is read as one kind of turn; a correction names another
    field that can be corrected, with a value the summary can show."""
    field = asked or "allergies"
    question = pending.Question(field, lambda t: pending.Read(*_fields(intake.reader(
        field, t, "inform", [], lang, DAY, sender))), free_text=field == "allergies",
        kind=intake.answer_kind(field))
    with past_known_bugs():
        got = pending.read_turn(question, pending.Message(text, "inform", 0.5), lang, DAY,
                                known=CORRECTABLE_ANSWERS, correctable=intake.CORRECTABLE)
    assert got.kind in ("answer", "declined", "correction", "role", "language", "noted",
                        "digression", "unreadable")
    if got.kind == "correction":
        assert got.field in intake.CORRECTABLE and got.field != field
        intake.corrected_notice(got.field, intake.fact_value(got.field, got.value), lang)


def _fields(read: intake.Read) -> tuple:
    return read.value, read.ok, read.skipped, read.problem


# --- the free-place search and the eligibility check ---------------------------------------


@FAST
@given(st.sampled_from(places_dialogue.FIELDS), TEXT, LANG, TODAY)
def test_place_search_answers_never_raise(field: str, text: str, lang: str, today: date) -> None:
    with past_known_bugs():
        value, problem = places_dialogue.interpret(field, text, lang, today)
    assert (value is None) != (problem is None)
    if problem:
        assert i18n.has(problem, lang), problem
    with past_known_bugs():
        places_dialogue.prefill(text, [], lang, today)


@cache
def _rules():  # the rules of bot.eligibility.questions, loaded once
    from bot.eligibility.questions import load_rules

    return load_rules()


@cache
def _facts() -> tuple[str, ...]:
    from bot.eligibility.questions import load_rules

    return tuple(sorted(load_rules().facts))


@FAST
@given(st.data(), TEXT, INTENT, LANG)
def test_eligibility_answers_never_raise(data, text: str, intent: str | None, lang: str) -> None:
    fact = data.draw(st.sampled_from(_facts()))
    raw = data.draw(st.one_of(st.none(), BUTTON_VALUE))
    entities = [] if raw is None else [{"entity": "fact_value", "value": raw}]
    with past_known_bugs():
        answer = eligibility_dialogue.interpret(fact, text, intent, entities, lang)
    spec = _rules().facts[fact]
    if answer.understood and spec.type == "number" and answer.value != "unknown":
        # a number fact takes any value in its range ("de mama voltijds, de papa halftijds"
        # averages 0.75); the choices are only the buttons
        assert spec.min is None or answer.value >= spec.min
        assert spec.max is None or answer.value <= spec.max
    elif answer.understood and answer_values(fact):
        assert answer.value == "unknown" or answer.value in answer_values(fact)


# --- places and postcodes --------------------------------------------------------------------


@FAST
@given(st.one_of(TEXT, st.integers(-100000, 100000), st.none(),
                 st.sampled_from(geo.municipalities())))
def test_resolve_location_never_raises(text: Any) -> None:
    loc = geo.resolve_location(text)
    if loc is not None:
        assert loc.region in ("flanders", "brussels")
        assert loc.municipality is None or loc.municipality in geo.municipalities()
        assert loc.postcode is None or (len(loc.postcode) == 4 and loc.postcode.isdigit())


@FAST
@given(st.one_of(TEXT, st.integers(-100000, 100000), st.from_regex(r"[Bb]?[- ]?\d{3,5}")))
def test_postcode_check_is_a_plain_answer(code: Any) -> None:
    valid = geo.is_valid_postcode(code)
    assert type(valid) is bool
    if valid:
        assert geo.clean_postcode(code) is not None


# --- CSV import of free places ---------------------------------------------------------------

_CELL = {
    "location_ref": st.one_of(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,8}", fullmatch=True),
                              ANY_TEXT),
    "care_type": st.sampled_from(["groepsopvang", "gezinsopvang", "buitenschoolse_opvang",
                                  "inclusieve_opvang", "x", ""]),
    "pricing": st.sampled_from(["ikt", "vrije prijs", "income-related", "?", ""]),
    "postcode": st.sampled_from(["2800", "B-2800", "1000", "4000", "28000", "abcd", ""]),
    "municipality": st.sampled_from(["Mechelen", "Brussel", "Mechlen", "2800", "Luik", ""]),
    "hours_mon": st.sampled_from(["07:00-18:00", "7h00-18h00", "25:00-26:00", "09:00-09:00",
                                  "gesloten", "x", ""]),
    "opens_early": st.sampled_from(["ja", "nee", "true", "misschien", ""]),
    "min_age_months": st.sampled_from(["0", "-1", "300", "1" * 5000, "²", "x", ""]),
    "max_age_months": st.sampled_from(["36", "0", "x", ""]),
    "capacity": st.sampled_from(["10", "99999", "²", ""]),
    "languages": st.sampled_from(["nl fr", "nl,xx1", "", "NL;EN"]),
    "available_from": st.sampled_from(["2026-12-01", "01/12/2026", "+30d", "-7d", "+3m",
                                       "+999999999999d", "+99999999m", "+9999999w", "today",
                                       "31/02/2026", "x", ""]),
    "available_to": st.sampled_from(["2027-01-01", "2020-01-01", "+1m", "+99999999999d", ""]),
    "weekdays": st.sampled_from(["ma-vr", "mon,wed", "1-5", "vr-ma", "all", "-mon", "x", ""]),
    "places": st.sampled_from(["1", "0", "-1", "1001", "²", "x", ""]),
    "kind": st.sampled_from(["regular", "occasional", "x", ""]),
}


def _cell(column: str) -> st.SearchStrategy[str]:
    return st.one_of(_CELL.get(column, st.just("")), ANY_TEXT) if column in _CELL else st.one_of(
        st.just(""), ANY_TEXT)


@st.composite
def csv_files(draw) -> str:
    columns = list(csv_io.REQUIRED) + draw(st.lists(st.sampled_from(csv_io.COLUMNS), max_size=8))
    columns = list(dict.fromkeys(draw(st.permutations(columns))))
    if draw(st.booleans()):
        columns.append(draw(st.sampled_from(["extra", "", " Name "])))
    delimiter = draw(st.sampled_from([",", ";"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, escapechar="\\",
                        lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(columns)
    for _ in range(draw(st.integers(0, 4))):
        row = [draw(_cell(c.strip().lower())) for c in columns]
        cut = draw(st.integers(-2, 2))  # rows with too few or too many fields
        row = row[:cut] if cut < 0 else row + [""] * cut
        writer.writerow(row)
    text = out.getvalue()
    if draw(st.booleans()):  # raw damage: a stray quote, a BOM, a cut-off end
        position = draw(st.integers(0, len(text)))
        damage = draw(st.sampled_from(['"', "\ufeff", "\r", "", ";;", "\n\n"]))
        text = text[:position] + damage + text[position:]
    return text


def _read(text: str) -> None:
    try:
        with past_known_bugs():
            rows = csv_io.read_rows(io.StringIO(text), today=DAY)
    except csv_io.CsvImportError as exc:
        assert exc.errors
        for error in exc.errors:
            assert isinstance(error.line, int) and error.line >= 1
            assert str(error).startswith(f"line {error.line}")
        return
    for row in rows:
        assert row.line >= 2


@SLOW
@given(csv_files())
def test_csv_rows_are_read_or_refused_with_a_line_number(text: str) -> None:
    _read(text)


@SLOW
@given(st.text(max_size=300))
def test_any_text_as_csv_is_read_or_refused(text: str) -> None:
    _read(text)


# --- language and vocabulary -----------------------------------------------------------------


@SLOW
@given(TEXT)
@example("")
@example("🙂🙂🙂")
@example("پچژگ پچژگ پچژگ")
def test_language_assessment_is_a_supported_language_or_nothing(text: str) -> None:
    from bot.language import UNSUPPORTED_CANDIDATES, assess

    found = assess(text)
    assert found.guess is None or found.guess in LANGS
    assert found.switch is None or found.switch == found.guess
    assert found.unsupported is None or found.unsupported in UNSUPPORTED_CANDIDATES


@FAST
@given(TEXT)
@example("ONTHAALMOEDR ﬁ İstanbul ß")  # folding changes the length of the text
def test_vocabulary_matches_point_into_the_text(text: str) -> None:
    from bot.vocabulary import vocabulary

    previous_end = 0
    for match in vocabulary().find(text):
        assert previous_end <= match.start < match.end <= len(text)
        assert text[match.start:match.end] == match.text
        previous_end = match.end


# --- webhooks: Twilio form fields, Telegram updates, STOP words, numbered options ------------

_TWILIO_FIELDS = ["MessageSid", "SmsMessageSid", "From", "To", "Body", "NumMedia",
                  "MediaUrl0", "MediaContentType0", "Latitude", "Longitude", "Address",
                  "Label", "ButtonPayload", "ProfileName", "WaId", "NumSegments", "ButtonText"]
_TWILIO_VALUE = {
    "From": st.sampled_from(["whatsapp:+32470123456", "+32470123456", "whatsapp:", ""]),
    "NumMedia": st.sampled_from(["0", "1", "2", "-1", "x", "²", "", "99"]),
    "MediaContentType0": st.sampled_from(["image/jpeg", "image/webp", "audio/ogg", "", "x"]),
}


@st.composite
def twilio_bodies(draw) -> bytes:
    from urllib.parse import urlencode

    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    fields = draw(st.lists(st.sampled_from(_TWILIO_FIELDS), max_size=10))
    pairs = [(name, draw(st.one_of(_TWILIO_VALUE.get(name, ANY_TEXT), ANY_TEXT)))
             for name in fields]
    return urlencode(pairs).encode()


def _parsed_or_refused(parse: Callable[[], list]) -> None:
    """PhoneChatChannel.receive answers ValueError, KeyError and TypeError with 400; any other
    exception is a 500, and the provider retries the same payload again and again."""
    try:
        with past_known_bugs():
            parsed = parse()
    except (ValueError, KeyError, TypeError):
        return
    for message in parsed:
        assert message.kind in ("text", "media", "button", "event")
        assert isinstance(message.sender_id, str) and isinstance(message.external_id, str)


@pytest.fixture(scope="module")
def channels():
    from connectors.telegram import TelegramInput
    from connectors.twilio import TwilioInput

    return TwilioInput(), TelegramInput()


@FAST
@given(body=twilio_bodies())
@example(body=b"MessageSid=SM1&From=%2B32470&NumMedia=%C2%B2")
@example(body=b"MessageSid=SM1&From=whatsapp%3A%2B32470&NumMedia=1")
def test_twilio_form_is_parsed_or_refused(channels, body: bytes) -> None:
    _parsed_or_refused(lambda: channels[0].parse(types.SimpleNamespace(body=body)))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "text", "chat", "from", "date", "message", "data", "type",
                         "first_name", "is_bot", "photo", "location", "latitude", "longitude",
                         "file_id", "file_unique_id", "width", "height", "caption", "x"]),
        inner, max_size=5),
    max_leaves=12)


@st.composite
def telegram_updates(draw) -> Any:
    if draw(st.integers(0, 5)) == 0:
        return draw(_JSON)
    chat = draw(st.one_of(st.fixed_dictionaries({"id": st.integers(-2**40, 2**40),
                                                 "type": st.sampled_from(["private", "group"])}),
                          _JSON))
    user = {"id": 7, "is_bot": False, "first_name": "A"}
    message = draw(st.one_of(
        st.fixed_dictionaries({"message_id": st.integers(0, 10**6), "date": st.integers(0, 2**31),
                               "chat": st.just(chat), "text": ANY_TEXT}),
        st.fixed_dictionaries({"message_id": st.just(1), "date": st.just(0), "chat": st.just(chat),
                               "photo": _JSON, "location": _JSON, "caption": _JSON}),
        _JSON))
    kind = draw(st.sampled_from(["message", "edited_message", "callback_query",
                                 "my_chat_member", "channel_post", "x"]))
    body: Any = message
    if kind == "callback_query":
        body = {"id": "q1", "from": user, "chat_instance": "c", "data": draw(ANY_TEXT),
                "message": message}
    elif kind == "my_chat_member":
        body = {"chat": chat, "from": user, "date": 0,
                "old_chat_member": {"status": "member", "user": user},
                "new_chat_member": draw(st.one_of(st.just({"status": "kicked", "user": user,
                                                           "until_date": 0}), _JSON))}
    return {"update_id": draw(st.one_of(st.integers(0, 2**31), _JSON)), kind: body}


@FAST
@given(data=telegram_updates())
@example(data={"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "hoi",
                                           "chat": {"id": 5, "type": "private"}}})
def test_telegram_update_is_parsed_or_refused(channels, data: Any) -> None:
    _parsed_or_refused(lambda: channels[1].parse(types.SimpleNamespace(json=data)))


@FAST
@given(st.one_of(st.none(), ANY_TEXT, st.sampled_from(["STOP", " stop ", "Arrêt", "START"])),
       st.integers(0, 12))
@example("²", 3)
@example("1" * 5000, 3)
@example("٢", 3)
def test_keywords_and_numbered_options(text: str | None, count: int) -> None:
    from connectors import optout, sms

    keyword = optout.classify(text)
    assert keyword is None or keyword.kind in optout.KINDS
    chosen = sms.chosen_option(text, count)
    assert chosen is None or 0 <= chosen < count


# --- the crashes found, one input each (expected to fail until fixed) ------------------------


def _csv(row: str) -> Callable[[], Any]:
    """Read or refuse: a refusal must name the line."""
    header = "location_ref,name,care_type,pricing,postcode,municipality,available_from,places\n"

    def run() -> Any:
        try:
            return csv_io.read_rows(io.StringIO(header + row), today=DAY)
        except csv_io.CsvImportError as exc:
            assert "line 2" in str(exc), exc
            return exc
    return run


def _button(field: str, raw: str) -> Callable[[], Any]:
    def run() -> Any:
        read = intake.interpret(field, "/inform", "inform",
                                [{"entity": "intake_value", "value": raw}], "nl", DAY)
        return intake.display(field, read.value, "nl") if read.ok else read
    return run


def _telegram(update: dict) -> Callable[[], Any]:
    """Parsed, or refused the way the webhook refuses (connectors.common: answered, not 500)."""
    from connectors.telegram import TelegramInput

    def run() -> Any:
        try:
            return TelegramInput().parse(types.SimpleNamespace(json=update))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return exc
    return run


REGRESSIONS = {
    # a number of 309+ digits becomes float infinity
    "dates-huge-number": lambda: dates.parse_days_per_week("1" * 400, "nl"),
    "dates-huge-number-start": lambda: dates.parse_start_date("1" * 400, "nl", DAY),
    "dates-huge-number-age": lambda: dates.parse_age_months("1" * 400 + " maanden", "nl"),
    # a count that leaves the calendar (year 102025, or more days than timedelta holds)
    "dates-out-of-range": lambda: dates.parse_start_date("over 99999 jaar", "nl", DAY),
    "dates-out-of-range-weeks": lambda: dates.parse_birth_date("10000000 weken terug", "nl",
                                                                DAY),
    # an absurd but finite age turned into a birth date
    "age-to-birth-overflow": lambda: intake.interpret("child_birth", "6956 jaar", None, [],
                                                      "nl", DAY),
    "age-to-birth-overflow-places": lambda: places_dialogue.interpret("child", "6956 jaar",
                                                                      "nl", DAY),
    # "²".isdigit() is True, int("²") raises; so do 4301+ digits
    "isdigit-int": lambda: intake.interpret("frequency", "²", None, [], "nl", DAY),
    "isdigit-int-long": lambda: intake.interpret("reason", "1" * 5000, None, [], "nl", DAY),
    "isdigit-int-eligibility": lambda: eligibility_dialogue.interpret("work_situation", "²",
                                                                      None, [], "nl"),
    # a typed "/inform{"intake_value": "…"}" whose value is not JSON
    "button-json": _button("phone", "notjson"),
    # a button value that is JSON but not a value of the field is accepted, then the summary
    # cannot show it
    "button-unchecked-date": _button("child_birth", '"abc"'),
    "button-unchecked-choice": _button("reason", "[]"),
    # csv.Error is not a CsvImportError (Python 3.10's csv refuses NUL characters)
    "csv-nul": _csv("a,b\x00,groepsopvang,ikt,2800,Mechelen,,\n"),
    # OverflowError is not the ValueError the row check catches
    "csv-date-overflow": _csv("a,b,groepsopvang,ikt,2800,Mechelen,+999999999999d,3\n"),
    # an update without the chat Telegram always sends: AttributeError, answered with 500
    "telegram-missing-field": _telegram({"update_id": 1, "message": {
        "message_id": 1, "date": 0, "chat": None, "text": "hoi"}}),
}


@pytest.mark.parametrize("bug", sorted(REGRESSIONS))
def test_fixed_crash_stays_fixed(bug: str) -> None:
    """Each input once crashed a parser (found by this suite); it must now be answered."""
    REGRESSIONS[bug]()
