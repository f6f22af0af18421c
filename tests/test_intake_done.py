"""The snelfiche's last message: "within N working days", said as the last day, counted
without the loket's holidays and closure periods (the date is an input: BOT_TODAY)."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import db, i18n, loket
from bot.actions.intake import ActionIntakeDone
from bot.intake import store


@pytest.mark.parametrize("today, lang, last_day", [
    ("2026-11-23", "nl", "donderdag 26/11"),  # an ordinary Monday: Thursday
    ("2026-12-22", "fr", "mardi 5/1"),  # over the Christmas closure
    ("2027-03-26", "en", "Thursday 1/4"),  # over Easter Monday
])
async def test_done_names_the_last_working_day(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                               today: str, lang: str, last_day: str) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    monkeypatch.setenv("BOT_DB_URL", url)
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("BOT_TODAY", today)
    monkeypatch.delenv("BOT_LOKET_FILE", raising=False)
    loket.load.cache_clear()
    with db.session_scope(url) as s:
        request = store.start_draft(s, "fiche-1", channel="rest", role="parent", language=lang)
        reference = store.confirm(s, request)
        draft_id = request.id
    tracker = Tracker("fiche-1", {"language": lang, "role": "parent",
                                  "intake_draft_id": draft_id},
                      {"text": "ja", "intent": {"name": "affirm"}, "entities": []}, [], False,
                      None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    await ActionIntakeDone().run(dispatcher, tracker, {})
    assert reference
    assert dispatcher.messages[0]["text"] == i18n.t(
        "intake.parent.done", lang, reference=reference, days=3, by=last_day)
