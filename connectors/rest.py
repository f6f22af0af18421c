"""The HTTP channels of our own tools, on Rasa's REST channel.

``RestChannel`` (``/webhooks/rest/webhook``): the terminal chat, the tests and trusted tools.
It refuses the conversation ids of the other channels (``whatsapp:…``, ``sms:…``,
``telegram:…``, ``webchat:…``): with them anyone who knows a family's phone number could
resume or erase that family's snelfiche. ``BOT_REST_CHANNEL`` (``connectors.rest_mode``)
switches it off or makes it ask for the Rasa API token; by default it asks for it whenever
the Rasa server listens beyond loopback.

``WebChatChannel`` (``/webhooks/webchat/webhook``): the families' web chat, posted by the
inbox process (bot/inbox/relay.py) with the Rasa API token, for ``webchat:`` ids only. The
browser never talks to Rasa: the inbox keeps the conversation id on its side (a signed
cookie) and forwards the text.

Both take the token as ``Authorization: Bearer <token>`` (or Rasa's ``token`` query
parameter), choose the input channel themselves and drop caller-supplied metadata: our
channels put the message store's ids there, a caller must not.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import tokens
from connectors import RESERVED_PREFIXES, rest_mode

MAX_SENDER = 128  # handoffs.sender_id, care_requests.sender_id
WEBCHAT_SENDER = re.compile(r"webchat:[A-Za-z0-9_-]{22,64}")


def reserved(sender_id: str) -> bool:
    """An id of another channel (case and spaces do not make it another one)."""
    prefix, colon, _ = sender_id.strip().partition(":")
    return bool(colon) and prefix.strip().lower() in RESERVED_PREFIXES


def _refuse(status: int, error: str) -> HTTPResponse:
    return response.json({"error": error}, status=status)


class RestChannel(RestInput):
    needs_token = False

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestChannel:
        return cls()  # configured by the environment only

    def __init__(self) -> None:
        self.token = tokens.rasa_token()

    def token_required(self) -> bool:
        return self.needs_token or rest_mode() == "token"

    def sender_refusal(self, sender: str) -> HTTPResponse | None:
        if reserved(sender):
            return _refuse(403, "sender_of_another_channel")
        return None

    def refusal(self, request: Request) -> HTTPResponse | None:
        """Why this request may not reach the assistant (None: it may)."""
        if self.token_required():
            given = tokens.bearer(request.headers.get("Authorization")) or \
                request.args.get("token")
            if not tokens.matches(given, self.token):
                return _refuse(401, "token_required")
        try:
            body = request.json
        except Exception:  # Sanic's InvalidUsage on a body that is not JSON
            return _refuse(400, "not_json")
        if not isinstance(body, dict):
            return _refuse(400, "not_json")
        sender = body.get("sender")
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER \
                or not sender.isprintable():
            return _refuse(400, "sender_invalid")
        message = body.get("message")
        if message is not None and not isinstance(message, str):
            return _refuse(400, "message_invalid")
        return self.sender_refusal(sender)

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return None

    def blueprint(self, on_new_message: Any) -> Blueprint:
        bp = super().blueprint(on_new_message)

        @bp.middleware("request")
        async def guard(request: Request) -> HTTPResponse | None:
            return self.refusal(request) if request.method == "POST" else None

        return bp


class WebChatChannel(RestChannel):
    needs_token = True  # only the inbox process posts here

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def sender_refusal(self, sender: str) -> HTTPResponse | None:
        return None if WEBCHAT_SENDER.fullmatch(sender) else _refuse(400, "sender_invalid")


__all__ = ["RestChannel", "WebChatChannel", "reserved"]
