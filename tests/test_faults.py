"""Faults in the scaled set-up (bot/scaled.py), families on SMS through a fake Twilio API:
kill -9 of a Rasa server, of an action server and of the database in the middle of
conversations, and the Twilio API failing for a minute.

After each fault: every inbound message is stored and answered (its answer, or a clear
"please send it again"), and no reply reaches a family twice. Each test prints what happened
(the figures of the closing note): replies, "please repeat" answers, duplicates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import FakeTwilio
from fakes.server import Scripted
from serving import Served, free_port
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot import db, i18n
from connectors import messages
from connectors.messages import ChannelMessage

pytestmark = pytest.mark.e2e

SID, AUTH_TOKEN = "ACfault000000000000000000000000000", "fault-auth-" + os.urandom(4).hex()
FROM_SMS = "+3225550190"
# how long Twilio is down: a minute in make test, 10 s in make test-fast (scripts/test.sh), where
# the queued replies are still resent (every 3 s) into the outage several times
OUTAGE_SECONDS = float(os.environ.get("FAULT_OUTAGE_SECONDS", 60))
TEXTS = ["hallo", "welke soorten opvang zijn er?", "wat is gezinsopvang?",
         "wat kost kinderopvang?", "wat is occasionele opvang?", "dank je"]
FAMILIES = 4


class Faulty:
    def __init__(self, base: Path) -> None:
        from bot.scaled import ScaledStack

        self.twilio = FakeTwilio(SID, AUTH_TOKEN).start()
        port = free_port()
        self.webhook = f"http://127.0.0.1:{port}/webhooks/twilio/webhook"
        env = {
            "RASA_PORT": str(port), "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_SMS": FROM_SMS,
            "TWILIO_API_BASE": self.twilio.url, "TWILIO_WEBHOOK_URL": self.webhook,
            # a quick clock for the test: sweeps every second, queued replies every 3 s
            "CHANNEL_SWEEP_SECONDS": "1", "CHANNEL_RESEND_SECONDS": "3",
        }
        self.stack = ScaledStack(base, env=env)
        self.validator = RequestValidator(AUTH_TOKEN)
        self._sids = iter(range(1, 10**9))

    def send(self, number: str, text: str) -> int:
        """One SMS from ``number`` as Twilio posts it (signed); the HTTP status."""
        form = {"MessageSid": f"SMfault{number[1:]}{next(self._sids):06d}", "From": number,
                "To": FROM_SMS, "Body": text, "NumMedia": "0"}
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.webhook, form),
                   "Content-Type": "application/x-www-form-urlencoded"}
        request = urllib.request.Request(self.webhook, urllib.parse.urlencode(form).encode(),
                                         headers)
        # the front itself restarting is a refused connection: on a busy machine a Rasa
        # server killed by the previous test may take a minute to listen again
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status
            except urllib.error.HTTPError as err:
                return err.code
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    return 0
                time.sleep(1)

    def rows(self, number: str) -> list[dict]:
        with db.session_scope(self.stack.db_url) as session:
            found = session.execute(select(ChannelMessage)
                                    .where(ChannelMessage.sender_id == f"sms:{number}")
                                    .order_by(ChannelMessage.id)).scalars()
            return [messages._as_dict(r) for r in found]

    def safe_rows(self, number: str) -> list[dict] | None:
        try:
            return self.rows(number)
        except Exception:  # the database is the part that is down
            return None

    def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.5)

    def family(self, number: str, texts: list[str], before: Callable[[int], None]) -> None:
        """Send the texts one by one, each after the previous one was answered in full (its
        first reply, then no more for a second; or 40 s): a greeting has two parts, and the
        next message must not be counted as answered by the second."""
        for n, text in enumerate(texts):
            before(n)
            answered = len(self.twilio.delivered(number))
            assert self.send(number, text) == 200, f"{number}: webhook refused {text!r}"
            deadline = time.monotonic() + 40
            while len(self.twilio.delivered(number)) <= answered \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            _quiet_count(self, number, quiet=1.0)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    stack = Faulty(tmp_path_factory.mktemp("faults"))
    try:
        stack.stack.start()
        yield stack
    finally:
        stack.stack.stop()
        db.dispose_engine(stack.stack.db_url)
        stack.stack.postgres.remove()
        stack.twilio.stop()


def _numbers(test: int) -> list[str]:
    return [f"+3247{test:02d}{n:05d}" for n in range(FAMILIES)]


def run_conversations(faulty: Faulty, test: int, fault: Callable[[], None],
                      settle: float = 180) -> dict[str, int]:
    """FAMILIES families talk at the same time; ``fault`` strikes when the first one sends
    its third message. Then check: all stored, all answered, no duplicates."""
    numbers = _numbers(test)
    struck = threading.Event()

    def before(n: int) -> None:
        if n == 2 and not struck.is_set():
            struck.set()
            fault()

    errors: list[BaseException] = []

    def talk(number: str) -> None:
        try:
            faulty.family(number, TEXTS, before if number == numbers[0] else lambda n: None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    faulty.stack.wait_healthy(120)

    def settled() -> bool:
        for number in numbers:
            rows = faulty.safe_rows(number)
            if rows is None:
                return False
            inbound = [r for r in rows if r["direction"] == "in"]
            if len(inbound) < len(TEXTS) or any(r["status"] == "received" for r in inbound):
                return False
            if any(r["status"] == "queued" for r in rows):
                return False
            answered = {r["in_reply_to"] for r in rows
                        if r["direction"] == "out" and r["status"] == "sent"}
            if any(r["id"] not in answered for r in inbound):
                return False
        return True

    faulty.wait(settled, settle, "every message stored, processed and answered")
    return report(faulty, numbers)


def report(faulty: Faulty, numbers: list[str]) -> dict[str, int]:
    """Replies sent, 'please repeat' answers, duplicates (a reply part the API got twice)."""
    figures = Counter()
    for number in numbers:
        rows = faulty.rows(number)
        inbound = [r for r in rows if r["direction"] == "in"]
        sent = [r for r in rows if r["direction"] == "out" and r["status"] == "sent"]
        parts = Counter((r["reply_id"], r["part"]) for r in sent)
        delivered = faulty.twilio.delivered(number)
        figures["inbound"] += len(inbound)
        figures["replies"] += len(delivered)
        figures["please_repeat"] += sum(1 for r in sent if (r["reply_id"] or "").endswith(".r"))
        # twice in the store, or the API got more than the store knows it sent
        figures["duplicates"] += sum(c - 1 for c in parts.values()) \
            + max(0, len(delivered) - len(parts))
        figures["lost"] += len(TEXTS) - len(inbound)
    print(f"\nfault report: {dict(figures)}")
    return dict(figures)


def test_the_scaled_set_up_answers_through_the_front(faulty: Faulty) -> None:
    number = "+32470000000"
    assert faulty.send(number, "hallo") == 200
    assert faulty.twilio.wait_delivered(number, 1, timeout=30)
    faulty.wait(lambda: faulty.rows(number)[0]["status"] == "processed", 10, "processed")


def test_kill_9_of_a_rasa_server_mid_conversation(faulty: Faulty) -> None:
    figures = run_conversations(faulty, 1, lambda: faulty.stack.kill("rasa-1"))
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["replies"] >= figures["inbound"]


def test_kill_9_of_an_action_server_mid_conversation(faulty: Faulty) -> None:
    figures = run_conversations(faulty, 2, lambda: faulty.stack.kill("actions-1"))
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    # nginx tries the other action server: the families do not even notice
    assert figures["please_repeat"] == 0


def test_kill_9_of_the_database_mid_conversation(faulty: Faulty) -> None:
    figures = run_conversations(faulty, 3, lambda: faulty.stack.kill("postgres"))
    assert figures["lost"] == 0 and figures["duplicates"] == 0


def test_twilio_failing_for_a_minute(faulty: Faulty) -> None:
    numbers = _numbers(4)
    control = "+32479999999"  # the same conversation with Twilio up: what each family gets
    faulty.family(control, TEXTS, lambda n: None)
    expected = faulty.twilio.delivered(control)
    assert len(expected) >= len(TEXTS)

    faulty.twilio.outage(Scripted(503, {"code": 20500, "message": "outage", "status": 503}))
    started = time.monotonic()
    try:
        for text in TEXTS:
            for number in numbers:
                assert faulty.send(number, text) == 200
            # each message processed (its replies queued) before the next one
            faulty.wait(lambda: all(all(r["status"] != "received" for r in faulty.rows(n)
                                        if r["direction"] == "in") for n in numbers),
                        60, "messages processed during the outage")
        assert all(faulty.twilio.delivered(n) == [] for n in numbers)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))
    finally:
        faulty.twilio.outage(None)
    faulty.wait(lambda: all(len(faulty.twilio.delivered(n)) >= len(expected)
                            for n in numbers), 120, "queued replies sent after the outage")
    time.sleep(5)  # any duplicate would arrive now
    for number in numbers:
        assert faulty.twilio.delivered(number) == expected  # all, in order, once
        assert not any(r["status"] == "queued" for r in faulty.rows(number))
    figures = report(faulty, numbers)
    assert figures["duplicates"] == 0 and figures["lost"] == 0


# --- the single-process set-up (make serve): its one action server killed ------------------


@pytest.fixture(scope="module")
def single(serve_stack: Callable[..., Served]) -> Iterator[tuple[Faulty, int, Path]]:
    """``make serve`` with the Twilio channel; (sender, action server port, var folder)."""
    twilio = FakeTwilio(SID, AUTH_TOKEN).start()
    port = free_port()  # the webhook URL Twilio signs names it
    sender = Faulty.__new__(Faulty)  # only its sending helpers: no scaled stack here
    sender.twilio, sender.validator = twilio, RequestValidator(AUTH_TOKEN)
    sender.webhook = f"http://127.0.0.1:{port}/webhooks/twilio/webhook"
    sender._sids = iter(range(1, 10**9))
    served = None
    try:
        served = serve_stack(port=port, TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                             TWILIO_FROM_SMS=FROM_SMS, TWILIO_API_BASE=twilio.url,
                             TWILIO_WEBHOOK_URL=sender.webhook)
        yield sender, served.action_port, served.var
    finally:
        if served is not None:
            served.stop()  # before the fake it sends through
        twilio.stop()


def _quiet_count(sender: Faulty, number: str, quiet: float = 2.0) -> int:
    """The number of replies once no more came for ``quiet`` seconds (a turn may have
    several)."""
    count, since = len(sender.twilio.delivered(number)), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.2)
        now = len(sender.twilio.delivered(number))
        if now != count:
            count, since = now, time.monotonic()
    return count


def _action_server_pids(action_port: int) -> list[int]:
    pattern = f"bot.action_server --actions bot.actions --port {action_port}"
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_the_only_action_server_killed_gets_a_please_repeat(single) -> None:
    sender, action_port, _var = single
    number = "+32478888888"
    sender.family(number, ["hallo"], lambda n: None)
    before = _quiet_count(sender, number)
    assert before >= 1 and _action_server_pids(action_port)
    # kill -9, and again each time the supervisor brings it back, for 6 s
    stop = threading.Event()

    def keep_killing() -> None:
        while not stop.is_set():
            for pid in _action_server_pids(action_port):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    killer = threading.Thread(target=keep_killing)
    killer.start()
    try:
        time.sleep(0.3)
        assert sender.send(number, "welke soorten opvang zijn er?") == 200
        replies = sender.twilio.wait_delivered(number, before + 1, timeout=30)[before:]
        time.sleep(6)
    finally:
        stop.set()
        killer.join()
    assert replies == [i18n.t("channel.please_repeat", "nl")]
    assert _quiet_count(sender, number) == before + 1  # nothing more, nothing twice
    # the supervisor brings it back; the family repeats and gets the real answer
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{action_port}/health", timeout=2):
                break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "the action server did not come back"
            time.sleep(0.5)
    before = _quiet_count(sender, number)
    assert sender.send(number, "welke soorten opvang zijn er?") == 200
    replies = sender.twilio.wait_delivered(number, before + 1, timeout=30)[before:]
    assert replies and i18n.t("channel.please_repeat", "nl") not in replies


def test_the_only_rasa_server_killed_mid_turn_answers_once_after_restart(single) -> None:
    """``make serve``: the Rasa server dies right after a message was stored; the supervisor
    starts it again and the message, held by the dead worker, is taken over and answered,
    once."""
    sender, _action_port, _var = single
    port = urllib.parse.urlsplit(sender.webhook).port
    control, number = "+32478000001", "+32478000002"
    sender.family(control, ["hallo", "welke soorten opvang zijn er?"], lambda n: None)
    expected = _quiet_count(sender, control, quiet=6.0)
    sender.family(number, ["hallo"], lambda n: None)
    before = _quiet_count(sender, number)
    assert sender.send(number, "welke soorten opvang zijn er?") == 200
    out = subprocess.run(["pgrep", "-f", f"bot.rasa_server run .*--port {port}"],
                         capture_output=True, text=True).stdout.split()
    assert out, "no Rasa server found"
    for pid in out:
        os.kill(int(pid), signal.SIGKILL)
    # back up (model load), then the take-over once the dead worker's heartbeat is old
    replies = sender.twilio.wait_delivered(number, expected, timeout=120)
    assert len(replies) >= expected, replies
    assert _quiet_count(sender, number, quiet=6.0) == expected  # not one twice
    assert sender.twilio.delivered(number)[before:] == sender.twilio.delivered(control)[before:]


def test_a_part_twilio_took_just_before_a_kill_9_is_not_sent_again(single) -> None:
    """``make serve``: the Rasa server is killed while Twilio is taking a reply part (Twilio
    keeps it; the answer never reaches us). After the restart the turn runs again: that part
    is not sent a second time (its ``sending`` mark, then Twilio's Message list), the rest of
    the turn goes out once, in order."""
    sender, _action_port, _var = single
    port = urllib.parse.urlsplit(sender.webhook).port
    control, number = "+32478000011", "+32478000012"
    sender.family(control, ["hallo"], lambda n: None)
    expected = sender.twilio.delivered(control)
    sender.twilio.slow(number, 3.0)  # Twilio answers the first part after the kill
    assert sender.send(number, "hallo") == 200
    assert sender.twilio.wait_arrived(number, timeout=60)
    out = subprocess.run(["pgrep", "-f", f"bot.rasa_server run .*--port {port}"],
                         capture_output=True, text=True).stdout.split()
    assert out, "no Rasa server found"
    for pid in out:
        os.kill(int(pid), signal.SIGKILL)
    sender.twilio.slow(number, 0.0)
    replies = sender.twilio.wait_delivered(number, len(expected), timeout=150)
    assert len(replies) >= len(expected), replies
    assert _quiet_count(sender, number, quiet=8.0) == len(expected)  # not one twice
    assert sender.twilio.delivered(number) == expected
    with db.session_scope(f"sqlite:///{_var / 'bot.db'}") as session:
        rows = session.execute(select(ChannelMessage).where(
            ChannelMessage.sender_id == f"sms:{number}",
            ChannelMessage.direction == messages.OUT)).scalars().all()
        assert [r.status for r in rows] == [messages.SENT] * len(expected)
        assert len({r.external_id for r in rows}) == len(expected)
