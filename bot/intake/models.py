"""Care requests (snelfiches) and pending erasures."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)

from bot.db import Base

# found_elsewhere: the family found care in another municipality (not unanswered in the
# report, bot/intake/counting.py); withdrawn: the request lapsed (a miscarriage, no need)
STATUSES = ("draft", "new", "in_progress", "placed", "found_elsewhere", "closed", "withdrawn")
MAX_CHILDREN = 9


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CareRequest(Base):
    __tablename__ = "care_requests"
    __table_args__ = (CheckConstraint(f"children >= 1 AND children <= {MAX_CHILDREN}",
                                      name="children"),)

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), unique=True, nullable=True)  # given on confirmation
    sender_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(32), nullable=True)
    role = Column(String(16), nullable=False, default="parent")
    language = Column(String(8), nullable=True)
    status = Column(String(16), nullable=False, default="draft", index=True)
    # answers that are not special-category data, by field name
    fields = Column(JSON, nullable=False, default=dict)
    # special-category answers (health, allergies): one encrypted JSON document
    sensitive = Column(Text, nullable=True)
    eligibility = Column(JSON, nullable=True)  # facts known from the eligibility check
    # the snelfiche is about one child; the worker sets 2 for twins (counted as two requests)
    children = Column(SmallInteger, nullable=False, default=1, server_default=text("1"))
    consent_at = Column(DateTime(timezone=True), nullable=True)
    confirmed_at = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class ErasureRequest(Base):
    """A sender whose conversation events the tracker store erases after its next save."""

    __tablename__ = "erasure_requests"

    sender_id = Column(String(128), primary_key=True)
    requested_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
