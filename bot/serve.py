"""Start the whole assistant in the foreground: action server + Rasa server + the loket's
inbox (staff web app and families' web chat, loopback only).

``python -m bot serve`` (``make serve``) trains first when no model matches the current data,
writes the run-time endpoint and channel files into the var folder, starts the servers and
stops everything it started on SIGINT/SIGTERM.

Supervision: once everything is up, a server that dies is started again after a short
backoff (1 s, 2 s, 4 s … at most 30 s; back to 1 s after a minute of running), and the
restart is logged. ``Stack.stop()`` stops the supervisor first, so stopping never restarts
anything. The scaled set-up (bot/scaled.py) uses the same ``Supervisor``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from bot import model, rasa_server, tokens
from bot.rasa_ext import TRACKER_STORE
from bot.settings import ROOT, var_dir
from bot.tokens import rasa_token


@contextlib.contextmanager
def _environment(overrides: Mapping[str, str] | None) -> Iterator[None]:
    """``os.environ`` with ``overrides`` for a moment: connectors read their settings there."""
    saved = {name: os.environ.get(name) for name in overrides or {}}
    os.environ.update(overrides or {})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def tracker_store_config(tracker_url: str | None) -> dict[str, object]:
    """endpoints.yml's tracker store: SQL at ``tracker_url``, else SQLite in the var folder."""
    if not tracker_url:
        return {"type": TRACKER_STORE, "dialect": "sqlite", "db": str(var_dir() / "tracker.db")}
    from sqlalchemy.engine import make_url

    url = make_url(tracker_url)
    tracker = {
        "type": TRACKER_STORE, "dialect": url.drivername, "url": url.host, "port": url.port,
        "db": url.database, "username": url.username, "password": url.password,
    }
    return {k: v for k, v in tracker.items() if v is not None}


def write_runtime_config(action_port: int | None = None, *, action_url: str | None = None,
                         action_token: str | None = None,
                         tracker_url: str | None = None, lock_store: dict | None = None,
                         folder: Path | None = None,
                         env: Mapping[str, str] | None = None) -> tuple[Path, Path]:
    """Write endpoints.yml (mode 600: it holds secrets) and credentials.yml (into
    ``folder``, default the var folder).

    The action server is ``action_url`` or the local one on ``action_port``, called with
    ``action_token`` (default bot/tokens.py's); the tracker store ``tracker_url`` (default
    ``TRACKER_DB_URL``, else SQLite); ``lock_store`` an endpoints.yml lock store entry
    (default Rasa's in-memory one: a single server). The channels: the web chat's, the REST
    channel unless ``BOT_REST_CHANNEL=off``, and those whose settings are complete in the
    environment (plus ``env``).
    """
    folder = folder or var_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if action_url is None:
        from bot.action_server import interface

        action_url = f"http://{local_address(interface())}:{action_port}/webhook"
    endpoints: dict[str, object] = {
        # Rasa sends the token as a `token` query parameter with every action call
        "action_endpoint": {"url": action_url, "token": action_token or tokens.action_token()},
        "tracker_store": tracker_store_config(tracker_url or os.environ.get("TRACKER_DB_URL")),
    }
    if lock_store:
        endpoints["lock_store"] = lock_store
    from connectors import enabled_channels, local_channels

    with _environment(env):
        credentials: dict[str, object] = {**local_channels(), **enabled_channels()}
    endpoints_path, credentials_path = folder / "endpoints.yml", folder / "credentials.yml"
    _write_private(endpoints_path, yaml.safe_dump(endpoints))
    credentials_path.write_text(yaml.safe_dump(credentials))
    return endpoints_path, credentials_path


