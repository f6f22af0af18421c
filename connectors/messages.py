"""The message store of the phone and chat channels (WhatsApp, SMS, Telegram).

Every message in and out is a row of ``channel_messages``: inbound ones are stored before the
assistant sees them (a restart re-processes what was never processed), outbound ones with how
their sending went (sent / failed with the provider's error code / not sent and why). The loket
inbox reads conversations from here. ``channel_contacts`` keeps per conversation what the
channel layer needs between messages: the last inbound time (WhatsApp's 24-hour window), the
numbered options last offered, the Telegram deep link the family came through and whether the
person blocked the bot. ``channel_optouts`` records who said STOP, per number.

Several servers may share this store (the scaled set-up). ``channel_workers`` lists the live
ones (a heartbeat every few seconds): an inbound message is claimed by the worker that stored
it and only taken over by another one when that worker stopped beating (it crashed). A reply
the provider could not take for a while (an outage) is ``queued`` and sent again later, in
order, by whichever worker is alive.

Plain functions with one transaction each (the ones every message runs in prebuilt SQLAlchemy
Core statements, the rest through the ORM); callers on an event loop run them in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot import db
from bot.db import Base
from bot.redaction import redact_summary

CHANNELS = ("sms", "whatsapp", "telegram")
IN, OUT = "in", "out"
# inbound: received (stored, not processed yet) -> processed | ignored
# outbound: sent | queued (the provider is failing; sent again later) | failed (refused, or
# still failing after OUTBOX_GIVE_UP) | not_sent (we held it back)
RECEIVED, PROCESSED, IGNORED = "received", "processed", "ignored"
SENT, QUEUED, FAILED, NOT_SENT = "sent", "queued", "failed", "not_sent"
STATUSES = (RECEIVED, PROCESSED, IGNORED, SENT, FAILED, NOT_SENT, QUEUED)

# A worker that has not beaten for this long is taken for dead and its messages are taken over.
WORKER_TIMEOUT = timedelta(seconds=20)
# A queued reply older than this is given up (marked failed; the inbox shows it).
OUTBOX_GIVE_UP = timedelta(hours=24)
# A message kept until the family answers (WhatsApp, outside the 24-hour window: the approved
# template went out instead) is ``queued`` with this reason, not due before the answer, and
# given up after WAIT_FOR_ANSWER.
AWAITING_ANSWER = "awaiting_answer"
WAIT_FOR_ANSWER = timedelta(days=30)
TEMPLATE = "template"  # outbound kind of an approved WhatsApp template
BLOCKED = "blocked_by_user"  # why nothing goes out to a person who blocked the bot
# A part is recorded (``queued``, this reason, claimed by its worker) before it goes to the
# provider and settled with the provider's id after: a worker killed in between leaves this
# mark, so neither the turn run again nor another worker sends it blindly a second time
# (the outbox asks the provider first, ``PhoneChatChannel.taken_before``).
SENDING = "sending"
# ... and taken by another worker after this long even when its own still beats (a call that
# never came back; far longer than the HTTP client's five tries)
SENDING_LEASE = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ChannelMessage(Base):
    __tablename__ = "channel_messages"
    __table_args__ = (
        # Duplicate deliveries (Twilio/Telegram retries) collide here: insert, catch, drop.
        UniqueConstraint("channel", "direction", "external_id",
                         name="uq_channel_messages_external"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("direction", (IN, OUT)), name="direction"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_channel_messages_sender", "sender_id", "id"),
        Index("ix_channel_messages_pending", "direction", "status"),
        Index("ix_channel_messages_reply", "reply_id"),
    )

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    direction = Column(String(3), nullable=False)
    sender_id = Column(String(128), nullable=False)  # the Rasa conversation: "whatsapp:+32…"
    address = Column(String(64), nullable=False)  # "+32…" or a Telegram chat id
    external_id = Column(String(64))  # MessageSid / update_id in; provider's id out
    text = Column(Text)  # in full, also beyond what the assistant gets
    rasa_text = Column(Text)  # what went to the assistant (payload, truncated text)
    kind = Column(String(16))  # in: text | media | button | event; out: confirmation (of
    # STOP/START: goes out to an opted-out number too) or nothing
    meta = Column(JSON)  # channel details (Telegram callback id, WhatsApp profile name…)
    media_type = Column(String(16))  # image | audio | document | location | sticker | other
    media = Column(JSON)  # [{"url", "content_type"}] or {"latitude", "longitude", …}
    buttons = Column(JSON)  # outbound: the buttons offered with this message
    status = Column(String(16), nullable=False)
    reason = Column(String(64))  # why ignored / not sent / failed (e.g. outside_24h_window)
    error_code = Column(String(32))  # provider error code or HTTP status
    delivery = Column(String(16))  # provider's later status (delivered, undelivered, read…)
    reply_id = Column(String(32))  # outbound parts of one reply share it
    part = Column(Integer)
    segments = Column(Integer)  # SMS segments this part costs
    encoding = Column(String(8))  # gsm7 | ucs2
    attempts = Column(Integer, nullable=False, default=0)
    claimed_by = Column(String(40))  # the worker handling it (in: processing; out: resending)
    in_reply_to = Column(Integer)  # outbound: the inbound message this reply answers
    next_attempt_at = Column(DateTime)  # queued outbound: when to try again
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class ChannelWorker(Base):
    """A server process that handles channel messages, alive while it beats."""

    __tablename__ = "channel_workers"

    id = Column(String(40), primary_key=True)
    started_at = Column(DateTime, nullable=False, default=utcnow)
    heartbeat_at = Column(DateTime, nullable=False, default=utcnow)


class ChannelContact(Base):
    __tablename__ = "channel_contacts"

    sender_id = Column(String(128), primary_key=True)
    channel = Column(String(16), nullable=False)
    address = Column(String(64), nullable=False)
    last_inbound_at = Column(DateTime)
    last_buttons = Column(JSON)  # [{"title", "payload"}] of the last bot turn that had any
    # the Telegram deep link the family first came through ("/start flyer-mechelen"): which
    # flyer or partner sent it (shown to the loket)
    started_from = Column(String(64))
    # the person blocked the bot (Telegram: my_chat_member "kicked", or a 403): nothing is sent
    # until they write again
    blocked_at = Column(DateTime)
    blocked_reason = Column(String(64))
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class ChannelOptOut(Base):
    """One row per number (or Telegram chat) that ever opted out; ``opted_out`` is the state."""

    __tablename__ = "channel_optouts"

    address = Column(String(64), primary_key=True)
    opted_out = Column(Boolean, nullable=False)
    keyword = Column(String(64))
    sender_id = Column(String(128))  # the conversation it was said in
    changed_at = Column(DateTime, nullable=False, default=utcnow)


class ChannelNotice(Base):
    """A notice a channel gives once (a Telegram group told to write privately)."""

    __tablename__ = "channel_notices"

    key = Column(String(96), primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow)


@dataclass(frozen=True)
class Inbound:
    channel: str
    sender_id: str
    address: str
    external_id: str
    kind: str = "text"
    text: str | None = None
    media_type: str | None = None
    media: Any = None
    meta: dict[str, Any] | None = None


def _as_dict(row: ChannelMessage) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in ChannelMessage.__table__.columns}


# --- the per-message path in SQLAlchemy Core ----------------------------------------------------
# Every Twilio / Telegram message runs the functions below four or five times (store, claim,
# each part's record and settlement, done). Through the ORM (a Session, its unit of work, an
# expression built and its cache key computed on every call) each cost about 1-2 ms of CPU for
# a one-row statement that SQLite runs in 0.03 ms: half the channel path's CPU (issue 14.10).
# Here they are prebuilt Core statements on a pooled connection: the same SQL, the same
# transactions (one ``engine.begin()`` each, committed on success, rolled back on an error).

_MSG = ChannelMessage.__table__
_CONTACT = ChannelContact.__table__
_OPTOUT = ChannelOptOut.__table__
_MSG_COLUMNS = tuple(c.name for c in _MSG.columns)


@contextmanager
def _transaction(url: str | None) -> Iterator[Connection]:
    with db.get_engine(url).begin() as conn:
        yield conn


def _row_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


# A bound parameter's name must not be a column's: the other parameters of an UPDATE are its
# SET values (``conn.execute(statement, {"b_id": 1, "status": …})``).
_SELECT_MESSAGE = select(_MSG).where(_MSG.c.id == bindparam("b_id"))
_UPDATE_MESSAGE = update(_MSG).where(_MSG.c.id == bindparam("b_id"))
_SETTLE_MESSAGE = update(_MSG).where(_MSG.c.id == bindparam("b_id")).values(
    attempts=_MSG.c.attempts + bindparam("b_attempts"))
_CLAIM_TURN = {  # count an attempt at a stored message held by nobody / by this worker
    held: update(_MSG).where(
        _MSG.c.id == bindparam("b_id"), _MSG.c.status == RECEIVED,
        _MSG.c.claimed_by.is_(None) if held else _MSG.c.claimed_by == bindparam("b_worker"),
    ).values(attempts=_MSG.c.attempts + 1, updated_at=bindparam("b_now"))
    for held in (True, False)}
_UPDATE_CONTACT = update(_CONTACT).where(_CONTACT.c.sender_id == bindparam("b_sender_id"))


def _contact_column(column: Any) -> Any:
    return select(column).where(
        _CONTACT.c.sender_id == bindparam("b_sender_id")).scalar_subquery().label(column.name)


# What stops a part (``SendCheck``) and what a turn needs (``ConversationState``): one SELECT
# of scalar subqueries each (always one row; NULL where the contact or opt-out row is
# missing), instead of a statement per table.
_OPTED_OUT = select(_OPTOUT.c.opted_out).where(
    _OPTOUT.c.address == bindparam("b_address")).scalar_subquery().label("opted_out")
_SEND_CHECK = select(_OPTED_OUT, _contact_column(_CONTACT.c.last_inbound_at),
                     _contact_column(_CONTACT.c.blocked_at))
_QUEUED = (_MSG.c.sender_id == bindparam("b_sender_id"), _MSG.c.direction == OUT,
           _MSG.c.status == QUEUED)
_STATE = select(
    _OPTED_OUT, _contact_column(_CONTACT.c.last_inbound_at),
    _contact_column(_CONTACT.c.blocked_at), _contact_column(_CONTACT.c.last_buttons),
    select(_MSG.c.id).where(*_QUEUED).exists().label("queued"),
    select(_MSG.c.reason).where(*_QUEUED).order_by(_MSG.c.id).limit(1)  # for what
    .scalar_subquery().label("first_queued"))
_REPLY_RECORDED = select(_MSG.c.id).where(_MSG.c.direction == OUT,
                                          _MSG.c.reply_id == bindparam("b_reply_id")).limit(1)


class _Repeated(Exception):
    """The provider delivered this message before."""


def record_inbound(message: Inbound, url: str | None = None,
                   worker: str | None = None) -> int | None:
    """Store an inbound message, claimed by ``worker``, and note the time on its contact (one
    transaction); its id, or None when this delivery was stored before.

    Atomic under concurrent deliveries: the unique key decides, not a check-then-insert.
    """
    stored = _store_inbound(message, url, worker, None)
    return None if stored is None else stored[0]


def receive_inbound(message: Inbound, worker: str, optout_key: Callable[[dict[str, Any]], str],
                    url: str | None = None,
                    ) -> tuple[int, dict[str, Any], ConversationState | None] | None:
    """``record_inbound`` and ``start_turn`` in one transaction, for a message its worker
    handles at once: stored claimed, its first attempt counted, with its conversation's
    state; None when this delivery was stored before. Committed before it is processed, as
    every inbound message (a crash after this is a take-over, attempt 2)."""
    return _store_inbound(message, url, worker, optout_key)


def _store_inbound(message: Inbound, url: str | None, worker: str | None,
                   start: Callable[[dict[str, Any]], str] | None,
                   ) -> tuple[int, dict[str, Any], ConversationState | None] | None:
    for _ in range(3):
        try:
            with _transaction(url) as conn:
                now = utcnow()
                # the columns the ORM wrote before (a JSON column left out is SQL NULL, a None
                # given is JSON null: the same rows as before)
                values: dict[str, Any] = {
                    "channel": message.channel, "direction": IN,
                    "sender_id": message.sender_id, "address": message.address,
                    "external_id": message.external_id, "kind": message.kind,
                    "text": message.text, "media_type": message.media_type,
                    "media": message.media, "meta": message.meta, "status": RECEIVED,
                    "attempts": 0 if start is None else 1, "claimed_by": worker,
                    "created_at": now, "updated_at": now}
                try:
                    message_id = conn.execute(_MSG.insert(), values).inserted_primary_key[0]
                except IntegrityError as exc:
                    raise _Repeated from exc
                touch: dict[str, Any] = {"last_inbound_at": now, "updated_at": now}
                if message.kind != "event":  # they write again: a block is over
                    touch.update(blocked_at=None, blocked_reason=None)
                if not conn.execute(_UPDATE_CONTACT,
                                    {"b_sender_id": message.sender_id, **touch}).rowcount:
                    conn.execute(_CONTACT.insert(), {
                        "sender_id": message.sender_id, "channel": message.channel,
                        "address": message.address, **touch})
                if start is None:
                    return message_id, {}, None
                started = dict.fromkeys(_MSG_COLUMNS)
                started.update(values, id=message_id)
                return message_id, started, _state(conn, message.sender_id, start(started))
        except _Repeated:
            return None
        except IntegrityError:
            # the first messages of a new sender, stored at the same moment: both created
            # its contact; the whole transaction again finds the contact there
            continue
    raise RuntimeError("could not store an inbound message")  # never seen: three races


def get(message_id: int, url: str | None = None) -> dict[str, Any] | None:
    with _transaction(url) as conn:
        row = conn.execute(_SELECT_MESSAGE, {"b_id": message_id}).first()
        return _row_dict(row) if row else None


# --- workers and claims ----------------------------------------------------------------------


def beat(worker: str, url: str | None = None) -> None:
    """Register or refresh a worker's heartbeat."""
    with db.session_scope(url) as session:
        row = session.get(ChannelWorker, worker)
        if row is None:
            session.add(ChannelWorker(id=worker))
        else:
            row.heartbeat_at = utcnow()


