"""Handoff to a person without Rasa: queue order, one claim at a time, crisis words, hours."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import db, handoff, i18n, loket, settings
from bot.actions.handoff import ActionHandoff
from bot.crisis import signals_crisis


@pytest.fixture()
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    return url


def test_queue_puts_urgent_first_then_longest_waiting(url) -> None:
    with db.session_scope(url) as s:
        handoff.open_handoff(s, "a", channel="rest", language="nl", reason="request",
                             urgent=False, paused=True)
        handoff.open_handoff(s, "b", channel="rest", language="fr", reason="request",
                             urgent=False, paused=True)
        handoff.open_handoff(s, "c", channel="rest", language="ar", reason="crisis",
                             urgent=True, paused=True)
    with db.session_scope(url) as s:
        assert [h.sender_id for h in handoff.queue(s)] == ["c", "a", "b"]


def test_same_sender_has_one_open_handoff_made_urgent(url) -> None:
    with db.session_scope(url) as s:
        first = handoff.open_handoff(s, "a", channel="rest", language="nl", reason="request",
                                     urgent=False, paused=False)
        again = handoff.open_handoff(s, "a", channel="rest", language="nl", reason="crisis",
                                     urgent=True, paused=True)
        assert first.id == again.id and again.urgent


def test_only_one_worker_can_claim(url) -> None:
    with db.session_scope(url) as s:
        hid = handoff.open_handoff(s, "a", channel="rest", language="nl", reason="request",
                                   urgent=False, paused=True).id
    results: list[str] = []

    def worker(name: str) -> None:
        try:
            with db.session_scope(url) as s:
                handoff.claim(s, hid, name)
            results.append(name)
        except handoff.AlreadyClaimed as exc:
            results.append(f"refused:{exc.worker}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("ann", "bert")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if not r.startswith("refused")]
    assert len(winners) == 1 and f"refused:{winners[0]}" in results
    with db.session_scope(url) as s:
        entries = s.query(handoff.AuditEntry).filter_by(action="claimed").all()
        assert [e.worker for e in entries] == winners


def test_finish_with_outcome_and_audit(url) -> None:
    with db.session_scope(url) as s:
        h = handoff.open_handoff(s, "a", channel="rest", language="nl", reason="request",
                                 urgent=False, paused=True)
        handoff.claim(s, h.id, "ann")
        handoff.finish(s, h.id, "ann", outcome="answered", handed_back=True)
        assert h.status == "handed_back" and not handoff.queue(s)
        with pytest.raises(ValueError):
            handoff.finish(s, h.id, "ann", outcome="whatever", handed_back=False)


@pytest.mark.parametrize("text", ["mijn man slaat mij", "il me frappe, j'ai peur",
                                  "my child is in danger", "كيضربني راجلي", "beni dövüyor",
                                  "він б'є мене"])
def test_crisis_words_in_several_languages(text: str) -> None:
    assert signals_crisis(text)


@pytest.mark.parametrize("text", ["is er plaats in mechelen", "hoeveel kost de crèche",
                                  "I want to talk to a person", "what is emergency childcare",
                                  "Emergency day care in Mechelen?"])
def test_ordinary_messages_are_no_crisis(text: str) -> None:
    assert not signals_crisis(text)


@pytest.mark.parametrize("text", ["emergency!", "emergency childcare please, he beats me",
                                  "my baby needs emergency care"])
def test_a_crisis_word_beside_a_childcare_phrase_still_counts(text: str) -> None:
    assert signals_crisis(text)


def test_out_of_hours_moment_is_said_in_the_language() -> None:
    desk = loket.load("demo")
    saturday = datetime(2026, 11, 28, 20, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    moment = desk.next_opening(saturday)
    assert desk.moment_text(moment, "fr") == "lundi 30/11 à 09:00"
    assert i18n.t("weekday.mon", "en") in desk.moment_text(moment, "en")


# ------------------------------------------------------- the action on a holiday (BOT_TODAY)

def _tracker(lang: str) -> Tracker:
    return Tracker("hol-1", {"language": lang},
                   {"text": "iemand spreken", "intent": {"name": "request_human"},
                    "entities": []}, [], False, None, {}, "action_listen")


@pytest.mark.parametrize("today, lang, key", [
    ("2026-12-25", "nl", "handoff.closed_closure"),  # Christmas, in the demo's closure
    ("2027-03-29", "fr", "handoff.closed_holiday"),  # Easter Monday
    ("2028-07-11", "ar", "handoff.closed_holiday"),  # 11 July on a Tuesday
])
async def test_on_a_closed_day_the_family_is_not_paused_and_hears_when(
        url, monkeypatch: pytest.MonkeyPatch, today: str, lang: str, key: str) -> None:
    monkeypatch.setenv("BOT_DB_URL", url)
    monkeypatch.setenv("BOT_TODAY", today)
    monkeypatch.delenv("BOT_LOKET_FILE", raising=False)
    loket.load.cache_clear()
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff().run(dispatcher, _tracker(lang), {})
    assert not any(isinstance(e, dict) and e.get("event") == "pause" for e in events)
    texts = [m["text"] for m in dispatcher.messages]
    desk = loket.load()
    assert texts[0] == desk.closed_handoff_text(settings.now(), lang)
    assert texts[0].startswith(i18n.t(key, lang, when="\0", until="\0").split("\0")[0])
    assert i18n.t("handoff.open", lang) not in texts
    with db.session_scope(url) as s:
        (waiting,) = handoff.queue(s)
        assert waiting.sender_id == "hol-1" and waiting.paused is False


def test_bot_today_pins_the_date_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TODAY", "2027-07-11")
    now = settings.now()
    assert now.date().isoformat() == "2027-07-11" and now.utcoffset() is not None
    monkeypatch.delenv("BOT_TODAY")
    assert settings.now().date() == settings.today()
