"""What every channel shares: the webhook, storing before processing, per-conversation order,
opt-out, sending with retries.

The path of an inbound message:

    webhook ─► verify (signature / secret; else 403) ─► parse ─► store (unique key drops a
    repeated delivery) ─► acknowledge at once ─► per-conversation queue (background task) ─►
    opt-out words, numbered options, media ─► Rasa ─► replies sent through the provider's API
    ─► mark processed

Nothing is lost and nothing is answered twice when a part fails (docs/ARCHITECTURE.md):
- Each server is a *worker* with a heartbeat in the store. A message it stored is its own; when
  it dies (kill -9, a crash) another worker, or itself after a restart, takes the message over.
- A message handled again checks first whether the assistant already logged it (the tracker
  has its message id), and every reply has a key (inbound id + its place in the turn): a reply
  already sent is not sent again. Each part is recorded (``sending``) before the provider
  call, so a kill -9 during the call does not send it twice either (``taken_before``).
- A database that is down at the webhook: the message goes to a local spool file first.
  Processing that fails on a passing outage (database, lock store) is retried with backoff;
  a turn that produced no reply at all (the action server was gone) and a message that keeps
  failing get a kind "please send it again" in the family's language.
- The HTTP calls to the providers are asynchronous (aiohttp) and retried with backoff on 429
  (honouring Retry-After), 5xx and connection errors; never on other 4xx. A reply the
  provider still did not take is *queued* and sent again later, in order, by any live worker;
  a 429 that asks for a longer pause than we wait in line is queued for that moment at once.
- Keywords (``connectors/optout.py``): STOP opts out, START/YES/UNSTOP opt in again, HELP gets
  the short help text; a provider that answered a keyword itself (Twilio's Advanced Opt-Out)
  is not answered twice. A person who blocked the bot gets nothing until they write again.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import os
import random
import socket
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot import i18n, loket, redaction, settings
from connectors import messages, optout, sms
from connectors.messages import FAILED, IGNORED, NOT_SENT, PROCESSED, QUEUED, SENT, Inbound
from connectors.spool import Spool

logger = logging.getLogger(__name__)

MAX_TEXT_TO_RASA = 2000
MEDIA_TYPES = ("image", "audio", "document", "location", "sticker", "other")
MAX_PROCESSING_ATTEMPTS = 3  # a message that fails (not on an outage) this often is given up
MAX_OUTAGE_RETRIES = 40  # about 15 minutes of a database or lock store that is down
PLEASE_REPEAT = "channel.please_repeat"
HELP_TEXT = "channel.help"
CONFIRMATION = "confirmation"  # outbound kind of the STOP/START/HELP answers
BLOCKED = "blocked_by_user"  # why nothing goes out to a person who blocked the bot
OUTSIDE_WINDOW = "outside_24h_window"  # WhatsApp: no free-form message 24 h after the last
STAFF_REPLY = "staff_reply"  # purpose of a loket worker's message (its bot event has "staff")

# One worker per server process, shared by its channels.
WORKER_ID = f"{socket.gethostname()[:16]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _seconds(name: str, default: float) -> float:
    try:
        return max(0.05, float(os.environ.get(name, default)))
    except ValueError:
        return default


def sweep_interval() -> float:
    """How often a worker beats, takes over orphaned messages and retries queued replies."""
    return _seconds("CHANNEL_SWEEP_SECONDS", 5.0)


def resend_interval() -> timedelta:
    """How long a queued reply waits before the next try."""
    return timedelta(seconds=_seconds("CHANNEL_RESEND_SECONDS", 15.0))


def transient(exc: BaseException) -> bool:
    """An outage that passes (database, lock store, network), not a fault of the message."""
    if isinstance(exc, SQLAlchemyError | OSError | asyncio.TimeoutError | aiohttp.ClientError):
        return True
    with contextlib.suppress(ImportError):
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        if isinstance(exc, RedisConnectionError | RedisTimeoutError):
            return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and transient(cause)


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
    retry_after: float | None = None  # a 429 asked for a pause longer than we wait in line


class HttpClient:
    """POST with retries: 429 (Retry-After honoured), 5xx and connection errors are retried
    with exponential backoff; other 4xx are final (retrying cannot fix a refused request).
    A 429 asking for more than ``max_wait`` seconds is not retried here: trying again sooner
    only prolongs the provider's limit (Telegram's flood control); the caller queues it."""

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
        return await self._request("POST", url, data=data, json_body=json_body, auth=auth)

    async def get(self, url: str, *, params: dict[str, str] | None = None,
                  auth: aiohttp.BasicAuth | None = None) -> ApiResult:
        return await self._request("GET", url, params=params, auth=auth)

    async def _request(self, method: str, url: str, *, data: dict | None = None,
                       json_body: dict | None = None, params: dict[str, str] | None = None,
                       auth: aiohttp.BasicAuth | None = None) -> ApiResult:
        status: int | None = None
        body: Any = None
        for attempt in range(1, self.attempts + 1):
            retry_after: float | None = None
            try:
                async with self._client().request(method, url, data=data, json=json_body,
                                                  params=params, auth=auth) as resp:
                    status = resp.status
                    text = await resp.text()
                    body = _json_or_text(text)
                    if status < 400:
                        return ApiResult(True, status, body, attempt)
                    if status != 429 and status < 500:
                        return ApiResult(False, status, body, attempt)
                    retry_after = _retry_after(resp.headers.get("Retry-After"), body)
                    logger.warning("%s %s: HTTP %s (attempt %d)", method, _redact(url), status,
                                   attempt)
                    if status == 429 and retry_after is not None and retry_after > self.max_wait:
                        return ApiResult(False, status, body, attempt, retry_after=retry_after)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status, body = None, {"error": type(exc).__name__}
                logger.warning("%s %s: %s (attempt %d)", method, _redact(url),
                               type(exc).__name__, attempt)
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
                    logger.exception("channel: handling a message of %s failed",
                                     redaction.pseudonym(key))
        finally:
            del self._queues[key]  # no await since the last check: nothing was added


# --- the channel -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One message of a reply as the provider gets it (a long reply has several)."""

    text: str
    number: int
    buttons: list[dict] = field(default_factory=list)  # on the last part only
    segments: int | None = None  # SMS
    encoding: str | None = None  # SMS

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Part:
        return cls(row["text"] or "", row["part"] or 1, list(row["buttons"] or []),
                   row["segments"], row["encoding"])


