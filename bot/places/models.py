"""Tables of the free-place store: organisations, locations, availability and unmet needs.

Enumerations are strings with CHECK constraints rather than native enum types: adding a value
later is a one-line migration on every backend.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import relationship, validates

from bot.care_info import CARE_TYPES  # the contract's care_type values (§2), in one place
from bot.db import Base

PRICINGS = ("income_related", "free_price")
KINDS = ("regular", "occasional", "urgent")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_WEEKDAYS = 0b1111111
WORKDAYS = 0b0011111


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def weekday_count(mask: int) -> int:
    return bin(mask & ALL_WEEKDAYS).count("1")


def weekday_names(mask: int) -> list[str]:
    return [name for bit, name in enumerate(WEEKDAYS) if mask & (1 << bit)]


class Organisation(Base):
    """A provider (organisator); a childminder is an organisation with one location."""

    __tablename__ = "places_organisations"

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False, unique=True)
    phone = Column(String(40))
    email = Column(String(200))
    fictional = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    locations = relationship("CareLocation", back_populates="organisation")


class CareLocation(Base):
    """A childcare location (opvanglocatie) with what a family needs to choose and call."""

    __tablename__ = "places_locations"
    __table_args__ = (
        CheckConstraint(_in("care_type", CARE_TYPES), name="care_type"),
        CheckConstraint(_in("pricing", PRICINGS), name="pricing"),
        CheckConstraint("min_age_months >= 0 AND max_age_months >= min_age_months", name="ages"),
        Index("ix_places_locations_municipality", "municipality", "care_type"),
        Index("ix_places_locations_postcode", "postcode"),
    )

    id = Column(Integer, primary_key=True)
    ref = Column(String(64), nullable=False, unique=True)  # key of CSV import/export
    organisation_id = Column(
        Integer, ForeignKey("places_organisations.id", ondelete="SET NULL"), index=True
    )
    name = Column(String(200), nullable=False)
    care_type = Column(String(32), nullable=False)
    pricing = Column(String(16), nullable=False)
    address = Column(String(200), nullable=False, default="")
    postcode = Column(String(4), nullable=False)
    municipality = Column(String(80), nullable=False)
    phone = Column(String(40))
    email = Column(String(200))
    # Opening hours per weekday as "HH:MM-HH:MM"; NULL when closed that day.
    hours_mon = Column(String(11))
    hours_tue = Column(String(11))
    hours_wed = Column(String(11))
    hours_thu = Column(String(11))
    hours_fri = Column(String(11))
    hours_sat = Column(String(11))
    hours_sun = Column(String(11))
    opens_early = Column(Boolean, nullable=False, default=False)  # before 07:00
    closes_late = Column(Boolean, nullable=False, default=False)  # after 18:30
    weekend = Column(Boolean, nullable=False, default=False)
    night = Column(Boolean, nullable=False, default=False)
    languages = Column(String(64), nullable=False, default="nl")  # ISO 639-1, space separated
    inclusive = Column(Boolean, nullable=False, default=False)
    min_age_months = Column(SmallInteger, nullable=False, default=0)
    max_age_months = Column(SmallInteger, nullable=False, default=36)
    capacity = Column(SmallInteger, nullable=False, default=0)
    fictional = Column(Boolean, nullable=False, default=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    organisation = relationship("Organisation", back_populates="locations")
    availability = relationship(
        "Availability",
        back_populates="location",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Availability.date_from",
    )

    def hours(self) -> dict[str, str | None]:
        return {day: getattr(self, f"hours_{day}") for day in WEEKDAYS}

    def language_list(self) -> list[str]:
        return self.languages.split() if self.languages else []


class Availability(Base):
    """Free places of a location for a period; ``version`` guards concurrent updates."""

    __tablename__ = "places_availability"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint("places >= 0", name="places"),
        CheckConstraint("weekdays > 0 AND weekdays < 128", name="weekdays"),
        CheckConstraint("date_to IS NULL OR date_to >= date_from", name="dates"),
        # Search walks the availability of the candidate locations: this index answers the
        # per-location lookups with every column the search reads (an index-only scan), which
        # also makes PostgreSQL prefer it to a sequential scan of the whole table.
        Index(
            "ix_places_availability_search",
            "location_id",
            "kind",
            "date_from",
            "date_to",
            "places",
            "days_count",
            "id",
        ),
    )

    id = Column(Integer, primary_key=True)
    location_id = Column(
        Integer, ForeignKey("places_locations.id", ondelete="CASCADE"), nullable=False
    )
    date_from = Column(Date, nullable=False)
    date_to = Column(Date)  # NULL: open ended
    weekdays = Column(SmallInteger, nullable=False, default=WORKDAYS)  # bit 0 = Monday
    days_count = Column(SmallInteger, nullable=False, default=5)  # bits set in weekdays
    places = Column(SmallInteger, nullable=False, default=0)
    kind = Column(String(16), nullable=False, default="regular")
    version = Column(Integer, nullable=False)
    updated_by = Column(String(80))
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    location = relationship("CareLocation", back_populates="availability")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it

    @validates("weekdays")
    def _sync_days_count(self, _key: str, mask: int) -> int:
        self.days_count = weekday_count(mask)
        return mask

    def covers(self, day: date) -> bool:
        return self.date_from <= day and (self.date_to is None or self.date_to >= day)


class UnmetNeed(Base):
    """A search that found nothing (or not enough): what, where, when, for which age.

    No names or birth dates: the age in months is enough to show the municipality where
    places are missing.
    """

    __tablename__ = "places_unmet_needs"
    __table_args__ = (Index("ix_places_unmet_needs_created", "created_at"),)

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    care_type = Column(String(32))
    occasional = Column(Boolean, nullable=False, default=False)
    urgent = Column(Boolean, nullable=False, default=False)
    income_related = Column(Boolean)
    postcode = Column(String(4))
    municipality = Column(String(80), index=True)
    wanted_from = Column(Date)
    days_per_week = Column(SmallInteger)
    child_age_months = Column(SmallInteger)
    results = Column(SmallInteger, nullable=False, default=0)
    language = Column(String(8))
    source = Column(String(16), nullable=False, default="bot")  # bot | staff | import