def retire(worker: str, url: str | None = None) -> None:
    """A worker that stops cleanly: what it still held is free for others at once."""
    with db.session_scope(url) as session:
        session.execute(delete(ChannelWorker).where(ChannelWorker.id == worker))
        session.execute(delete(ChannelWorker).where(
            ChannelWorker.heartbeat_at < utcnow() - 100 * WORKER_TIMEOUT))  # long dead ones


def _live_workers() -> Any:
    return select(ChannelWorker.id).where(
        ChannelWorker.heartbeat_at >= utcnow() - WORKER_TIMEOUT)


def _orphaned() -> Any:
    """Held by nobody, or by a worker that stopped beating."""
    return or_(ChannelMessage.claimed_by.is_(None),
               ChannelMessage.claimed_by.not_in(_live_workers()))


def _take(session: Any, row_id: int, old: str | None, worker: str, **values: Any) -> bool:
    """Move one claim from ``old`` to ``worker``; False if another worker was faster."""
    holder = ChannelMessage.claimed_by.is_(None) if old is None \
        else ChannelMessage.claimed_by == old
    return bool(session.execute(
        update(ChannelMessage).where(ChannelMessage.id == row_id, holder)
        .values(claimed_by=worker, **values)
    ).rowcount)


def take_orphaned_inbound(channels: tuple[str, ...], worker: str, limit: int = 200,
                          url: str | None = None) -> list[dict[str, Any]]:
    """Inbound messages stored but never processed whose worker is gone (a crash, a restart,
    a replica that died), now claimed by ``worker``, with those ``worker`` holds already;
    oldest first."""
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage.id, ChannelMessage.claimed_by)
            .where(ChannelMessage.direction == IN, ChannelMessage.status == RECEIVED,
                   ChannelMessage.channel.in_(channels),
                   or_(_orphaned(), ChannelMessage.claimed_by == worker))
            .order_by(ChannelMessage.id).limit(limit)
        ).all()
        taken = [r.id for r in rows if _take(session, r.id, r.claimed_by, worker)]
    return [m for m in (get(i, url) for i in taken) if m is not None]


