"""Opening hours and contact data of the loket."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot import i18n, loket

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
