"""Tools of the attacker test suites (no tests here): plain HTTP as anyone on the network
would send it, a browser with cookies that does not follow redirects, who listens on a port,
and what every local user can read in ``ps``."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 303 is an answer to look at, not to follow


def request(method: str, url: str, body: bytes | dict | None = None,
            headers: dict[str, str] | None = None,
            opener: urllib.request.OpenerDirector | None = None) -> Answer:
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, body, headers, method=method)
    opener = opener or urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=60) as resp:
            return Answer(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, dict(err.headers.items()), err.read())


class Browser:
    """Cookies kept, redirects not followed, forms posted with the page's CSRF token."""

    def __init__(self, base: str, jar: http.cookiejar.CookieJar | None = None) -> None:
        self.base = base
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            _NoRedirect, urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return request("GET", self.base + path, headers=headers, opener=self.opener)

    def post(self, path: str, data: dict[str, str] | bytes | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return request("POST", self.base + path, body, headers, opener=self.opener)

    def post_json(self, path: str, data: dict, headers: dict[str, str] | None = None) -> Answer:
        return request("POST", self.base + path, data, headers, opener=self.opener)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def set_cookie(self, name: str, value: str, path: str = "/") -> None:
        host = urllib.parse.urlsplit(self.base).hostname or ""
        self.jar.set_cookie(http.cookiejar.Cookie(
            0, name, value, None, False, host, False, False, path, True, False, None, False,
            None, None, {}))

    def csrf(self, path: str = "/inbox") -> str:
        return csrf_of(self.get(path).text)

    def login(self, username: str, password: str, next_: str = "") -> Answer:
        token = csrf_of(self.get("/inbox/login").text)
        return self.post("/inbox/login", {"csrf": token, "username": username,
                                          "password": password, "next": next_})


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def wait_until(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


def outside_address() -> str:
    """This machine's address on its network (what a neighbour would connect to)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.123", 9))  # no packet is sent: only the route is chosen
            address = sock.getsockname()[0]
        except OSError:
            address = ""
    if not address or address.startswith("127."):
        pytest.skip("this machine has no address but loopback: nobody outside can try")
    return address


def connects(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == 0


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(inode)
    return inodes


def listener_pid(port: int) -> int | None:
    """The process that listens on ``port`` (the main one when several share the socket)."""
    inodes = {f"socket:[{i}]" for i in _listening_inodes(port)}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if links & inodes:
            found.append(int(proc.name))
    return min(found) if found else None


def command_lines(pgid: int | None = None) -> dict[int, str]:
    """What ``ps`` shows every local user: the command line of each process (of the process
    group ``pgid``, or all of them)."""
    lines = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if pgid is not None and os.getpgid(int(proc.name)) != pgid:
                continue
            raw = (proc / "cmdline").read_bytes()
        except (OSError, ProcessLookupError):
            continue
        if raw:
            lines[int(proc.name)] = raw.replace(b"\0", b" ").decode(errors="replace")
    return lines


def descendants(pid: int) -> set[int]:
    """``pid`` and every process under it."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(proc.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


def action_call(name: str, sender: str) -> dict[str, Any]:
    """What Rasa posts to the action server to run ``name`` in ``sender``'s conversation."""
    return {"next_action": name, "sender_id": sender, "version": "3.6.2",
            "tracker": {"sender_id": sender, "slots": {"language": "nl"},
                        "latest_message": {"text": "/delete_my_data", "intent": {
                            "name": "delete_my_data"}, "entities": []},
                        "latest_event_time": time.time(), "paused": False, "events": [],
                        "latest_input_channel": "twilio", "active_loop": {},
                        "latest_action": {"action_name": "action_listen"},
                        "latest_action_name": "action_listen", "followup_action": None},
            "domain": {"slots": {}, "responses": {}, "forms": {}, "intents": [],
                       "entities": [], "actions": [name], "config": {}, "session_config": {}}}
