"""Handing a conversation to a person at the loket, and back: the models and the workflow.

The bot side: ``request_handoff`` records that a family waits for a person (urgent first in
the queue) and the action pauses the conversation while the loket is open. The desk side (the
inbox) claims a waiting conversation (one worker at a time), reads the transcript, answers
through the family's own channel, and hands back (Rasa ``resume``) or closes with an outcome.
Every step a worker takes is written to the audit log.

Pausing and resuming go through Rasa's HTTP API (token-guarded, ``bot.rasa_api``), appending
``pause`` / ``resume`` events: while paused Rasa logs the family's messages but predicts
nothing, and on resume nothing said meanwhile is replayed to the bot.

The inbox calls only the workflow functions at the end (``take``, ``send``, ``hand_back``,
``close``, ``request_update``): each opens its own session, checks who may do it, calls Rasa
outside the transaction and writes the audit log. The lower functions that take a session
(``claim``, ``finish``, ``open_handoff``, ``queue``) are the database steps they use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    case,
    func,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from bot import db, rasa_api
from bot.db import Base
from bot.rasa_api import RasaError

logger = logging.getLogger(__name__)
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
    # the holder's last message to the family: a claim with none for N minutes lapses
    last_staff_at = Column(DateTime(timezone=True), nullable=True)
    # when a person first took it: the report's waiting time (a later claim does not count)
    first_claimed_at = Column(DateTime(timezone=True), nullable=True)
    labels = Column(Text, nullable=True)  # comma-separated, lower case (normalise_labels)


class HandoffNote(Base):
    """A worker's private note on a conversation: never sent, shown to staff only."""

    __tablename__ = "handoff_notes"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False)
    sender_id = Column(String(128), nullable=False, index=True)
    worker = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


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
    now = utcnow()
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="claimed", claimed_by=worker, claimed_at=now,
                first_claimed_at=func.coalesce(Handoff.first_claimed_at, now)))
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

STAFF_SAY = "action_staff_say"
STAFF_HANDBACK = "action_staff_handback"
REQUEST_UPDATE = "action_request_update"
LISTEN = rasa_api.LISTEN
rasa_url = rasa_api.rasa_url
conversation_path = rasa_api.conversation_path
_language_of = rasa_api.language_of
transcript_from = rasa_api.transcript


def append_events(sender_id: str, events: list[dict[str, Any]]) -> None:
    rasa_api.append(sender_id, events)


def pause(sender_id: str) -> None:
    append_events(sender_id, [{"event": "pause"}])


def pause_for_claim(sender_id: str) -> None:
    """A worker takes a conversation the bot still answers (loket was closed): end any form,
    then pause, as the handoff action does."""
    append_events(sender_id, [{"event": "active_loop", "name": None},
                              {"event": "slot", "name": "requested_slot", "value": None},
                              {"event": "pause"}])


def resume(sender_id: str) -> None:
    """Back to the bot. A paused conversation ends without ``action_listen`` (Rasa stops
    predicting at the pause), so it is added here: the next message then starts a fresh turn
    and the rules apply again, without replaying what was said meanwhile."""
    append_events(sender_id, [{"event": "resume"}, LISTEN])


def record_staff_message(sender_id: str, worker: str, text: str) -> None:
    """The worker's message in the conversation's transcript (as a bot turn by staff)."""
    append_events(sender_id, [{"event": "bot", "text": text, "metadata": {"staff": worker}}])


def transcript(sender_id: str) -> list[dict[str, Any]]:
    """Family, bot and staff messages of a conversation, oldest first."""
    return transcript_from(rasa_api.tracker(sender_id))


# --- the workflow (what the inbox calls) ---------------------------------------------------

class WorkflowError(Exception):
    """A step this worker may not take now. ``code``: ``not_found``, ``not_open``, ``taken``
    (``worker`` holds it), ``claim_first``, ``not_holder`` (``worker`` holds it)."""

    def __init__(self, code: str, worker: str | None = None) -> None:
        super().__init__(code if worker is None else f"{code}: {worker}")
        self.code = code
        self.worker = worker


