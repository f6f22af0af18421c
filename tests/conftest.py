"""Shared test set-up: strict translations, and the running assistant for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.services import free_port

os.environ["BOT_STRICT_I18N"] = "1"
ROOT = Path(__file__).resolve().parent.parent


class RunningAssistant:
    def __init__(self, proc: subprocess.Popen, port: int, token: str, var: Path) -> None:
        self.proc, self.port, self.token, self.var = proc, port, token, var
        self.base = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAssistant]:
    """``make serve`` on embedded defaults in a fresh var folder (its own SQLite stores)."""
    var = tmp_path_factory.mktemp("var")
    port, action_port = free_port(), free_port()
    token = "test-token-" + os.urandom(6).hex()
    env = dict(os.environ, RASA_TOKEN=token, BOT_VAR_DIR=str(var), RASA_PORT=str(port),
               ACTION_PORT=str(action_port), INBOX_PORT=str(free_port()))
    log = (var / "serve.log").open("wb")
    proc = subprocess.Popen(["make", "--no-print-directory", "serve"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make serve exited: {(var / 'serve.log').read_text()[-3000:]}")
        if b"serve: ready" in (var / "serve.log").read_bytes():
            break
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("make serve did not become ready in 240 s")
    running = RunningAssistant(proc, port, token, var)
    yield running
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=60)


def http_json(url: str, body: dict | None = None, token: str | None = None,
              method: str | None = None) -> tuple[int, object]:
    if token:  # Rasa's --auth-token is checked on the `token` query parameter
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"token": token})
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None


class Stack:
    """``make serve`` on its own var folder, restartable."""

    def __init__(self, var: Path, **extra_env: str) -> None:
        self.var, self.port, self.proc = var, free_port(), None
        self.token = "t-" + os.urandom(4).hex()
        self.extra_env = extra_env

    def start(self) -> None:
        env = dict(os.environ, RASA_TOKEN=self.token, BOT_VAR_DIR=str(self.var),
                   RASA_PORT=str(self.port), ACTION_PORT=str(free_port()),
                   **{"INBOX_PORT": str(free_port()), **self.extra_env})
        log = self.var / "serve.log"
        log.write_bytes(b"")
        self.proc = subprocess.Popen(["make", "--no-print-directory", "serve"], cwd=ROOT,
                                     env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 240
        while b"serve: ready" not in log.read_bytes():
            assert self.proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)

    def say(self, sender: str, text: str) -> list[dict]:
        status, body = http_json(f"http://127.0.0.1:{self.port}/webhooks/rest/webhook",
                                 {"sender": sender, "message": text})
        assert status == 200 and isinstance(body, list)
        return body

    def tracker(self, sender: str) -> dict:
        status, body = http_json(
            f"http://127.0.0.1:{self.port}/conversations/{sender}/tracker", token=self.token)
        assert status == 200 and isinstance(body, dict)
        return body


__all__ = ["ROOT", "RunningAssistant", "Stack", "free_port", "http_json"]