def pending_inbound(channels: tuple[str, ...], url: str | None = None) -> list[dict[str, Any]]:
    """Inbound messages stored but never processed, oldest first (whoever holds them)."""
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage)
            .where(ChannelMessage.direction == IN, ChannelMessage.status == RECEIVED,
                   ChannelMessage.channel.in_(channels))
            .order_by(ChannelMessage.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def start_inbound(message_id: int, url: str | None = None,
                  worker: str | None = None) -> dict[str, Any] | None:
    """The message to process, with its processing attempts counted (a message that crashes
    the server every time must not block its conversation forever); None when it was done
    already or another worker holds it."""
    with db.session_scope(url) as session:
        done = session.execute(
            update(ChannelMessage)
            .where(ChannelMessage.id == message_id, ChannelMessage.status == RECEIVED,
                   ChannelMessage.claimed_by.is_(None) if worker is None
                   else ChannelMessage.claimed_by == worker)
            .values(attempts=ChannelMessage.attempts + 1, updated_at=utcnow())
        ).rowcount
        if not done:
            return None
        return _as_dict(session.get(ChannelMessage, message_id))


def start_turn(message_id: int, worker: str | None,
               optout_key: Callable[[dict[str, Any]], str],
               url: str | None = None) -> tuple[dict[str, Any], ConversationState] | None:
    """``start_inbound`` and ``conversation_state`` in one transaction (the turn's claim and
    what sending needs to know): the message with its attempts counted and its
    conversation's state, or None when it was done already or another worker holds it."""
    with _transaction(url) as conn:
        params: dict[str, Any] = {"b_id": message_id, "b_now": utcnow()}
        if worker is not None:
            params["b_worker"] = worker
        if not conn.execute(_CLAIM_TURN[worker is None], params).rowcount:
            return None
        row = _row_dict(conn.execute(_SELECT_MESSAGE, {"b_id": message_id}).one())
        return row, _state(conn, row["sender_id"], optout_key(row))


def blank_inbound(message_id: int, text: str, url: str | None = None) -> None:
    """Replace the text of an inbound message that answered a health or allergy question
    (the answer is kept only encrypted, in the care request)."""
    with db.session_scope(url) as session:
        session.execute(update(ChannelMessage).where(ChannelMessage.id == message_id)
                        .values(text=text, rasa_text=text, updated_at=utcnow()))


def finish_inbound(message_id: int, status: str, rasa_text: str | None = None,
                   reason: str | None = None, url: str | None = None, *,
                   last_buttons: tuple[str, list[dict]] | None = None) -> None:
    """Mark a message done; ``last_buttons`` (sender id, options): the numbered options its
    turn offered, kept in the same transaction."""
    with _transaction(url) as conn:
        conn.execute(_UPDATE_MESSAGE, {"b_id": message_id, "status": status,
                                       "rasa_text": rasa_text, "reason": reason,
                                       "updated_at": utcnow()})
        if last_buttons is not None:
            _set_last_buttons(conn, *last_buttons)


def record_outbound(channel: str, sender_id: str, address: str, text: str, status: str, *,
                    external_id: str | None = None, reason: str | None = None,
                    error_code: str | None = None, buttons: list[dict] | None = None,
                    reply_id: str | None = None, part: int | None = None,
                    segments: int | None = None, encoding: str | None = None,
                    attempts: int = 0, delivery: str | None = None,
                    in_reply_to: int | None = None, next_attempt_at: datetime | None = None,
                    kind: str | None = None, meta: dict[str, Any] | None = None,
                    claimed_by: str | None = None, url: str | None = None) -> int:
    with _transaction(url) as conn:
        return _add_outbound(
            conn, channel=channel, sender_id=sender_id, address=address, text=text,
            status=status, external_id=external_id, reason=reason, error_code=error_code,
            buttons=buttons, reply_id=reply_id, part=part, segments=segments,
            encoding=encoding, attempts=attempts, delivery=delivery, in_reply_to=in_reply_to,
            next_attempt_at=next_attempt_at, kind=kind, meta=meta, claimed_by=claimed_by)


def _add_outbound(conn: Connection, *, channel: str, sender_id: str, address: str, text: str,
                  status: str, external_id: str | None = None, reason: str | None = None,
                  error_code: str | None = None, buttons: list[dict] | None = None,
                  reply_id: str | None = None, part: int | None = None,
                  segments: int | None = None, encoding: str | None = None,
                  attempts: int = 0, delivery: str | None = None,
                  in_reply_to: int | None = None, next_attempt_at: datetime | None = None,
                  kind: str | None = None, meta: dict[str, Any] | None = None,
                  claimed_by: str | None = None) -> int:
    now = utcnow()
    return conn.execute(_MSG.insert(), {  # (no "media": SQL NULL, as the ORM left it)
        "channel": channel, "direction": OUT, "sender_id": sender_id, "address": address,
        "kind": kind, "meta": meta,
        "text": redact_summary(text),  # health/allergy lines of a snelfiche summary: masked
        "status": status, "external_id": external_id, "reason": reason,
        "error_code": error_code, "buttons": buttons or None, "reply_id": reply_id,
        "part": part, "segments": segments, "encoding": encoding, "attempts": attempts,
        "delivery": delivery, "in_reply_to": in_reply_to, "next_attempt_at": next_attempt_at,
        "claimed_by": claimed_by, "created_at": now, "updated_at": now,
    }).inserted_primary_key[0]


def reply_recorded(reply_id: str, url: str | None = None) -> bool:
    """Whether a reply was already sent, queued or held (a message processed again after a
    crash must not send it twice)."""
    with _transaction(url) as conn:
        return conn.execute(_REPLY_RECORDED, {"b_reply_id": reply_id}).first() is not None


def _has_queued(session: Any, sender_id: str) -> bool:
    return session.execute(
        select(ChannelMessage.id).where(ChannelMessage.sender_id == sender_id,
                                        ChannelMessage.direction == OUT,
                                        ChannelMessage.status == QUEUED).limit(1)
    ).first() is not None


def has_queued(sender_id: str, url: str | None = None) -> bool:
    """Whether replies to this conversation wait for the provider (a new one waits behind)."""
    with db.session_scope(url) as session:
        return _has_queued(session, sender_id)


def take_due_outbound(channels: tuple[str, ...], worker: str, lease: timedelta,
                      limit: int = 500, url: str | None = None,
                      sender_id: str | None = None) -> list[dict[str, Any]]:
    """Queued replies due for another try, claimed by ``worker`` for ``lease``; oldest first.
    Per conversation only the leading run of due replies: a later reply never overtakes an
    earlier one that is still waiting. ``sender_id``: that conversation's only."""
    now = utcnow()
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage.id, ChannelMessage.sender_id, ChannelMessage.claimed_by,
                   ChannelMessage.next_attempt_at, ChannelMessage.reason)
            .where(ChannelMessage.direction == OUT, ChannelMessage.status == QUEUED,
                   ChannelMessage.channel.in_(channels),
                   *([ChannelMessage.sender_id == sender_id] if sender_id else []))
            .order_by(ChannelMessage.id).limit(limit)
        ).all()
        live = set(session.execute(_live_workers()).scalars()) if any(
            r.reason == SENDING for r in rows) else set()
        blocked: set[str] = set()
        taken: list[int] = []
        for r in rows:
            if r.sender_id in blocked:
                continue
            if r.reason == SENDING:  # in a worker's hands: only once that worker is dead
                due = (r.claimed_by not in live and r.claimed_by != worker) or (
                    r.next_attempt_at is not None and r.next_attempt_at <= now)
            else:
                due = r.next_attempt_at is None or r.next_attempt_at <= now
            if due and _take(session, r.id, r.claimed_by, worker, next_attempt_at=now + lease):
                taken.append(r.id)
            else:
                blocked.add(r.sender_id)
    return [m for m in (get(i, url) for i in taken) if m is not None]