@dataclass(frozen=True)
class PostOutcome:
    ok: bool
    retry: bool  # a failure worth trying again later (an outage, a rate limit)
    attempts: int
    external_id: str | None = None
    delivery: str | None = None
    code: str | None = None
    reason: str = "provider_error"
    retry_after: float | None = None  # the provider's own "not before" (a long 429)

    def next_attempt(self) -> datetime:
        """When a queued part is tried again: our resend interval, or later when the
        provider asked for a longer pause."""
        wait = max(resend_interval(), timedelta(seconds=self.retry_after or 0))
        return messages.utcnow() + wait


def retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


class ChannelOutput(OutputChannel):
    """Rasa's side of sending: every reply goes to the channel's ``deliver``; the buttons
    offered during one bot turn are remembered for numbered answers. Replies to a stored
    inbound message get a key (``m<id>.<n>``), so that handling it again after a crash does
    not send a reply twice."""

    def __init__(self, channel: PhoneChatChannel, inbound_id: int | None = None,
                 recheck: bool = False,
                 state: messages.ConversationState | None = None) -> None:
        self.channel, self.inbound_id, self.recheck = channel, inbound_id, recheck
        self.state = state  # read at the start of the turn; None: read at each reply
        self.offered: list[dict] = []
        self.replies = 0

    def name(self) -> str:  # type: ignore[override]
        return self.channel.name()

    async def _deliver(self, recipient_id: str, text: str, buttons: list[dict],
                       purpose: str | None = None) -> None:
        self.replies += 1
        key = f"m{self.inbound_id}.{self.replies}" if self.inbound_id is not None else None
        await self.channel.deliver(recipient_id, text, buttons, reply_key=key,
                                   in_reply_to=self.inbound_id, recheck=self.recheck,
                                   state=self.state, purpose=purpose)

    @staticmethod
    def _purpose(kwargs: dict[str, Any]) -> str | None:
        return STAFF_REPLY if kwargs.get("staff") else None  # ActionStaffSay's metadata

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._deliver(recipient_id, text, [], self._purpose(kwargs))

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        clean = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                 for b in buttons]
        self.offered = clean
        await self._deliver(recipient_id, text, clean, self._purpose(kwargs))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._deliver(recipient_id, image, [])

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, str):
            await self._deliver(recipient_id, attachment, [])

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        logger.warning("channel %s: custom payloads are not sent", self.channel.name())