@dataclass(frozen=True)
class Delivery:
    """How a staff message went out: ``sent`` (Rasa ran the action and the channel took it),
    ``queued`` (the provider is down; it goes out later), ``failed`` or ``not_sent`` (the
    channel store says so), with the channel's reason."""

    status: str
    reason: str | None = None

    @property
    def detail(self) -> str:
        return self.status + (f": {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class State:
    id: int
    sender: str
    status: str
    claimed_by: str | None
    paused: bool
    language: str | None


def _state(h: Handoff) -> State:
    return State(h.id, h.sender_id, h.status, h.claimed_by, bool(h.paused), h.language)


def state(handoff_id: int, url: str | None = None) -> State | None:
    with db.session_scope(url) as session:
        h = session.get(Handoff, handoff_id)
        return None if h is None else _state(h)


def _held(session: Session, handoff_id: int, worker: str) -> Handoff:
    """The handoff if ``worker`` holds it, else the reason as a WorkflowError."""
    h = session.get(Handoff, handoff_id)
    if h is None:
        raise WorkflowError("not_found")
    if h.status not in OPEN_STATUSES:
        raise WorkflowError("not_open")
    if h.claimed_by != worker:
        raise WorkflowError("not_holder", h.claimed_by) if h.claimed_by else \
            WorkflowError("claim_first")
    return h


def held(handoff_id: int, worker: str, url: str | None = None) -> State:
    """The handoff if ``worker`` holds it (WorkflowError otherwise)."""
    with db.session_scope(url) as session:
        return _state(_held(session, handoff_id, worker))


def record(worker: str | None, action: str, target: str | None, detail: str | None = None,
           url: str | None = None) -> None:
    """An audit entry in a session of its own."""
    with db.session_scope(url) as session:
        audit(session, worker, action, target, detail)


def take(handoff_id: int, worker: str, url: str | None = None) -> State:
    """Claim for ``worker`` and pause the bot when it still answers. Rasa down: the claim
    stays, the pause is undone in our table, and RasaError goes up."""
    with db.session_scope(url) as session:
        h = session.get(Handoff, handoff_id)
        if h is None:
            raise WorkflowError("not_found")
        if h.status not in OPEN_STATUSES:
            raise WorkflowError("not_open")
        try:
            h = claim(session, handoff_id, worker)
        except AlreadyClaimed as exc:
            raise WorkflowError("taken", exc.worker) from None
        needs_pause = not h.paused
        h.paused = True
        taken = _state(h)
    if needs_pause:
        try:
            pause_for_claim(taken.sender)
        except RasaError:
            _set_paused(handoff_id, False, url)
            raise
    return taken


def _set_paused(handoff_id: int, paused: bool, url: str | None = None) -> None:
    with db.session_scope(url) as session:
        h = session.get(Handoff, handoff_id)
        if h is not None:
            h.paused = paused


def _last_outbound_id(sender_id: str, url: str | None) -> int | None:
    try:
        from connectors.messages import OUT, ChannelMessage
    except ImportError:  # no channel message store in this deployment
        return None
    with db.session_scope(url) as session:
        return session.execute(
            select(func.max(ChannelMessage.id)).where(ChannelMessage.sender_id == sender_id,
                                                      ChannelMessage.direction == OUT)
        ).scalar() or 0


def _channel_delivery(sender_id: str, after_id: int | None, url: str | None) -> Delivery | None:
    """The stored outbound status of the parts sent after ``after_id`` (Twilio, Telegram)."""
    if after_id is None:
        return None
    from connectors.messages import OUT, ChannelMessage

    with db.session_scope(url) as session:
        rows = session.execute(
            select(ChannelMessage).where(ChannelMessage.sender_id == sender_id,
                                         ChannelMessage.direction == OUT,
                                         ChannelMessage.id > after_id)).scalars().all()
        for row in rows:
            if row.status != "sent":
                return Delivery(row.status, row.reason or row.error_code)
        return Delivery("sent") if rows else None


def _safe(fn, *args):  # the channel store is optional: its absence never blocks a reply
    try:
        return fn(*args)
    except Exception:  # best effort, read-only
        return None


def say(sender_id: str, worker: str, text: str, url: str | None = None) -> Delivery:
    """``text`` through the family's own channel, marked as said by ``worker``."""
    before = _safe(_last_outbound_id, sender_id, url)
    append_events(sender_id, [{"event": "slot", "name": "staff_text", "value": text},
                              {"event": "slot", "name": "staff_worker", "value": worker}])
    rasa_api.execute(sender_id, STAFF_SAY)
    return _safe(_channel_delivery, sender_id, before, url) or Delivery("sent")


def send(handoff_id: int, worker: str, text: str, url: str | None = None) -> Delivery:
    """The holder's reply; audited as ``sent`` with the delivery status (never the text)."""
    with db.session_scope(url) as session:
        sender = _held(session, handoff_id, worker).sender_id
    try:
        delivery = say(sender, worker, text, url)
    except RasaError:
        record(worker, "sent", sender, "failed: rasa", url)
        raise
    record(worker, "sent", sender, delivery.detail, url)
    with db.session_scope(url) as session:  # the claim is answered: it does not lapse now
        h = session.get(Handoff, handoff_id)
        if h is not None and h.claimed_by == worker:
            h.last_staff_at = utcnow()
    return delivery


def _finish(handoff_id: int, worker: str, outcome: str, *, handed_back: bool,
            url: str | None, message: str | None = None) -> State:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    with db.session_scope(url) as session:
        sender = _held(session, handoff_id, worker).sender_id
    if message:  # a last word from the worker before the bot takes over again
        record(worker, "sent", sender, say(sender, worker, message, url).detail, url)
    if handed_back:
        # the family hears the bot is back while still paused, so nothing else runs
        rasa_api.execute(sender, STAFF_HANDBACK)
    resume(sender)
    with db.session_scope(url) as session:
        h = finish(session, handoff_id, worker, outcome=outcome, handed_back=handed_back)
        h.paused = False
        return _state(h)


def hand_back(handoff_id: int, worker: str, outcome: str, url: str | None = None) -> State:
    """Back to the bot; the family is told (``handoff.back``)."""
    return _finish(handoff_id, worker, outcome, handed_back=True, url=url)


def close(handoff_id: int, worker: str, outcome: str, url: str | None = None,
          message: str | None = None) -> State:
    """Closed with an outcome, with the worker's short ``message`` to the family if given
    (nothing else is said); the bot answers the family's next message."""
    return _finish(handoff_id, worker, outcome, handed_back=False, url=url, message=message)


def request_update(sender_id: str, reference: str, status: str) -> None:
    """The family hears its care request's new status (``request_update.<status>``)."""
    append_events(sender_id, [{"event": "slot", "name": "request_update",
                               "value": f"{reference}:{status}"}])
    rasa_api.execute(sender_id, REQUEST_UPDATE)


# --- release, reassign, take over, lapsed claims --------------------------------------------

def release(handoff_id: int, worker: str, url: str | None = None) -> State:
    """The holder puts it back in the queue. The bot stays paused: the family still waits for
    a person."""
    with db.session_scope(url) as session:
        h = _held(session, handoff_id, worker)
        _unclaim(h)
        audit(session, worker, "released", h.sender_id)
        return _state(h)


def _unclaim(h: Handoff) -> None:
    h.status, h.claimed_by, h.claimed_at, h.last_staff_at = "waiting", None, None, None


def reassign(handoff_id: int, worker: str, colleague: str, *, admin: bool = False,
             url: str | None = None) -> State:
    """The holder (or an admin) gives the conversation to an active colleague."""
    with db.session_scope(url) as session:
        h = session.get(Handoff, handoff_id)
        if h is None:
            raise WorkflowError("not_found")
        if not admin:
            h = _held(session, handoff_id, worker)
        elif h.status not in OPEN_STATUSES:
            raise WorkflowError("not_open")
        other = session.execute(select(StaffUser).where(StaffUser.username == colleague)
                                ).scalar_one_or_none()
        if other is None or not other.active:
            raise WorkflowError("unknown_colleague")
        before = h.claimed_by
        h.status, h.claimed_by, h.claimed_at, h.last_staff_at = \
            "claimed", colleague, utcnow(), None
        audit(session, worker, "reassigned", h.sender_id, f"{before or '-'}->{colleague}")
        return _state(h)


def take_over(handoff_id: int, admin: str, url: str | None = None) -> State:
    """An admin takes a conversation a colleague holds (absent, ill, stuck)."""
    with db.session_scope(url) as session:
        h = session.get(Handoff, handoff_id)
        if h is None:
            raise WorkflowError("not_found")
        if h.status != "claimed":
            raise WorkflowError("not_open" if h.status not in OPEN_STATUSES else "claim_first")
        before = h.claimed_by
        h.claimed_by, h.claimed_at, h.last_staff_at = admin, utcnow(), None
        audit(session, admin, "taken_over", h.sender_id, before)
        return _state(h)


REQUEUED_BY = "loket"  # shown as the sender of the family's "back in the queue" message


def expire_claims(now: datetime | None = None, minutes: int | None = None,
                  url: str | None = None) -> list[State]:
    """Claims whose holder has sent nothing for ``minutes`` (settings) go back to the queue;
    each family is told in its language (``inbox_family.requeued``) that it keeps its place."""
    from bot import i18n, settings

    minutes = settings.claim_timeout_minutes() if minutes is None else minutes
    if minutes <= 0:
        return []
    cutoff = (now or utcnow()) - timedelta(minutes=minutes)
    lapsed: list[State] = []
    with db.session_scope(url) as session:
        for h in session.execute(select(Handoff).where(Handoff.status == "claimed")).scalars():
            active = _aware(h.last_staff_at) or _aware(h.claimed_at)
            if active is None or active >= cutoff:
                continue
            holder = h.claimed_by
            _unclaim(h)
            audit(session, None, "claim_expired", h.sender_id, holder)
            lapsed.append(_state(h))
    for lapse in lapsed:
        lang = lapse.language if lapse.language in i18n.SUPPORTED else i18n.DEFAULT
        try:
            say(lapse.sender, REQUEUED_BY, i18n.t("inbox_family.requeued", lang), url)
        except RasaError:
            logger.warning("could not tell %s that its claim lapsed", lapse.id)
    return lapsed


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; ours are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


# --- notes and labels --------------------------------------------------------------------

MAX_NOTE = 2000
MAX_LABELS, MAX_LABEL = 6, 24


def add_note(handoff_id: int, worker: str, text: str, url: str | None = None) -> None:
    """A private note (any signed-in worker); audited without its text."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise ValueError("note length")
    with db.session_scope(url) as session:
        h = session.get(Handoff, handoff_id)
        if h is None:
            raise WorkflowError("not_found")
        session.add(HandoffNote(handoff_id=h.id, sender_id=h.sender_id, worker=worker,
                                text=text))
        audit(session, worker, "note_added", h.sender_id)


def notes(sender_id: str, url: str | None = None) -> list[dict[str, Any]]:
    """Every note on this family's conversations, oldest first."""
    with db.session_scope(url) as session:
        return [{"worker": n.worker, "text": n.text, "at": _aware(n.created_at),
                 "handoff_id": n.handoff_id}
                for n in session.execute(select(HandoffNote)
                                         .where(HandoffNote.sender_id == sender_id)
                                         .order_by(HandoffNote.id)).scalars()]


def normalise_labels(text: str) -> list[str]:
    out: list[str] = []
    for part in text.split(","):
        label = " ".join(part.split()).lower()[:MAX_LABEL]
        if label and label not in out:
            out.append(label)
    return out[:MAX_LABELS]


def set_labels(handoff_id: int, worker: str, text: str, url: str | None = None) -> list[str]:
    labels = normalise_labels(text)
    with db.session_scope(url) as session:
        h = session.get(Handoff, handoff_id)
        if h is None:
            raise WorkflowError("not_found")
        h.labels = ",".join(labels) or None
        audit(session, worker, "labels_set", h.sender_id, h.labels)
    return labels


def labels_of(h: Handoff) -> list[str]:
    return [x for x in (h.labels or "").split(",") if x]


# --- views and search ----------------------------------------------------------------------

VIEWS = ("all", "mine", "unassigned", "closed")
CLOSED_STATUSES = ("handed_back", "closed")
MAX_LISTED = 200


def phone_key(text: str) -> str | None:
    """A phone number in any format ("0489 11 22 33", "+32 489/11.22.33", "٠٤٨٩١١٢٢٣٣",
    "0032489112233") as E.164, or None when it is not one."""
    import unicodedata

    import phonenumbers

    digits = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)
    if sum(c.isdigit() for c in digits) < 8:
        return None
    try:
        number = phonenumbers.parse(digits, "BE")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _folded(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                   if not unicodedata.combining(c))


