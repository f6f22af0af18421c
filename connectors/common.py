"""What every channel shares: the webhook, storing before processing, per-conversation order,
opt-out, sending with retries.

The path of an inbound message:

    webhook ─► verify (signature / secret; else 403) ─► parse ─► store (unique key drops a
    repeated delivery) ─► acknowledge at once ─► per-conversation queue (background task) ─►
    opt-out words, numbered options, media ─► Rasa ─► replies sent through the provider's API
    ─► mark processed

A server that stops in the middle re-processes, on start-up, what it stored and never finished.
The HTTP calls to the providers are asynchronous (aiohttp) and retried with backoff on 429
(honouring Retry-After), 5xx and connection errors; never on other 4xx.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import i18n, messages
from bot.messages import IGNORED, NOT_SENT, PROCESSED, Inbound
from connectors import optout, sms

logger = logging.getLogger(__name__)

MAX_TEXT_TO_RASA = 2000
MEDIA_TYPES = ("image", "audio", "document", "location", "sticker", "other")
MAX_PROCESSING_ATTEMPTS = 3


def share_media_payload(media_type: str) -> str:
    kind = media_type if media_type in MEDIA_TYPES else "other"
    return "/share_media" + json.dumps({"media_type": kind}, separators=(",", ":"))


def media_kind(content_type: str | None) -> str:
    """image | audio | document | other, from a MIME type."""
    major, _, minor = (content_type or "").lower().partition("/")
    if major in ("image", "audio"):
        return major
    if major in ("application", "text") and minor not in ("vcard", "x-vcard"):
        return "document"
    return "other"


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiResult:
    ok: bool
    status: int | None  # HTTP status of the last attempt (None: no answer)
    body: Any  # parsed JSON of the last answer, if any
    attempts: int


class HttpClient:
    """POST with retries: 429 (Retry-After honoured), 5xx and connection errors are retried
    with exponential backoff; other 4xx are final (retrying cannot fix a refused request)."""

    def __init__(self, attempts: int = 5, backoff: float = 0.5, max_wait: float = 30.0,
                 timeout: float = 15.0) -> None:
        self.attempts, self.backoff, self.max_wait = attempts, backoff, max_wait
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        return min(self.backoff * 2 ** (attempt - 1), self.max_wait) * random.uniform(0.8, 1.2)

    async def post(self, url: str, *, data: dict | None = None, json_body: dict | None = None,
                   auth: aiohttp.BasicAuth | None = None) -> ApiResult:
        status: int | None = None
        body: Any = None
        for attempt in range(1, self.attempts + 1):
            retry_after: float | None = None
            try:
                async with self._client().post(url, data=data, json=json_body,
                                               auth=auth) as resp:
                    status = resp.status
                    text = await resp.text()
                    body = _json_or_text(text)
                    if status < 400:
                        return ApiResult(True, status, body, attempt)
                    if status != 429 and status < 500:
                        return ApiResult(False, status, body, attempt)
                    retry_after = _retry_after(resp.headers.get("Retry-After"), body)
                    logger.warning("POST %s: HTTP %s (attempt %d)", _redact(url), status, attempt)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status, body = None, {"error": type(exc).__name__}
                logger.warning("POST %s: %s (attempt %d)", _redact(url), type(exc).__name__,
                               attempt)
            if attempt < self.attempts:
                await asyncio.sleep(self._wait(attempt, retry_after))
        return ApiResult(False, status, body, self.attempts)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _retry_after(header: str | None, body: Any) -> float | None:
    if header:
        try:
            return float(header)
        except ValueError:
            when = email.utils.parsedate_to_datetime(header)
            if when is not None:
                return (when - datetime.now(timezone.utc)).total_seconds()
    if isinstance(body, dict):  # Telegram: {"parameters": {"retry_after": 5}}
        seconds = (body.get("parameters") or {}).get("retry_after")
        if isinstance(seconds, int | float):
            return float(seconds)
    return None


def _redact(url: str) -> str:
    """URLs in logs without the Telegram bot token."""
    head, sep, tail = url.partition("/bot")
    return f"{head}/bot***/{tail.split('/', 1)[-1]}" if sep else url


# --- per-conversation order ------------------------------------------------------------------


class ConversationQueues:
    """One background worker per conversation: its messages are handled one at a time, in the
    order they arrived; different conversations run concurrently."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Callable[[], Awaitable[None]]]] = {}
        self._tasks: set[asyncio.Task] = set()

    def submit(self, key: str, job: Callable[[], Awaitable[None]]) -> None:
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(job)
            return
        self._queues[key] = deque([job])
        task = asyncio.get_running_loop().create_task(self._work(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue.popleft()
                try:
                    await job()
                except Exception:
                    logger.exception("channel: handling a message of %s failed", key)
        finally:
            del self._queues[key]  # no await since the last check: nothing was added


# --- the channel -----------------------------------------------------------------------------


class ChannelOutput(OutputChannel):
    """Rasa's side of sending: every reply goes to the channel's ``deliver``; the buttons
    offered during one bot turn are remembered for numbered answers."""

    def __init__(self, channel: PhoneChatChannel) -> None:
        self.channel = channel
        self.offered: list[dict] = []

    def name(self) -> str:  # type: ignore[override]
        return self.channel.name()

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.channel.deliver(recipient_id, text, [])

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        clean = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                 for b in buttons]
        self.offered = clean
        await self.channel.deliver(recipient_id, text, clean)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.channel.deliver(recipient_id, image, [])

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, str):
            await self.channel.deliver(recipient_id, attachment, [])

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        logger.warning("channel %s: custom payloads are not sent", self.channel.name())


