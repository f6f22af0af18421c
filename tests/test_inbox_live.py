"""Live updates (bot/inbox/live.py): a staff page's event stream tells of a new handoff (as
the action server writes it), a claim by a colleague and a family's new message (a new event
in the tracker store) within 2 s; it needs a session and ends with it."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from sqlalchemy import create_engine, text
from test_inbox_helpers import running_inbox

from bot import db, handoff
from bot.inbox import live


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(tracker)
    with engine.begin() as connection:  # the columns of Rasa's SQL tracker store we read
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, "
                                "sender_id VARCHAR(255), type_name VARCHAR(255))"))
    engine.dispose()
    monkeypatch.setenv("TRACKER_DB_URL", tracker)
    async with running_inbox(tmp_path, monkeypatch) as running:
        running.tracker_url = tracker
        yield running
    db.dispose_engine(tracker)


async def _next(response, timeout: float = 2.0) -> tuple[str, dict]:
    """The next event of the stream (keep-alive comments skipped)."""
    kind = None
    deadline = time.monotonic() + timeout
    while True:
        line = await asyncio.wait_for(response.content.readline(),
                                      max(deadline - time.monotonic(), 0.01))
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind:
            return kind, json.loads(line[6:])


def _open(url: str, sender: str) -> int:
    with db.session_scope(url) as s:
        return handoff.open_handoff(s, sender, channel="whatsapp", language="nl",
                                    reason="request", urgent=False, paused=True).id


async def test_the_stream_needs_a_session(inbox) -> None:
    response = await inbox.client.get("/inbox/api/events")
    assert response.status == 401


async def test_new_handoff_claim_and_family_message_arrive_within_two_seconds(inbox) -> None:
    await inbox.login("ann")
    stream = await inbox.client.get("/inbox/api/events")
    assert stream.headers["Content-Type"] == "text/event-stream"
    assert await _next(stream) == ("hello", {"waiting": 0})

    started = time.monotonic()
    hid = _open(inbox.url, "whatsapp:+32470000201")  # as the action server does
    assert await _next(stream) == ("conversation", {"id": hid})
    assert await _next(stream) == ("queue", {"waiting": 1})
    assert time.monotonic() - started < 2.0

    # a colleague's claim (her server is closed last: closing runs the app's cleanup)
    bert = await inbox.new_client()
    await inbox.login("bert", client=bert)
    await bert.post(f"/inbox/c/{hid}/claim", data={"csrf": await inbox.csrf(bert)})
    assert await _next(stream) == ("conversation", {"id": hid})
    assert await _next(stream) == ("queue", {"waiting": 0})

    started = time.monotonic()
    engine = create_engine(inbox.tracker_url)
    with engine.begin() as connection:  # Rasa stores the family's message
        connection.execute(text("INSERT INTO events (sender_id, type_name) VALUES "
                                "('whatsapp:+32470000201', 'user')"))
    engine.dispose()
    assert await _next(stream) == ("conversation", {"id": hid})
    assert time.monotonic() - started < 2.0
    stream.close()
    await bert.close()


async def test_the_stream_ends_with_the_session(inbox, monkeypatch) -> None:
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.2)
    await inbox.login("ann")
    stream = await inbox.client.get("/inbox/api/events")
    assert (await _next(stream))[0] == "hello"
    await inbox.client.post("/inbox/logout", data={"csrf": await inbox.csrf()})
    rest = await asyncio.wait_for(stream.content.read(), 3)  # the stream ends by itself
    assert b"event:" not in rest
