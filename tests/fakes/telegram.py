"""Fake Telegram Bot API: ``POST /bot<token>/<method>`` with a JSON body."""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any

from fakes.server import Call, FakeApi, Scripted

_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>\w+)$")


class FakeTelegram(FakeApi):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._ids = itertools.count(1)

    def decode(self, content_type: str, raw: str) -> dict[str, Any]:
        return json.loads(raw) if raw else {}

    @staticmethod
    def method(call: Call) -> str:
        match = _PATH.match(call.path)
        return match["method"] if match else ""

    def key(self, call: Call) -> str:
        """Calls are scripted per chat ("<chat id>") or per method ("answerCallbackQuery")."""
        chat = call.body.get("chat_id")
        return str(chat) if chat is not None else self.method(call)

    def handle(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        match = _PATH.match(call.path)
        if not match or match["token"] != self.token:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, {}
        method, body = match["method"], call.body
        if method == "sendMessage":
            if "chat_id" not in body or not body.get("text"):
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: message text is empty"}, {}
            for row in (body.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if len(button.get("callback_data", "").encode()) > 64:
                        return 400, {"ok": False, "error_code": 400,
                                     "description": "Bad Request: BUTTON_DATA_INVALID"}, {}
            return 200, {"ok": True, "result": {
                "message_id": next(self._ids), "date": int(time.time()),
                "chat": {"id": body["chat_id"], "type": "private"}, "text": body["text"],
            }}, {}
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return 200, {"ok": True, "result": True}, {}
        if method == "getMe":
            return 200, {"ok": True, "result": {"id": 1, "is_bot": True,
                                                "first_name": "loket", "username": "loket_bot"}}, {}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, {}

    def sent(self, chat_id: int | str) -> list[dict[str, Any]]:
        return [c.body for c in self.calls_for(str(chat_id))
                if self.method(c) == "sendMessage" and c.status == 200]

    def wait_sent(self, chat_id: int | str, count: int = 1,
                  timeout: float = 20.0) -> list[dict[str, Any]]:
        calls = self.wait_for(str(chat_id), count, timeout,
                              predicate=lambda c: self.method(c) == "sendMessage"
                              and c.status == 200)
        return [c.body for c in calls]

    @staticmethod
    def error(status: int, description: str, retry_after: int | None = None) -> Scripted:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return Scripted(status, body)