class PhoneChatChannel(InputChannel, ABC):
    """Base of our Twilio and Telegram channels (one instance per Rasa server)."""

    channels: tuple[str, ...] = ()  # values of channel_messages.channel this one handles
    numbered_options = False  # plain-text channels: buttons become "1. …" lines

    def __init__(self) -> None:
        self.http = HttpClient()
        self.queues = ConversationQueues()
        self.app: Any = None
        self.on_new_message: Callable[[UserMessage], Awaitable[Any]] | None = None

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()  # configuration comes from the environment only

    # subclasses ------------------------------------------------------------------------------

    @abstractmethod
    def verify(self, request: Request) -> bool: ...

    @abstractmethod
    def parse(self, request: Request) -> list[Inbound]: ...

    @abstractmethod
    def ack(self) -> HTTPResponse: ...

    @abstractmethod
    def optout_key(self, message: dict[str, Any]) -> str:
        """Who an opt-out applies to (a phone number covers its SMS and WhatsApp)."""

    @abstractmethod
    def route(self, sender_id: str) -> tuple[str, str]:
        """(channel, address) of a conversation id."""

    @abstractmethod
    async def send(self, sender_id: str, channel: str, address: str, text: str,
                   buttons: list[dict], reply_id: str) -> None:
        """Send one reply through the provider and record every part of it."""

    def extra_routes(self, blueprint: Blueprint) -> None:
        """More routes (e.g. Twilio's delivery status callback)."""

    async def before_processing(self, message: dict[str, Any]) -> None:
        """Channel chores before the assistant sees a message (answer a button tap…)."""

    async def on_event(self, message: dict[str, Any]) -> None:
        """A channel event that is not a message (a Telegram user blocking the bot…)."""

    # Rasa ------------------------------------------------------------------------------------

    def get_output_channel(self) -> OutputChannel:
        return ChannelOutput(self)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self.on_new_message = on_new_message
        bp = Blueprint(f"loket_{self.name()}_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            return await self.receive(request)

        @bp.listener("after_server_start")
        async def resume(app: Any, _loop: Any) -> None:
            self.app = app
            await self.resume_pending()

        @bp.listener("before_server_stop")
        async def close(_app: Any, _loop: Any) -> None:
            await self.http.close()

        self.extra_routes(bp)
        return bp

    async def receive(self, request: Request) -> HTTPResponse:
        if not self.verify(request):
            logger.warning("channel %s: refused a request that failed verification",
                           self.name())
            return response.text("forbidden", status=403)
        self.app = request.app
        try:
            inbound = self.parse(request)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning("channel %s: unreadable request: %s", self.name(), exc)
            return response.text("bad request", status=400)
        for message in inbound:
            # Stored before anything else; a storage error answers 500 so the provider retries.
            message_id = await asyncio.to_thread(messages.record_inbound, message)
            if message_id is None:
                logger.info("channel %s: dropped a repeated delivery of %s", self.name(),
                            message.external_id)
                continue
            self.queues.submit(message.sender_id, lambda mid=message_id: self.process(mid))
        return self.ack()

    async def resume_pending(self) -> None:
        pending = await asyncio.to_thread(messages.pending_inbound, self.channels)
        if pending:
            logger.info("channel %s: re-processing %d stored message(s)", self.name(),
                        len(pending))
        for row in pending:
            self.queues.submit(row["sender_id"], lambda mid=row["id"]: self.process(mid))

    def _agent(self) -> Any:
        return getattr(getattr(self.app, "ctx", None), "agent", None)

    async def process(self, message_id: int) -> None:
        agent = self._agent()
        if agent is None or not agent.is_ready():
            logger.error("channel %s: no model loaded; message %d stays stored", self.name(),
                         message_id)
            return
        row = await asyncio.to_thread(messages.start_inbound, message_id)
        if row is None:
            return
        if row["attempts"] > MAX_PROCESSING_ATTEMPTS:
            await self._finish(row, IGNORED, reason="failed_repeatedly")
            return
        outcome = await self._handle(row)
        if outcome is not None:
            await self._finish(row, *outcome)

    async def _finish(self, row: dict[str, Any], status: str, rasa_text: str | None = None,
                      reason: str | None = None) -> None:
        await asyncio.to_thread(messages.finish_inbound, row["id"], status, rasa_text, reason)

    async def _handle(self, row: dict[str, Any]) -> tuple[str, str | None, str | None] | None:
        """(status, text sent to Rasa, reason) of one stored inbound message."""
        kind, text, sender_id = row["kind"], row["text"] or "", row["sender_id"]
        if kind == "event":
            await self.on_event(row)
            return IGNORED, None, "channel_event"
        await self.before_processing(row)
        key = self.optout_key(row)
        keyword = optout.classify(text) if kind == "text" else None
        if keyword and keyword.kind == optout.OPTOUT:
            await asyncio.to_thread(messages.set_opted_out, key, True, text.strip()[:64],
                                    sender_id)
            await self.confirm(sender_id, "channel.optout_confirm", keyword.language)
            return PROCESSED, None, "optout"
        opted_out = await asyncio.to_thread(messages.is_opted_out, key)
        if opted_out and keyword and keyword.kind == optout.OPTIN:
            await asyncio.to_thread(messages.set_opted_out, key, False, text.strip()[:64],
                                    sender_id)
            await self.confirm(sender_id, "channel.optin_confirm", keyword.language)
            return PROCESSED, None, "optin"
        if opted_out:
            return IGNORED, None, "opted_out"  # kept for the loket, not answered

        reason = None
        if kind == "media":
            rasa_text = share_media_payload(row["media_type"] or "other")
        elif kind == "button":
            rasa_text = text
        elif not text.strip():
            return IGNORED, None, "empty"
        else:
            rasa_text = await self._text_for_rasa(sender_id, text)
            if len(rasa_text) > MAX_TEXT_TO_RASA:
                rasa_text, reason = rasa_text[:MAX_TEXT_TO_RASA], "truncated"

        output = ChannelOutput(self)
        metadata = {"channel": row["channel"], "message_store_id": row["id"],
                    "media_type": row["media_type"]}
        assert self.on_new_message is not None
        await self.on_new_message(UserMessage(
            rasa_text, output, sender_id, input_channel=self.name(),
            message_id=row["external_id"], metadata=metadata,
        ))
        if self.numbered_options:
            await asyncio.to_thread(messages.set_last_buttons, sender_id, output.offered)
        return PROCESSED, rasa_text, reason

    async def _text_for_rasa(self, sender_id: str, text: str) -> str:
        if self.numbered_options:
            offered = await asyncio.to_thread(messages.last_buttons, sender_id)
            chosen = sms.chosen_option(text, len(offered))
            if chosen is not None:
                return offered[chosen]["payload"]
        return text

    # sending ---------------------------------------------------------------------------------

    async def conversation_language(self, sender_id: str) -> str | None:
        agent = self._agent()
        if agent is None:
            return None
        try:
            tracker = await agent.tracker_store.retrieve(sender_id)
        except Exception:
            logger.exception("channel %s: could not read the tracker of %s", self.name(),
                             sender_id)
            return None
        lang = tracker.get_slot("language") if tracker is not None else None
        return lang if lang in i18n.SUPPORTED else None

    async def confirm(self, sender_id: str, key: str, keyword_language: str | None) -> None:
        """An opt-out/opt-in confirmation in the conversation's language (else the keyword's,
        else Dutch); sent even to a number that just opted out."""
        lang = await self.conversation_language(sender_id) or keyword_language or i18n.DEFAULT
        try:
            text = i18n.t(key, lang)
        except i18n.MissingText:
            logger.error("channel: text %s is missing; confirmation not sent", key)
            channel, address = self.route(sender_id)
            await asyncio.to_thread(messages.record_outbound, channel, sender_id, address, "",
                                    NOT_SENT, reason=f"missing_text:{key}"[:64])
            return
        await self.deliver(sender_id, text, [], force=True)

    async def deliver(self, sender_id: str, text: str, buttons: list[dict],
                      force: bool = False) -> None:
        """Send one reply unless the person opted out (``force``: the opt-out confirmation)."""
        channel, address = self.route(sender_id)
        reply_id = uuid.uuid4().hex
        if not force:
            key = self.optout_key({"channel": channel, "address": address,
                                   "sender_id": sender_id})
            if await asyncio.to_thread(messages.is_opted_out, key):
                await self.hold(channel, sender_id, address, text, buttons, reply_id,
                                "opted_out")
                return
        await self.send(sender_id, channel, address, text, buttons, reply_id)

    async def hold(self, channel: str, sender_id: str, address: str, text: str,
                   buttons: list[dict], reply_id: str, reason: str) -> None:
        """Record a reply that is deliberately not sent, and why (the loket inbox shows it)."""
        logger.info("channel %s: not sending to %s: %s", self.name(), sender_id, reason)
        await asyncio.to_thread(messages.record_outbound, channel, sender_id, address, text,
                                NOT_SENT, reason=reason, buttons=buttons, reply_id=reply_id)

