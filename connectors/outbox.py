"""The outbox: sending a reply part by part, each recorded before its provider call and
settled after (no double send across a crash), held back for an opt-out, a block or WhatsApp's
window, and queued when the provider fails for a while, to be sent again later, in order, by
any live worker (``resend_due``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rasa.core.channels.channel import OutputChannel
from sqlalchemy.exc import SQLAlchemyError

from bot import i18n, redaction
from connectors import messages
from connectors.messages import FAILED, NOT_SENT, QUEUED, SENT
from connectors.worker import resend_interval

if TYPE_CHECKING:
    from connectors.common import PhoneChatChannel

logger = logging.getLogger(__name__)

CONFIRMATION = "confirmation"  # outbound kind of the STOP/START/HELP answers
BLOCKED = messages.BLOCKED  # why nothing goes out to a person who blocked the bot
OUTSIDE_WINDOW = "outside_24h_window"  # WhatsApp: no free-form message 24 h after the last
STAFF_REPLY = "staff_reply"  # purpose of a loket worker's message (its bot event has "staff")


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


class Outbox:
    """Sending and re-sending replies (mixed into ``PhoneChatChannel``)."""

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
        optout_key = self.optout_key({"channel": channel, "address": address,
                                      "sender_id": sender_id})
        if not waiting and await self.hold_reason(sender_id, channel, state.last_inbound_at):
            # The window (or a missing sender) from the state the turn read; a family's
            # message only opens the window, so only then the full check of the store (which
            # puts a STOP first). Else the opt-out and the block are checked as the first part
            # is recorded (record_sending), in the same transaction.
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
            # recorded before it goes: a kill -9 during the call must not send it twice;
            # in the same transaction, a STOP or a block since the turn began stops it (the
            # whole reply at its first part, as ``hold``)
            whole = {"channel": channel, "sender_id": sender_id, "address": address,
                     "text": text, "buttons": buttons, "reply_id": reply_id,
                     "in_reply_to": in_reply_to} if first else None
            row_id, now, held = await asyncio.to_thread(
                messages.record_sending, optout_key, force,
                {"channel": channel, "sender_id": sender_id, "address": address,
                 "text": part.text, "claimed_by": self.worker,
                 "next_attempt_at": messages.utcnow() + messages.SENDING_LEASE, **record},
                whole)
            if held and first:
                logger.info("channel %s: not sending to %s: %s", self.name(),
                            redaction.pseudonym(sender_id), held)
                return
            if held:  # a STOP between two parts of one reply
                failed = True
                continue
            window = None if first else await self.hold_reason(sender_id, channel,
                                                               now.last_inbound_at)
            first = False
            if window:  # (the window closed between two parts: rare, a second transaction)
                failed = True
                await asyncio.to_thread(messages.settle_outbound, row_id, NOT_SENT,
                                        reason=window)
                continue
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