def requeue_conversation(sender_id: str, after_id: int, when: datetime,
                         url: str | None = None) -> None:
    """Push the later queued replies of a conversation behind a reply that failed again."""
    with db.session_scope(url) as session:
        session.execute(
            update(ChannelMessage)
            .where(ChannelMessage.sender_id == sender_id, ChannelMessage.direction == OUT,
                   ChannelMessage.status == QUEUED, ChannelMessage.id > after_id)
            .values(next_attempt_at=when, claimed_by=None)
        )


def settle_outbound(row_id: int, status: str, *, external_id: str | None = None,
                    delivery: str | None = None, error_code: str | None = None,
                    reason: str | None = None, attempts: int = 0,
                    next_attempt_at: datetime | None = None, url: str | None = None) -> None:
    """The outcome of another try of a queued reply."""
    values: dict[str, Any] = {"b_id": row_id, "b_attempts": attempts, "status": status,
                              "next_attempt_at": next_attempt_at, "claimed_by": None,
                              "updated_at": utcnow(), "reason": reason}
    if external_id is not None:
        values["external_id"] = external_id
    if delivery is not None:
        values["delivery"] = delivery
    if error_code is not None:
        values["error_code"] = error_code
    with _transaction(url) as conn:
        conn.execute(_SETTLE_MESSAGE, values)


