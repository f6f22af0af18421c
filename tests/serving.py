"""The running assistant for end-to-end tests: ``make serve`` on its own var folder and free
ports, started, waited for and stopped in one place (a plain module: the pytest fixtures
around it are in tests/shared_fixtures.py, and ``python -m tests.converse`` uses it too).

The environment is the caller's minus every setting that would point the test stack at
something real or change what it allows (a developer's Twilio account, a PostgreSQL URL, a
token, the REST channel's mode), plus the ports, the var folder and what the test adds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.services import free_port

ROOT = Path(__file__).resolve().parent.parent
MAKE_SERVE = ("make", "--no-print-directory", "serve")
READY = b"serve: ready"
# the first start after a data change trains a model first
START_TIMEOUT = 600.0
# names (or name prefixes) taken out of the caller's environment
NOT_INHERITED = ("BOT_DB_URL", "TRACKER_DB_URL", "RASA_TOKEN", "ACTION_TOKEN", "RASA_INTERFACE",
                 "BOT_REST_CHANNEL", "INBOX_TRUST_PROXY", "INBOX_PORT", "RASA_PORT",
                 "ACTION_PORT", "TWILIO_", "TELEGRAM_", "BOT_LOKET_FILE")
GENERATED = object()  # token=GENERATED: no RASA_TOKEN; the stack writes var/rasa_token


class ServeFailed(RuntimeError):
    """The assistant exited or did not become ready; the message ends with its log."""


def http_json(url: str, body: dict | None = None, token: str | None = None,
              method: str | None = None) -> tuple[int, Any]:
    """A JSON request; (status, parsed body or None). ``token`` goes into the query, where
    Rasa's ``--auth-token`` looks for it."""
    if token:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"token": token})
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None


class Served:
    """``make serve`` (or ``command``) on ``var`` with three free ports; restartable on the
    same ports. ``env`` is added to the cleaned environment (see ``NOT_INHERITED``)."""

    def __init__(self, var: Path, *, token: str | object | None = None,
                 command: Sequence[str] = MAKE_SERVE, timeout: float = START_TIMEOUT,
                 port: int | None = None, **env: str) -> None:
        self.var, self.command, self.timeout, self.extra_env = var, tuple(command), timeout, env
        # ``port``: a test that must name the Rasa port in ``env`` (a webhook URL) picks it
        self.port, self.action_port = port or free_port(), free_port()
        self.inbox_port = int(env["INBOX_PORT"]) if "INBOX_PORT" in env else free_port()
        self._token = None if token is GENERATED else str(token or "t-" + os.urandom(6).hex())
        self.proc: subprocess.Popen[bytes] | None = None

    # --- addresses and secrets ------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbox(self) -> str:
        return f"http://127.0.0.1:{self.inbox_port}"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.var / 'bot.db'}"

    @property
    def token(self) -> str:
        """The Rasa API token: ours, or the one the stack generated into its var folder."""
        return self._token if self._token is not None else self.secret("rasa_token")

    def secret(self, name: str) -> str:
        return (self.var / name).read_text().strip()

    @property
    def log(self) -> Path:
        return self.var / "serve.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
        env.update(BOT_VAR_DIR=str(self.var), RASA_PORT=str(self.port),
                   ACTION_PORT=str(self.action_port), INBOX_PORT=str(self.inbox_port),
                   PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", **self.extra_env)
        if self._token is not None:
            env["RASA_TOKEN"] = self._token
        return env

    # --- life cycle -------------------------------------------------------------------------
    def start(self) -> Served:
        self.var.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:  # the child keeps its own copy of the file
            self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env(), stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while READY not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = "exited" if self.proc.poll() is not None else \
                    f"was not ready in {self.timeout:g} s"
                self.stop()
                raise ServeFailed(f"{' '.join(self.command)} {why}:\n{self.log_tail()}")
            time.sleep(0.3)
        return self

    def stop(self) -> None:
        """SIGTERM to its process group (make and the supervisor; the servers are stopped by
        it), SIGKILL after a minute."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- talking to it ----------------------------------------------------------------------
    def say(self, sender: str, text: str) -> list[dict]:
        """One message over the REST channel; the replies."""
        status, body = http_json(f"{self.base}/webhooks/rest/webhook",
                                 {"sender": sender, "message": text})
        assert status == 200 and isinstance(body, list), (status, body)
        return body

    def tracker(self, sender: str) -> dict:
        quoted = urllib.parse.quote(sender, safe=":+")
        status, body = http_json(f"{self.base}/conversations/{quoted}/tracker",
                                 token=self.token)
        assert status == 200 and isinstance(body, dict), (status, body)
        return body


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def loket_file(folder: Path, open_now: bool) -> Path:
    """The demo loket, open all week or certainly closed now (open only the day after
    tomorrow), for ``BOT_LOKET_FILE``."""
    data = yaml.safe_load((ROOT / "data/loket/demo.yml").read_text())
    today = datetime.now(ZoneInfo("Europe/Brussels")).weekday()
    # hours only: a real holiday or the demo's closure must not close it when the test runs
    data["holidays"], data["closures"] = {"country": None}, []
    if open_now:
        data["hours"] = {day: [["00:00", "23:59"]] for day in DAYS}
    else:
        data["hours"] = {DAYS[(today + 2) % 7]: [["09:00", "12:00"]]}
    path = folder / ("open.yml" if open_now else "closed.yml")
    path.write_text(yaml.safe_dump(data))
    return path


__all__ = ["GENERATED", "MAKE_SERVE", "ROOT", "ServeFailed", "Served", "free_port",
           "http_json", "loket_file"]
