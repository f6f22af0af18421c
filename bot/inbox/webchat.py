"""The families' web chat at /chat: no login, a random conversation id kept in the browser.

Messages go to Rasa's REST channel; replies (and staff messages arriving later) are read back
from the conversation's tracker, only bot and staff texts after a given moment. The id is
``webchat:`` plus at least 128 random bits, so it is as hard to guess as a session key.
"""

from __future__ import annotations

import re
import time
from collections import deque

from aiohttp import web

from bot import i18n
from bot.inbox import relay
from bot.inbox.html import document, el
from bot.inbox.views import CHAT_RATE, blocking

SENDER = re.compile(r"webchat:[A-Za-z0-9_-]{22,64}")
MAX_MESSAGE = 1000
# per conversation: at most this many messages per minute (a stuck key, a script)
RATE = 20
TEXT_KEYS = ("title", "intro", "label", "send", "error", "you", "bot", "staff", "slow")


def chat_language(request: web.Request) -> str:
    wanted = request.query.get("lang")
    if wanted in i18n.SUPPORTED:
        return wanted
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in i18n.SUPPORTED:
            return code
    return i18n.DEFAULT


async def chat_page(request: web.Request) -> web.Response:
    lang = chat_language(request)
    texts = {f"data_{k}": i18n.t(f"webchat.{k}", lang) for k in TEXT_KEYS}
    body = el("main",
              el("h1", i18n.t("webchat.title", lang)),
              el("p", i18n.t("webchat.intro", lang), class_="intro"),
              el("ol", id="messages", aria_live="polite", class_="messages"),
              el("p", "", id="chat-error", role="alert", class_="chat-error", hidden=True),
              el("form",
                 el("label", i18n.t("webchat.label", lang), for_="chat-text"),
                 el("div",
                    el("textarea", id="chat-text", name="message", rows="2", required=True,
                       maxlength=MAX_MESSAGE, autocomplete="off"),
                    el("button", i18n.t("webchat.send", lang), type="submit"),
                    class_="row"),
                 id="chat-form"),
              id="chat", class_="chat", **texts)
    html = document(lang=lang, title=i18n.t("webchat.title", lang), body=body,
                    direction="rtl" if lang in i18n.RTL else "ltr",
                    scripts=("/static/webchat.js",), styles=("/static/webchat.css",))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def _allowed(request: web.Request, sender: str) -> bool:
    now = time.monotonic()
    window: deque[float] = request.app[CHAT_RATE].setdefault(sender, deque())
    while window and now - window[0] > 60:
        window.popleft()
    if len(window) >= RATE:
        return False
    window.append(now)
    if len(request.app[CHAT_RATE]) > 10000:  # forget idle conversations
        for key in [k for k, v in request.app[CHAT_RATE].items() if not v]:
            del request.app[CHAT_RATE][key]
    return True


def _after(value: object) -> float | None:
    try:
        return float(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


async def _read(sender: str, after: float | None) -> dict:
    state = await blocking(relay.tracker, sender)
    messages, latest = relay.bot_messages(state, after or 0.0)
    return {"messages": messages if after is not None else [], "at": latest}


async def chat_send(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest() from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest()
    sender = str(body.get("sender", ""))
    message = str(body.get("message", "")).strip()
    after = _after(body.get("after"))
    if not SENDER.fullmatch(sender) or not message or len(message) > MAX_MESSAGE:
        raise web.HTTPBadRequest()
    if not _allowed(request, sender):
        raise web.HTTPTooManyRequests()
    try:
        await blocking(relay.webhook, sender, message)
        return web.json_response(await _read(sender, after or 0.0))
    except relay.RasaError:
        raise web.HTTPBadGateway() from None


async def chat_poll(request: web.Request) -> web.Response:
    """Bot and staff messages after ``after``; without it only the newest moment (where a
    page that was just opened starts listening)."""
    sender = request.query.get("sender", "")
    if not SENDER.fullmatch(sender):
        raise web.HTTPBadRequest()
    try:
        return web.json_response(await _read(sender, _after(request.query.get("after"))))
    except relay.RasaError:
        raise web.HTTPBadGateway() from None
