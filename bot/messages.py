"""The message store of the phone and chat channels (WhatsApp, SMS, Telegram).

Every message in and out is a row of ``channel_messages``: inbound ones are stored before the
assistant sees them (a restart re-processes what was never processed), outbound ones with how
their sending went (sent / failed with the provider's error code / not sent and why). The loket
inbox reads conversations from here. ``channel_contacts`` keeps per conversation what the
channel layer needs between messages: the last inbound time (WhatsApp's 24-hour window) and
the numbered options last offered. ``channel_optouts`` records who said STOP, per number.

Plain functions with one session each; callers on an event loop run them in a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
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
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot import db
from bot.db import Base
from bot.redaction import redact_summary

CHANNELS = ("sms", "whatsapp", "telegram")
IN, OUT = "in", "out"
# inbound: received (stored, not processed yet) -> processed | ignored
# outbound: sent | failed (the provider refused or never answered) | not_sent (we held it back)
RECEIVED, PROCESSED, IGNORED = "received", "processed", "ignored"
SENT, FAILED, NOT_SENT = "sent", "failed", "not_sent"
STATUSES = (RECEIVED, PROCESSED, IGNORED, SENT, FAILED, NOT_SENT)


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
    kind = Column(String(16))  # in: text | media | button | event
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
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class ChannelContact(Base):
    __tablename__ = "channel_contacts"

    sender_id = Column(String(128), primary_key=True)
    channel = Column(String(16), nullable=False)
    address = Column(String(64), nullable=False)
    last_inbound_at = Column(DateTime)
    last_buttons = Column(JSON)  # [{"title", "payload"}] of the last bot turn that had any
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class ChannelOptOut(Base):
    """One row per number (or Telegram chat) that ever opted out; ``opted_out`` is the state."""

    __tablename__ = "channel_optouts"

    address = Column(String(64), primary_key=True)
    opted_out = Column(Boolean, nullable=False)
    keyword = Column(String(64))
    sender_id = Column(String(128))  # the conversation it was said in
    changed_at = Column(DateTime, nullable=False, default=utcnow)


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


def record_inbound(message: Inbound, url: str | None = None) -> int | None:
    """Store an inbound message; its id, or None when this delivery was stored before.

    Atomic under concurrent deliveries: the unique key decides, not a check-then-insert.
    """
    try:
        with db.session_scope(url) as session:
            row = ChannelMessage(
                channel=message.channel, direction=IN, sender_id=message.sender_id,
                address=message.address, external_id=message.external_id, kind=message.kind,
                text=message.text, media_type=message.media_type, media=message.media,
                meta=message.meta, status=RECEIVED, attempts=0,
            )
            session.add(row)
            session.flush()
            message_id = row.id
    except IntegrityError:
        return None
    _touch_contact(message, url)
    return message_id


def _touch_contact(message: Inbound, url: str | None) -> None:
    values = {"last_inbound_at": utcnow(), "updated_at": utcnow()}
    for _ in range(2):  # a first message racing another one from the same new sender
        try:
            with db.session_scope(url) as session:
                done = session.execute(
                    update(ChannelContact)
                    .where(ChannelContact.sender_id == message.sender_id).values(**values)
                ).rowcount
                if not done:
                    session.add(ChannelContact(sender_id=message.sender_id,
                                               channel=message.channel,
                                               address=message.address, **values))
            return
        except IntegrityError:
            continue


def get(message_id: int, url: str | None = None) -> dict[str, Any] | None:
    with db.session_scope(url) as session:
        row = session.get(ChannelMessage, message_id)
        return _as_dict(row) if row else None


def pending_inbound(channels: tuple[str, ...], url: str | None = None) -> list[dict[str, Any]]:
    """Inbound messages stored but never processed (after a crash or a restart), oldest first."""
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage)
            .where(ChannelMessage.direction == IN, ChannelMessage.status == RECEIVED,
                   ChannelMessage.channel.in_(channels))
            .order_by(ChannelMessage.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def start_inbound(message_id: int, url: str | None = None) -> dict[str, Any] | None:
    """The message to process, with its processing attempts counted (a message that crashes
    the server every time must not block its conversation forever)."""
    with db.session_scope(url) as session:
        row = session.get(ChannelMessage, message_id)
        if row is None or row.status != RECEIVED:
            return None
        row.attempts = (row.attempts or 0) + 1
        session.flush()
        return _as_dict(row)


def finish_inbound(message_id: int, status: str, rasa_text: str | None = None,
                   reason: str | None = None, url: str | None = None) -> None:
    with db.session_scope(url) as session:
        session.execute(
            update(ChannelMessage).where(ChannelMessage.id == message_id)
            .values(status=status, rasa_text=rasa_text, reason=reason, updated_at=utcnow())
        )


def record_outbound(channel: str, sender_id: str, address: str, text: str, status: str, *,
                    external_id: str | None = None, reason: str | None = None,
                    error_code: str | None = None, buttons: list[dict] | None = None,
                    reply_id: str | None = None, part: int | None = None,
                    segments: int | None = None, encoding: str | None = None,
                    attempts: int = 0, delivery: str | None = None,
                    url: str | None = None) -> int:
    with db.session_scope(url) as session:
        row = ChannelMessage(
            channel=channel, direction=OUT, sender_id=sender_id, address=address,
            text=redact_summary(text),  # health/allergy lines of a snelfiche summary: masked
            status=status, external_id=external_id, reason=reason, error_code=error_code,
            buttons=buttons or None, reply_id=reply_id, part=part, segments=segments,
            encoding=encoding, attempts=attempts, delivery=delivery,
        )
        session.add(row)
        session.flush()
        return row.id


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


def update_delivery(channels: tuple[str, ...], external_id: str, delivery: str,
                    error_code: str | None = None, url: str | None = None) -> bool:
    """A provider's later status for an outbound message (Twilio status callback)."""
    values: dict[str, Any] = {"delivery": delivery, "updated_at": utcnow()}
    if error_code:
        values.update(error_code=error_code, status=FAILED)
    with db.session_scope(url) as session:
        result = session.execute(
            update(ChannelMessage)
            .where(ChannelMessage.direction == OUT, ChannelMessage.channel.in_(channels),
                   ChannelMessage.external_id == external_id)
            .values(**values)
        )
        return bool(result.rowcount)


def conversation(sender_id: str, url: str | None = None) -> list[dict[str, Any]]:
    """Every message in and out of one conversation, oldest first (for the loket inbox)."""
    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage).where(ChannelMessage.sender_id == sender_id)
            .order_by(ChannelMessage.id)
        ).scalars()
        return [_as_dict(r) for r in rows]


def last_inbound_at(sender_id: str, url: str | None = None) -> datetime | None:
    with db.session_scope(url) as session:
        contact = session.get(ChannelContact, sender_id)
        return contact.last_inbound_at if contact else None


def last_buttons(sender_id: str, url: str | None = None) -> list[dict]:
    with db.session_scope(url) as session:
        contact = session.get(ChannelContact, sender_id)
        return list(contact.last_buttons or []) if contact else []


def set_last_buttons(sender_id: str, buttons: list[dict], url: str | None = None) -> None:
    with db.session_scope(url) as session:
        session.execute(
            update(ChannelContact).where(ChannelContact.sender_id == sender_id)
            .values(last_buttons=buttons or None, updated_at=utcnow())
        )


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
