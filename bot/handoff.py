"""Handing a conversation to a person at the loket, and back.

The bot side: ``request_handoff`` records that a family waits for a person (urgent first in
the queue) and the action pauses the conversation while the loket is open. The desk side (the
inbox) claims a waiting conversation (one worker at a time), reads the transcript, answers
through the family's own channel, and hands back (Rasa ``resume``) or closes with an outcome.
Every step a worker takes is written to the audit log.

Pausing and resuming go through Rasa's HTTP API (token-guarded), appending ``pause`` /
``resume`` events: while paused Rasa logs the family's messages but predicts nothing, and on
resume nothing said meanwhile is replayed to the bot.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Text, case, select, true
from sqlalchemy.orm import Session

from bot.db import Base

OPEN_STATUSES = ("waiting", "claimed")
OUTCOMES = ("answered", "request_registered", "referred", "no_answer", "other")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Handoff(Base):
    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(32), nullable=True)
    language = Column(String(8), nullable=True)
    status = Column(String(16), nullable=False, default="waiting", index=True)
    urgent = Column(Boolean, nullable=False, default=False)
    reason = Column(String(32), nullable=False, default="request")
    paused = Column(Boolean, nullable=False, default=False)
    claimed_by = Column(String(64), nullable=True)
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    outcome = Column(String(32), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    closed_at = Column(DateTime(timezone=True), nullable=True)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(256), nullable=False)
    role = Column(String(16), nullable=False, default="worker")  # worker | admin
    language = Column(String(8), nullable=False, default="nl")
    failed_logins = Column(Integer, nullable=False, default=0)  # from unknown browsers
    locked_until = Column(DateTime(timezone=True), nullable=True)  # for unknown browsers
    # a deactivated account cannot sign in and has no session left
    active = Column(Boolean, nullable=False, default=True, server_default=true())
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    worker = Column(String(64), nullable=True)
    action = Column(String(32), nullable=False)  # viewed, claimed, sent, handed_back, closed…
    target = Column(String(128), nullable=True)
    detail = Column(Text, nullable=True)


def audit(session: Session, worker: str | None, action: str, target: str | None = None,
          detail: str | None = None) -> None:
    session.add(AuditEntry(worker=worker, action=action, target=target, detail=detail))


def open_handoff(session: Session, sender_id: str, *, channel: str | None, language: str,
                 reason: str, urgent: bool, paused: bool) -> Handoff:
    """The sender's open handoff (made more urgent when needed), or a new one."""
    current = session.execute(
        select(Handoff).where(Handoff.sender_id == sender_id,
                              Handoff.status.in_(OPEN_STATUSES))).scalar_one_or_none()
    if current is not None:
        current.urgent = current.urgent or urgent
        current.paused = current.paused or paused
        current.language = language
        return current
    handoff = Handoff(sender_id=sender_id, channel=channel, language=language, reason=reason,
                      urgent=urgent, paused=paused, status="waiting")
    session.add(handoff)
    session.flush()
    return handoff


def queue(session: Session) -> list[Handoff]:
    """Open handoffs: urgent first, then the longest waiting."""
    return list(session.execute(
        select(Handoff).where(Handoff.status.in_(OPEN_STATUSES))
        .order_by(case((Handoff.urgent, 0), else_=1), Handoff.created_at)).scalars())


class AlreadyClaimed(Exception):
    def __init__(self, worker: str | None) -> None:
        super().__init__(f"claimed by {worker}")
        self.worker = worker


def claim(session: Session, handoff_id: int, worker: str) -> Handoff:
    """One worker at a time: a conditional update, so two workers clicking at once cannot both
    win."""
    from sqlalchemy import update

    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="claimed", claimed_by=worker, claimed_at=utcnow()))
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise KeyError(handoff_id)
    session.refresh(handoff)
    if result.rowcount == 0 and handoff.claimed_by != worker:
        raise AlreadyClaimed(handoff.claimed_by)
    audit(session, worker, "claimed", handoff.sender_id)
    return handoff


def finish(session: Session, handoff_id: int, worker: str, *, outcome: str | None,
           handed_back: bool) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise KeyError(handoff_id)
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    handoff.status = "handed_back" if handed_back else "closed"
    handoff.outcome = outcome
    handoff.closed_at = utcnow()
    audit(session, worker, "handed_back" if handed_back else "closed", handoff.sender_id,
          outcome)
    return handoff


# --- Rasa HTTP API: pause, resume, transcript, staff messages -------------------------------

def rasa_url() -> str:
    return os.environ.get("RASA_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT', 5005)}"


def _rasa(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    from bot.tokens import rasa_token

    query = urllib.parse.urlencode({"token": token or rasa_token()})
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{rasa_url()}{path}?{query}", data,
                                 {"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


# Rasa's route is /conversations/<conversation_id:path> and Sanic does not percent-decode it:
# "whatsapp:+32…" must be sent as it is ("whatsapp%3A%2B32…" is another, empty conversation).
_ID_SAFE = ":+@!$&'()*,;=-._~"


def conversation_path(sender_id: str) -> str:
    return f"/conversations/{urllib.parse.quote(sender_id, safe=_ID_SAFE)}"


def append_events(sender_id: str, events: list[dict[str, Any]]) -> None:
    _rasa("POST", f"{conversation_path(sender_id)}/tracker/events", events)


def pause(sender_id: str) -> None:
    append_events(sender_id, [{"event": "pause"}])


def resume(sender_id: str) -> None:
    """Back to the bot. A paused conversation ends without ``action_listen`` (Rasa stops
    predicting at the pause), so it is added here: the next message then starts a fresh turn
    and the rules apply again, without replaying what was said meanwhile."""
    append_events(sender_id, [{"event": "resume"}, {"event": "action", "name": "action_listen"}])


def record_staff_message(sender_id: str, worker: str, text: str) -> None:
    """The worker's message in the conversation's transcript (as a bot turn by staff)."""
    append_events(sender_id, [{"event": "bot", "text": text,
                               "metadata": {"staff": worker}}])


def transcript(sender_id: str) -> list[dict[str, Any]]:
    """Family, bot and staff messages of a conversation, oldest first."""
    return transcript_from(_rasa("GET", f"{conversation_path(sender_id)}/tracker"))


def transcript_from(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """The transcript of a tracker already fetched (the inbox also needs its slots)."""
    out = []
    for event in tracker.get("events") or []:
        if event.get("event") == "user":
            parse = event.get("parse_data") or {}
            out.append({"who": "family", "text": event.get("text"),
                        "at": event.get("timestamp"), "channel": event.get("input_channel"),
                        "language": _language_of(parse)})
        elif event.get("event") == "bot":
            staff = (event.get("metadata") or {}).get("staff")
            out.append({"who": "staff" if staff else "bot", "worker": staff,
                        "text": event.get("text"), "at": event.get("timestamp")})
    return out


def _language_of(parse: dict[str, Any]) -> str | None:
    for entity in parse.get("entities") or []:
        if entity.get("entity") == "detected_language" and entity.get("role") == "guess":
            return entity.get("value")
    return None


__all__ = ["OUTCOMES", "AlreadyClaimed", "AuditEntry", "Handoff", "StaffUser", "append_events",
           "audit", "claim", "finish", "open_handoff", "pause", "queue",
           "record_staff_message", "resume", "transcript", "transcript_from"]
