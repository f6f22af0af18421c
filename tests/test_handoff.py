"""Handoff to a person without Rasa: queue order, one claim at a time, crisis words, hours."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import db, handoff, i18n, loket
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
