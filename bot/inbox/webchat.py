"""The families' web chat at /chat: no login; the conversation id is the server's.

The first visit gets a random conversation id (``webchat:`` plus 144 random bits) in a signed,
HttpOnly cookie (path /chat): the page's script never sees it and it never travels in a URL,
so neither the browser's history nor a proxy's log holds a family's only credential. The
page carries a token derived from that id; ``/chat/send`` and ``/chat/poll`` answer only a
request with the cookie *and* that token (``X-Chat-Token``), so another site cannot post in
the family's name (a cross-site form or ``text/plain`` post cannot set the header). Messages
go to the web chat's own channel on the Rasa server (connectors/rest.py), with the Rasa
token; replies, and staff messages arriving later, are read back from the tracker (only bot
and staff texts after a given moment). A page opened again (a reload, a tab the phone
discarded) first gets the whole conversation so far, the family's own messages included, as
that cookie and token allow: the id never leaves the server, so no other browser can ask.

Rates (``Limits``): per conversation and per client address (bot/inbox/throttle.py), for
messages, for new conversations and for polls.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from aiohttp import web

from bot import i18n
from bot.inbox import relay, throttle
from bot.inbox.html import document, el
from bot.inbox.views import SECURE_COOKIES, SIGNER, blocking

COOKIE = "loket_chat"
COOKIE_SECONDS = 30 * 24 * 3600
TOKEN_HEADER = "X-Chat-Token"
PREFIX = "webchat:"
MAX_MESSAGE = 1000
HISTORY_LIMIT = 200  # messages a reopened page shows
VIEWPORT = "width=device-width, initial-scale=1, interactive-widget=resizes-content"
TEXT_KEYS = ("title", "intro", "label", "send", "error", "you", "bot", "staff", "slow")


@dataclass
class Limits:
    """Per conversation: 20 messages and 30 polls a minute (the page polls every 3 s). Per
    address: 30 messages and 120 polls a minute, and at most 3 new conversations a minute
    and 10 an hour (a script opening conversations, each asking for a person)."""

    messages: throttle.Limiter = field(default_factory=lambda: throttle.Limiter(20, 60))
    polls: throttle.Limiter = field(default_factory=lambda: throttle.Limiter(30, 60))
    address_messages: throttle.Limiter = field(
        default_factory=lambda: throttle.Limiter(30, 60))
    address_polls: throttle.Limiter = field(default_factory=lambda: throttle.Limiter(120, 60))
    new_per_minute: throttle.Limiter = field(default_factory=lambda: throttle.Limiter(3, 60))
    new_per_hour: throttle.Limiter = field(default_factory=lambda: throttle.Limiter(10, 3600))

    def message(self, conversation: str, address: str) -> bool:
        if not self.messages.seen(conversation) and not (
                self.new_per_minute.allow(address) and self.new_per_hour.allow(address)):
            return False
        return self.address_messages.allow(address) and self.messages.allow(conversation)

    def poll(self, conversation: str, address: str) -> bool:
        return self.address_polls.allow(address) and self.polls.allow(conversation)


LIMITS = web.AppKey("chat_limits", Limits)


def chat_language(request: web.Request) -> str:
    wanted = request.query.get("lang")
    if wanted in i18n.SUPPORTED:
        return wanted
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in i18n.SUPPORTED:
            return code
    return i18n.DEFAULT


def _cookie_value(request: web.Request, chat_id: str) -> str:
    return f"{chat_id}.{request.app[SIGNER].mac('chat', chat_id)}"


def chat_id(request: web.Request) -> str | None:
    """The conversation of this browser: the id in a genuine chat cookie, else None."""
    value = request.cookies.get(COOKIE, "")
    chat, _, mac = value.partition(".")
    if not chat or not mac or len(value) > 200:
        return None
    expected = request.app[SIGNER].mac("chat", chat)
    return chat if hmac.compare_digest(mac, expected) else None


def page_token(request: web.Request, chat: str) -> str:
    return request.app[SIGNER].mac("chat-token", chat)


async def chat_page(request: web.Request) -> web.Response:
    lang = chat_language(request)
    chat = chat_id(request) or secrets.token_urlsafe(18)
    texts = {f"data_{k}": i18n.t(f"webchat.{k}", lang) for k in TEXT_KEYS}
    # a fixed column the height of the visible screen: only the log scrolls (the intro
    # with it), so the input stays at the bottom however long the conversation grows
    body = el("main",
              el("h1", i18n.t("webchat.title", lang)),
              el("div",
                 el("p", i18n.t("webchat.intro", lang), class_="intro"),
                 el("ol", id="messages", aria_live="polite", class_="messages"),
                 id="chat-log", class_="log"),
              el("p", "", id="chat-error", role="alert", class_="chat-error", hidden=True),
              el("form",
                 el("label", i18n.t("webchat.label", lang), for_="chat-text"),
                 el("div",
                    el("textarea", id="chat-text", name="message", rows="2", required=True,
                       maxlength=MAX_MESSAGE, autocomplete="off"),
                    el("button", i18n.t("webchat.send", lang), type="submit"),
                    class_="row"),
                 id="chat-form"),
              id="chat", class_="chat", data_token=page_token(request, chat), **texts)
    html = document(lang=lang, title=i18n.t("webchat.title", lang), body=body,
                    direction="rtl" if lang in i18n.RTL else "ltr",
                    scripts=("/static/webchat.js",), styles=("/static/webchat.css",),
                    # Chrome on Android: the on-screen keyboard shrinks the layout (and
                    # 100dvh) instead of covering the input; Safari does so by itself
                    viewport=VIEWPORT)
    response = web.Response(text=html, content_type="text/html", charset="utf-8")
    # set on every visit: a family that comes back keeps its conversation 30 more days.
    # Lax, not Strict: a family arriving through a link from the municipality's site must
    # find its conversation; the token above keeps other sites out
    response.set_cookie(COOKIE, _cookie_value(request, chat), httponly=True, samesite="Lax",
                        path="/chat", max_age=COOKIE_SECONDS,
                        secure=request.app[SECURE_COOKIES])
    return response


def _caller(request: web.Request) -> str:
    """The conversation of a send or poll, when it carries the cookie and the page's token;
    else 403 (a request from another site, or from no page of ours)."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise web.HTTPForbidden()
    chat = chat_id(request)
    token = request.headers.get(TOKEN_HEADER, "")
    if chat is None or not hmac.compare_digest(token, page_token(request, chat)):
        raise web.HTTPForbidden()
    return chat


