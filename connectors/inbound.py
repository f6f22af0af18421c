"""Inbound processing: the webhook stores each message before anything else (a repeated
delivery is dropped by the store's unique key; a store that is down means the local spool),
answers at once and hands the message to its conversation's queue, where keywords, numbered
options and media are read and the message goes to Rasa. A message handled again after a crash
is not answered twice: the assistant's tracker shows it was logged, and every reply has a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import UserUttered
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot import i18n, loket, redaction
from connectors import messages, optout, sms
from connectors.messages import IGNORED, PROCESSED, Inbound
from connectors.outbox import ChannelOutput

logger = logging.getLogger(__name__)

MAX_TEXT_TO_RASA = 2000
MEDIA_TYPES = ("image", "audio", "document", "location", "sticker", "other")
MAX_PROCESSING_ATTEMPTS = 3  # a message that fails (not on an outage) this often is given up
MAX_OUTAGE_RETRIES = 40  # about 15 minutes of a database or lock store that is down
PLEASE_REPEAT = "channel.please_repeat"
HELP_TEXT = "channel.help"


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



# --- per-conversation order ------------------------------------------------------------------


class ConversationQueues:
    """One background worker per conversation: its messages are handled one at a time, in the
    order they arrived; different conversations run concurrently."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Callable[[], Awaitable[None]]]] = {}
        self._tasks: set[asyncio.Task] = set()
        # conversation -> how many times its worker ended (the latest 10,000 conversations)
        self._ended: OrderedDict[str, int] = OrderedDict()
        # conversations whose running job has committed its last write and waits for nothing
        # else: the event loop has not resumed it yet, but its worker is as good as ended
        self._done: set[str] = set()

    def idle_since(self, key: str) -> int | None:
        """None while ``key`` has work waiting or running; else a mark that changes when a
        worker of it runs (what was read about the conversation while idle is still true when
        the mark is the same afterwards). A worker whose job committed its last write
        (``done``) with nothing behind it counts as ended already, with the mark it ends with:
        a family (or a benchmark) that answers the moment the message is marked processed
        finds the conversation idle, not behind a job that has nothing left to write."""
        queue = self._queues.get(key)
        if queue is None:
            return self._ended.get(key, 0)
        return self._ended.get(key, 0) + 1 if not queue and key in self._done else None

    def done(self, key: str) -> None:
        """The running job of ``key`` wrote its last: called in the store's worker thread
        right after that commit (a set's add is atomic under the GIL)."""
        self._done.add(key)

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
                self._done.discard(key)
                try:
                    await job()
                except Exception:
                    logger.exception("channel: handling a message of %s failed",
                                     redaction.pseudonym(key))
        finally:
            self._done.discard(key)
            del self._queues[key]  # no await since the last check: nothing was added
            self._ended[key] = self._ended.pop(key, 0) + 1
            if len(self._ended) > 10_000:
                self._ended.popitem(last=False)