def _write_private(path: Path, text: str) -> None:
    """Created with mode 600 (not chmod after writing: no moment where others can read it)."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    tmp.replace(path)


def local_address(interface: str) -> str:
    """Where this machine reaches a server that listens on ``interface``."""
    return "127.0.0.1" if interface in ("", "0.0.0.0", "::") else interface


def prepare_database(url: str | None = None, load_demo_data: bool | None = None) -> None:
    """Migrate the assistant's database (``url``, default ``BOT_DB_URL``); on a store with no
    real places, load (or move along with the calendar) the fictional demo region, unless
    BOT_LOAD_DEMO=0."""
    from sqlalchemy import func, select

    from bot import db
    from bot.places.generate import load_demo
    from bot.places.models import CareLocation

    db.upgrade(url)
    if load_demo_data is None:
        load_demo_data = os.environ.get("BOT_LOAD_DEMO", "1") != "0"
    if not load_demo_data:
        return
    with db.session_scope(url) as session:
        real = select(func.count()).select_from(CareLocation).where(~CareLocation.fictional)
        if not session.execute(real).scalar():
            load_demo(session)


def wait_until_up(url: str, deadline: float, procs: list[subprocess.Popen]) -> None:
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"serve: a server exited during start-up (code {proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise SystemExit(f"serve: {url} did not come up in time")


def stop_processes(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each process group we started, SIGKILL what is still there after 15 s."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):  # it may have just exited
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def log(message: str) -> None:
    print(f"serve: {message}", file=sys.stderr, flush=True)


class Child:
    """One supervised part of the assistant: started, watched, restarted, stopped."""

    name: str

    def start(self) -> None:
        raise NotImplementedError

    def pid(self) -> int | None:
        """Its main process, ``None`` when it is not running."""
        raise NotImplementedError

    def running(self) -> bool:
        return self.pid() is not None

    def status(self) -> str:
        """How it ended, for the log."""
        return "not running"

    def terminate(self) -> None:
        """Ask it to stop; don't wait."""
        raise NotImplementedError

    def wait(self, timeout: float) -> bool:
        """Whether it is gone within ``timeout`` seconds."""
        raise NotImplementedError

    def force_stop(self) -> None:
        raise NotImplementedError

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal its main process only, as a crash would take it."""
        pid = self.pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


class ProcessChild(Child):
    """A process we start ourselves, in its own process group (``spawn`` returns it)."""

    def __init__(self, name: str, spawn: Callable[[], subprocess.Popen]) -> None:
        self.name, self.spawn = name, spawn
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        if self.proc is not None:
            # what a killed main process leaves behind (nginx workers holding the port…)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = self.spawn()

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def status(self) -> str:
        code = None if self.proc is None else self.proc.poll()
        if code is None:
            return "not running"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def terminate(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):  # it may have just exited
                os.killpg(self.proc.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def force_stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def stop_children(children: list[Child], timeout: float = 15) -> None:
    """Stop them together: ask all, wait, force what is still there after ``timeout``."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        if not child.wait(max(0.0, deadline - time.monotonic())):
            child.force_stop()


