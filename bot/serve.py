"""Start the whole assistant in the foreground: action server + Rasa server + the loket's
inbox (staff web app and families' web chat, loopback only).

``python -m bot serve`` (``make serve``) trains first when no model matches the current data,
writes the run-time endpoint and channel files into the var folder, starts both servers and
stops everything it started on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from bot import model
from bot.settings import ROOT, var_dir

# Rasa's SQL tracker store that can also erase a family's conversation on request.
TRACKER_STORE = "bot.tracker_store.ErasingTrackerStore"


def rasa_token() -> str:
    """``RASA_TOKEN`` from the environment; on embedded defaults a generated one kept in var/."""
    token = os.environ.get("RASA_TOKEN")
    if token:
        return token
    path = var_dir() / "rasa_token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def write_runtime_config(action_port: int) -> tuple[Path, Path]:
    var = var_dir()
    tracker_url = os.environ.get("TRACKER_DB_URL")
    if tracker_url:
        from sqlalchemy.engine import make_url

        url = make_url(tracker_url)
        tracker = {
            "type": TRACKER_STORE, "dialect": url.drivername, "url": url.host, "port": url.port,
            "db": url.database, "username": url.username, "password": url.password,
        }
    else:
        tracker = {"type": TRACKER_STORE, "dialect": "sqlite", "db": str(var / "tracker.db")}
    endpoints = {
        "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook"},
        "tracker_store": {k: v for k, v in tracker.items() if v is not None},
    }
    from connectors import enabled_channels

    credentials: dict[str, object] = {"rest": None, **enabled_channels()}
    endpoints_path, credentials_path = var / "endpoints.yml", var / "credentials.yml"
    endpoints_path.write_text(yaml.safe_dump(endpoints))
    endpoints_path.chmod(0o600)
    credentials_path.write_text(yaml.safe_dump(credentials))
    return endpoints_path, credentials_path


def prepare_database() -> None:
    """Migrate the assistant's database; on a store with no real places, load (or move along
    with the calendar) the fictional demo region, unless BOT_LOAD_DEMO=0."""
    from sqlalchemy import func, select

    from bot import db
    from bot.places.generate import load_demo
    from bot.places.models import CareLocation

    db.upgrade()
    if os.environ.get("BOT_LOAD_DEMO", "1") == "0":
        return
    with db.session_scope() as session:
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


class Stack:
    """The processes of one running assistant."""

    def __init__(self, port: int, action_port: int, log_dir: Path | None,
                 inbox_port: int | None = None) -> None:
        self.port, self.action_port, self.log_dir = port, action_port, log_dir
        self.inbox_port = inbox_port or int(os.environ.get("INBOX_PORT", 5080))
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, name: str, cmd: list[str],
               env: dict[str, str] | None = None) -> subprocess.Popen:
        out = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env or model.rasa_env(), stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # our own process group: we stop it whole
        )
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 180) -> None:
        model_file = model.ensure_model()
        prepare_database()
        endpoints, credentials = write_runtime_config(self.action_port)
        py = sys.executable
        self._spawn("actions", [py, "-m", "rasa_sdk", "--actions", "bot.actions",
                                "--port", str(self.action_port)])
        self._spawn("rasa", [
            py, "-m", "rasa", "run", "--enable-api", "--auth-token", rasa_token(),
            "--model", str(model_file), "--endpoints", str(endpoints),
            "--credentials", str(credentials), "--port", str(self.port),
        ])
        # the inbox talks to this Rasa server (its HTTP API with the token)
        inbox_env = {**model.rasa_env(), "RASA_URL": f"http://127.0.0.1:{self.port}",
                     "RASA_TOKEN": rasa_token()}
        self._spawn("inbox", [py, "-m", "bot", "inbox", "serve",
                              "--port", str(self.inbox_port)], env=inbox_env)
        deadline = time.monotonic() + timeout
        wait_until_up(f"http://127.0.0.1:{self.action_port}/health", deadline, self.procs)
        wait_until_up(f"http://127.0.0.1:{self.port}/", deadline, self.procs)
        wait_until_up(f"http://127.0.0.1:{self.inbox_port}/health", deadline, self.procs)

    def stop(self) -> None:
        stop_processes(self.procs)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", 5005)))
    parser.add_argument("--action-port", type=int,
                        default=int(os.environ.get("ACTION_PORT", 5055)))
    parser.add_argument("--inbox-port", type=int,
                        default=int(os.environ.get("INBOX_PORT", 5080)))


def _stop_on_signal(signum: int, _frame: object) -> None:
    # make forwards a second SIGTERM a moment after the first: ignore every further signal
    # from here on, or it could land before the clean-up and leave the servers running
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    stack = Stack(args.port, args.action_port, log_dir=None, inbox_port=args.inbox_port)
    # SIGTERM behaves like Ctrl-C, also while still starting up
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    try:
        stack.start()
        print(f"serve: ready on http://localhost:{args.port} (REST: /webhooks/rest/webhook); "
              f"inbox: http://localhost:{args.inbox_port}/inbox, web chat: "
              f"http://localhost:{args.inbox_port}/chat", file=sys.stderr, flush=True)
        while all(p.poll() is None for p in stack.procs):
            time.sleep(0.5)
        print("serve: a server stopped unexpectedly; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # a second Ctrl-C / SIGTERM (make forwards one too) must not abort the clean-up
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
