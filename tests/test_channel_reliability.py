"""The store side of reliable channels: claims by live workers, take-over from dead ones,
queued replies in order, and the local spool for a database that is down."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot import db
from connectors import messages
from connectors.spool import Spool

SMS = ("sms",)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'bot.db'}" if request.param == "sqlite" \
        else request.getfixturevalue("pg_url")
    db.upgrade(url)
    yield url
    db.dispose_engine(url)


def _inbound(n: int, number: str = "+32470000100") -> messages.Inbound:
    return messages.Inbound(channel="sms", sender_id=f"sms:{number}", address=number,
                            external_id=f"SM-rel-{number}-{n}", text=f"bericht {n}")


def _age_worker(store: str, worker: str, seconds: float) -> None:
    with db.session_scope(store) as session:
        session.execute(update(messages.ChannelWorker)
                        .where(messages.ChannelWorker.id == worker)
                        .values(heartbeat_at=messages.utcnow() - timedelta(seconds=seconds)))


def test_a_live_workers_message_is_its_own(store: str) -> None:
    messages.beat("w-live", store)
    messages.beat("w-other", store)
    message_id = messages.record_inbound(_inbound(1), store, worker="w-live")
    assert messages.take_orphaned_inbound(SMS, "w-other", url=store) == []
    assert messages.start_inbound(message_id, store, worker="w-other") is None
    row = messages.start_inbound(message_id, store, worker="w-live")
    assert row is not None and row["attempts"] == 1


def test_the_messages_of_a_dead_worker_are_taken_over_once(store: str) -> None:
    messages.beat("w-dead", store)
    ids = [messages.record_inbound(_inbound(n), store, worker="w-dead") for n in range(3)]
    unclaimed = messages.record_inbound(_inbound(9, "+32470000199"), store)  # before 0005
    _age_worker(store, "w-dead", messages.WORKER_TIMEOUT.total_seconds() + 1)
    for worker in ("w-a", "w-b"):
        messages.beat(worker, store)
    taken: dict[str, list[int]] = {}
    barrier = threading.Barrier(2)

    def take(worker: str) -> None:
        barrier.wait()
        taken[worker] = [r["id"] for r in messages.take_orphaned_inbound(SMS, worker,
                                                                          url=store)]

    threads = [threading.Thread(target=take, args=(w,)) for w in ("w-a", "w-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = sorted(taken["w-a"] + taken["w-b"])
    assert everything == sorted([*ids, unclaimed])  # each exactly once, none lost
    owner = "w-a" if ids[0] in taken["w-a"] else "w-b"
    assert messages.start_inbound(ids[0], store, worker=owner)["attempts"] == 1


def test_a_worker_that_stops_cleanly_frees_its_messages_at_once(store: str) -> None:
    messages.beat("w-old", store)
    message_id = messages.record_inbound(_inbound(1), store, worker="w-old")
    messages.retire("w-old", store)
    messages.beat("w-new", store)
    assert [r["id"] for r in messages.take_orphaned_inbound(SMS, "w-new", url=store)] \
        == [message_id]


def test_finished_messages_are_never_taken_over(store: str) -> None:
    message_id = messages.record_inbound(_inbound(1), store, worker="gone")
    messages.start_inbound(message_id, store, worker="gone")
    messages.finish_inbound(message_id, messages.PROCESSED, "x", None, store)
    assert messages.take_orphaned_inbound(SMS, "w", url=store) == []


def _queued(store: str, sender: str, text: str, due_in: float | None = 0) -> int:
    when = None if due_in is None else messages.utcnow() + timedelta(seconds=due_in)
    return messages.record_outbound("sms", sender, sender[4:], text, messages.QUEUED,
                                    next_attempt_at=when, url=store)


def test_queued_replies_come_out_in_order_and_never_overtake(store: str) -> None:
    a, b = "sms:+32470000201", "sms:+32470000202"
    a1 = _queued(store, a, "a1", due_in=-1)
    b1 = _queued(store, b, "b1", due_in=60)  # not due yet: b2 must wait behind it
    a2 = _queued(store, a, "a2", due_in=None)
    b2 = _queued(store, b, "b2", due_in=None)
    assert messages.has_queued(a, store) and messages.has_queued(b, store)
    lease = timedelta(seconds=30)
    taken = messages.take_due_outbound(SMS, "w1", lease, url=store)
    assert [r["id"] for r in taken] == [a1, a2]
    assert messages.take_due_outbound(SMS, "w2", lease, url=store) == []  # leased to w1
    messages.settle_outbound(a1, messages.SENT, external_id="SMx", attempts=1, url=store)
    later = messages.utcnow() + timedelta(seconds=60)
    messages.settle_outbound(a2, messages.QUEUED, attempts=1, next_attempt_at=later,
                             url=store)
    messages.requeue_conversation(a, a1, later, url=store)
    assert messages.get(a1, store)["status"] == messages.SENT
    assert messages.get(a1, store)["attempts"] == 1
    assert messages.take_due_outbound(SMS, "w2", lease, url=store) == []
    assert b2 not in [r["id"] for r in messages.take_due_outbound(SMS, "w3", lease,
                                                                    url=store)]
    assert messages.get(b1, store)["status"] == messages.QUEUED


def test_a_reply_key_is_recorded_once_sent(store: str) -> None:
    assert not messages.reply_recorded("m7.1", store)
    messages.record_outbound("sms", "sms:+3247", "+3247", "hallo", messages.SENT,
                             reply_id="m7.1", in_reply_to=7, url=store)
    assert messages.reply_recorded("m7.1", store)
    assert not messages.reply_recorded("m7.2", store)


# --- the spool -------------------------------------------------------------------------------


def test_spool_keeps_messages_until_the_store_takes_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", "w1")
    first, second = _inbound(1), _inbound(2)
    spool.append(first)
    spool.append(second)
    line = (tmp_path / "spool" / "w1.jsonl").read_text().splitlines()[0]
    assert json.loads(line)["external_id"] == first.external_id
    assert spool.pending()

    def down(_message: messages.Inbound) -> None:
        raise OSError("database down")

    with pytest.raises(OSError):
        spool.drain(down)
    assert spool.pending()  # nothing lost while the store is down
    stored: list[messages.Inbound] = []
    assert spool.drain(stored.append) == 2
    assert stored == [first, second]
    assert not spool.pending()


def test_spool_loses_nothing_while_appending_and_draining_race(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    writers = [Spool(directory, f"w{i}") for i in range(3)]
    stored: list[str] = []
    lock = threading.Lock()

    def store(message: messages.Inbound) -> None:
        with lock:
            stored.append(message.external_id)

    def write(spool: Spool, worker: int) -> None:
        for n in range(200):
            spool.append(_inbound(n, f"+3247{worker:07d}"))

    threads = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate(writers)]
    for thread in threads:
        thread.start()
    drainer = Spool(directory, "drainer")
    while any(t.is_alive() for t in threads):
        drainer.drain(store)
    drainer.drain(store)
    assert len(stored) == 600 and len(set(stored)) == 600


def test_first_messages_of_a_new_sender_at_the_same_moment_are_all_stored(store: str) -> None:
    number = "+32470000777"
    ids: list[int | None] = []
    barrier = threading.Barrier(4)

    def deliver(n: int) -> None:
        barrier.wait()
        ids.append(messages.record_inbound(_inbound(n, number), store))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([i for i in ids if i is not None]) == 4  # different messages: none dropped
    assert len(messages.conversation(f"sms:{number}", store)) == 4
    assert messages.last_inbound_at(f"sms:{number}", store) is not None


def test_a_part_being_sent_waits_for_its_worker_or_its_death(store: str) -> None:
    """A part is recorded ``sending`` before the provider call: nobody else takes it while
    its worker lives; once the worker is dead, another one takes it (and asks the provider
    first, see test_a_dead_workers_part_is_looked_up_at_twilio)."""
    messages.beat("w-send", store)
    messages.beat("w-other", store)
    row = messages.record_outbound("sms", "sms:+32470000300", "+32470000300", "x",
                                   messages.QUEUED, reason=messages.SENDING, reply_id="m1.1",
                                   part=1, claimed_by="w-send", url=store)
    later = messages.record_outbound("sms", "sms:+32470000300", "+32470000300", "y",
                                     messages.QUEUED, reason="waiting_behind_queued",
                                     reply_id="m1.2", part=1, url=store)
    assert messages.reply_recorded("m1.1", store)  # a turn run again does not send it
    lease = timedelta(seconds=60)
    assert messages.take_due_outbound(SMS, "w-other", lease, url=store) == []
    assert messages.take_due_outbound(SMS, "w-send", lease, url=store) == []  # its own call
    _age_worker(store, "w-send", 60)
    taken = messages.take_due_outbound(SMS, "w-other", lease, url=store)
    assert [r["id"] for r in taken] == [row, later]
    assert taken[0]["reason"] == messages.SENDING and taken[0]["claimed_by"] == "w-other"
    # a call that never came back, of a worker that still beats: taken after the lease
    stuck = messages.record_outbound(
        "sms", "sms:+32470000302", "+32470000302", "z", messages.QUEUED,
        reason=messages.SENDING, claimed_by="w-other", url=store,
        next_attempt_at=messages.utcnow() + messages.SENDING_LEASE)
    messages.beat("w-other", store)
    assert stuck not in [r["id"] for r in messages.take_due_outbound(SMS, "w-third", lease,
                                                                      url=store)]
    with db.session_scope(store) as session:
        session.execute(update(messages.ChannelMessage)
                        .where(messages.ChannelMessage.id == stuck)
                        .values(next_attempt_at=messages.utcnow() - timedelta(seconds=1)))
    assert [r["id"] for r in messages.take_due_outbound(
        SMS, "w-third", lease, url=store, sender_id="sms:+32470000302")] == [stuck]


async def test_a_dead_workers_part_is_looked_up_at_twilio(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Over real HTTP against the fake Twilio's Message list: the part it took is found and
    not sent again; one it never got, or one whose sid we know already, is not found."""
    import aiohttp
    from fakes import FakeTwilio

    from connectors.twilio import TwilioInput

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    fake = FakeTwilio("ACrel", "secret").start()
    try:
        for name, value in (("BOT_DB_URL", url), ("TWILIO_ACCOUNT_SID", "ACrel"),
                            ("TWILIO_AUTH_TOKEN", "secret"), ("TWILIO_FROM_SMS", "+3250"),
                            ("TWILIO_API_BASE", fake.url)):
            monkeypatch.setenv(name, value)
        channel = TwilioInput()
        number, text = "+32470000301", "Een crèche is opvang in groep."
        before = messages.record_outbound("sms", f"sms:{number}", number, text,
                                          messages.QUEUED, reason=messages.SENDING,
                                          reply_id="m2.1", part=1, claimed_by="dead", url=url)
        row = messages.get(before, url)
        assert await channel.taken_before(row) is None  # Twilio never got it: send it
        async with aiohttp.ClientSession() as http:  # the dead worker's call, taken
            async with http.post(channel.settings.messages_url, auth=channel.auth,
                                 data={"To": number, "From": "+3250", "Body": text}) as resp:
                sid = (await resp.json())["sid"]
        found = await channel.taken_before(row)
        assert found is not None and found.ok and found.external_id == sid
        other = messages.get(messages.record_outbound(
            "sms", f"sms:{number}", number, "iets anders", messages.QUEUED,
            reason=messages.SENDING, url=url), url)
        assert await channel.taken_before(other) is None
        messages.settle_outbound(before, messages.SENT, external_id=sid, url=url)
        again = messages.get(messages.record_outbound(
            "sms", f"sms:{number}", number, text, messages.QUEUED, reason=messages.SENDING,
            url=url), url)
        assert await channel.taken_before(again) is None  # that sid is the earlier one's
        await channel.resend_http.close()
    finally:
        fake.stop()
        db.dispose_engine(url)