class Supervisor:
    """Restarts a child that stopped while it should run, with an exponential backoff."""

    def __init__(self, poll: float = 0.5, max_backoff: float = 30.0,
                 stable_after: float = 60.0) -> None:
        self.children: dict[str, Child] = {}
        self.poll, self.max_backoff, self.stable_after = poll, max_backoff, stable_after
        self.restarts: dict[str, int] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, child: Child) -> Child:
        self.children[child.name] = child
        return child

    def watch(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="supervisor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop watching (a restart under way is finished first); the children keep running."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        failures: dict[str, int] = {}
        since: dict[str, float] = {}
        due: dict[str, float] = {}
        while not self._stopping.wait(self.poll):
            for name, child in list(self.children.items()):
                now = time.monotonic()
                if child.running():
                    if failures.get(name) and now - since.get(name, now) > self.stable_after:
                        failures[name] = 0
                    continue
                if name not in due:
                    delay = min(2.0 ** failures.get(name, 0), self.max_backoff)
                    log(f"{name} stopped unexpectedly ({child.status()}); "
                        f"restarting in {delay:g} s")
                    due[name] = now + delay
                    continue
                if now < due[name] or self._stopping.is_set():
                    continue
                del due[name]
                failures[name] = failures.get(name, 0) + 1
                since[name] = now
                try:
                    child.start()
                except Exception as exc:  # logged; retried after a longer wait
                    log(f"{name} did not restart: {exc}")
                    continue
                self.restarts[name] = self.restarts.get(name, 0) + 1
                log(f"{name} restarted (pid {child.pid()})")


def spawn_logged(cmd: list[str], env: Mapping[str, str],
                 log_file: Path | None) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (we stop it whole), output appended to
    ``log_file`` (else ours)."""
    out = None
    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out = log_file.open("ab")
    try:
        return subprocess.Popen(cmd, cwd=ROOT, env=dict(env), stdout=out,
                                stderr=subprocess.STDOUT if out else None,
                                start_new_session=True)
    finally:
        if out:
            out.close()  # the child has its own copy


class Stack:
    """The processes of one running assistant."""

    def __init__(self, port: int, action_port: int, log_dir: Path | None,
                 inbox_port: int | None = None) -> None:
        self.port, self.action_port, self.log_dir = port, action_port, log_dir
        self.inbox_port = inbox_port or int(os.environ.get("INBOX_PORT", 5080))
        self.supervisor = Supervisor()

    @property
    def procs(self) -> list[subprocess.Popen]:
        """The current process of each server (a restarted one: its new process)."""
        return [c.proc for c in self.supervisor.children.values()
                if isinstance(c, ProcessChild) and c.proc is not None]

    def _spawn(self, name: str, cmd: list[str],
               env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start the server ``name``; the supervisor restarts it with the same command."""
        log_file = self.log_dir / f"{name}.log" if self.log_dir else None
        env = env or model.rasa_env()
        child = ProcessChild(name, lambda: spawn_logged(cmd, env, log_file))
        self.supervisor.add(child)
        child.start()
        assert child.proc is not None
        return child.proc

    def start(self, timeout: float = 180) -> None:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()  # nothing half-started is left running
            raise

    def _start(self, timeout: float) -> None:
        # the databases, keys and tokens live there: readable by us only
        var_dir().chmod(0o700)
        model_file = model.ensure_model()
        prepare_database()
        endpoints, credentials = write_runtime_config(self.action_port)
        py = sys.executable
        # no secret on these command lines: the servers read their tokens from the
        # environment or the var folder (bot/tokens.py)
        self._spawn("actions", [py, "-m", "bot.action_server", "--actions", "bot.actions",
                                "--port", str(self.action_port)])
        interface = rasa_server.interface()
        self._spawn("rasa", [
            py, "-m", "bot.rasa_server", "run", "--enable-api",
            "--model", str(model_file), "--endpoints", str(endpoints),
            "--credentials", str(credentials), "--port", str(self.port),
            "--interface", interface,
        ])
        rasa_url = f"http://{local_address(interface)}:{self.port}"
        # the inbox talks to this Rasa server (its HTTP API with the token)
        inbox_env = {**model.rasa_env(), "RASA_URL": rasa_url, "RASA_TOKEN": rasa_token()}
        self._spawn("inbox", [py, "-m", "bot", "inbox", "serve",
                              "--port", str(self.inbox_port)], env=inbox_env)
        deadline = time.monotonic() + timeout
        # a server that dies while starting is a configuration error: no restarts yet
        from bot.action_server import interface as action_interface

        wait_until_up(f"http://{local_address(action_interface())}:{self.action_port}/health",
                      deadline, self.procs)
        wait_until_up(f"{rasa_url}/", deadline, self.procs)
        wait_until_up(f"http://127.0.0.1:{self.inbox_port}/health", deadline, self.procs)
        self.supervisor.watch()

    def stop(self) -> None:
        self.supervisor.stop()  # first: stopping must not look like a crash
        stop_children(list(self.supervisor.children.values()))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    parser.add_argument("--action-port", type=int,
                        default=int(os.environ.get("ACTION_PORT", 5055)))
    parser.add_argument("--inbox-port", type=int,
                        default=int(os.environ.get("INBOX_PORT", 5080)))


def stop_on_signal(signum: int, _frame: object) -> None:
    # make forwards a second SIGTERM a moment after the first: ignore every further signal
    # from here on, or it could land before the clean-up and leave the servers running
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def run_until_signal(stack: Any, ready: Callable[[], str]) -> int:
    """Start ``stack`` (``make serve`` or ``make serve-scaled``), say ``ready()``, keep it up
    (its supervisor restarts what dies) until Ctrl-C / SIGTERM, then stop all of it."""
    # SIGTERM behaves like Ctrl-C, also while still starting up
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    try:
        stack.start()
        log(ready())
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        # a second Ctrl-C / SIGTERM (make forwards one too) must not abort the clean-up
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


def run(args: argparse.Namespace) -> int:
    stack = Stack(args.port, args.action_port, log_dir=None, inbox_port=args.inbox_port)
    return run_until_signal(stack, lambda: (
        f"ready on http://localhost:{args.port} (REST: /webhooks/rest/webhook); "
        f"inbox: http://localhost:{args.inbox_port}/inbox, web chat: "
        f"http://localhost:{args.inbox_port}/chat"))
