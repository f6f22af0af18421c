"""Shared pieces of the inbox tests (no tests here): a fake Rasa HTTP API, the inbox app on a
fresh database, and logging in as a browser would."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import db
from bot.inbox import auth
from bot.inbox.app import create_app

TOKEN = "fake-rasa-token"
PASSWORD = "correct horse battery"


class FakeRasa:
    """The parts of Rasa's HTTP API the inbox uses, with the token check; executed staff
    actions behave like bot/actions/staff.py."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.slots: dict[str, dict[str, Any]] = defaultdict(dict)
        self.paused: dict[str, bool] = defaultdict(bool)
        self.calls: list[tuple[str, str, Any]] = []
        # what the family's channel does with a staff message (a phone channel records it)
        self.on_staff_say: Callable[[str, str], None] | None = None
        self.app = web.Application()
        self.app.router.add_get("/conversations/{sid:.+}/tracker", self.tracker)
        self.app.router.add_post("/conversations/{sid:.+}/tracker/events", self.append)
        self.app.router.add_post("/conversations/{sid:.+}/execute", self.execute)
        self.app.router.add_post("/webhooks/webchat/webhook", self.webhook)

    def add(self, sender: str, event: dict[str, Any]) -> None:
        event = {**event, "timestamp": time.time()}
        time.sleep(0.001)  # distinct timestamps
        self.events[sender].append(event)
        if event["event"] == "pause":
            self.paused[sender] = True
        elif event["event"] == "resume":
            self.paused[sender] = False
        elif event["event"] == "slot":
            self.slots[sender][event["name"]] = event.get("value")

    def say_family(self, sender: str, text: str) -> None:
        self.add(sender, {"event": "user", "text": text, "input_channel": "rest",
                          "parse_data": {"entities": []}})

    def _auth(self, request: web.Request) -> str:
        """The conversation id as Rasa (Sanic) sees it: the raw path, not percent-decoded."""
        if request.query.get("token") != TOKEN:
            raise web.HTTPUnauthorized()
        raw = request.rel_url.raw_path.removeprefix("/conversations/")
        return raw.rsplit("/", 2 if raw.endswith("/tracker/events") else 1)[0]

    async def tracker(self, request: web.Request) -> web.Response:
        sid = self._auth(request)
        return web.json_response({"sender_id": sid, "events": self.events[sid],
                                  "slots": self.slots[sid], "paused": self.paused[sid]})

    async def append(self, request: web.Request) -> web.Response:
        sid = self._auth(request)
        events = await request.json()
        self.calls.append(("events", sid, events))
        for event in events:
            self.add(sid, event)
        return web.json_response({"events": self.events[sid]})

    async def execute(self, request: web.Request) -> web.Response:
        sid = self._auth(request)
        name = (await request.json())["name"]
        self.calls.append(("execute", sid, {"name": name, **request.query}))
        paused = self.paused[sid]
        self.add(sid, {"event": "action", "name": name})
        slots = self.slots[sid]
        if name == "action_staff_say":
            self.add(sid, {"event": "bot", "text": slots.get("staff_text"),
                           "metadata": {"staff": slots.get("staff_worker")}})
            if self.on_staff_say is not None:
                self.on_staff_say(sid, slots.get("staff_text") or "")
            slots["staff_text"] = slots["staff_worker"] = None
        elif name == "action_staff_handback":
            self.add(sid, {"event": "bot", "text": "back-to-bot"})
        elif name == "action_request_update":
            self.add(sid, {"event": "bot", "text": f"update {slots.get('request_update')}"})
        else:
            raise web.HTTPInternalServerError()
        return web.json_response({"tracker": {"paused": paused}, "messages": []})

    async def webhook(self, request: web.Request) -> web.Response:
        """The web chat's channel: the token in the header, never in the URL."""
        if request.headers.get("Authorization") != f"Bearer {TOKEN}" or request.query:
            raise web.HTTPUnauthorized()
        body = await request.json()
        sid = body["sender"]
        self.calls.append(("webhook", sid, body["message"]))
        self.say_family(sid, body["message"])
        if self.paused[sid]:
            return web.json_response([])
        self.add(sid, {"event": "bot", "text": f"echo: {body['message']}",
                       "data": {"buttons": [{"title": "Ja", "payload": "/affirm"}]}})
        return web.json_response([{"recipient_id": sid, "text": f"echo: {body['message']}"}])


@dataclass
class Inbox:
    client: TestClient
    rasa: FakeRasa
    url: str

    async def login(self, username: str, password: str = PASSWORD,
                    client: TestClient | None = None) -> Any:
        client = client or self.client
        page = await client.get("/inbox/login")
        token = csrf_of(await page.text())
        return await client.post("/inbox/login", data={
            "csrf": token, "username": username, "password": password, "next": ""},
            allow_redirects=False)

    async def new_client(self) -> TestClient:
        other = TestClient(TestServer(self.client.server.app))
        await other.start_server()
        return other

    async def csrf(self, client: TestClient | None = None) -> str:
        page = await (client or self.client).get("/inbox")
        return csrf_of(await page.text())

    async def chat(self, client: TestClient | None = None) -> tuple[str, str]:
        """Open /chat as a family's browser: (the conversation id, the page's token)."""
        client = client or self.client
        page = await (await client.get("/chat")).text()
        token = re.search(r'data-token="([^"]+)"', page).group(1)
        cookie = next(c for c in client.session.cookie_jar if c.key == "loket_chat")
        return "webchat:" + cookie.value.split(".")[0], token


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def make_user(url: str, username: str, role: str = "worker", language: str = "nl") -> None:
    with db.session_scope(url) as session:
        auth.create_user(session, username, PASSWORD, role=role, language=language)


@asynccontextmanager
async def running_inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Inbox]:
    """The inbox app on a fresh database, a fake Rasa behind it, users ann, bert (workers)
    and admin."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("BOT_DB_URL", url)
    monkeypatch.setenv("INBOX_SECRET", "test-secret-" + tmp_path.name)
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    db.upgrade(url)
    rasa = FakeRasa()
    rasa_server = TestServer(rasa.app)
    await rasa_server.start_server()
    monkeypatch.setenv("RASA_URL", str(rasa_server.make_url("")).rstrip("/"))
    client = TestClient(TestServer(create_app()))
    await client.start_server()
    make_user(url, "ann")
    make_user(url, "bert")
    make_user(url, "admin", role="admin")
    try:
        yield Inbox(client, rasa, url)
    finally:
        await client.close()
        await rasa_server.close()
        db.dispose_engine(url)