def reply_buttons(reply_id: str, url: str | None = None) -> list[dict]:
    """The buttons sent with one reply (a Telegram button whose payload was too long to ride
    along refers to its reply instead)."""
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage.buttons)
            .where(ChannelMessage.direction == OUT, ChannelMessage.reply_id == reply_id,
                   ChannelMessage.buttons.is_not(None))
        ).scalars()
        return next((list(b) for b in rows if b), [])


# The provider's states of a message we sent, in the order they happen. Status callbacks
# arrive out of order (Twilio does not promise the order), so a state only replaces an earlier
# one. A failure after acceptance ranks above queued/sent, and "delivered" / "read" above a
# failure: the family has the message (WhatsApp reports per device, so a delivery can follow a
# failure), and no failure after a delivery undoes it.
DELIVERY_RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
                 "failed": 4, "undelivered": 4, "delivered": 5, "read": 6}
DELIVERY_FAILURES = ("failed", "undelivered")
UNDELIVERED = "undelivered"  # reason of a part the provider took and could not deliver


def update_delivery(channels: tuple[str, ...], external_id: str, delivery: str,
                    error_code: str | None = None, url: str | None = None) -> bool:
    """A provider's later status for an outbound message (Twilio status callback); False
    when no message has that id or the message is further already (a late callback).

    One conditional UPDATE: two callbacks racing for the same message cannot move it back."""
    rank = DELIVERY_RANK.get(delivery)
    earlier = [s for s, r in DELIVERY_RANK.items() if rank is not None and r < rank]
    values: dict[str, Any] = {"delivery": delivery, "updated_at": utcnow()}
    if delivery in DELIVERY_FAILURES:
        values.update(status=FAILED, reason=UNDELIVERED, error_code=error_code or None)
    elif rank is not None and rank >= DELIVERY_RANK["delivered"]:
        values.update(status=SENT, reason=None)  # it arrived after all (error_code kept)
    with db.session_scope(url) as session:
        result = session.execute(
            update(ChannelMessage)
            .where(ChannelMessage.direction == OUT, ChannelMessage.channel.in_(channels),
                   ChannelMessage.external_id == external_id,
                   ChannelMessage.status.in_((SENT, FAILED)),
                   or_(ChannelMessage.delivery.is_(None),
                       ChannelMessage.delivery.in_(earlier)))
            .values(**values)
        )
        return bool(result.rowcount)


