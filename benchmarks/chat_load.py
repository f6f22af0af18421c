"""Chat load benchmark: our assistant against a stock ``rasa init`` bot (prints figures; not a
test). ``make bench``, or:

    .venv/bin/python benchmarks/chat_load.py [--users 10] [--messages 30] [--max-seconds 120]
                                             [--rounds 2] [--setup single|scaled|all]
                                             [--scenario conversations|mixed|both]
                                             [--no-twilio] [--only ours|stock|scaled]
                                             [--json] [--keep] [--profile FILE]

In one run, on loopback only: generates the stock bot (``rasa init --no-prompt``) in a temp
folder and trains it once (the model is cached under ~/.cache/loket-bot/bench/, keyed by the
Rasa version), starts it with ``rasa run --enable-api`` (plus an action server if it had one),
starts our assistant with bot.serve.Stack on free ports and a temp var folder (its Twilio
channel talking to a fake Twilio API in this process) and the scaled set-up with
bot.scaled.ScaledStack, and drives each with 1 and then ``--users`` concurrent simulated users:
the stock bot and ours over the REST channel, and ours once more through its Twilio webhook
(signed posts as Twilio sends them). Every user has its own sender ids and plays realistic
multi-turn conversations (chat_conversations.py) until it has sent ``--messages`` messages or
``--max-seconds`` have passed. The bots are measured in turns at each concurrency (the others
stay idle), ``--rounds`` times, so that all see the same background load; figures are pooled
over the rounds. Prints messages, errors, throughput, p50/p95/p99 latency and the server CPU per
message, and the ratios to the stock bot next to the targets of issues 8 and 14. Then the
same again on the mixed load (``<bot>/mixed``: random messages of every intent and language
within one conversation, forms interrupted, fallbacks; the stock bot's from its own intents),
and the server CPU per message through the Twilio webhook against REST. Every process it starts
is stopped at the end, on Ctrl-C and on SIGTERM. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
import itertools
import json
import math
import os
import resource
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from inspect import signature
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
# tests/ for the fake Twilio API (tests/fakes), a real HTTP server on 127.0.0.1
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent), str(ROOT / "tests")]

from chat_conversations import (  # noqa: E402
    OURS,
    AnswerForm,
    Conversation,
    Press,
    examples_by_intent,
    mixed_conversations,
    stock_conversations,
)
from fakes import FakeTwilio  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bot import serve  # noqa: E402
from bot.serve import stop_processes  # noqa: E402
from bot.services import free_port  # noqa: E402

# Issue 8: one process of ours against the stock bot, at 10 concurrent users, both on the REST
# channel: throughput at least 1.5x the stock bot's, p95 latency at most 0.75x. The Twilio
# phase (the same process through its Twilio webhook) has no target of its own.
TARGET_USERS = 10
TARGET_THROUGHPUT_RATIO = 1.5  # ours / stock, at least
TARGET_P95_RATIO = 0.75  # ours / stock, at most
# The scaled set-up (bot/scaled.py: nginx, 2 Rasa servers, PostgreSQL, Redis) on the same
# machine: at least 2.5x the stock throughput, p95 at most 0.5x.
# Issue 14: the same on the mixed load (every intent and language in one conversation, forms
# interrupted, fallbacks); through the Twilio webhook at least 1.5x the stock bot's REST
# throughput (no p95 target: a Twilio turn ends when the fake API got the last reply), at
# most 1.3x the server CPU per message of the same messages over REST.
TARGETS: dict[str, tuple[float, float | None]] = {
    "ours": (TARGET_THROUGHPUT_RATIO, TARGET_P95_RATIO), "scaled": (2.5, 0.5),
    "ours/mixed": (TARGET_THROUGHPUT_RATIO, TARGET_P95_RATIO), "twilio": (1.5, None),
    "twilio/mixed": (1.5, None)}
TARGET_TWILIO_CPU_RATIO = 1.3  # server CPU per message, Twilio webhook / REST, at most
MIXED = "mixed"  # the scenario of the mixed load (phases named "<bot>/mixed")
REQUEST_TIMEOUT_S = 60
START_TIMEOUT_S = 300
PROFILED_RASA = Path(__file__).resolve().parent / "chat_profiled_rasa.py"
PROFILE_FILTER = (r"rasa/core/|rasa/engine/graph|bot/|connectors/"
                  r"|jsonschema/validators.py:\d+\(validate\)")
# The fake Twilio account our assistant's Twilio channel talks to in the benchmark.
TWILIO_SID = "AC" + "be" * 16
TWILIO_FROM_SMS, TWILIO_FROM_WHATSAPP = "+3225550100", "whatsapp:+3225550101"
TWILIO_POLL_S = 0.005  # how often the end of a Twilio turn is looked for


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    from bot import model

    return model.cache_dir().parent / "bench"  # next to the assistant's cached models


def _stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time so far of a process (all its threads) and of the processes it
    started that are still running (PostgreSQL's backends, nginx's workers)."""
    if pid is None:
        return math.nan
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(entry)):
            children[int(fields[1])].append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        fields = _stat(current)
        if fields is None:
            if current == pid:
                return math.nan
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo += children.get(current, [])
    return total


