"""Chat load benchmark: our assistant against a stock ``rasa init`` bot (prints figures; not a
test). ``make bench``, or:

    .venv/bin/python benchmarks/chat_load.py [--users 10] [--messages 30] [--max-seconds 120]
                                             [--rounds 2] [--only ours|stock] [--json]
                                             [--keep] [--profile FILE]

In one run, on loopback only: generates the stock bot (``rasa init --no-prompt``) in a temp
folder and trains it once (the model is cached under ~/.cache/loket-bot/bench/, keyed by the
Rasa version), starts it with ``rasa run --enable-api`` (plus an action server if it had one),
starts our assistant with bot.serve.Stack on free ports and a temp var folder, and drives each
with 1 and then ``--users`` concurrent simulated users over the REST channel. Every user has
its own sender ids and plays realistic multi-turn conversations (chat_conversations.py) until it
has sent ``--messages`` messages or ``--max-seconds`` have passed. The two bots are measured in
turns at each concurrency (the other stays idle), ``--rounds`` times, so that both see the same
background load; figures are pooled over the rounds. Prints messages, errors, throughput,
p50/p95/p99 latency and the server CPU per message, and the ratios ours/stock next to the
targets of issue 8. Every process it starts is stopped at the end, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import importlib.util
import json
import math
import os
import resource
import secrets
import shutil
import signal
import socket
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
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from chat_conversations import OURS, AnswerForm, Conversation, Press, stock_conversations  # noqa: E402

# Issue 8: one process of ours against the stock bot, at 10 concurrent users.
TARGET_USERS = 10
TARGET_THROUGHPUT_RATIO = 1.5  # ours / stock, at least
TARGET_P95_RATIO = 0.75  # ours / stock, at most
REQUEST_TIMEOUT_S = 60
START_TIMEOUT_S = 300
PROFILED_RASA = Path(__file__).resolve().parent / "chat_profiled_rasa.py"
PROFILE_FILTER = r"rasa/core/|rasa/engine/graph|bot/|jsonschema/validators.py:\d+\(validate\)"


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cache_dir() -> Path:
    from bot import model

    return model.cache_dir().parent / "bench"  # next to the assistant's cached models


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_processes(procs: list[subprocess.Popen]) -> None:
    from bot.serve import stop_processes as stop

    stop(procs)


def wait_until_up(url: str, procs: list[subprocess.Popen], timeout: float = START_TIMEOUT_S,
                  ) -> None:
    from bot.serve import wait_until_up as wait

    wait(url, time.monotonic() + timeout, procs)


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
        self.model = ""

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


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
            py, "-m", "rasa", "run", "--enable-api", "--auth-token", self.token,
            "--model", str(model), "--endpoints", str(self.work / "endpoints.yml"),
            "--credentials", str(self.work / "credentials.yml"), "--port", str(self.port),
            "--interface", "127.0.0.1",
        ])
        procs = list(self.procs.values())
        if "actions" in self.procs:
            wait_until_up(f"http://127.0.0.1:{action_port}/health", procs)
        wait_until_up(f"http://127.0.0.1:{self.port}/", procs)
        self.conversations = stock_conversations(project, seed=1)

    def stop(self) -> None:
        stop_processes(list(self.procs.values()))


class OurBot(Bot):
    name = "ours"

    def __init__(self, work: Path, profile_out: Path | None = None) -> None:
        super().__init__(work)
        # embedded defaults in a fresh var folder, whatever the shell points at
        os.environ["BOT_VAR_DIR"] = str(work / "var")
        os.environ["RASA_TOKEN"] = self.token
        for name in ("BOT_DB_URL", "TRACKER_DB_URL"):
            os.environ.pop(name, None)
        from bot.serve import Stack

        if profile_out:
            os.environ["BENCH_PROFILE_OUT"] = str(profile_out)
        procs = self.procs

        class BenchStack(Stack):
            """``make serve``'s stack, with its Rasa server on loopback only (rasa_sdk has no
            such option) and, for --profile, run through chat_profiled_rasa.py; it names its
            processes for the CPU figures."""

            def _spawn(self, name: str, cmd: list[str], *args: object,
                       **kwargs: object) -> subprocess.Popen:
                if name == "rasa":  # [python, -m, rasa, run, ...]
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
        self.conversations = OURS

    def stop(self) -> None:
        self.stack.stop()


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


async def _user(session: aiohttp.ClientSession, url: str, conversations: tuple[Conversation, ...],
                user: int, budget: int, deadline: float, run_id: str,
                samples: list[Sample]) -> None:
    """One person: conversations one after another (each a new sender, as a new family would
    be), no think time, until ``budget`` messages are sent or the deadline passes."""
    sent = 0
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
                text = step.message(buttons)
                steps[0] = AnswerForm(step.choice, step.limit - 1)
            else:
                text = step.message(buttons) if isinstance(step, Press) else step
                steps.pop(0)
            sample, replies = await _send(session, url, sender, text, conv.name)
            samples.append(sample)
            sent += 1
            buttons = _buttons(replies)


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
            _user(session, bot.webhook, bot.conversations, u, messages, deadline, run_id, samples)
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
    by = {(p.bot, p.users): p for p in phases}
    result = []
    for users in sorted({p.users for p in phases}):
        ours, stock = by.get(("ours", users)), by.get(("stock", users))
        if not (ours and stock and stock.throughput and stock.p95_ms):
            continue
        row: dict = {"users": users,
                     "throughput_ratio": round(ours.throughput / stock.throughput, 2),
                     "p95_ratio": round(ours.p95_ms / stock.p95_ms, 2)}
        if users == TARGET_USERS:
            row["throughput_target_met"] = row["throughput_ratio"] >= TARGET_THROUGHPUT_RATIO
            row["p95_target_met"] = row["p95_ratio"] <= TARGET_P95_RATIO
        result.append(row)
    return result


def print_table(report: dict) -> None:
    m = report["machine"]
    print(f"chat load, {m['cpus']} CPUs, load average {m['load_before']} before / "
          f"{m['load_after']} after; rasa {m['rasa']}; {report['messages_per_user']} messages "
          f"a user per round, {report['rounds']} rounds (at most {report['max_seconds']:g} s "
          "a round)")
    print(f"models: ours {report['models'].get('ours', '-')}, "
          f"stock {report['models'].get('stock', '-')}")
    head = (f"{'bot':<6}{'users':>6}{'msgs':>6}{'err':>5}{'empty':>6}{'msg/s':>8}"
            f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}  server CPU ms/msg (busy cores)")
    print(head)
    print("-" * len(head))
    for p in report["phases"]:
        cpu = ", ".join(f"{k} {v:g} ({p['cpu_busy'][k]:.2f})"
                        for k, v in p["cpu_ms_per_msg"].items())
        print(f"{p['bot']:<6}{p['users']:>6}{p['messages']:>6}{p['errors']:>5}{p['empty']:>6}"
              f"{p['throughput']:>8.1f}{p['p50_ms']:>8.0f}{p['p95_ms']:>8.0f}{p['p99_ms']:>8.0f}"
              f"  {cpu}")
    for r in report["ratios"]:
        line = (f"ours/stock at {r['users']:>2} user{'s' if r['users'] > 1 else ' '}: "
                f"throughput {r['throughput_ratio']:.2f}x, p95 {r['p95_ratio']:.2f}x")
        if "throughput_target_met" in r:
            line += (f"   target: throughput >= {TARGET_THROUGHPUT_RATIO}x "
                     f"({'met' if r['throughput_target_met'] else 'NOT met'}), "
                     f"p95 <= {TARGET_P95_RATIO}x "
                     f"({'met' if r['p95_target_met'] else 'NOT met'})")
        print(line)
    if not any("throughput_target_met" in r for r in report["ratios"]):
        print(f"targets (issue 8, at {TARGET_USERS} users): ours >= {TARGET_THROUGHPUT_RATIO}x "
              f"stock throughput, p95 <= {TARGET_P95_RATIO}x stock")
    slow = [p for p in report["phases"] if p["bot"] == "ours"]
    if slow:
        p = slow[-1]
        parts = ", ".join(f"{k} {v:.0f}" for k, v in p["p50_ms_by_conversation"].items())
        print(f"ours at {p['users']} users, p50 ms by conversation: {parts}")
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

    out.unlink(missing_ok=True)
    pid = bot.procs["rasa"].pid
    os.kill(pid, signal.SIGUSR1)
    phase = run_phase(bot, users, messages, max_seconds)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # let the dump finish
    if not out.exists():
        log(f"no profile written to {out}")
        return
    log(f"profile of ours at {users} users ({phase.messages} messages, {phase.throughput} msg/s "
        f"under the profiler) written to {out}; the top of it:")
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
    parser.add_argument("--only", choices=("ours", "stock"), help="measure one bot only")
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
        for cls in (StockBot, OurBot):
            if args.only and cls.name != args.only:
                continue
            bot = (OurBot(work / "ours", args.profile.resolve()) if cls is OurBot and args.profile
                   else cls(work / cls.name))
            bot.work.mkdir(parents=True, exist_ok=True)
            bots.append(bot)
            log(f"starting {bot.name} on port {bot.port}")
            try:
                bot.start()
            except SystemExit:
                for server_log in sorted(bot.work.glob("*.log")):
                    tail = server_log.read_text(errors="replace")[-2000:]
                    log(f"{bot.name} {server_log.name}, the end:\n{tail}")
                raise
            log(f"warming up {bot.name}")
            warm_up(bot)
        phases = []
        for users in sorted({1, args.users}):
            runs: dict[str, list[Run]] = defaultdict(list)
            for round_ in range(1, args.rounds + 1):  # alternating: both see the same machine
                for bot in bots:
                    log(f"{bot.name}: {users} user(s) x {args.messages} messages, "
                        f"round {round_}/{args.rounds}")
                    runs[bot.name].append(measure(bot, users, args.messages, args.max_seconds))
            phases += [summarize(bot.name, users, runs[bot.name]) for bot in bots]
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
                        "p95_ratio_max": TARGET_P95_RATIO},
        }
        report["ratios"] = ratios(phases)
        ours = [bot for bot in bots if bot.name == "ours"]
        if args.profile and ours:
            profile_ours(ours[0], args.users, args.messages, args.max_seconds,
                         args.profile.resolve())
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