def by_external_id(channels: tuple[str, ...], external_id: str,
                   url: str | None = None) -> dict[str, Any] | None:
    """The outbound message the provider knows as ``external_id``."""
    with db.session_scope(url) as session:
        row = session.execute(
            select(ChannelMessage).where(ChannelMessage.direction == OUT,
                                         ChannelMessage.channel.in_(channels),
                                         ChannelMessage.external_id == external_id)
        ).scalars().first()
        return _as_dict(row) if row else None


def outbound(sender_id: str, url: str | None = None) -> list[dict[str, Any]]:
    """Every outbound part of a conversation, oldest first (``connectors.delivery.problems``
    tells from them what did not reach the family)."""
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage).where(ChannelMessage.sender_id == sender_id,
                                         ChannelMessage.direction == OUT)
            .order_by(ChannelMessage.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def _awaiting(sender_id: str) -> Any:
    return (ChannelMessage.sender_id == sender_id, ChannelMessage.direction == OUT,
            ChannelMessage.status == QUEUED, ChannelMessage.reason == AWAITING_ANSWER)


def awaiting(sender_id: str, url: str | None = None) -> int:
    """How many parts wait for the family's answer (a template went out for the first)."""
    with db.session_scope(url) as session:
        return len(session.execute(select(ChannelMessage.id)
                                   .where(*_awaiting(sender_id))).all())


def release_awaiting(sender_id: str, url: str | None = None) -> int:
    """The family answered: what waited for it is due now (in its order); the count."""
    with db.session_scope(url) as session:
        return session.execute(
            update(ChannelMessage).where(*_awaiting(sender_id))
            .values(next_attempt_at=utcnow(), claimed_by=None, updated_at=utcnow())
        ).rowcount


def keep_for_answer(row_id: int, url: str | None = None) -> None:
    """A queued part that can only go out once the family answers (see AWAITING_ANSWER)."""
    with db.session_scope(url) as session:
        session.execute(update(ChannelMessage).where(ChannelMessage.id == row_id).values(
            status=QUEUED, reason=AWAITING_ANSWER, claimed_by=None, updated_at=utcnow(),
            next_attempt_at=utcnow() + WAIT_FOR_ANSWER))


@dataclass(frozen=True)
class FamilyRequest:
    reference: str | None  # the care request's reference, once confirmed
    phone: str | None  # the number the family gave in its snelfiche


def family_request(sender_id: str, url: str | None = None) -> FamilyRequest:
    """The conversation's latest care request: what a template names and where an SMS may
    go instead (a number the family gave, not just the one it uses for WhatsApp)."""
    from bot.intake.models import CareRequest

    with db.session_scope(url) as session:
        rows = session.execute(
            select(CareRequest.reference, CareRequest.fields)
            .where(CareRequest.sender_id == sender_id).order_by(CareRequest.id.desc())
        ).all()
    reference = next((r.reference for r in rows if r.reference), None)
    phone = next((str((r.fields or {}).get("phone")) for r in rows
                  if isinstance((r.fields or {}).get("phone"), str)), None)
    return FamilyRequest(reference, phone)


def conversation(sender_id: str, url: str | None = None) -> list[dict[str, Any]]:
    """Every message in and out of one conversation, oldest first (for the loket inbox)."""
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage).where(ChannelMessage.sender_id == sender_id)
            .order_by(ChannelMessage.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def first_message(sender_id: str, message_id: int, url: str | None = None) -> bool:
    """Whether ``message_id`` is the first message the family wrote in this conversation
    (channel events such as a Telegram "member" update do not count)."""
    with db.session_scope(url) as session:
        return session.execute(
            select(ChannelMessage.id).where(
                ChannelMessage.sender_id == sender_id, ChannelMessage.direction == IN,
                ChannelMessage.id < message_id, ChannelMessage.kind != "event").limit(1)
        ).first() is None


def inbound_with(sender_id: str, meta_key: str, value: Any, before_id: int,
                 url: str | None = None, recent: int = 200) -> dict[str, Any] | None:
    """The latest inbound message before ``before_id`` whose ``meta[meta_key]`` is ``value``
    (the message a Telegram edit changes), among the conversation's ``recent`` last ones."""
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage).where(
                ChannelMessage.sender_id == sender_id, ChannelMessage.direction == IN,
                ChannelMessage.id < before_id)
            .order_by(ChannelMessage.id.desc()).limit(recent)
        ).scalars()
        return next((_as_dict(r) for r in rows if (r.meta or {}).get(meta_key) == value), None)