def wait_until_up(url: str, procs: list[subprocess.Popen], timeout: float = START_TIMEOUT_S,
                  ) -> None:
    serve.wait_until_up(url, time.monotonic() + timeout, procs)


# --- the two bots -------------------------------------------------------------------------

class Bot:
    """A running bot: its REST webhook, its server processes (name -> process)."""

    name: str

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.token = secrets.token_urlsafe(16)
        self.procs: dict[str, subprocess.Popen] = {}
        self.conversations: tuple[Conversation, ...] = ()
        self.mixed: tuple[Conversation, ...] = ()  # the mixed load
        self.model = ""

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def press(self, payload: str, buttons: list[dict]) -> str:
        """What the user sends to press the button with ``payload``: on the REST channel (a
        web or Telegram client) the payload itself."""
        return payload

    async def turn(self, session: aiohttp.ClientSession, sender: str, text: str,
                   conversation: str) -> tuple[Sample, list[dict]]:
        """Send one message; what the user saw and the buttons the bot offered."""
        sample, replies = await _send(session, self.webhook, sender, text, conversation)
        return sample, _buttons(replies)


class StockBot(Bot):
    name = "stock"

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
        env.pop("PYTHONPATH", None)  # the stock bot must not see our code
        out = (self.work / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, cwd=self.work / "project", env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def _model(self) -> Path:
        """The stock project in work/project; its model from the cache, else trained now."""
        project = self.work / "project"
        project.mkdir(parents=True)
        version = importlib.metadata.version("rasa")
        cached = cache_dir() / f"stock-rasa-{version}.tar.gz"
        if cached.exists():
            # the same files `rasa init` copies; training would give the same bot again
            spec = importlib.util.find_spec("rasa")
            assert spec and spec.origin
            scaffold = Path(spec.origin).parent / "cli" / "initial_project"
            shutil.copytree(scaffold, project, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
            return cached
        log(f"generating and training the stock bot (rasa init --no-prompt, rasa {version}); "
            "once, cached afterwards; a few minutes")
        proc = self._spawn("init", [sys.executable, "-m", "rasa", "init", "--no-prompt",
                                    "--init-dir", "."])
        try:
            code = proc.wait()
        finally:
            stop_processes([proc])
            del self.procs["init"]
        trained = sorted((project / "models").glob("*.tar.gz"))
        if code != 0 or not trained:
            tail = (self.work / "init.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"bench: rasa init failed (code {code}):\n{tail}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        shutil.copyfile(trained[-1], tmp)
        tmp.replace(cached)
        return cached

    def start(self) -> None:
        model = self._model()
        self.model = model.name
        project = self.work / "project"
        endpoints = yaml.safe_load((project / "endpoints.yml").read_text()) or {}
        py = sys.executable
        if "action_endpoint" in endpoints:  # the stock template has none; a changed one might
            action_port = free_port()
            endpoints["action_endpoint"] = {"url": f"http://127.0.0.1:{action_port}/webhook"}
            self._spawn("actions", [py, "-m", "rasa", "run", "actions",
                                    "--port", str(action_port)])
        (self.work / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
        # the REST channel only, as ours: the template's `rasa` channel would call out
        (self.work / "credentials.yml").write_text(yaml.safe_dump({"rest": None}))
        self._spawn("rasa", [
            py, "-m", "rasa", "run", "--enable-api", f"--auth-token={self.token}",
            "--model", str(model), "--endpoints", str(self.work / "endpoints.yml"),
            "--credentials", str(self.work / "credentials.yml"), "--port", str(self.port),
            "--interface", "127.0.0.1",
        ])
        procs = list(self.procs.values())
        if "actions" in self.procs:
            wait_until_up(f"http://127.0.0.1:{action_port}/health", procs)
        wait_until_up(f"http://127.0.0.1:{self.port}/", procs)
        self.conversations = stock_conversations(project, seed=1)
        self.mixed = mixed_conversations(examples_by_intent(project / "data" / "nlu.yml"), 1)

    def stop(self) -> None:
        stop_processes(list(self.procs.values()))


class OurBot(Bot):
    name = "ours"

    def __init__(self, work: Path, profile_out: Path | None = None, twilio: bool = True) -> None:
        super().__init__(work)
        # embedded defaults in a fresh var folder, whatever the shell points at
        os.environ["BOT_VAR_DIR"] = str(work / "var")
        os.environ["RASA_TOKEN"] = self.token
        for name in ("BOT_DB_URL", "TRACKER_DB_URL", "TWILIO_WEBHOOK_URL", "TELEGRAM_TOKEN"):
            os.environ.pop(name, None)
        self.twilio: FakeTwilio | None = None
        if twilio:  # the Twilio channel on, sending to a fake Twilio API in this process
            self.twilio = FakeTwilio(TWILIO_SID, secrets.token_hex(16))
            # keep-alive, as the real API: not a new connection (and thread) per reply
            self.twilio.server.RequestHandlerClass.protocol_version = "HTTP/1.1"
            self.twilio.start()
            os.environ.update(
                TWILIO_ACCOUNT_SID=TWILIO_SID, TWILIO_AUTH_TOKEN=self.twilio.auth_token,
                TWILIO_FROM_SMS=TWILIO_FROM_SMS, TWILIO_FROM_WHATSAPP=TWILIO_FROM_WHATSAPP,
                TWILIO_API_BASE=self.twilio.url)
        else:
            os.environ.pop("TWILIO_ACCOUNT_SID", None)
        from bot.serve import Stack

        if profile_out:  # the server's dump, moved to FILE (REST) or FILE.twilio after each
            os.environ["BENCH_PROFILE_OUT"] = f"{profile_out}.part"
        procs = self.procs

        class BenchStack(Stack):
            """``make serve``'s stack, with its Rasa server on loopback only (rasa_sdk has no
            such option) and, for --profile, run through chat_profiled_rasa.py; it names its
            processes for the CPU figures."""

            def _spawn(self, name: str, cmd: list[str], *args: object,
                       **kwargs: object) -> subprocess.Popen:
                if name == "rasa":  # [python, -m, bot.rasa_server, run, ...]
                    cmd = [*cmd, "--interface", "127.0.0.1"]
                    if profile_out:
                        cmd = [cmd[0], str(PROFILED_RASA), *cmd[3:]]
                procs[name] = super()._spawn(name, cmd, *args, **kwargs)
                return procs[name]

        # every port free; the inbox (when this Stack has one) too
        ports = {"inbox_port": free_port()} if "inbox_port" in signature(Stack).parameters else {}
        self.stack = BenchStack(self.port, free_port(), log_dir=work, **ports)

    def start(self) -> None:
        from bot import model

        log("our model: trained only when no cached one matches the data (bot.model)")
        self.model = model.ensure_model(quiet=True).name  # Stack.start finds it ready
        self.stack.start(timeout=START_TIMEOUT_S)
        self.conversations, self.mixed = OURS, our_mixed()

    def stop(self) -> None:
        self.stack.stop()
        if self.twilio:
            self.twilio.stop()


class _Part:
    """A part of the scaled set-up as ``measure`` sees a process: its current pid (the
    supervisor may have restarted it)."""

    def __init__(self, stack: object, name: str) -> None:
        self.stack, self.name = stack, name

    @property
    def pid(self) -> int | None:
        return self.stack.pid(self.name)  # type: ignore[attr-defined]


class ScaledBot(Bot):
    """The scaled set-up (bot/scaled.py, ``make serve-scaled``): nginx in front of two Rasa
    servers and two action servers, PostgreSQL, Redis locks, the inbox, all on this machine."""

    name = "scaled"

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        from bot.scaled import NAMES, ScaledStack

        self.stack = ScaledStack(work, env={"RASA_TOKEN": self.token,
                                            "RASA_PORT": str(self.port)},
                                 log_dir=work / "logs")
        self.procs = {name: _Part(self.stack, name) for name in NAMES}  # type: ignore[misc]

    def start(self) -> None:
        from bot import model

        self.model = model.ensure_model(quiet=True).name
        self.stack.start(timeout=START_TIMEOUT_S)
        self.conversations, self.mixed = OURS, our_mixed()

    def stop(self) -> None:
        self.stack.stop()


def our_mixed() -> tuple[Conversation, ...]:
    """Our mixed load, from the training examples of all six languages (share_media is a
    payload of the channels, never typed)."""
    examples = examples_by_intent(*sorted((ROOT / "data" / "nlu").glob("*.yml")))
    examples.pop("share_media", None)
    return mixed_conversations(examples, seed=1)


def scaled_available() -> str | None:
    """Why the scaled set-up cannot run here (None: it can)."""
    if not (ROOT / "bot" / "scaled.py").exists():
        return "bot/scaled.py is not there"
    for binary in ("nginx", "redis-server"):
        if not (shutil.which(binary) or Path(f"/usr/sbin/{binary}").exists()):
            return f"{binary} is not installed"
    return None


class TwilioView(Bot):
    """Our running assistant again, through its Twilio webhook (WhatsApp for even users, SMS
    for odd ones), as Twilio would call it: signed form posts. The channel answers at once and
    sends the replies through the Twilio API (here the fake one) in the background, so a turn
    ends when the stored inbound message is marked processed; its latency runs from the post
    to the moment the fake API received the last reply. Buttons arrive as numbered options,
    and the user presses one by typing its number."""

    name = "twilio"
    _numbers = itertools.count(1)

    def __init__(self, ours: OurBot) -> None:
        assert ours.twilio is not None
        self.ours, self.fake = ours, ours.twilio
        self.work, self.port, self.token = ours.work, ours.port, ours.token
        self.procs = ours.procs  # the same servers: their CPU is measured per phase
        self.validator = RequestValidator(self.fake.auth_token)
        self.phones: dict[str, str] = {}  # benchmark sender -> phone number
        self.pending: dict[str, asyncio.Future] = {}  # MessageSid -> end of its turn
        self._poller: asyncio.Task | None = None
        self.model = ours.model

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/twilio/webhook"

    def start(self) -> None:
        self.conversations, self.model = self.ours.conversations, self.ours.model
        self.mixed = self.ours.mixed

    def stop(self) -> None:
        pass  # OurBot stops the servers

    def press(self, payload: str, buttons: list[dict]) -> str:
        for number, button in enumerate(buttons, 1):
            if button["payload"] == payload:
                return str(number)
        return payload  # typed text (a fallback of chat_conversations.Press)

    async def _poll(self) -> None:
        """Resolve the turns whose inbound message the assistant has finished, with the
        buttons it offered (one query for all pending turns; the database is in WAL mode, so
        reading never blocks the server's writes)."""
        database = self.work / "var" / "bot.db"
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            while True:
                await asyncio.sleep(TWILIO_POLL_S)
                if not self.pending:
                    continue
                sids = list(self.pending)
                marks = ",".join("?" * len(sids))
                done = conn.execute(
                    "SELECT external_id, sender_id, status FROM channel_messages WHERE "
                    f"direction = 'in' AND status != 'received' AND external_id IN ({marks})",
                    sids).fetchall()
                if not done:
                    continue
                senders = [row[1] for row in done]
                buttons = dict(conn.execute(
                    "SELECT sender_id, last_buttons FROM channel_contacts WHERE sender_id IN "
                    f"({','.join('?' * len(senders))})", senders).fetchall())
                for sid, sender, status in done:
                    future = self.pending.pop(sid)
                    if not future.done():
                        future.set_result((status, json.loads(buttons.get(sender) or "null")))
        finally:
            conn.close()

    async def turn(self, session: aiohttp.ClientSession, sender: str, text: str,
                   conversation: str) -> tuple[Sample, list[dict]]:
        loop = asyncio.get_running_loop()
        if self._poller is None or self._poller.get_loop() is not loop or self._poller.done():
            self.pending.clear()
            self._poller = loop.create_task(self._poll())
        user = int(sender.rsplit("-u", 1)[1].split("-", 1)[0])
        phone = self.phones.setdefault(sender, f"+3247{next(self._numbers):07d}")
        whatsapp = user % 2 == 0
        to = f"whatsapp:{phone}" if whatsapp else phone  # where the fake API sends replies
        sid = f"SM{secrets.token_hex(16)}"
        params = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": TWILIO_SID,
                  "From": to, "To": TWILIO_FROM_WHATSAPP if whatsapp else TWILIO_FROM_SMS,
                  "Body": text, "NumMedia": "0"}
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.webhook, params)}
        future = loop.create_future()
        self.pending[sid] = future
        start = time.monotonic()
        try:
            async with session.post(self.webhook, data=params, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    self.pending.pop(sid, None)
                    return Sample(conversation, time.monotonic() - start,
                                  f"HTTP {resp.status}"), []
            status, buttons = await asyncio.wait_for(future, REQUEST_TIMEOUT_S)
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            self.pending.pop(sid, None)
            return Sample(conversation, time.monotonic() - start, type(err).__name__), []
        finished = time.monotonic()
        sent = [c.at for c in self.fake.calls_for(to) if c.at >= start and c.status == 201]
        if not sent or status != "processed":  # "ignored": stored, never answered
            return Sample(conversation, finished - start, empty=True), buttons or []
        return Sample(conversation, max(sent) - start), buttons or []


# --- simulated users ----------------------------------------------------------------------

@dataclass
class Sample:
    conversation: str
    latency_s: float
    error: str | None = None  # HTTP status or exception name
    empty: bool = False  # answered 200 without any reply


def _buttons(replies: list[dict]) -> list[dict]:
    """The buttons of the turn's last message that has any."""
    for reply in reversed(replies):
        if reply.get("buttons"):
            return reply["buttons"]
    return []


async def _send(session: aiohttp.ClientSession, url: str, sender: str, text: str,
                conversation: str) -> tuple[Sample, list[dict]]:
    start = time.perf_counter()
    try:
        async with session.post(url, json={"sender": sender, "message": text}) as resp:
            body = await resp.read()
            latency = time.perf_counter() - start
            if resp.status != 200:
                return Sample(conversation, latency, f"HTTP {resp.status}"), []
            replies = json.loads(body)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as err:
        return Sample(conversation, time.perf_counter() - start, type(err).__name__), []
    if not isinstance(replies, list):
        return Sample(conversation, latency, "not a list"), []
    return Sample(conversation, latency, empty=not replies), replies


async def _user(session: aiohttp.ClientSession, bot: Bot, user: int, budget: int,
                deadline: float, run_id: str, samples: list[Sample]) -> None:
    """One person: conversations one after another (each a new sender, as a new family would
    be), no think time, until ``budget`` messages are sent or the deadline passes."""
    sent = 0
    conversations = bot.conversations
    for round_ in range(budget):  # at least one message per conversation: bounded
        conv = conversations[(user + round_) % len(conversations)]
        sender = f"bench-{run_id}-u{user}-c{round_}"
        buttons: list[dict] = []
        steps = list(conv.steps)
        while steps:
            if sent >= budget or time.monotonic() >= deadline:
                return
            step = steps[0]
            if isinstance(step, AnswerForm):
                if not step.asks(buttons) or step.limit == 0:
                    steps.pop(0)
                    continue
                text = bot.press(step.message(buttons), buttons)
                steps[0] = AnswerForm(step.choice, step.limit - 1)
            else:
                text = bot.press(step.message(buttons), buttons) if isinstance(step, Press) \
                    else step
                steps.pop(0)
            sample, buttons = await bot.turn(session, sender, text, conv.name)
            samples.append(sample)
            sent += 1


@dataclass
class Phase:
    bot: str
    users: int
    messages: int = 0
    errors: int = 0
    empty: int = 0
    seconds: float = 0.0
    throughput: float = 0.0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    cpu_ms_per_msg: dict[str, float] = field(default_factory=dict)  # per server process
    cpu_busy: dict[str, float] = field(default_factory=dict)  # share of one core
    client_cpu_busy: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)
    p50_ms_by_conversation: dict[str, float] = field(default_factory=dict)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


async def drive(bot: Bot, users: int, messages: int, max_seconds: float,
                run_id: str) -> list[Sample]:
    samples: list[Sample] = []
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        deadline = time.monotonic() + max_seconds
        await asyncio.gather(*(
            _user(session, bot, u, messages, deadline, run_id, samples)
            for u in range(users)
        ))
    return samples


@dataclass
class Run:
    """One stretch of load on one bot: what the users saw and what the servers spent."""

    samples: list[Sample]
    seconds: float
    cpu: dict[str, float]  # server process -> CPU seconds
    client_cpu: float


def measure(bot: Bot, users: int, messages: int, max_seconds: float) -> Run:
    run_id = f"{bot.name}{users}-{secrets.token_hex(3)}"
    cpu_before = {name: cpu_seconds(p.pid) for name, p in bot.procs.items()}
    client_before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    samples = asyncio.run(drive(bot, users, messages, max_seconds, run_id))
    seconds = time.perf_counter() - start
    client_after = resource.getrusage(resource.RUSAGE_SELF)
    return Run(
        samples, seconds,
        {name: cpu_seconds(p.pid) - cpu_before[name] for name, p in bot.procs.items()},
        client_after.ru_utime + client_after.ru_stime
        - client_before.ru_utime - client_before.ru_stime,
    )


def summarize(bot: str, users: int, runs: list[Run]) -> Phase:
    """The figures of one bot at one concurrency over its rounds, pooled: throughput is all
    answered messages over all time under load, percentiles are over every latency."""
    samples = [s for run in runs for s in run.samples]
    seconds = sum(run.seconds for run in runs)
    cpu: dict[str, float] = defaultdict(float)
    for run in runs:
        for name, used in run.cpu.items():
            cpu[name] += used
    phase = Phase(bot, users, messages=len(samples), seconds=round(seconds, 2))
    ok = [s for s in samples if s.error is None]
    phase.errors = len(samples) - len(ok)
    phase.empty = sum(s.empty for s in ok)
    kinds: dict[str, int] = defaultdict(int)
    for s in samples:
        if s.error:
            kinds[s.error] += 1
    phase.error_kinds = dict(kinds)
    latencies = sorted(s.latency_s * 1000 for s in ok)
    phase.throughput = round(len(ok) / seconds, 2) if seconds else 0.0
    for q in (50, 95, 99):
        setattr(phase, f"p{q}_ms", round(percentile(latencies, q), 1))
    phase.max_ms = round(latencies[-1], 1) if latencies else math.nan
    phase.cpu_ms_per_msg = {k: round(v * 1000 / max(1, len(samples)), 1) for k, v in cpu.items()}
    phase.cpu_busy = {k: round(v / seconds, 2) for k, v in cpu.items()}
    phase.client_cpu_busy = round(sum(run.client_cpu for run in runs) / seconds, 2)
    by_conv: dict[str, list[float]] = defaultdict(list)
    for s in ok:
        by_conv[s.conversation].append(s.latency_s * 1000)
    phase.p50_ms_by_conversation = {k: round(percentile(sorted(v), 50), 1)
                                    for k, v in sorted(by_conv.items())}
    return phase


def run_phase(bot: Bot, users: int, messages: int, max_seconds: float) -> Phase:
    return summarize(bot.name, users, [measure(bot, users, messages, max_seconds)])


def warm_up(bot: Bot) -> None:
    """Every conversation once, one user, not counted: first calls load lazily."""
    steps = sum(len(c.steps) for c in bot.conversations) + 12
    asyncio.run(drive(bot, 1, steps, 120, f"warm-{bot.name}-{secrets.token_hex(3)}"))


# --- report -------------------------------------------------------------------------------

def ratios(phases: list[Phase]) -> list[dict]:
    """Each of our set-ups against the stock bot, at each concurrency; at the target
    concurrency with the verdict for the set-ups the issue sets targets for."""
    by = {(p.bot, p.users): p for p in phases}
    result = []
    for users in sorted({p.users for p in phases}):
        for bot in dict.fromkeys(p.bot for p in phases if p.bot.split("/")[0] != "stock"):
            scenario = bot.partition("/")[2]
            stock = by.get((f"stock/{scenario}" if scenario else "stock", users))
            ours = by.get((bot, users))
            if not (ours and stock and stock.throughput and stock.p95_ms):
                continue
            row: dict = {"bot": bot, "users": users,
                         "throughput_ratio": round(ours.throughput / stock.throughput, 2),
                         "p95_ratio": round(ours.p95_ms / stock.p95_ms, 2)}
            if users == TARGET_USERS and bot in TARGETS:
                throughput, p95 = TARGETS[bot]
                row["throughput_target_met"] = row["throughput_ratio"] >= throughput
                if p95 is not None:
                    row["p95_target_met"] = row["p95_ratio"] <= p95
            result.append(row)
    return result


def cpu_ratios(phases: list[Phase]) -> list[dict]:
    """Server CPU per message (all our server processes) through the Twilio webhook against
    the same messages over REST, per scenario and concurrency."""
    by = {(p.bot, p.users): p for p in phases}
    result = []
    for (bot, users), twilio in by.items():
        if bot.split("/")[0] != "twilio":
            continue
        rest = by.get((bot.replace("twilio", "ours", 1), users))
        if rest is None:
            continue
        ours_ms, rest_ms = sum(twilio.cpu_ms_per_msg.values()), sum(rest.cpu_ms_per_msg.values())
        if rest_ms and not math.isnan(rest_ms) and not math.isnan(ours_ms):
            result.append({"bot": bot, "users": users, "cpu_ms_per_msg": round(ours_ms, 1),
                           "rest_cpu_ms_per_msg": round(rest_ms, 1),
                           "cpu_ratio": round(ours_ms / rest_ms, 2)})
    return result


def print_table(report: dict) -> None:
    m = report["machine"]
    print(f"chat load, {m['cpus']} CPUs, load average {m['load_before']} before / "
          f"{m['load_after']} after; rasa {m['rasa']}; {report['messages_per_user']} messages "
          f"a user per round, {report['rounds']} rounds (at most {report['max_seconds']:g} s "
          "a round)")
    print(f"models: ours {report['models'].get('ours', '-')}, "
          f"stock {report['models'].get('stock', '-')}")
    head = (f"{'bot':<14}{'users':>6}{'msgs':>6}{'err':>5}{'empty':>6}{'msg/s':>8}"
            f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}  server CPU ms/msg (busy cores)")
    print(head)
    print("-" * len(head))
    for p in report["phases"]:
        cpu = ", ".join(f"{k} {v:g} ({p['cpu_busy'][k]:.2f})"
                        for k, v in p["cpu_ms_per_msg"].items())
        print(f"{p['bot']:<14}{p['users']:>6}{p['messages']:>6}{p['errors']:>5}{p['empty']:>6}"
              f"{p['throughput']:>8.1f}{p['p50_ms']:>8.0f}{p['p95_ms']:>8.0f}{p['p99_ms']:>8.0f}"
              f"  {cpu}")
    for r in report["ratios"]:
        line = (f"{r['bot'] + ' vs stock':<20} at {r['users']:>2} user"
                f"{'s' if r['users'] > 1 else ' '}: "
                f"throughput {r['throughput_ratio']:.2f}x, p95 {r['p95_ratio']:.2f}x")
        if "throughput_target_met" in r:
            throughput, p95 = TARGETS[r["bot"]]
            line += (f"   target: throughput >= {throughput}x "
                     f"({'met' if r['throughput_target_met'] else 'NOT met'})")
            if p95 is not None:
                line += f", p95 <= {p95}x ({'met' if r['p95_target_met'] else 'NOT met'})"
        print(line)
    for r in report.get("cpu_ratios", []):
        print(f"{r['bot']:<14} at {r['users']:>2} users: server CPU {r['cpu_ms_per_msg']:g} "
              f"ms/msg vs {r['rest_cpu_ms_per_msg']:g} over REST = {r['cpu_ratio']:.2f}x   "
              f"target <= {TARGET_TWILIO_CPU_RATIO}x "
              f"({'met' if r['cpu_ratio'] <= TARGET_TWILIO_CPU_RATIO else 'NOT met'})")
    if not any("throughput_target_met" in r for r in report["ratios"]):
        print(f"targets (issue 8, at {TARGET_USERS} users): ours >= {TARGET_THROUGHPUT_RATIO}x "
              f"stock throughput, p95 <= {TARGET_P95_RATIO}x stock")
    last = {p["bot"]: p for p in report["phases"]
            if p["bot"] != "stock" and not p["bot"].endswith(f"/{MIXED}")}
    for p in last.values():
        parts = ", ".join(f"{k} {v:.0f}" for k, v in p["p50_ms_by_conversation"].items())
        print(f"{p['bot']} at {p['users']} users, p50 ms by conversation: {parts}")
    for p in report["phases"]:
        if p["error_kinds"]:
            print(f"errors of {p['bot']} at {p['users']} users: {p['error_kinds']}")


# --- main ---------------------------------------------------------------------------------

def _no_nan(row: dict) -> dict:
    """JSON has no NaN: a figure that could not be measured is null."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def profile_ours(bot: Bot, users: int, messages: int, max_seconds: float, out: Path) -> None:
    """One more phase of ours, not counted, with its Rasa server under cProfile; prints where
    the server's time goes (cumulative, Rasa and our code only) to stderr."""
    import pstats

    written = Path(os.environ["BENCH_PROFILE_OUT"])  # where the server writes its stats
    written.unlink(missing_ok=True)
    pid = bot.procs["rasa"].pid
    os.kill(pid, signal.SIGUSR1)
    phase = run_phase(bot, users, messages, max_seconds)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while not written.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # let the dump finish
    if not written.exists():
        log(f"no profile written to {written}")
        return
    if written != out:
        written.replace(out)
    log(f"profile of {bot.name} at {users} users ({phase.messages} messages, "
        f"{phase.throughput} msg/s under the profiler) written to {out}; the top of it:")
    stats = pstats.Stats(str(out), stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(PROFILE_FILTER, 40)


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=TARGET_USERS,
                        help="concurrent users of the load phase (1 is always run too)")
    parser.add_argument("--messages", type=int, default=30, help="messages each user sends")
    parser.add_argument("--max-seconds", type=float, default=120,
                        help="a phase stops sending after this long")
    parser.add_argument("--rounds", type=int, default=2,
                        help="times each bot is measured at each concurrency, alternating "
                             "with the other; figures are pooled over the rounds")
    parser.add_argument("--only", choices=("ours", "stock", "scaled"),
                        help="measure one bot only (ours: over REST and Twilio)")
    parser.add_argument("--setup", choices=("single", "scaled", "all"), default="all",
                        help="our set-ups: one process (make serve), the scaled one (make "
                             "serve-scaled), or both (default; scaled is left out with a "
                             "warning where it cannot run)")
    parser.add_argument("--no-twilio", action="store_true",
                        help="ours over REST only, without the Twilio phase")
    parser.add_argument("--scenario", choices=("conversations", MIXED, "both"), default="both",
                        help="the scripted conversations, the mixed load (every intent and "
                             "language in one conversation, forms interrupted, fallbacks; "
                             "phases named <bot>/mixed), or both in turn (default)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp folder (server logs, var folder) and print its path")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="after the measured phases, one more phase of ours at --users with "
                             "its Rasa server under cProfile: stats to FILE, summary to stderr")
    args = parser.parse_args(argv)
    if min(args.users, args.messages, args.rounds) < 1 or args.max_seconds <= 0:
        parser.error("--users, --messages, --rounds and --max-seconds must be positive")

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    work = Path(tempfile.mkdtemp(prefix="loket-bench-"))
    bots: list[Bot] = []
    load_before = os.getloadavg()
    try:
        classes: list[type[Bot]] = [StockBot]
        if args.setup in ("single", "all"):
            classes.append(OurBot)
        if args.setup in ("scaled", "all"):
            missing = scaled_available()
            if missing is None:
                classes.append(ScaledBot)
            elif args.setup == "scaled":
                raise SystemExit(f"bench: no scaled set-up: {missing}")
            else:
                log(f"the scaled set-up is left out: {missing}")
        for cls in classes:
            if args.only and cls.name != args.only:
                continue
            bot = (OurBot(work / "ours", args.profile.resolve() if args.profile else None,
                          twilio=not args.no_twilio)
                   if cls is OurBot else cls(work / cls.name))
            bot.work.mkdir(parents=True, exist_ok=True)
            bots.append(bot)
            log(f"starting {bot.name} on port {bot.port}")
            try:
                bot.start()
            except (SystemExit, Exception):  # the scaled set-up raises RuntimeError
                for server_log in sorted(bot.work.glob("**/*.log")):
                    tail = server_log.read_text(errors="replace")[-2000:]
                    log(f"{bot.name} {server_log.name}, the end:\n{tail}")
                raise
            log(f"warming up {bot.name}")
            warm_up(bot)
            if isinstance(bot, OurBot) and bot.twilio:
                view = TwilioView(bot)
                view.start()
                bots.append(view)
                log(f"warming up {view.name}")
                warm_up(view)
        phases = []
        scenarios = ("conversations", MIXED) if args.scenario == "both" else (args.scenario,)
        scripted = {bot.name: bot.conversations for bot in bots}
        for scenario in scenarios:
            for bot in bots:
                bot.conversations = bot.mixed if scenario == MIXED else scripted[bot.name]
            names = {bot.name: f"{bot.name}/{MIXED}" if scenario == MIXED else bot.name
                     for bot in bots}
            for users in sorted({1, args.users}):
                runs: dict[str, list[Run]] = defaultdict(list)
                for round_ in range(1, args.rounds + 1):  # alternating: the same machine
                    for bot in bots:
                        log(f"{names[bot.name]}: {users} user(s) x {args.messages} messages, "
                            f"round {round_}/{args.rounds}")
                        runs[bot.name].append(measure(bot, users, args.messages,
                                                      args.max_seconds))
                phases += [summarize(names[bot.name], users, runs[bot.name]) for bot in bots]
        for bot in bots:
            bot.conversations = scripted[bot.name]
        report = {
            "machine": {"cpus": os.cpu_count(), "rasa": importlib.metadata.version("rasa"),
                        "load_before": [round(x, 2) for x in load_before],
                        "load_after": [round(x, 2) for x in os.getloadavg()]},
            "messages_per_user": args.messages, "rounds": args.rounds,
            "max_seconds": args.max_seconds,
            "models": {bot.name: bot.model for bot in bots},
            "phases": [_no_nan(asdict(p)) for p in phases],
            "ratios": [],
            "targets": {"users": TARGET_USERS, "throughput_ratio_min": TARGET_THROUGHPUT_RATIO,
                        "p95_ratio_max": TARGET_P95_RATIO,
                        "by_setup": {bot: {"throughput_ratio_min": t, "p95_ratio_max": p}
                                     for bot, (t, p) in TARGETS.items()}},
        }
        report["ratios"] = ratios(phases)
        report["cpu_ratios"] = cpu_ratios(phases)
        ours = [bot for bot in bots if isinstance(bot, OurBot | TwilioView)]
        if args.profile and ours:
            for bot in ours:  # the Twilio phase's stats next to FILE, as FILE.twilio
                out = args.profile.resolve()
                if isinstance(bot, TwilioView):
                    out = out.with_name(f"{out.name}.twilio")
                profile_ours(bot, args.users, args.messages, args.max_seconds, out)
    except KeyboardInterrupt:
        log("interrupted; stopping the servers")
        return 130
    finally:
        # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for bot in bots:
            bot.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