class PhoneChatChannel(InputChannel, ABC):
    """Base of our Twilio and Telegram channels (one instance per Rasa server)."""

    channels: tuple[str, ...] = ()  # values of channel_messages.channel this one handles
    numbered_options = False  # plain-text channels: buttons become "1. …" lines

    def __init__(self) -> None:
        self.http = HttpClient()
        self.resend_http = HttpClient(attempts=1)  # the outbox tries again on its own clock
        self.queues = ConversationQueues()
        self.app: Any = None
        self.on_new_message: Callable[[UserMessage], Awaitable[Any]] | None = None
        self.worker = WORKER_ID
        self.spool = Spool(settings.var_dir() / "spool", self.worker)
        self._outages: dict[int, int] = {}  # message id -> failed tries on an outage
        self._queued: set[int] = set()  # message ids waiting or running in this process
        # parts the provider took while the store was down: recorded when it is back
        self._unrecorded: deque[tuple[int, dict[str, Any]]] = deque()
        self._sent: OrderedDict[str, None] = OrderedDict()  # reply keys sent by this process
        self._sweeper: asyncio.Task | None = None
        # one outbox round at a time in this process: the sweep and a family's answer (which
        # releases what waited for it) must not take the same parts twice
        self._resending = asyncio.Lock()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()  # configuration comes from the environment only

    # subclasses ------------------------------------------------------------------------------

    @abstractmethod
    def verify(self, request: Request) -> bool: ...

    @abstractmethod
    def parse(self, request: Request) -> list[Inbound]: ...

    @abstractmethod
    def ack(self, inbound: list[Inbound]) -> HTTPResponse:
        """The webhook's answer once ``inbound`` is stored (it may carry an API call)."""

    @abstractmethod
    def optout_key(self, message: dict[str, Any]) -> str:
        """Who an opt-out applies to (a phone number covers its SMS and WhatsApp)."""

    @abstractmethod
    def route(self, sender_id: str) -> tuple[str, str]:
        """(channel, address) of a conversation id."""

    @abstractmethod
    def split(self, channel: str, text: str, buttons: list[dict]) -> list[Part]:
        """The messages one reply becomes on this channel."""

    @abstractmethod
    async def post_part(self, channel: str, address: str, part: Part, reply_id: str,
                        http: HttpClient) -> PostOutcome:
        """Hand one part to the provider's API."""

    async def hold_reason(self, sender_id: str, channel: str,
                          last_inbound_at: datetime | None) -> str | None:
        """Why a reply must not be sent now (no sender number, WhatsApp's 24-hour window),
        given the family's last message as the store has it right now."""
        return None

    async def not_a_conversation(self, request: Request) -> bool:
        """A genuine request that is no family's conversation (a Telegram group): handled
        here, nothing stored, nothing reaches the assistant."""
        return False

    async def after_failure(self, sender_id: str, address: str, outcome: PostOutcome) -> None:
        """Channel chores after the provider refused a part (Twilio's own STOP, a block…)."""

    async def reach_later(self, sender_id: str, channel: str, address: str, text: str,
                          buttons: list[dict], reply_id: str, in_reply_to: int | None,
                          purpose: str | None, row: dict[str, Any] | None = None) -> bool:
        """A reply that may not go out now for WhatsApp's 24-hour window: True when the
        channel found another way (an approved template now and the message once the family
        answers; an SMS instead). ``row``: a stored part (queued, or failed with 63016)."""
        return False

    def extra_routes(self, blueprint: Blueprint) -> None:
        """More routes (e.g. Twilio's delivery status callback)."""

    async def taken_before(self, row: dict[str, Any]) -> PostOutcome | None:
        """A part whose worker died during the provider call: the provider's own record of
        it, if it took it (then it is not sent again). Default: no way to ask (Telegram has
        none), so it is sent again: a possible second copy rather than a lost message."""
        return None

    async def post_stored(self, row: dict[str, Any], http: HttpClient) -> PostOutcome:
        """Hand a stored (queued) part to the provider again."""
        return await self.post_part(row["channel"], row["address"], Part.from_row(row),
                                    row["reply_id"] or "", http)

    def provider_keyword(self, meta: dict[str, Any] | None) -> optout.Keyword | None:
        """A keyword the provider recognised and answered itself (Twilio's OptOutType): its
        state change counts, our own answer would be a second one."""
        return None

    async def on_event(self, message: dict[str, Any]) -> str | None:
        """A channel event that is not a message (a Telegram user blocking the bot…); the
        reason it is recorded with (default ``channel_event``)."""
        return None

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
        async def start(app: Any, _loop: Any) -> None:
            self.app = app
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

        @bp.listener("before_server_stop")
        async def close(_app: Any, _loop: Any) -> None:
            if self._sweeper is not None:
                self._sweeper.cancel()
            with contextlib.suppress(Exception):  # the store may be the thing that is down
                await asyncio.to_thread(messages.retire, self.worker)
            await self.http.close()
            await self.resend_http.close()

        self.extra_routes(bp)
        return bp

    async def receive(self, request: Request) -> HTTPResponse:
        if not self.verify(request):
            logger.warning("channel %s: refused a request that failed verification",
                           self.name())
            return response.text("forbidden", status=403)
        self.app = request.app
        if await self.not_a_conversation(request):
            return self.ack([])
        try:
            inbound = self.parse(request)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning("channel %s: unreadable request: %s", self.name(), exc)
            return response.text("bad request", status=400)
        for message in inbound:
            # Stored before anything else: in the store, or while it is down in the local
            # spool; only when neither works the webhook answers 500.
            try:
                message_id = await asyncio.to_thread(messages.record_inbound, message, None,
                                                     self.worker)
            except SQLAlchemyError:
                logger.error("channel %s: message store unreachable; spooling %s",
                             self.name(), message.external_id)
                await asyncio.to_thread(self.spool.append, message)
                continue
            if message_id is None:
                logger.info("channel %s: dropped a repeated delivery of %s", self.name(),
                            message.external_id)
                continue
            await self._stop_at_once(message)
            self._submit(message.sender_id, message_id)
        return self.ack(inbound)

    async def _stop_at_once(self, message: Inbound) -> None:
        """A STOP counts from the moment it is stored, not from when its turn comes: a reply
        of a turn still running, or queued before, must not reach the family after it. Its
        turn confirms it later, in order."""
        keyword = self.keyword(message.kind, message.text, message.meta)
        if keyword is None or keyword.kind != optout.OPTOUT:
            return
        key = self.optout_key({"channel": message.channel, "address": message.address,
                               "sender_id": message.sender_id})
        try:
            await asyncio.to_thread(messages.set_opted_out, key, True,
                                    (message.text or "").strip()[:64], message.sender_id)
        except SQLAlchemyError:  # its turn sets it (it is stored)
            logger.warning("channel %s: opt-out not recorded at once", self.name())

    def _submit(self, sender_id: str, message_id: int) -> None:
        if message_id in self._queued:
            return
        self._queued.add(message_id)

        async def job() -> None:
            try:
                await self.process(message_id, sender_id)
            finally:
                self._queued.discard(message_id)

        self.queues.submit(sender_id, job)

    # background: heartbeat, take-over, spool, outbox ------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store may be down: try again next round
                logger.warning("channel %s: sweep failed: %s", self.name(), exc)
            await asyncio.sleep(sweep_interval())

    async def sweep(self) -> None:
        """One round: beat, move spooled messages into the store, take over the messages of
        workers that died, send queued replies that are due."""
        await asyncio.to_thread(messages.beat, self.worker)
        await self._record_later()
        if self.spool.pending():
            await asyncio.to_thread(self.spool.drain, self._store_spooled)
        if self._agent() is not None:
            # the messages of dead workers, and this worker's own that are in no queue here
            # (stored from the spool, or given up after a long outage)
            rows = await asyncio.to_thread(messages.take_orphaned_inbound, self.channels,
                                           self.worker)
            rows = [r for r in rows if r["id"] not in self._queued]
            if rows:
                logger.info("channel %s: taking up %d stored message(s)", self.name(),
                            len(rows))
            for row in rows:
                self._submit(row["sender_id"], row["id"])
        await self.resend_due()

    def _store_spooled(self, message: Inbound) -> None:
        """Runs in a thread: the sweep after it submits what it stored."""
        if message.channel in self.channels:
            messages.record_inbound(message, None, self.worker)

    # processing ------------------------------------------------------------------------------

    def _agent(self) -> Any:
        return getattr(getattr(self.app, "ctx", None), "agent", None)

    def _retry_later(self, sender_id: str, message_id: int) -> None:
        tries = self._outages.get(message_id, 0)
        if tries > MAX_OUTAGE_RETRIES:
            logger.error("channel %s: message %d still fails after %d tries; left to the "
                         "take-over sweep", self.name(), message_id, tries)
            return
        delay = min(2.0 ** min(tries, 5), 30.0)
        asyncio.get_running_loop().call_later(delay, self._submit, sender_id, message_id)

    async def process(self, message_id: int, sender_id: str | None = None) -> None:
        agent = self._agent()
        if agent is None or not agent.is_ready():
            logger.error("channel %s: no model loaded; message %d stays stored", self.name(),
                         message_id)
            return
        try:
            row = await asyncio.to_thread(messages.start_inbound, message_id, None,
                                          self.worker)
        except SQLAlchemyError as exc:
            logger.warning("channel %s: message store unreachable (%s); trying %d again",
                           self.name(), type(exc).__name__, message_id)
            self._outages[message_id] = self._outages.get(message_id, 0) + 1
            if sender_id is not None:
                self._retry_later(sender_id, message_id)
            return
        if row is None:
            self._outages.pop(message_id, None)
            return  # done already, or another worker holds it
        outages = self._outages.get(message_id, 0)
        if row["attempts"] - outages > MAX_PROCESSING_ATTEMPTS:
            self._outages.pop(message_id, None)
            await self._finish(row, IGNORED, reason="failed_repeatedly")
            await self.please_repeat(row)
            return
        try:
            outcome = await self._handle(row)
        except Exception as exc:
            if transient(exc):
                self._outages[message_id] = outages + 1
                logger.warning("channel %s: message %d hit an outage (%s); trying again",
                               self.name(), message_id, type(exc).__name__)
            else:
                logger.exception("channel %s: handling message %d failed", self.name(),
                                 message_id)
            self._retry_later(row["sender_id"], message_id)
            return
        self._outages.pop(message_id, None)
        if outcome is not None:
            await self._finish(row, *outcome)

    async def _finish(self, row: dict[str, Any], status: str, rasa_text: str | None = None,
                      reason: str | None = None) -> None:
        await asyncio.to_thread(messages.finish_inbound, row["id"], status, rasa_text, reason)

    async def _released(self, sender_id: str, key: str,
                        state: messages.ConversationState) -> messages.ConversationState:
        """The family wrote: what waited for its answer (a WhatsApp message outside the
        window) goes out now, before this turn's replies."""
        if not state.queued or not await asyncio.to_thread(messages.release_awaiting,
                                                           sender_id):
            return state
        await self.resend_due(sender_id)
        return await asyncio.to_thread(messages.conversation_state, sender_id, key)

    async def _handle(self, row: dict[str, Any]) -> tuple[str, str | None, str | None] | None:
        """(status, text sent to Rasa, reason) of one stored inbound message."""
        kind, text, sender_id = row["kind"], row["text"] or "", row["sender_id"]
        again = row["attempts"] > 1 or row["id"] in self._outages
        if again and await self._logged_by_assistant(row):
            return PROCESSED, row["rasa_text"], "handled_before_a_crash"
        if kind == "event":
            return IGNORED, None, await self.on_event(row) or "channel_event"
        key = self.optout_key(row)
        keyword = self.keyword(kind, text, row["meta"])
        # Twilio's Advanced Opt-Out answered it already: record the change, do not answer again
        answered = keyword is not None and self.provider_keyword(row["meta"]) is not None
        if keyword and keyword.kind == optout.OPTOUT:
            await asyncio.to_thread(messages.set_opted_out, key, True, text.strip()[:64],
                                    sender_id)
            if not answered:
                await self.confirm(sender_id, "channel.optout_confirm", keyword.language)
            return PROCESSED, None, "optout"
        state = await asyncio.to_thread(messages.conversation_state, sender_id, key)
        # before any answer to this message, a HELP's too: what waited for it comes first
        state = await self._released(sender_id, key, state)
        opted_out = state.opted_out
        if keyword and keyword.kind == optout.HELP:
            if not answered:  # also while opted out: the family asked for it
                office = loket.load()
                await self.confirm(sender_id, HELP_TEXT, keyword.language, name=office.name,
                                   phone=office.phone)
            return PROCESSED, None, "help"
        if keyword and keyword.kind == optout.OPTIN and (opted_out or answered):
            await asyncio.to_thread(messages.set_opted_out, key, False, text.strip()[:64],
                                    sender_id)
            if not answered:
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
            rasa_text = await self._text_for_rasa(sender_id, text, state)
            if len(rasa_text) > MAX_TEXT_TO_RASA:
                rasa_text, reason = rasa_text[:MAX_TEXT_TO_RASA], "truncated"

        output = ChannelOutput(self, row["id"], recheck=again, state=state)
        metadata = {"channel": row["channel"], "message_store_id": row["id"],
                    "media_type": row["media_type"]}
        assert self.on_new_message is not None
        await self.on_new_message(UserMessage(
            rasa_text, output, sender_id, input_channel=self.name(),
            message_id=row["external_id"], metadata=metadata,
        ))
        if self.numbered_options and (output.offered or state.last_buttons):
            await asyncio.to_thread(messages.set_last_buttons, sender_id, output.offered)
        if redaction.was_blanked(row["external_id"]):  # a health or allergy answer
            rasa_text = redaction.BLANKED
            await asyncio.to_thread(messages.blank_inbound, row["id"], rasa_text)
        if output.replies == 0 and not await self._paused(sender_id):
            # Every turn of the assistant answers; silence means a part failed (the action
            # server was gone): better a clear request to repeat than nothing.
            await self.please_repeat(row)
            reason = "no_reply"
        return PROCESSED, rasa_text, reason

    async def _tracker(self, sender_id: str) -> Any:
        agent = self._agent()
        return await agent.tracker_store.retrieve(sender_id) if agent is not None else None

    async def _logged_by_assistant(self, row: dict[str, Any]) -> bool:
        """Whether the assistant finished this message before a crash (its tracker holds it)."""
        tracker = await self._tracker(row["sender_id"])
        if tracker is None or not row["external_id"]:
            return False
        return any(isinstance(e, UserUttered) and e.message_id == row["external_id"]
                   for e in tracker.events)

    async def _paused(self, sender_id: str) -> bool:
        """A conversation a loket worker took over: the assistant is silent on purpose."""
        tracker = await self._tracker(sender_id)
        return bool(tracker is not None and tracker.is_paused())

    def keyword(self, kind: str, text: str | None,
                meta: dict[str, Any] | None) -> optout.Keyword | None:
        """The keyword a message is: the provider's own reading first, else our word lists
        (a text that is one keyword alone)."""
        return self.provider_keyword(meta) or (optout.classify(text) if kind == "text" else None)

    async def please_repeat(self, row: dict[str, Any]) -> None:
        await self.notify(row, PLEASE_REPEAT, "r")

    async def notify(self, row: dict[str, Any], key: str, suffix: str,
                     lang: str | None = None) -> None:
        """A short channel text in answer to the stored message ``row``, once (its reply key
        ends in ``suffix``), in the conversation's language (else ``lang``, else Dutch)."""
        lang = await self.conversation_language(row["sender_id"]) or lang or i18n.DEFAULT
        await self.deliver(row["sender_id"], i18n.t(key, lang), [],
                           reply_key=f"m{row['id']}.{suffix}", in_reply_to=row["id"],
                           recheck=True)

    async def _text_for_rasa(self, sender_id: str, text: str,
                             state: messages.ConversationState) -> str:
        if self.numbered_options:
            offered = state.last_buttons
            chosen = sms.chosen_option(text, len(offered))
            if chosen is not None:
                return offered[chosen]["payload"]
        return text

    # sending ---------------------------------------------------------------------------------

    async def conversation_language(self, sender_id: str) -> str | None:
        try:
            tracker = await self._tracker(sender_id)
        except Exception:
            logger.exception("channel %s: could not read the tracker of %s", self.name(),
                             redaction.pseudonym(sender_id))
            return None
        lang = tracker.get_slot("language") if tracker is not None else None
        return lang if lang in i18n.SUPPORTED else None

    async def confirm(self, sender_id: str, key: str, keyword_language: str | None,
                      **params: str) -> None:
        """The answer to a keyword (opt-out, opt-in, help) in the conversation's language
        (else the keyword's, else Dutch); sent even to a number that just opted out."""
        lang = await self.conversation_language(sender_id) or keyword_language or i18n.DEFAULT
        try:
            text = i18n.t(key, lang, **params)
        except i18n.MissingText:
            logger.error("channel: text %s is missing; confirmation not sent", key)
            channel, address = self.route(sender_id)
            await asyncio.to_thread(messages.record_outbound, channel, sender_id, address, "",
                                    NOT_SENT, reason=f"missing_text:{key}"[:64])
            return
        await self.deliver(sender_id, text, [], force=True)

    async def deliver(self, sender_id: str, text: str, buttons: list[dict],
                      force: bool = False, reply_key: str | None = None,
                      in_reply_to: int | None = None, recheck: bool = False,
                      state: messages.ConversationState | None = None,
                      purpose: str | None = None) -> None:
        """Send one reply unless the person opted out (``force``: the opt-out confirmation)
        or it was sent before (``reply_key`` seen, after a crash or an outage)."""
        if reply_key is not None and await self._sent_before(reply_key, recheck):
            logger.info("channel %s: reply %s was sent before; not again", self.name(),
                        reply_key)
            return
        channel, address = self.route(sender_id)
        reply_id = reply_key or uuid.uuid4().hex
        if state is None:  # outside a turn (a staff message, a confirmation): read it now
            key = self.optout_key({"channel": channel, "address": address,
                                   "sender_id": sender_id})
            state = await asyncio.to_thread(messages.conversation_state, sender_id, key)
        if state.blocked or (state.opted_out and not force):
            await self.hold(channel, sender_id, address, text, buttons, reply_id,
                            BLOCKED if state.blocked else "opted_out", in_reply_to)
            return
        await self.send(sender_id, channel, address, text, buttons, reply_id, state,
                        in_reply_to, force=force, purpose=purpose)

    async def _sent_before(self, reply_key: str, recheck: bool) -> bool:
        if reply_key in self._sent:
            return True
        return recheck and await asyncio.to_thread(messages.reply_recorded, reply_key)

    def _remember(self, reply_id: str) -> None:
        self._sent[reply_id] = None
        while len(self._sent) > 10_000:
            self._sent.popitem(last=False)

    async def hold(self, channel: str, sender_id: str, address: str, text: str,
                   buttons: list[dict], reply_id: str, reason: str,
                   in_reply_to: int | None = None) -> None:
        """Record a reply that is deliberately not sent, and why (the loket inbox shows it)."""
        logger.info("channel %s: not sending to %s: %s", self.name(),
                    redaction.pseudonym(sender_id), reason)
        await asyncio.to_thread(messages.record_outbound, channel, sender_id, address, text,
                                NOT_SENT, reason=reason, buttons=buttons, reply_id=reply_id,
                                in_reply_to=in_reply_to)

    async def hold_now(self, sender_id: str, channel: str, address: str,
                       force: bool = False) -> str | None:
        """Why a part must not go out, read from the store just before it would: a STOP, a
        block, or the end of WhatsApp's window may have come after the reply was made or
        queued. ``force``: the answer to a keyword, which goes out to an opted-out number (not
        to one that blocked us: nothing can reach it)."""
        key = self.optout_key({"channel": channel, "address": address, "sender_id": sender_id})
        now = await asyncio.to_thread(messages.send_check, sender_id, key)
        if now.blocked:
            return BLOCKED
        if now.opted_out and not force:
            return "opted_out"
        return await self.hold_reason(sender_id, channel, now.last_inbound_at)

    async def send(self, sender_id: str, channel: str, address: str, text: str,
                   buttons: list[dict], reply_id: str, state: messages.ConversationState,
                   in_reply_to: int | None = None, force: bool = False,
                   purpose: str | None = None) -> None:
        """Send one reply, part by part, and record every part. Behind a reply that waits
        for the provider a new one waits too (the family reads them in order). Each part is
        checked against the opt-out and the window just before it goes out."""
        waiting = state.queued
        if not waiting:
            held = await self.hold_now(sender_id, channel, address, force)
            if held == OUTSIDE_WINDOW and await self.reach_later(
                    sender_id, channel, address, text, buttons, reply_id, in_reply_to, purpose):
                return
            if held:  # nothing of it goes out: one record of the whole reply
                await self.hold(channel, sender_id, address, text, buttons, reply_id, held,
                                in_reply_to)
                return
        failed = False
        first = True
        for part in self.split(channel, text, buttons):
            record: dict[str, Any] = {
                "buttons": part.buttons or None, "reply_id": reply_id, "part": part.number,
                "segments": part.segments, "encoding": part.encoding,
                "in_reply_to": in_reply_to, "kind": CONFIRMATION if force else None,
            }
            if failed:  # later parts would make no sense without the one that failed
                await self._record(channel, sender_id, address, part.text, NOT_SENT,
                                   reason="previous_part_failed", **record)
                continue
            if waiting and state.awaiting:  # behind a message kept for the family's answer
                await self._record(channel, sender_id, address, part.text, QUEUED,
                                   reason=messages.AWAITING_ANSWER,
                                   next_attempt_at=messages.utcnow() + messages.WAIT_FOR_ANSWER,
                                   **record)
                continue
            if waiting:  # checked again when it is sent (resend_due)
                await self._record(channel, sender_id, address, part.text, QUEUED,
                                   reason="waiting_behind_queued", **record)
                continue
            held = None if first else await self.hold_now(sender_id, channel, address, force)
            first = False
            if held:  # a STOP between two parts of one reply
                failed = True
                await self._record(channel, sender_id, address, part.text, NOT_SENT,
                                   reason=held, **record)
                continue
            # recorded before it goes: a kill -9 during the call must not send it twice
            row_id = await self._record(
                channel, sender_id, address, part.text, QUEUED, reason=messages.SENDING,
                claimed_by=self.worker,
                next_attempt_at=messages.utcnow() + messages.SENDING_LEASE, **record)
            try:
                outcome = await self.post_part(channel, address, part, reply_id, self.http)
            except BaseException:  # a bug, or the server stopping: the outbox takes it over
                with contextlib.suppress(Exception):  # (asking the provider first)
                    await asyncio.to_thread(messages.settle_outbound, row_id, QUEUED,
                                            reason=messages.SENDING,
                                            next_attempt_at=messages.utcnow())
                raise
            if outcome.ok:
                self._remember(reply_id)  # before recording: the store may be down
                await self._record_sent(row_id, {
                    "external_id": outcome.external_id, "delivery": outcome.delivery,
                    "attempts": outcome.attempts})
                continue
            logger.error("channel %s: sending to %s failed: %s", self.name(),
                         redaction.pseudonym(sender_id),
                         outcome.code)
            if outcome.retry:
                waiting = state.queued = True  # the turn's later replies wait behind it
                await asyncio.to_thread(messages.settle_outbound, row_id, QUEUED,
                                        reason="provider_unavailable", error_code=outcome.code,
                                        attempts=outcome.attempts,
                                        next_attempt_at=outcome.next_attempt())
                continue
            failed = True
            await asyncio.to_thread(messages.settle_outbound, row_id, FAILED,
                                    reason=outcome.reason, error_code=outcome.code,
                                    attempts=outcome.attempts)
            await self.after_failure(sender_id, address, outcome)

    async def _record_sent(self, row_id: int, fields: dict[str, Any]) -> None:
        """Settle a part the provider took; while the store is down, keep it for later (the
        family has it: its mark ``sending`` must not make the outbox ask again needlessly)."""
        try:
            await asyncio.to_thread(messages.settle_outbound, row_id, SENT, **fields)
        except SQLAlchemyError:
            logger.warning("channel %s: store down; recording a sent reply later", self.name())
            self._unrecorded.append((row_id, fields))

    async def _record_later(self) -> None:
        while self._unrecorded:
            row_id, fields = self._unrecorded[0]
            await asyncio.to_thread(messages.settle_outbound, row_id, SENT, **fields)
            self._unrecorded.popleft()

    async def _record(self, channel: str, sender_id: str, address: str, text: str, status: str,
                      **fields: Any) -> int:
        return await asyncio.to_thread(messages.record_outbound, channel, sender_id, address,
                                       text, status, **fields)

    async def resend_due(self, sender_id: str | None = None) -> int:
        """Try queued replies again (of one conversation, or all), oldest first, stopping a
        conversation at its first reply that still fails. The count sent."""
        async with self._resending:
            return await self._resend_due(sender_id)

    async def _resend_due(self, only: str | None) -> int:
        lease = resend_interval() * 4  # a worker that dies mid-try frees them after this
        rows = await asyncio.to_thread(messages.take_due_outbound, self.channels, self.worker,
                                       lease, sender_id=only)
        stuck: set[str] = set()
        sent = 0
        for row in rows:
            sender_id = row["sender_id"]
            if sender_id in stuck:
                continue
            waited = row["reason"] == messages.AWAITING_ANSWER
            if messages.utcnow() - row["created_at"] > (
                    messages.WAIT_FOR_ANSWER if waited else messages.OUTBOX_GIVE_UP):
                await asyncio.to_thread(messages.settle_outbound, row["id"], FAILED,
                                        reason="gave_up")
                continue
            # queued before a STOP (or a day ago): it must not go out now
            held = await self.hold_now(sender_id, row["channel"], row["address"],
                                       force=row["kind"] == CONFIRMATION)
            if held == OUTSIDE_WINDOW and row["kind"] == messages.TEMPLATE:
                held = None  # a template is what may go out then
            elif held == OUTSIDE_WINDOW and await self.reach_later(
                    sender_id, row["channel"], row["address"], row["text"] or "",
                    list(row["buttons"] or []), row["reply_id"] or uuid.uuid4().hex,
                    row["in_reply_to"], None, row=row):
                stuck.add(sender_id)  # the later ones wait behind it, for the same answer
                continue
            if held:
                await asyncio.to_thread(messages.settle_outbound, row["id"], NOT_SENT,
                                        reason=held)
                continue
            outcome = None
            if row["reason"] == messages.SENDING:  # its worker died during the call
                outcome = await self.taken_before(row)
                logger.warning("channel %s: part %d was being sent when its worker died; %s",
                               self.name(), row["id"], "the provider has it" if outcome
                               else "sending it")
            if outcome is None:
                outcome = await self.post_stored(row, self.resend_http)
            if outcome.ok:
                sent += 1
                await asyncio.to_thread(
                    messages.settle_outbound, row["id"], SENT, external_id=outcome.external_id,
                    delivery=outcome.delivery, attempts=outcome.attempts)
            elif outcome.retry:
                stuck.add(sender_id)
                when = outcome.next_attempt()
                await asyncio.to_thread(messages.settle_outbound, row["id"], QUEUED,
                                        reason="provider_unavailable", error_code=outcome.code,
                                        attempts=outcome.attempts, next_attempt_at=when)
                await asyncio.to_thread(messages.requeue_conversation, sender_id, row["id"],
                                        when)
            else:
                await asyncio.to_thread(messages.settle_outbound, row["id"], FAILED,
                                        reason=outcome.reason, error_code=outcome.code,
                                        attempts=outcome.attempts)
                await self.after_failure(sender_id, row["address"], outcome)
        if sent:
            logger.info("channel %s: sent %d queued reply part(s)", self.name(), sent)
        return sent
