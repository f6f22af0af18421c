"""End to end: a family asks for a person; paused while the loket is open, told when a person
answers while it is closed; crisis words make it urgent; handback resumes the bot."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from serving import DAYS, Served, loket_file

from bot import care_info, db, handoff, i18n

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def open_stack(serve_stack: Callable[..., Served],
               tmp_path_factory: pytest.TempPathFactory) -> Served:
    var = tmp_path_factory.mktemp("handoff_open")
    return serve_stack(var, BOT_LOKET_FILE=str(loket_file(var, open_now=True)))


def test_handoff_pauses_then_handback_resumes(open_stack: Served) -> None:
    s = open_stack
    sender = "e2e-human-" + os.urandom(3).hex()
    s.say(sender, "hallo")
    replies = s.say(sender, "ik wil met iemand van het loket spreken")
    assert replies[-1]["text"] == i18n.t("handoff.open", "nl")
    assert s.tracker(sender)["paused"] is True
    # while paused the bot is silent; the family's message is kept for the worker
    assert s.say(sender, "mijn dochter is 2 jaar, hebben jullie plaats?") == []
    url = f"sqlite:///{s.var / 'bot.db'}"
    with db.session_scope(url) as session:
        (waiting,) = [h for h in handoff.queue(session) if h.sender_id == sender]
        assert waiting.paused and not waiting.urgent
        handoff.claim(session, waiting.id, "ann")
        handoff.finish(session, waiting.id, "ann", outcome="answered", handed_back=True)
    env = {"RASA_URL": f"http://127.0.0.1:{s.port}", "RASA_TOKEN": s.token}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        handoff.record_staff_message(sender, "ann", "Dag! Ik kijk het voor je na.")
        handoff.resume(sender)
        transcript = handoff.transcript(sender)
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert [t["who"] for t in transcript][-2:] == ["family", "staff"]
    assert transcript[-2]["text"].startswith("mijn dochter")
    # the bot answers again, and did not answer what was said while paused
    replies = s.say(sender, "wat is een onthaalouder")
    assert replies[0]["text"] == care_info.explain_care_types(["gezinsopvang"], "nl")[0].text


@pytest.mark.parametrize(("lang", "text"), [("nl", "help mijn man slaat mij"),
                                            ("fr", "il me frappe, j'ai peur"),
                                            ("ar", "راجلي كيضربني")])
def test_crisis_words_make_it_urgent(open_stack: Served, lang: str, text: str) -> None:
    sender = f"e2e-crisis-{lang}-" + os.urandom(3).hex()
    replies = open_stack.say(sender, text)
    assert replies[0]["text"] == i18n.t("handoff.crisis", lang)
    with db.session_scope(f"sqlite:///{open_stack.var / 'bot.db'}") as session:
        queue = handoff.queue(session)
        mine = [h for h in queue if h.sender_id == sender]
        assert mine and mine[0].urgent and mine[0].reason == "crisis"
        assert queue[0].urgent  # urgent conversations come first


def test_out_of_hours_says_when_and_the_bot_stays(tmp_path: Path) -> None:
    with Served(tmp_path, BOT_LOKET_FILE=str(loket_file(tmp_path, open_now=False))) as s:
        sender = "e2e-closed-" + os.urandom(3).hex()
        replies = s.say(sender, "I want to talk to a person please")
        texts = [r["text"] for r in replies]
        later = datetime.now(ZoneInfo("Europe/Brussels")) + timedelta(days=2)
        weekday = i18n.t(f"weekday.{DAYS[later.weekday()]}", "en")
        assert any(t.startswith(i18n.t("handoff.closed", "en", when="")[:25]) and weekday in t
                   for t in texts)
        assert s.tracker(sender)["paused"] is False
        assert s.say(sender, "what is urgent care")  # the bot is still there
