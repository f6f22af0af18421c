"""Opening hours and contact data of the loket."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot import i18n, loket
from bot.settings import DATA_DIR

BRU = ZoneInfo("Europe/Brussels")


def test_open_and_closed() -> None:
    demo = loket.load("demo")
    assert demo.is_open(datetime(2026, 11, 23, 10, 0, tzinfo=BRU))  # Monday morning
    assert not demo.is_open(datetime(2026, 11, 23, 12, 30, tzinfo=BRU))  # lunch
    assert not demo.is_open(datetime(2026, 11, 28, 10, 0, tzinfo=BRU))  # Saturday


def test_next_opening_after_friday_noon_is_monday() -> None:
    demo = loket.load("demo")
    nxt = demo.next_opening(datetime(2026, 11, 27, 13, 0, tzinfo=BRU))
    assert nxt == datetime(2026, 11, 30, 9, 0, tzinfo=BRU)


def test_contact_text_in_every_language_has_hours_and_phone() -> None:
    demo = loket.load("demo")
    for lang in i18n.SUPPORTED:
        text = demo.contact_text(lang)
        assert demo.phone in text and demo.email in text
        assert i18n.t("weekday.wed", lang) in text and "13:30–18:00" in text


# --------------------------------------------------------------- holidays and closures
# Every date is an input: the clock is never read.

def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BRU)


def test_public_holidays_come_from_the_holidays_package() -> None:
    demo = loket.load("demo")
    assert demo.holiday_on(date(2026, 12, 25))  # Christmas
    assert demo.holiday_on(date(2027, 3, 29))  # Easter Monday 2027
    assert demo.holiday_on(date(2027, 5, 6))  # Ascension 2027
    assert demo.holiday_on(date(2026, 7, 21))  # National Day
    assert demo.holiday_on(date(2027, 3, 30)) is None  # the Tuesday after Easter


def test_the_flemish_community_holiday_is_closed() -> None:
    demo = loket.load("demo")
    assert demo.closed_reason(date(2027, 7, 11)) == loket.HOLIDAY  # a Sunday in 2027
    # 11 July 2028 is a Tuesday, a day with hours: closed all day, open again on Wednesday
    assert not demo.is_open(_at(date(2028, 7, 11)))
    assert demo.next_opening(_at(date(2028, 7, 11))) == _at(date(2028, 7, 12), 9)
    assert demo.next_opening(_at(date(2027, 7, 11))) == _at(date(2027, 7, 12), 9)


def test_easter_monday_is_closed_and_the_day_after_is_open() -> None:
    demo = loket.load("demo")
    easter_monday = date(2027, 3, 29)
    assert demo.hours["mon"] and not demo.is_open(_at(easter_monday))
    assert demo.next_opening(_at(easter_monday)) == _at(date(2027, 3, 30), 9)
    assert demo.is_open(_at(date(2027, 3, 30)))


def test_a_closure_period_is_closed_until_its_last_day() -> None:
    demo = loket.load("demo")
    for day in (date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)):
        assert not demo.is_open(_at(day)), day
        assert demo.closed_reason(day) == loket.CLOSURE
    assert demo.is_open(_at(date(2026, 12, 23)))  # the Wednesday before
    # the day after the closure (Saturday 2/1) has no hours: Monday 4 January
    assert demo.next_opening(_at(date(2026, 12, 25))) == _at(date(2027, 1, 4), 9)
    assert demo.closed_reason(date(2027, 1, 4)) is None
    assert demo.is_open(_at(date(2027, 1, 4)))


def test_working_days_skip_weekends_holidays_and_closures() -> None:
    demo = loket.load("demo")
    assert demo.working_days_after(date(2026, 11, 23), 3) == date(2026, 11, 26)  # Mon -> Thu
    assert demo.working_days_after(date(2026, 11, 27), 3) == date(2026, 12, 2)  # over a weekend
    # Tuesday 22/12: Wednesday 23/12, then the Christmas closure, then Monday 4/1 and Tue 5/1
    assert demo.working_days_after(date(2026, 12, 22), 3) == date(2027, 1, 5)
    # Friday before Easter 2027: Easter Monday does not count
    assert demo.working_days_after(date(2027, 3, 26), 1) == date(2027, 3, 30)


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_on_a_holiday_the_family_hears_when_the_loket_opens_again(lang: str) -> None:
    demo = loket.load("demo")
    text = demo.closed_handoff_text(_at(date(2027, 3, 29)), lang)  # Easter Monday
    assert text == i18n.t("handoff.closed_holiday", lang,
                          when=demo.moment_text(_at(date(2027, 3, 30), 9), lang))
    assert i18n.t("weekday.tue", lang) in text and "30/3" in text


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_in_a_closure_the_family_hears_until_when_and_when_a_person_answers(lang: str) -> None:
    demo = loket.load("demo")
    text = demo.closed_handoff_text(_at(date(2026, 12, 25), 11), lang)
    assert "1/1" in text and "4/1" in text and "09:00" in text
    assert text.startswith(i18n.t("handoff.closed_closure", lang, until="\0",
                                  when="").split("\0")[0])


def test_an_ordinary_closed_evening_keeps_the_ordinary_text() -> None:
    demo = loket.load("demo")
    evening = _at(date(2026, 11, 24), 20)
    assert demo.closed_handoff_text(evening, "nl") == i18n.t(
        "handoff.closed", "nl", when=demo.moment_text(_at(date(2026, 11, 25), 9), "nl"))


def test_contact_text_says_closed_today_or_a_closure_ahead() -> None:
    demo = loket.load("demo")
    holiday = demo.contact_text("en", _at(date(2028, 7, 11)))
    assert i18n.t("loket.closed_today_holiday", "en") in holiday
    assert "Wednesday 12/7 at 09:00" in holiday
    closure = demo.contact_text("fr", _at(date(2026, 12, 28)))
    assert i18n.t("loket.closed_today_closure", "fr", until="vendredi 1/1") in closure
    assert i18n.t("loket.opens_again", "fr", when="lundi 4/1 à 09:00") in closure
    ahead = demo.contact_text("nl", _at(date(2026, 12, 10)))
    assert "donderdag 24/12" in ahead and "vrijdag 1/1" in ahead
    assert demo.contact_text("nl", _at(date(2026, 10, 6))) == demo.contact_text("nl")


def test_closures_and_holidays_are_read_from_the_file(tmp_path) -> None:
    data = yaml.safe_load((DATA_DIR / "loket" / "demo.yml").read_text(encoding="utf-8"))
    data["holidays"] = {"country": None}
    data["closures"] = [{"from": date(2027, 8, 2), "to": date(2027, 8, 13), "name": "zomer"}]
    none = loket._parse(data)
    assert none.closed_reason(date(2026, 12, 25)) is None
    assert none.closed_reason(date(2027, 7, 11)) is None
    assert none.closed_reason(date(2027, 8, 9)) == loket.CLOSURE
    data["closures"] = [{"from": date(2027, 8, 13), "to": date(2027, 8, 2)}]
    with pytest.raises(ValueError):
        loket._parse(data)