def _after(value: object) -> float | None:
    try:
        return float(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def history(tracker_state: dict, limit: int = HISTORY_LIMIT) -> tuple[list[dict], float]:
    """The conversation so far, oldest first: the family's messages (``family``), the bot's
    and the staff's (``staff``), and the newest timestamp. A button the family tapped shows
    as its title, not its payload; only the last message keeps its buttons (an older
    keyboard belongs to a question already answered)."""
    out: list[dict] = []
    latest = 0.0
    offered: dict[str, str] = {}  # payload -> title of the latest buttons
    for event in tracker_state.get("events") or []:
        at = float(event.get("timestamp") or 0)
        latest = max(latest, at)
        text = event.get("text")
        if not text:
            continue
        if event.get("event") == "bot":
            data = event.get("data") or {}
            buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                       for b in data.get("buttons") or [] if isinstance(b, dict)]
            if buttons:
                offered = {b["payload"]: b["title"] for b in buttons}
            out.append({"text": text, "buttons": buttons, "at": at, "family": False,
                        "staff": bool((event.get("metadata") or {}).get("staff"))})
        elif event.get("event") == "user":
            shown = offered.get(text)
            if shown is None and text.startswith("/"):
                continue  # a payload the family never typed (no button of ours said it)
            out.append({"text": shown or text, "buttons": [], "at": at, "family": True,
                        "staff": False})
    for message in out[:-1]:
        message["buttons"] = []
    return out[-limit:], latest


async def _read(sender: str, after: float | None) -> dict:
    """After ``after``: the bot's and the staff's new messages. Without it (a page just
    opened, reloaded, or a tab the phone discarded): the whole conversation so far."""
    state = await blocking(relay.tracker, sender)
    if after is None:
        messages, latest = history(state)
        return {"messages": messages, "at": latest, "history": True}
    messages, latest = relay.bot_messages(state, after)
    return {"messages": messages, "at": latest}


async def chat_send(request: web.Request) -> web.Response:
    chat = _caller(request)
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType()
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest() from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest()
    message = str(body.get("message", "")).strip()
    after = _after(body.get("after"))
    if not message or len(message) > MAX_MESSAGE:
        raise web.HTTPBadRequest()
    if not request.app[LIMITS].message(chat, throttle.client_address(request)):
        raise web.HTTPTooManyRequests()
    sender = PREFIX + chat
    try:
        await blocking(relay.webhook, sender, message)
        return web.json_response(await _read(sender, after or 0.0))
    except relay.RasaError:
        raise web.HTTPBadGateway() from None


async def chat_poll(request: web.Request) -> web.Response:
    """Bot and staff messages after ``after``; without it the conversation so far (where a
    page that was just opened starts, then listens from its newest moment)."""
    chat = _caller(request)
    if not request.app[LIMITS].poll(chat, throttle.client_address(request)):
        raise web.HTTPTooManyRequests()
    try:
        return web.json_response(await _read(PREFIX + chat, _after(request.query.get("after"))))
    except relay.RasaError:
        raise web.HTTPBadGateway() from None