NAME_FIELDS = ("child_name", "parent_name", "toeleider_name")


def _matching_senders(session: Session, query: str) -> set[str]:
    """Families whose conversation id, request reference, phone or a name matches."""
    from bot.intake.models import CareRequest

    phone = phone_key(query)
    needle = _folded(query.strip())
    found: set[str] = set()
    for sender, in session.execute(select(Handoff.sender_id).distinct()):
        if (needle and needle in _folded(sender)) or (phone and sender.endswith(phone)):
            found.add(sender)
    for r in session.execute(select(CareRequest)).scalars():
        fields = r.fields or {}
        if r.reference and r.reference.upper() == query.strip().upper():
            found.add(r.sender_id)
        elif phone and phone_key(str(fields.get("phone") or "")) == phone:
            found.add(r.sender_id)
        elif needle and any(needle in _folded(str(fields.get(f) or "")) for f in NAME_FIELDS):
            found.add(r.sender_id)
    return found


def listing(view: str, worker: str, query: str = "", url: str | None = None) -> list[Handoff]:
    """The handoffs of a queue view: ``all`` open ones, ``mine``, ``unassigned``, or
    ``closed`` (newest first); with ``query`` only the families it finds (in any view)."""
    with db.session_scope(url) as session:
        stmt = select(Handoff)
        if view == "closed":
            stmt = stmt.where(Handoff.status.in_(CLOSED_STATUSES)).order_by(
                Handoff.closed_at.desc(), Handoff.id.desc())
        else:
            stmt = stmt.where(Handoff.status.in_(OPEN_STATUSES)).order_by(
                case((Handoff.urgent, 0), else_=1), Handoff.created_at)
            if view == "mine":
                stmt = stmt.where(Handoff.claimed_by == worker)
            elif view == "unassigned":
                stmt = stmt.where(Handoff.status == "waiting")
        if query.strip():
            senders = _matching_senders(session, query)
            if not senders:
                return []
            stmt = stmt.where(Handoff.sender_id.in_(senders))
        rows = list(session.execute(stmt.limit(MAX_LISTED)).scalars())
        session.expunge_all()
        return rows