def contact(sender_id: str, url: str | None = None) -> dict[str, Any] | None:
    """What the channel keeps about one conversation (the loket inbox shows part of it)."""
    with db.session_scope(url) as session:
        row = session.get(ChannelContact, sender_id)
        return {c.name: getattr(row, c.name) for c in ChannelContact.__table__.columns} \
            if row else None


def set_started_from(sender_id: str, source: str, url: str | None = None) -> bool:
    """Keep the deep link a family first came through; a later one does not replace it."""
    with db.session_scope(url) as session:
        return bool(session.execute(
            update(ChannelContact).where(ChannelContact.sender_id == sender_id,
                                         ChannelContact.started_from.is_(None))
            .values(started_from=source[:64], updated_at=utcnow())
        ).rowcount)


def set_blocked(sender_id: str, reason: str | None, url: str | None = None) -> None:
    """The person blocked the bot (``reason``: why we know) or unblocked it (None)."""
    values = {"blocked_at": utcnow() if reason else None,
              "blocked_reason": reason[:64] if reason else None, "updated_at": utcnow()}
    with db.session_scope(url) as session:
        session.execute(update(ChannelContact).where(ChannelContact.sender_id == sender_id)
                        .values(**values))


def last_inbound_at(sender_id: str, url: str | None = None) -> datetime | None:
    with db.session_scope(url) as session:
        contact = session.get(ChannelContact, sender_id)
        return contact.last_inbound_at if contact else None


