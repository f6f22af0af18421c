"""What every channel shares: the webhook, storing before processing, per-conversation order,
opt-out, sending with retries.

The path of an inbound message:

    webhook ─► verify (signature / secret; else 403) ─► parse ─► store (unique key drops a
    repeated delivery) ─► acknowledge at once ─► per-conversation queue (background task) ─►
    opt-out words, numbered options, media ─► Rasa ─► replies sent through the provider's API
    ─► mark processed

The layer in modules: ``connectors/http.py`` (the provider HTTP client), ``connectors/inbound.py``
(webhook to Rasa), ``connectors/outbox.py`` (send, hold, queue, re-send), ``connectors/worker.py``
(heartbeat, take-over, spool, the outbox's sweep), ``connectors/messages.py`` (the store). This
module joins them into ``PhoneChatChannel``, the base of the Twilio and Telegram channels.

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
import logging
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import i18n, settings  # noqa: F401  (i18n: the old path of tests on other branches)
from connectors import messages, optout
from connectors.http import ApiResult, HttpClient, retryable  # noqa: F401  (old path: below)
from connectors.inbound import (  # noqa: F401
    ConversationQueues,
    InboundProcessing,
    media_kind,
    share_media_payload,
    transient,
)
from connectors.messages import Inbound
from connectors.outbox import (  # noqa: F401
    BLOCKED,
    CONFIRMATION,
    OUTSIDE_WINDOW,
    STAFF_REPLY,
    ChannelOutput,
    Outbox,
    Part,
    PostOutcome,
)
from connectors.spool import Spool
from connectors.worker import WORKER_ID, Worker

# The names above marked noqa are this module's before the split (issue 14.9): code and tests on
# other branches still import them from here; new code imports them from their own modules.

logger = logging.getLogger(__name__)


class PhoneChatChannel(InboundProcessing, Outbox, Worker, InputChannel, ABC):
    """Base of our Twilio and Telegram channels (one instance per Rasa server): the webhook
    and the hooks a channel fills in; receiving (``connectors/inbound.py``), sending
    (``connectors/outbox.py``) and the background sweep (``connectors/worker.py``) are mixed in.
    """

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