def history(sender_id: str, url: str | None = None) -> list[Handoff]:
    """Every handoff of this family, newest first (the conversation page's "earlier")."""
    with db.session_scope(url) as session:
        rows = list(session.execute(select(Handoff).where(Handoff.sender_id == sender_id)
                                    .order_by(Handoff.id.desc()).limit(50)).scalars())
        session.expunge_all()
        return rows


def colleagues(url: str | None = None) -> list[str]:
    """Active accounts, for "give to a colleague"."""
    with db.session_scope(url) as session:
        return list(session.execute(select(StaffUser.username).where(StaffUser.active)
                                    .order_by(StaffUser.username)).scalars())


# --- figures for the report --------------------------------------------------------------

def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p50 = the median a person would count), None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(int(-(-share * len(ordered) // 1)), 1)  # ceil(share * n), at least the first
    return ordered[min(rank, len(ordered)) - 1]


def figures(since: str = "", until: str = "", url: str | None = None) -> dict[str, Any]:
    """Handoffs opened in the months ``since``..``until`` (YYYY-MM, inclusive, empty: open):
    how many, how long families waited for a first claim (p50, p90 in minutes), still
    waiting, the outcomes, and per worker the conversations finished and replies sent."""
    def month_of(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m") if moment else ""

    def in_period(moment: datetime | None) -> bool:
        month = month_of(moment)
        return bool(month) and (not since or month >= since) and (not until or month <= until)

    waits: list[float] = []
    outcomes: dict[str, int] = {}
    workers: dict[str, dict[str, int]] = {}
    count = still_waiting = 0
    with db.session_scope(url) as session:
        for h in session.execute(select(Handoff)).scalars():
            if not in_period(_aware(h.created_at)):
                continue
            count += 1
            first = _aware(h.first_claimed_at)
            if first is not None:
                waits.append((first - _aware(h.created_at)).total_seconds() / 60)
            elif h.status == "waiting":
                still_waiting += 1
            if h.status in CLOSED_STATUSES:
                outcomes[h.outcome or "none"] = outcomes.get(h.outcome or "none", 0) + 1
        for e in session.execute(select(AuditEntry).where(
                AuditEntry.action.in_(("sent", "handed_back", "closed")))).scalars():
            if not e.worker or not in_period(_aware(e.at)):
                continue
            row = workers.setdefault(e.worker, {"finished": 0, "replies": 0})
            row["replies" if e.action == "sent" else "finished"] += 1
    return {"handoffs": count, "claimed": len(waits), "still_waiting": still_waiting,
            "wait_p50": percentile(waits, 0.5), "wait_p90": percentile(waits, 0.9),
            "outcomes": dict(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "workers": dict(sorted(workers.items()))}


__all__ = ["OUTCOMES", "VIEWS", "AlreadyClaimed", "AuditEntry", "Delivery", "Handoff",
           "HandoffNote", "RasaError", "StaffUser", "State", "WorkflowError", "add_note",
           "append_events", "audit", "claim", "close", "colleagues", "expire_claims", "figures",
           "finish",
           "hand_back", "held", "history", "listing", "notes", "open_handoff", "pause", "phone_key",
           "queue", "reassign", "record_staff_message", "release", "request_update", "resume",
           "send", "set_labels", "state", "take", "take_over", "transcript", "transcript_from"]