class InboundProcessing:
    """Receiving and handling stored messages (mixed into ``PhoneChatChannel``)."""

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
            # spool; only when neither works the webhook answers 500. A conversation with
            # nothing in its queue (the usual case) has its turn started in the same
            # transaction: claimed, attempt counted, its state read.
            idle = self.queues.idle_since(message.sender_id)
            at_once = idle is not None and self._agent() is not None
            try:
                if at_once:
                    stored = await asyncio.to_thread(messages.receive_inbound, message,
                                                     self.worker, self.optout_key)
                else:
                    message_id = await asyncio.to_thread(messages.record_inbound, message,
                                                         None, self.worker)
                    stored = None if message_id is None else (message_id, {}, None)
            except SQLAlchemyError:
                logger.error("channel %s: message store unreachable; spooling %s",
                             self.name(), message.external_id)
                await asyncio.to_thread(self.spool.append, message)
                continue
            if stored is None:
                logger.info("channel %s: dropped a repeated delivery of %s", self.name(),
                            message.external_id)
                continue
            message_id, row, state = stored
            await self._stop_at_once(message)
            # the state read is the turn's only if no other turn of it ran meanwhile
            fresh = state is not None and self.queues.idle_since(message.sender_id) == idle
            self._submit(message.sender_id, message_id, (row, state) if fresh else None)
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

    def _submit(self, sender_id: str, message_id: int,
                started: tuple[dict[str, Any], messages.ConversationState] | None = None,
                ) -> None:
        if message_id in self._queued:
            return
        self._queued.add(message_id)

        async def job() -> None:
            try:
                await self.process(message_id, sender_id, started)
            finally:
                self._queued.discard(message_id)

        self.queues.submit(sender_id, job)

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

    async def process(self, message_id: int, sender_id: str | None = None,
                      started: tuple[dict[str, Any], messages.ConversationState] | None = None,
                      ) -> None:
        """Handle one stored message; ``started``: its turn was started as it was stored
        (``receive_inbound``), else it is claimed here."""
        agent = self._agent()
        if agent is None or not agent.is_ready():
            logger.error("channel %s: no model loaded; message %d stays stored", self.name(),
                         message_id)
            return
        try:
            # the claim and the conversation's state in one transaction
            if started is None:
                started = await asyncio.to_thread(messages.start_turn, message_id,
                                                  self.worker, self.optout_key)
        except SQLAlchemyError as exc:
            logger.warning("channel %s: message store unreachable (%s); trying %d again",
                           self.name(), type(exc).__name__, message_id)
            self._outages[message_id] = self._outages.get(message_id, 0) + 1
            if sender_id is not None:
                self._retry_later(sender_id, message_id)
            return
        if started is None:
            self._outages.pop(message_id, None)
            return  # done already, or another worker holds it
        row, state = started
        outages = self._outages.get(message_id, 0)
        if row["attempts"] - outages > MAX_PROCESSING_ATTEMPTS:
            self._outages.pop(message_id, None)
            await self._finish(row, IGNORED, reason="failed_repeatedly")
            await self.please_repeat(row)
            return
        try:
            outcome = await self._handle(row, state)
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
            await self._finish(row, *outcome, last=True)

    async def _finish(self, row: dict[str, Any], status: str, rasa_text: str | None = None,
                      reason: str | None = None, offered: list[dict] | None = None,
                      last: bool = False) -> None:
        """Mark ``row`` done; ``offered``: the numbered options its turn left (same
        transaction); ``last``: the job writes nothing after it (``ConversationQueues.done``
        once it is committed)."""
        sender_id = row["sender_id"]

        def finish() -> None:
            messages.finish_inbound(
                row["id"], status, rasa_text, reason,
                last_buttons=None if offered is None else (sender_id, offered))
            if last:
                self.queues.done(sender_id)

        await asyncio.to_thread(finish)

    async def _released(self, sender_id: str, key: str,
                        state: messages.ConversationState) -> messages.ConversationState:
        """The family wrote: what waited for its answer (a WhatsApp message outside the
        window) goes out now, before this turn's replies."""
        if not state.queued or not await asyncio.to_thread(messages.release_awaiting,
                                                           sender_id):
            return state
        await self.resend_due(sender_id)
        return await asyncio.to_thread(messages.conversation_state, sender_id, key)

    async def _handle(self, row: dict[str, Any], state: messages.ConversationState,
                      ) -> tuple[Any, ...] | None:
        """(status, text sent to Rasa, reason[, numbered options offered]) of one stored
        inbound message; ``state``: its conversation's, read as its turn began."""
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
        if kind == "media" and (row["media_type"] == "location" or not text.strip()):
            rasa_text = share_media_payload(row["media_type"] or "other")
        elif kind == "button":
            rasa_text = text
        elif not text.strip():
            return IGNORED, None, "empty"
        else:  # a typed message, or the caption of a photo or a file (read as the message)
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
        # kept when the turn is marked done (one transaction less per message)
        offered = output.offered if self.numbered_options and (
            output.offered or state.last_buttons) else None
        if redaction.was_blanked(row["external_id"]):  # a health or allergy answer
            rasa_text = redaction.BLANKED
            await asyncio.to_thread(messages.blank_inbound, row["id"], rasa_text)
        if output.replies == 0 and not await self._paused(sender_id):
            # Every turn of the assistant answers; silence means a part failed (the action
            # server was gone): better a clear request to repeat than nothing.
            await self.please_repeat(row)
            reason = "no_reply"
        return PROCESSED, rasa_text, reason, offered

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
