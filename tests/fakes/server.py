"""A small threaded HTTP server that records every call and plays scripted answers."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    """One request the fake received and what it answered."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 0
    answer: Any = None
    at: float = field(default_factory=time.monotonic)
    accepted_at: float = 0.0  # wall clock when the provider took it (its message list)


@dataclass
class Scripted:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeApi:
    """Subclasses implement ``handle(call) -> (status, body, headers)`` for unscripted calls
    and ``key(call)``: whom a call is for, so that answers can be scripted per recipient."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.arrived: list[Call] = []  # as they come in, before any scripted delay
        self._scripts: dict[str, deque[Scripted]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._outage: Scripted | None = None
        self._cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                call = Call(self.path, dict(self.headers.items()),
                            fake.decode(self.headers.get("Content-Type", ""), raw))
                status, body, headers = fake.answer(call)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def do_GET(self) -> None:
                status, body = fake.get(self.path, dict(self.headers.items()))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:  # quiet test output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # to implement ----------------------------------------------------------------------------

    def decode(self, content_type: str, raw: str) -> dict[str, Any]:
        raise NotImplementedError

    def key(self, call: Call) -> str:
        raise NotImplementedError

    def handle(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        return 404, {"message": "not found"}

    # scripting and waiting -------------------------------------------------------------------

    def script(self, key: str, *answers: Scripted) -> None:
        """The next answers for calls to ``key`` (then back to normal)."""
        with self._cond:
            self._scripts[key].extend(answers)

    def slow(self, key: str, seconds: float) -> None:
        with self._cond:
            self._delays[key] = seconds

    def outage(self, answer: Scripted | None) -> None:
        """Answer every call with ``answer`` (e.g. a 503) until called with None."""
        with self._cond:
            self._outage = answer

    def answer(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        key = self.key(call)
        with self._cond:
            self.arrived.append(call)
            self._cond.notify_all()
            scripted = self._scripts[key].popleft() if self._scripts[key] else None
            if self._outage is not None:
                scripted = self._outage
            delay = self._delays.get(key, 0.0)
        if scripted is not None:
            delay += scripted.delay
        if delay:
            time.sleep(delay)
        if scripted is not None:
            status, body, headers = scripted.status, scripted.body, scripted.headers
        else:
            status, body, headers = self.handle(call)
        call.status, call.answer = status, body
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        return status, body, headers

    def wait_arrived(self, key: str, count: int = 1, timeout: float = 20.0) -> bool:
        """Whether ``count`` calls for ``key`` came in (answered or not yet) in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([c for c in self.arrived if self.key(c) == key]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def calls_for(self, key: str, predicate: Callable[[Call], bool] | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self.calls
                    if self.key(c) == key and (predicate is None or predicate(c))]

    def wait_for(self, key: str, count: int = 1, timeout: float = 20.0,
                 predicate: Callable[[Call], bool] | None = None) -> list[Call]:
        """Calls for ``key`` (matching ``predicate``) once there are ``count``; [] on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls
                         if self.key(c) == key and (predicate is None or predicate(c))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    return found
                self._cond.wait(left)
