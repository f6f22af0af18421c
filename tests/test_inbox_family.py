"""The admin page for one family's data: find by reference or phone number, export, delete;
afterwards no trace in the tracker store, the messages, the requests or the audit log."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select, text
from test_inbox_helpers import csrf_of, running_inbox
from test_retention import _care_request, _channel_messages, _handoff, _save_conversation

from bot import db
from bot.handoff import AuditEntry
from bot.intake.models import CareRequest
from connectors import messages

SENDER = "whatsapp:+32470555111"
OTHER = "whatsapp:+32470555222"


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DB_URL", tracker_url)
    async with running_inbox(tmp_path, monkeypatch) as running:
        when = datetime.now(timezone.utc) - timedelta(days=2)
        for sender, marker in ((SENDER, "FAMA"), (OTHER, "FAMB")):
            # Rasa's store runs its own event loop: in a thread, beside the test's
            await asyncio.to_thread(_save_conversation, tracker_url, sender, marker, when)
            _care_request(running.url, sender, "new", when, marker)
            _channel_messages(running.url, sender, marker, when)
            _handoff(running.url, sender, when)
        running.tracker_url = tracker_url
        yield running


def _events(url: str, sender: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"),
                             {"s": sender}).scalar_one()
    engine.dispose()
    return int(count)


def _reference(url: str, sender: str) -> str:
    with db.session_scope(url) as session:
        return session.execute(select(CareRequest.reference)
                               .where(CareRequest.sender_id == sender)).scalar_one()


async def test_only_admins_see_a_familys_data(inbox) -> None:
    await inbox.login("ann")
    response = await inbox.client.get("/inbox/admin/family?q=" + SENDER)
    assert response.status == 403
    assert (await inbox.client.get(
        "/inbox/admin/family/export?sender=" + SENDER)).status == 403


async def test_find_export_and_delete_leave_no_trace(inbox) -> None:
    await inbox.login("admin")
    reference = _reference(inbox.url, SENDER)
    page = await (await inbox.client.get(f"/inbox/admin/family?q={reference}")).text()
    assert SENDER in page and OTHER not in page
    by_phone = await (await inbox.client.get("/inbox/admin/family?q=0032 470 55 51 11")).text()
    assert SENDER in by_phone

    export = await inbox.client.get("/inbox/admin/family/export", params={"sender": SENDER})
    assert export.status == 200 and "attachment" in export.headers["Content-Disposition"]
    data = json.loads(await export.text())
    assert data["care_requests"][0]["answers"]["health"] == "astma FAMA"  # decrypted for them
    assert {m["text"] for m in data["channel_messages"]} == {"hallo FAMA", "antwoord FAMA"}
    assert any("FAMA" in json.dumps(e["data"]) for e in data["conversation_events"])
    assert "FAMB" not in json.dumps(data)

    token = csrf_of(page)
    wrong = await inbox.client.post("/inbox/admin/family/delete",
                                    data={"csrf": token, "sender": SENDER, "confirm": OTHER})
    assert wrong.status == 400 and _events(inbox.tracker_url, SENDER) == 4
    done = await inbox.client.post("/inbox/admin/family/delete",
                                   data={"csrf": token, "sender": SENDER, "confirm": SENDER},
                                   allow_redirects=False)
    assert done.status == 303 and "msg=family_deleted" in done.headers["Location"]

    # no trace: tracker store, messages, requests, audit log
    assert _events(inbox.tracker_url, SENDER) == 0
    assert messages.conversation(SENDER, inbox.url) == []
    with db.session_scope(inbox.url) as session:
        assert session.execute(select(CareRequest).where(
            CareRequest.sender_id == SENDER)).first() is None
        audit = session.execute(select(AuditEntry)).scalars().all()
        assert all("555111" not in f"{a.target} {a.detail}" for a in audit)
        assert {a.action for a in audit} >= {"family_exported", "family_deleted"}
    again = await (await inbox.client.get(f"/inbox/admin/family?q={reference}")).text()
    assert SENDER not in again
    # the other family is untouched
    assert _events(inbox.tracker_url, OTHER) == 4
    assert len(messages.conversation(OTHER, inbox.url)) == 2
