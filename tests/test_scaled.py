"""The scaled set-up (bot/scaled.py): two Rasa servers sharing one conversation store on
PostgreSQL, with Redis locks, behind nginx.

The interleave test sends the messages of parallel conversations alternately to both Rasa
servers, and two messages of one conversation to both at the same moment; every conversation
must then be whole: each message stored once, answered in a complete turn, in order, its
events' timestamps never going back (two servers handling one conversation at once show up
there). Without a shared lock store that happened in every run; with Rasa's own Redis lock
store in about one simultaneous pair in sixteen (docs/SCALING.md, bot/rasa_ext/lock_store.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.serve import ProcessChild, Supervisor

pytestmark = pytest.mark.e2e

# Questions the assistant answers in one turn, none of them starting a form or a handoff;
# a greeting first, as people do. Several languages, typed as on a phone.
MESSAGES = {
    "nl": ["hallo", "wat is een onthaalouder", "wat kost opvang?", "wat is een creche",
           "wat is inclusieve opvang", "wat is dringende opvang", "wat kost opvang", "ok dank u"],
    "fr": ["bonjour", "c'est quoi l'accueil d'urgence", "combien coute la creche",
           "c'est quoi une accueillante", "c'est quoi l'accueil inclusif",
           "combien ca coute", "c'est quoi une creche", "ok merci"],
    "en": ["hello", "what is a childminder", "how much does childcare cost",
           "what is a creche", "what is inclusive childcare", "what is a creche",
           "what does it cost", "thanks"],
    "ar": ["السلام عليكم", "ما هي الحضانة الدامجة", "كم تكلفة الحضانة", "ما هي الحضانة",
           "ما هي الحضانة الدامجة", "كم تكلفة الحضانة", "ما هي الحضانة", "شكرا"],
}
CONVERSATIONS = 8


def post(url: str, body: dict, timeout: float = 120) -> tuple[int, object]:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None


def get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def say(base: str, sender: str, text: str) -> list[dict]:
    status, body = post(f"{base}/webhooks/rest/webhook", {"sender": sender, "message": text})
    assert status == 200 and isinstance(body, list), (base, sender, text, status)
    return body


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from bot.scaled import ScaledStack

    base = tmp_path_factory.mktemp("scaled")
    stack = ScaledStack(base, env={"RASA_TOKEN": "scaled-" + os.urandom(6).hex()})
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        stack.postgres.remove()  # a throwaway cluster (it may live outside tmp_path)


def tracker_events(stack, sender: str) -> list[dict]:
    query = urllib.parse.urlencode({"token": stack.token})
    status, body = get(f"{stack.url}/conversations/{sender}/tracker?{query}")
    assert status == 200
    return json.loads(body)["events"]


def turns(events: list[dict]) -> list[tuple[str, list[dict]]]:
    """Each user message with the events after it, up to the next user message."""
    starts = [i for i, e in enumerate(events) if e["event"] == "user"]
    return [(events[i]["text"], events[i + 1:j])
            for i, j in zip(starts, [*starts[1:], len(events)], strict=True)]


def assert_whole(events: list[dict], sent: list[str], ordered: list[str]) -> None:
    texts = [e["text"] for e in events if e["event"] == "user"]
    assert sorted(texts) == sorted(sent), "a message lost or stored twice"
    assert [t for t in texts if t in ordered] == ordered, "sequential messages out of order"
    for text, after in turns(events):
        actions = [e["name"] for e in after if e["event"] == "action"]
        assert any(e["event"] == "bot" for e in after), f"no reply stored after {text!r}"
        assert actions and actions[-1] == "action_listen", f"turn of {text!r} incomplete"
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps), "event timestamps go back in time"


def test_interleaved_conversations_on_two_replicas_stay_whole(scaled) -> None:
    run = os.urandom(3).hex()
    langs = list(MESSAGES)
    plan = {f"scaled-{run}-{n}": MESSAGES[langs[n % len(langs)]] for n in range(CONVERSATIONS)}

    def converse(n: int, sender: str, messages: list[str]) -> list[list[dict]]:
        return [say(scaled.rasa_urls[(n + k) % 2], sender, text)
                for k, text in enumerate(messages)]

    with ThreadPoolExecutor(CONVERSATIONS) as pool:
        futures = {sender: pool.submit(converse, n, sender, messages)
                   for n, (sender, messages) in enumerate(plan.items())}
        replies = {sender: future.result() for sender, future in futures.items()}
    for sender, answers in replies.items():
        assert all(answers), f"{sender}: a message got no reply"

    # the burst: one message to each server of the same conversation at the same moment
    burst = {sender: [f"{plan[sender][1]} ?", f"{plan[sender][2]} ?"]
             for sender in list(plan)[:4]}
    gate = threading.Barrier(2 * len(burst))

    def at_once(url: str, sender: str, text: str) -> list[dict]:
        gate.wait(timeout=30)
        return say(url, sender, text)

    with ThreadPoolExecutor(2 * len(burst)) as pool:
        futures = [pool.submit(at_once, scaled.rasa_urls[k], sender, text)
                   for sender, texts in burst.items() for k, text in enumerate(texts)]
        assert all(f.result() for f in futures), "a message of the burst got no reply"

    for sender, messages in plan.items():
        events = tracker_events(scaled, sender)
        sent = messages + burst.get(sender, [])
        assert_whole(events, sent, ordered=messages)


def test_front_and_inbox_on_postgres(scaled) -> None:
    import psycopg2

    status, body = get(f"{scaled.url}/")  # Rasa's hello, through nginx
    assert status == 200 and b"Rasa" in body
    status, _ = get(f"{scaled.inbox_url}/health")
    assert status == 200
    sender = f"scaled-front-{os.urandom(3).hex()}"
    assert say(scaled.url, sender, "wat is een onthaalouder")
    # one database for the conversations and the assistant's own tables
    with psycopg2.connect(scaled.db_url.replace("postgresql+psycopg2", "postgresql")) as conn:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM events WHERE sender_id = %s", (sender,))
            assert cursor.fetchone()[0] > 0
            cursor.execute("SELECT to_regclass('channel_messages'), to_regclass('handoffs')")
            assert all(cursor.fetchone())
    conn.close()


def test_a_killed_action_server_is_skipped_and_restarted(scaled) -> None:
    old = scaled.pid("actions-1")
    scaled.kill("actions-1")
    sender = f"scaled-kill-{os.urandom(3).hex()}"
    for text in ("hallo", "wat is een onthaalouder", "wat kost opvang?"):
        assert say(scaled.url, sender, text)  # nginx sends the actions to actions-2
    scaled.wait_healthy(60)
    assert scaled.pid("actions-1") not in (None, old)


def test_supervisor_restarts_with_backoff_and_stops_cleanly(tmp_path: Path) -> None:
    starts: list[float] = []

    def spawn() -> subprocess.Popen:
        starts.append(time.monotonic())
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                start_new_session=True)

    supervisor = Supervisor(poll=0.05)
    child = supervisor.add(ProcessChild("sleeper", spawn))
    child.start()
    supervisor.watch()
    try:
        for _ in range(2):
            child.kill()
            deadline = time.monotonic() + 10
            count = len(starts)
            while len(starts) == count and time.monotonic() < deadline:
                time.sleep(0.05)
            while not child.running() and time.monotonic() < deadline:
                time.sleep(0.05)
        assert len(starts) == 3 and child.running()
        assert starts[2] - starts[1] > starts[1] - starts[0] > 0.9  # 1 s, then 2 s
        assert supervisor.restarts == {"sleeper": 2}
    finally:
        supervisor.stop()
        pid = child.pid()
        child.terminate()
        assert child.wait(10)
    time.sleep(0.3)  # stopped by us: no restart
    assert len(starts) == 3 and pid is not None and not child.running()


def test_lock_is_renewed_while_held_and_freed_when_its_server_died(scaled) -> None:
    import asyncio

    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_ext.lock_store import AtomicRedisLockStore

    def store() -> AtomicRedisLockStore:
        config = EndpointConfig(url="127.0.0.1", port=scaled.redis_port, db=1,
                                key_prefix="locktest", password=scaled.redis_password)
        lock_store = AtomicRedisLockStore(config)
        lock_store.ticket_s, lock_store.renew_every_s = 1.0, 0.2  # seconds, not 15 and 3
        return lock_store

    holder, waiter = store(), store()
    conversation = f"lock-{os.urandom(3).hex()}"

    async def hold() -> float:
        async with holder.lock(conversation):
            await asyncio.sleep(2.5)  # longer than a ticket lives: only renewal keeps it
            return time.time()

    async def wait() -> float:
        await asyncio.sleep(0.3)
        async with waiter.lock(conversation, wait_time_in_seconds=0.1):
            return time.time()

    async def both() -> tuple[float, float]:
        return await asyncio.gather(hold(), wait())

    released, acquired = asyncio.run(both())
    assert acquired >= released

    # a server killed while holding a lock: its ticket is never renewed nor given back
    holder.issue_ticket(conversation, 1.0)
    start = time.monotonic()

    async def after_dead() -> None:
        async with waiter.lock(conversation, wait_time_in_seconds=0.1):
            pass

    asyncio.run(after_dead())
    assert 0.5 < time.monotonic() - start < 3
