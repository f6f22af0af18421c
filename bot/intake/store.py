"""Care requests in the database: drafts saved answer by answer, confirmation.

Every answer is written the moment it is given, so an interruption of minutes or days, or a
server restart, loses nothing: the conversation resumes at the next missing field. Seeing,
exporting and erasing a family's requests is bot/privacy/.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import crypto
from bot.intake.models import CareRequest, utcnow

# Special-category data: stored only encrypted.
SENSITIVE = frozenset({"allergies", "health"})
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


def latest_draft(session: Session, sender_id: str) -> CareRequest | None:
    query = (select(CareRequest).where(CareRequest.sender_id == sender_id,
                                       CareRequest.status == "draft")
             .order_by(CareRequest.id.desc()).limit(1))
    return session.execute(query).scalar_one_or_none()


def latest_confirmed(session: Session, sender_id: str) -> CareRequest | None:
    query = (select(CareRequest).where(CareRequest.sender_id == sender_id,
                                       CareRequest.status != "draft")
             .order_by(CareRequest.id.desc()).limit(1))
    return session.execute(query).scalar_one_or_none()


def start_draft(session: Session, sender_id: str, *, channel: str | None, role: str,
                language: str, prefill: dict[str, Any] | None = None,
                eligibility: dict[str, Any] | None = None) -> CareRequest:
    request = CareRequest(sender_id=sender_id, channel=channel, role=role, language=language,
                          status="draft", fields={}, eligibility=eligibility or None)
    session.add(request)
    session.flush()
    for field, value in (prefill or {}).items():
        save_answer(session, request, field, value)
    return request


def answers(request: CareRequest) -> dict[str, Any]:
    """All answers of a request, special-category ones decrypted."""
    out = dict(request.fields or {})
    if request.sensitive:
        out.update(json.loads(crypto.decrypt(request.sensitive) or "{}"))
    return out


def save_answer(session: Session, request: CareRequest, field: str, value: Any) -> None:
    if field in SENSITIVE:
        current = json.loads(crypto.decrypt(request.sensitive) or "{}") if request.sensitive \
            else {}
        current[field] = value
        request.sensitive = crypto.encrypt(json.dumps(current, ensure_ascii=False))
    else:
        request.fields = {**(request.fields or {}), field: value}  # a new dict: JSON change
    if field == "consent" and value is True and request.consent_at is None:
        request.consent_at = utcnow()
    request.updated_at = utcnow()
    session.flush()


def clear_answer(session: Session, request: CareRequest, field: str) -> None:
    """Forget one answer, so that the form asks it again (a correction)."""
    if field in SENSITIVE and request.sensitive:
        current = json.loads(crypto.decrypt(request.sensitive) or "{}")
        current.pop(field, None)
        request.sensitive = crypto.encrypt(json.dumps(current, ensure_ascii=False))
    fields = dict(request.fields or {})
    fields.pop(field, None)
    request.fields = fields
    request.updated_at = utcnow()
    session.flush()


TOELEIDER_FIELDS = ("family_consent", "organisation", "toeleider_name", "toeleider_contact")


def change_role(session: Session, request: CareRequest, role: str,
                organisation: str | None = None) -> None:
    """The person turned out to be the parent (or a professional): the draft follows, and a
    parent's request keeps nothing of a social worker's fields."""
    request.role = role
    if role == "parent":
        for field in TOELEIDER_FIELDS:
            clear_answer(session, request, field)
    elif organisation and not (request.fields or {}).get("organisation"):
        save_answer(session, request, "organisation", organisation)
    request.updated_at = utcnow()
    session.flush()


def confirm(session: Session, request: CareRequest) -> str:
    """Status ``new`` and a reference the family can quote."""
    for _ in range(20):
        reference = "KO-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))
        try:
            with session.begin_nested():
                request.reference = reference
                request.status = "new"
                request.confirmed_at = utcnow()
                session.flush()
            return reference
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a unique reference")


def list_requests(session: Session) -> list[dict[str, Any]]:
    """Recorded requests with their status; no special-category content."""
    rows = session.execute(select(CareRequest).order_by(CareRequest.id)).scalars()
    out = []
    for r in rows:
        fields = r.fields or {}
        location = fields.get("location") or {}
        out.append({
            "id": r.id, "reference": r.reference, "status": r.status, "role": r.role,
            "children": r.children or 1,
            "language": r.language, "channel": r.channel,
            "municipality": location.get("municipality"), "postcode": location.get("postcode"),
            "start": fields.get("start"), "reason": fields.get("reason"),
            "frequency": fields.get("frequency"), "care_type": fields.get("care_type"),
            "created_at": r.created_at.isoformat() if r.created_at else None,
            "confirmed_at": r.confirmed_at.isoformat() if r.confirmed_at else None,
        })
    return out
