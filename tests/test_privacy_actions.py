"""The chat's own ways into bot/privacy/ at action level (rasa_sdk Tracker and
CollectingDispatcher, no server): "what do you have about me" shows the requests without the
health notes, "delete my data" erases the requests now and marks the conversation, and the
tracker store's hook finishes that erasure once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import db, i18n
from bot.actions.intake import ActionDeleteMyData, ActionSeeMyData
from bot.intake import store
from bot.privacy import erasure
from bot.settings import ROOT

DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
SENDER = "whatsapp:+32470000009"


@pytest.fixture()
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("BOT_DB_URL", url)
    db.upgrade(url)
    with db.session_scope(url) as session:
        request = store.start_draft(session, SENDER, channel="twilio", role="parent",
                                    language="nl")
        store.save_answer(session, request, "child_name", "Noor")
        store.save_answer(session, request, "health", "astma")
    yield url
    db.dispose_engine(url)


async def _run(action: Any, text: str) -> list[str]:
    slots = {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}
    slots.update(language="nl")
    message = {"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []}
    tracker = Tracker(SENDER, slots, message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker, DOMAIN)
    return [m.get("text") or "" for m in dispatcher.messages]


async def test_see_my_data_shows_the_answers_but_not_the_health_notes(url: str) -> None:
    shown = "\n".join(await _run(ActionSeeMyData(), "welke gegevens hebben jullie"))
    assert "Noor" in shown and i18n.t("my_data.encrypted", "nl") in shown
    assert "astma" not in shown


async def test_delete_my_data_erases_now_and_the_tracker_store_finishes_once(url: str) -> None:
    texts = await _run(ActionDeleteMyData(), "ja")
    assert texts[0] == i18n.t("delete.done", "nl", requests=1, messages=0)
    with db.session_scope(url) as session:
        assert store.latest_draft(session, SENDER) is None
        assert erasure.pending_erasures(session, SENDER)
    erased: list[str] = []
    assert erasure.finish_pending(SENDER, lambda sender: erased.append(sender) or 7) == 7
    assert erased == [SENDER]
    assert erasure.finish_pending(SENDER, lambda sender: 1 / 0) is None  # done: never again
