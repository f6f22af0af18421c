"""Data lifecycle on real stores: the assistant's SQLite database built by its migrations and a
tracker file written by Rasa's own SQLTrackerStore. After a purge or a family's deletion no
row anywhere may mention the conversation id or the text the family typed."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text, update
from sqlalchemy.engine import make_url

from bot import __main__ as bot_main
from bot import db, handoff
from bot.intake import store
from bot.intake.models import CareRequest, ErasureRequest
from bot.privacy import erasure, export, retention
from connectors import messages
from connectors.messages import Inbound

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=400)  # past every retention period
RECENT = NOW - timedelta(days=3)  # inside every retention period
POLICY = retention.Policy(retention_months=12, closed_conversation_days=90, draft_days=30)

OLD_SENDER = "whatsapp:+32470000001"
RECENT_SENDER = "whatsapp:+32470000002"
OLD_MARKER = "ZEBRA-OLD-4711"
RECENT_MARKER = "GIRAFFE-NEW-0815"


@dataclass
class Stores:
    bot_url: str
    tracker_url: str
    tracker_path: Path | None  # the SQLite file; None on PostgreSQL

    def dump(self) -> str:
        """Every row of every table of both stores, as one text."""
        out = []
        for url in (self.bot_url, self.tracker_url):
            engine = create_engine(url, future=True)
            with engine.connect() as conn:
                for name in inspect(conn).get_table_names():
                    out += [f"{name}: {tuple(row)}"
                            for row in conn.execute(text(f'SELECT * FROM "{name}"'))]
            engine.dispose()
        return "\n".join(out)

    def count(self, url: str, sql: str) -> int:
        engine = create_engine(url, future=True)
        with engine.connect() as conn:
            value = conn.execute(text(sql)).scalar_one()
        engine.dispose()
        return int(value)


def _save_conversation(url: str, sender: str, marker: str, when: datetime) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    start = when.timestamp()
    events = [
        ActionExecuted("action_session_start", timestamp=start),
        UserUttered(f"ik zoek opvang {marker}", {"name": "search_place", "confidence": 1.0},
                    timestamp=start + 1),
        ActionExecuted("action_search_places", timestamp=start + 2),
        BotUttered(f"ok {marker}", timestamp=start + 3),
    ]
    parsed = make_url(url)
    tracker_store = SQLTrackerStore(Domain.empty(), dialect=parsed.drivername, host=parsed.host,
                                    port=parsed.port, db=parsed.database,
                                    username=parsed.username, password=parsed.password)
    asyncio.run(tracker_store.save(DialogueStateTracker.from_events(sender, events)))
    tracker_store.engine.dispose()


def _care_request(url: str, sender: str, status: str, when: datetime, marker: str) -> int:
    with db.session_scope(url) as session:
        request = store.start_draft(session, sender, channel="whatsapp", role="parent",
                                    language="nl")
        store.save_answer(session, request, "child_name", f"Kind {marker}")
        store.save_answer(session, request, "health", f"astma {marker}")
        if status != "draft":
            store.confirm(session, request)
        request_id = request.id
    with db.session_scope(url) as session:  # the clock of the row, set as if long ago
        session.execute(update(CareRequest).where(CareRequest.id == request_id)
                        .values(status=status, updated_at=when, created_at=when))
    return request_id


def _channel_messages(url: str, sender: str, marker: str, when: datetime) -> None:
    address = sender.split(":", 1)[1]
    messages.record_inbound(Inbound("whatsapp", sender, address, f"SM{marker}",
                                    text=f"hallo {marker}"), url)
    messages.record_outbound("whatsapp", sender, address, f"antwoord {marker}", messages.SENT,
                             url=url)
    naive = when.replace(tzinfo=None)
    with db.session_scope(url) as session:
        session.execute(update(messages.ChannelMessage)
                        .where(messages.ChannelMessage.sender_id == sender)
                        .values(created_at=naive, updated_at=naive))
        session.execute(update(messages.ChannelContact)
                        .where(messages.ChannelContact.sender_id == sender)
                        .values(updated_at=naive, last_inbound_at=naive))


def _handoff(url: str, sender: str, when: datetime, status: str = "closed",
             marker: str = "") -> None:
    with db.session_scope(url) as session:
        h = handoff.Handoff(sender_id=sender, channel="whatsapp", language="nl",
                            status=status, urgent=False, reason="request", paused=False,
                            claimed_by="worker1", created_at=when, closed_at=when)
        session.add(h)
        if marker:  # a worker's private note is about the family too
            session.flush()
            session.add(handoff.HandoffNote(handoff_id=h.id, sender_id=sender,
                                            worker="worker1", text=f"belt terug {marker}",
                                            created_at=when))
        session.add(handoff.AuditEntry(at=when, worker="worker1", action="claimed",
                                       target=sender))


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Stores:
    """Both stores as on embedded defaults (two SQLite files), or in one PostgreSQL database
    (the tracker's ``events`` next to the assistant's tables)."""
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))  # the encryption key of this test
    if request.param == "sqlite":
        bot_url = f"sqlite:///{tmp_path / 'bot.db'}"
        tracker_path: Path | None = tmp_path / "tracker.db"
        tracker_url = f"sqlite:///{tracker_path}"
    else:
        bot_url = tracker_url = request.getfixturevalue("pg_url")
        tracker_path = None
    db.upgrade(bot_url)
    yield Stores(bot_url, tracker_url, tracker_path)
    db.dispose_engine(bot_url)


@pytest.fixture()
def filled(stores: Stores) -> Stores:
    """Two families, one silent for 400 days and one active three days ago."""
    for sender, marker, when in ((OLD_SENDER, OLD_MARKER, OLD),
                                 (RECENT_SENDER, RECENT_MARKER, RECENT)):
        _care_request(stores.bot_url, sender, "draft", when, marker)
        _care_request(stores.bot_url, sender, "closed", when, marker)
        _channel_messages(stores.bot_url, sender, marker, when)
        _handoff(stores.bot_url, sender, when, marker=marker)
        _save_conversation(stores.tracker_url, sender, marker, when)
    return stores


def _purge(s: Stores, **kwargs) -> dict[str, int]:
    return retention.purge(NOW, bot_db_url=s.bot_url, tracker_db_url=s.tracker_url,
                           retention=POLICY, **kwargs)


def test_policy_reads_the_loket_file_and_defaults(tmp_path, monkeypatch) -> None:
    assert retention.policy("demo").retention_months == 12
    assert retention.policy("demo").closed_conversation_days == 90
    assert retention.policy("demo").draft_days == 30
    (tmp_path / "loket").mkdir()
    (tmp_path / "loket" / "x.yml").write_text(
        "retention_months: 6\nretention_closed_conversation_days: 14\nretention_draft_days: 7\n")
    (tmp_path / "loket" / "bad.yml").write_text("retention_draft_days: 0\n")
    monkeypatch.setattr(retention.settings, "DATA_DIR", tmp_path)
    assert retention.policy("x") == retention.Policy(6, 14, 7)
    with pytest.raises(ValueError, match="retention_draft_days"):
        retention.policy("bad")  # zero would mean "delete every draft now"


def test_months_before_keeps_the_day_or_takes_the_last_of_a_short_month() -> None:
    assert retention.months_before(datetime(2026, 11, 25), 12) == datetime(2025, 11, 25)
    assert retention.months_before(datetime(2026, 3, 31), 1) == datetime(2026, 2, 28)
    assert retention.months_before(datetime(2024, 3, 31), 1) == datetime(2024, 2, 29)
    assert retention.months_before(datetime(2026, 1, 15), 13) == datetime(2024, 12, 15)


def test_purge_deletes_what_is_past_retention_and_leaves_no_trace(filled: Stores) -> None:
    before = filled.dump()
    assert OLD_SENDER in before and OLD_MARKER in before
    dry = _purge(filled, dry_run=True)
    assert filled.dump() == before  # a dry run changes nothing
    counts = _purge(filled)
    assert counts == dry
    assert counts == {"conversations": 1, "events": 4, "drafts": 1, "care_requests": 1,
                      "channel_conversations": 1, "channel_messages": 2, "channel_contacts": 1,
                      "handoffs": 1, "erasure_requests": 0, "channel_optouts": 0,
                      "audit_entries": 1, "forgotten_senders": 1}
    after = filled.dump()
    assert OLD_SENDER not in after and OLD_SENDER.split(":")[1] not in after
    assert OLD_MARKER not in after
    # the recent family is untouched, in both stores
    assert filled.count(filled.bot_url, "SELECT count(*) FROM care_requests") == 2
    assert filled.count(filled.bot_url, "SELECT count(*) FROM channel_messages") == 2
    assert filled.count(filled.tracker_url, "SELECT count(*) FROM events") == 4
    assert RECENT_SENDER in after and RECENT_MARKER in after
    assert filled.count(filled.bot_url, "SELECT count(*) FROM audit_log") == 2  # who did what
    # safe to run again: nothing more to delete
    assert set(_purge(filled).values()) == {0}


def test_each_status_has_its_own_clock(stores: Stores) -> None:
    url = stores.bot_url
    ages = {"draft_40_days": 40, "draft_20_days": 20, "closed_13_months": 396,
            "closed_11_months": 335, "new_3_years": 1100, "in_progress_3_years": 1100}
    ids = {}
    for name, days in ages.items():
        status = name.rsplit("_", 2)[0]
        ids[name] = _care_request(url, f"sms:+3247{len(ids):07d}", status, NOW - timedelta(
            days=days), "x")
    counts = _purge(stores)
    assert (counts["drafts"], counts["care_requests"]) == (1, 1)
    with db.session_scope(url) as session:
        left = {r.id for r in session.query(CareRequest)}
    assert left == {ids[n] for n in ("draft_20_days", "closed_11_months", "new_3_years",
                                     "in_progress_3_years")}


def test_an_active_request_keeps_its_family_known(filled: Stores) -> None:
    """The conversation goes after 90 days; the request the loket works on, and the audit
    entries that name its sender, stay."""
    _care_request(filled.bot_url, OLD_SENDER, "in_progress", OLD, OLD_MARKER)
    _handoff(filled.bot_url, OLD_SENDER, OLD, status="waiting")
    counts = _purge(filled)
    assert (counts["events"], counts["channel_messages"], counts["handoffs"]) == (4, 2, 1)
    assert (counts["audit_entries"], counts["forgotten_senders"]) == (0, 0)
    with db.session_scope(filled.bot_url) as session:
        assert [r.status for r in session.query(CareRequest)
                .filter(CareRequest.sender_id == OLD_SENDER)] == ["in_progress"]
        assert session.query(handoff.Handoff).filter(
            handoff.Handoff.sender_id == OLD_SENDER).one().status == "waiting"
        assert session.query(handoff.AuditEntry).filter(
            handoff.AuditEntry.target == OLD_SENDER).count() == 2


def test_a_stop_stays_honoured_without_the_conversation_id(stores: Stores) -> None:
    url = stores.bot_url
    _channel_messages(url, OLD_SENDER, OLD_MARKER, OLD)
    _channel_messages(url, "sms:+32470000003", "other", OLD)
    messages.set_opted_out("+32470000001", True, "STOP", OLD_SENDER, url=url)
    messages.set_opted_out("+32470000003", False, "START", "sms:+32470000003", url=url)
    counts = _purge(stores)
    assert counts["channel_optouts"] == 2
    assert messages.is_opted_out("+32470000001", url)  # still no messages to this number
    after = stores.dump()
    assert OLD_SENDER not in after and "+32470000003" not in after


def test_a_pending_erasure_is_finished(filled: Stores) -> None:
    with db.session_scope(filled.bot_url) as session:
        session.add(ErasureRequest(sender_id=RECENT_SENDER, requested_at=NOW - timedelta(days=1)))
    counts = _purge(filled)
    assert counts["erasure_requests"] == 1
    assert counts["events"] == 8  # the old conversation and the one to erase
    assert counts["conversations"] == 1  # idle ones; the erased one is counted in events
    assert filled.count(filled.tracker_url, "SELECT count(*) FROM events") == 0
    assert filled.count(filled.bot_url, "SELECT count(*) FROM erasure_requests") == 0


@pytest.mark.parametrize("stores", ["sqlite"], indirect=True)  # a missing file: SQLite only
def test_missing_stores_are_skipped_and_never_created(stores: Stores) -> None:
    assert stores.tracker_path is not None
    with db.session_scope(stores.bot_url) as session:
        for name in ("channel_optouts", "channel_contacts", "channel_messages"):
            session.execute(text(f"DROP TABLE {name}"))
    counts = _purge(stores)
    assert set(counts.values()) == {0}
    assert not stores.tracker_path.exists()


def test_export_holds_everything_about_one_family(filled: Stores) -> None:
    data = export.export_sender(OLD_SENDER, bot_db_url=filled.bot_url,
                                tracker_db_url=filled.tracker_url)
    json.dumps(data)  # plain JSON
    assert [r["status"] for r in data["care_requests"]] == ["draft", "closed"]
    assert data["care_requests"][0]["answers"]["health"] == f"astma {OLD_MARKER}"  # decrypted
    assert [m["direction"] for m in data["channel_messages"]] == ["in", "out"]
    assert len(data["channel_contacts"]) == 1
    assert [e["type"] for e in data["conversation_events"]] == ["action", "user", "action",
                                                                "bot"]
    assert data["conversation_events"][1]["data"]["text"] == f"ik zoek opvang {OLD_MARKER}"
    assert RECENT_MARKER not in json.dumps(data)


def test_delete_sender_removes_every_trace_of_one_family_only(filled: Stores) -> None:
    counts = erasure.delete_sender(RECENT_SENDER, bot_db_url=filled.bot_url,
                                   tracker_db_url=filled.tracker_url)
    assert counts == {"events": 4, "care_requests": 2, "handoffs": 1, "channel_messages": 2,
                      "channel_contacts": 1, "erasure_requests": 0, "channel_optouts": 0,
                      "audit_entries": 1, "handoff_notes": 1}
    after = filled.dump()
    assert RECENT_SENDER not in after and RECENT_MARKER not in after
    assert "+32470000002" not in after
    assert OLD_SENDER in after and OLD_MARKER in after  # the other family is untouched
    assert set(erasure.delete_sender(RECENT_SENDER, bot_db_url=filled.bot_url,
                                     tracker_db_url=filled.tracker_url).values()) == {0}


def test_command_line(filled: Stores, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BOT_DB_URL", filled.bot_url)
    monkeypatch.setenv("TRACKER_DB_URL", filled.tracker_url)
    monkeypatch.setitem(bot_main.COMMANDS, "purge", ("bot.privacy.cli", "purge"))
    monkeypatch.setitem(bot_main.COMMANDS, "family", ("bot.privacy.cli", "family"))
    assert bot_main.main(["family", "export", OLD_SENDER, "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert len(exported["care_requests"]) == 2
    # the real clock: the old family (400 days before 2026-11-25) is past retention anyway
    assert bot_main.main(["purge", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["events"] >= 4 and filled.count(filled.tracker_url,
                                               "SELECT count(*) FROM events") == 8
    assert bot_main.main(["family", "delete", OLD_SENDER]) == 0
    assert "deleted for" in capsys.readouterr().out
    assert OLD_SENDER not in filled.dump()