def last_buttons(sender_id: str, url: str | None = None) -> list[dict]:
    with db.session_scope(url) as session:
        contact = session.get(ChannelContact, sender_id)
        return list(contact.last_buttons or []) if contact else []


def set_last_buttons(sender_id: str, buttons: list[dict], url: str | None = None) -> None:
    with _transaction(url) as conn:
        _set_last_buttons(conn, sender_id, buttons)


def _set_last_buttons(conn: Connection, sender_id: str, buttons: list[dict]) -> None:
    conn.execute(_UPDATE_CONTACT, {"b_sender_id": sender_id, "last_buttons": buttons or None,
                                   "updated_at": utcnow()})


@dataclass
class ConversationState:
    """What sending needs to know about a conversation, read once per turn (one transaction
    instead of one per question and reply)."""

    opted_out: bool
    last_buttons: list[dict]
    last_inbound_at: datetime | None
    queued: bool  # replies wait for the provider: a new one waits behind them
    blocked: bool = False  # the person blocked the bot: nothing can reach them
    awaiting: bool = False  # the first of them waits for the family's answer (a template)


def conversation_state(sender_id: str, optout_key: str,
                       url: str | None = None) -> ConversationState:
    with _transaction(url) as conn:
        return _state(conn, sender_id, optout_key)


def _state(conn: Connection, sender_id: str, optout_key: str) -> ConversationState:
    row = conn.execute(_STATE, {"b_sender_id": sender_id, "b_address": optout_key}).one()
    return ConversationState(
        opted_out=bool(row.opted_out),
        last_buttons=list(row.last_buttons or []),
        last_inbound_at=row.last_inbound_at,
        queued=bool(row.queued),
        blocked=bool(row.blocked_at),
        awaiting=bool(row.queued) and row.first_queued == AWAITING_ANSWER)


@dataclass(frozen=True)
class SendCheck:
    """What may stop a part right before it goes out, as the store has it now."""

    opted_out: bool
    last_inbound_at: datetime | None
    blocked: bool


def send_check(sender_id: str, optout_key: str, url: str | None = None) -> SendCheck:
    with _transaction(url) as conn:
        return _send_check(conn, sender_id, optout_key)


def _send_check(conn: Connection, sender_id: str, optout_key: str) -> SendCheck:
    row = conn.execute(_SEND_CHECK, {"b_sender_id": sender_id, "b_address": optout_key}).one()
    return SendCheck(bool(row.opted_out), row.last_inbound_at, bool(row.blocked_at))


def record_sending(optout_key: str, force: bool, part: dict[str, Any],
                   held: dict[str, Any] | None = None,
                   url: str | None = None) -> tuple[int, SendCheck, str | None]:
    """A part about to go out, in one transaction with the check of what stops it (a STOP or
    a block that came since the turn began; ``force``: the answer to a keyword goes out to
    an opted-out number). Not stopped: recorded ``sending`` as ``part`` says
    (``record_outbound``'s fields). Stopped: recorded ``not_sent`` with the reason, as
    ``held`` says (the whole reply) or else as ``part``. (row id, the check, the reason)."""
    with _transaction(url) as conn:
        check = _send_check(conn, part["sender_id"], optout_key)
        reason = BLOCKED if check.blocked else (
            "opted_out" if check.opted_out and not force else None)
        fields = dict(part)
        if reason is None:
            fields.update(status=QUEUED, reason=SENDING)
        else:
            fields = dict(held or part, status=NOT_SENT, reason=reason, claimed_by=None,
                          next_attempt_at=None)
        return _add_outbound(conn, **fields), check, reason


def first_notice(key: str, url: str | None = None) -> bool:
    """Whether this is the first time for ``key`` (and record it): one of several servers
    wins the insert."""
    try:
        with db.session_scope(url) as session:
            session.add(ChannelNotice(key=key[:96]))
    except IntegrityError:
        return False
    return True


def is_opted_out(address: str, url: str | None = None) -> bool:
    with db.session_scope(url) as session:
        row = session.get(ChannelOptOut, address)
        return bool(row and row.opted_out)


def set_opted_out(address: str, opted_out: bool, keyword: str | None = None,
                  sender_id: str | None = None, url: str | None = None) -> None:
    with db.session_scope(url) as session:
        row = session.get(ChannelOptOut, address)
        if row is None:
            row = ChannelOptOut(address=address)
            session.add(row)
        row.opted_out, row.keyword, row.sender_id = opted_out, keyword, sender_id
        row.changed_at = utcnow()