def test_a_part_is_recorded_sending_only_when_no_stop_came(store: str) -> None:
    """record_sending: the opt-out and block check and the 'sending' record are one
    transaction; a STOP before it records the whole reply not sent (as ``hold``), a keyword's
    answer (force) still goes to an opted-out number but never to one that blocked us."""
    number = "+32470000400"
    sender = f"sms:{number}"
    messages.record_inbound(_inbound(1, number), store, worker="w")
    part = {"channel": "sms", "sender_id": sender, "address": number, "text": "deel 1",
            "part": 1, "reply_id": "m1.1", "claimed_by": "w"}
    whole = {"channel": "sms", "sender_id": sender, "address": number,
             "text": "deel 1 deel 2", "reply_id": "m1.1"}
    row_id, check, held = messages.record_sending(number, False, part, whole, store)
    sent = messages.get(row_id, store)
    assert held is None and not check.opted_out and check.last_inbound_at is not None
    assert (sent["status"], sent["reason"], sent["part"]) == (messages.QUEUED,
                                                              messages.SENDING, 1)
    messages.set_opted_out(number, True, "STOP", sender, store)
    row_id, _check, held = messages.record_sending(number, False, part, whole, store)
    kept = messages.get(row_id, store)
    assert held == "opted_out"
    assert (kept["status"], kept["text"], kept["part"], kept["claimed_by"]) == (
        messages.NOT_SENT, "deel 1 deel 2", None, None)
    _row, _check, held = messages.record_sending(number, True, part, None, store)
    assert held is None  # the confirmation of the STOP itself
    messages.set_blocked(sender, "kicked", store)
    row_id, _check, held = messages.record_sending(number, True, part, None, store)
    assert held == messages.BLOCKED and messages.get(row_id, store)["part"] == 1


def test_a_turn_starts_with_its_claim_and_state_in_one_go(store: str) -> None:
    number = "+32470000401"
    message_id = messages.record_inbound(_inbound(1, number), store, worker="w")
    messages.set_opted_out(number, True, "STOP", f"sms:{number}", store)
    assert messages.start_turn(message_id, "other", lambda r: r["address"], store) is None
    row, state = messages.start_turn(message_id, "w", lambda r: r["address"], store)
    assert row["attempts"] == 1 and state.opted_out and not state.queued
    messages.finish_inbound(message_id, messages.PROCESSED, "x", None, store,
                            last_buttons=(f"sms:{number}", [{"title": "a", "payload": "/a"}]))
    assert messages.start_turn(message_id, "w", lambda r: r["address"], store) is None
    assert messages.last_buttons(f"sms:{number}", store) == [{"title": "a", "payload": "/a"}]
