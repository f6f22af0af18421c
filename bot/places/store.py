"""Changing free places safely: optimistic locking on ``Availability.version``.

Two people (or a person and an import) who change the same availability row based on what
they saw earlier: the second write finds another version and fails with
ConcurrentUpdateError instead of silently overwriting the first (no lost update).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.db import session_scope
from bot.places.models import Availability


class ConcurrentUpdateError(StaleDataError):
    """The availability row changed (or disappeared) since it was read; re-read and retry."""

    def __init__(self, availability_id: int, expected: int | None, actual: int | None) -> None:
        super().__init__(
            f"availability {availability_id} changed since it was read "
            f"(expected version {expected}, now {actual if actual is not None else 'deleted'})"
        )
        self.availability_id = availability_id
        self.expected = expected
        self.actual = actual


class UnknownAvailabilityError(LookupError):
    pass


def update_free_places(
    session: Session,
    availability_id: int,
    places: int,
    *,
    expected_version: int | None = None,
    updated_by: str | None = None,
) -> Availability:
    """Set the free places of an availability row; flushes, the caller commits.

    ``expected_version`` is the version the person saw (e.g. in a search result or the staff
    screen); without it the version read in this session is the guard. The UPDATE carries
    ``WHERE version = <read version>``, so a concurrent writer that committed first makes this
    one fail with ConcurrentUpdateError (a StaleDataError).
    """
    if places < 0:
        raise ValueError("places must be >= 0")
    row = session.get(Availability, availability_id)
    if row is None:
        if expected_version is not None:
            raise ConcurrentUpdateError(availability_id, expected_version, None)
        raise UnknownAvailabilityError(availability_id)
    if expected_version is not None and row.version != expected_version:
        raise ConcurrentUpdateError(availability_id, expected_version, row.version)
    read_version = row.version
    row.places = places
    row.updated_by = updated_by
    try:
        session.flush()
    except StaleDataError as exc:
        session.rollback()
        actual = _current_version(session, availability_id)
        raise ConcurrentUpdateError(availability_id, read_version, actual) from exc
    return row


def _current_version(session: Session, availability_id: int) -> int | None:
    row = session.get(Availability, availability_id, populate_existing=True)
    return row.version if row is not None else None


def set_free_places(
    availability_id: int,
    places: int,
    *,
    expected_version: int | None = None,
    updated_by: str | None = None,
    url: str | None = None,
) -> int:
    """``update_free_places`` in its own transaction; returns the new version."""
    with session_scope(url) as session:
        row = update_free_places(
            session, availability_id, places,
            expected_version=expected_version, updated_by=updated_by,
        )
        session.flush()
        return row.version


class PeriodError(ValueError):
    """A period's new dates that cannot be saved; ``code`` names the problem for the page
    (places_period.error.<code> in locales/staff)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def change_period_dates(
    session: Session,
    availability_id: int,
    date_from: date,
    date_to: date | None,
    *,
    expected_version: int,
    updated_by: str | None = None,
) -> Availability:
    """New dates for an existing availability period; flushes, the caller commits.

    The rules are the store's own: the end not before the start (a one-day period is
    allowed, as the table's CHECK and the CSV import allow it), and no second period of the
    location with the same dates, days and kind, which the import would see as one row
    (bot/places/csv_io.py matches periods on exactly that). Periods that merely overlap stay
    allowed, as everywhere else: a regular and an urgent offer may run side by side. The
    version the person saw guards against a change made in the meantime, as with the places.
    """
    if date_to is not None and date_to < date_from:
        raise PeriodError("to_before_from")
    row = session.get(Availability, availability_id)
    if row is None:
        raise UnknownAvailabilityError(availability_id)
    if row.version != expected_version:
        raise ConcurrentUpdateError(availability_id, expected_version, row.version)
    same = session.execute(
        select(Availability.id).where(
            Availability.location_id == row.location_id,
            Availability.id != row.id,
            Availability.date_from == date_from,
            Availability.date_to.is_(None) if date_to is None
            else Availability.date_to == date_to,
            Availability.weekdays == row.weekdays,
            Availability.kind == row.kind,
        ).limit(1)
    ).first()
    if same is not None:
        raise PeriodError("duplicate")
    read_version = row.version
    row.date_from, row.date_to, row.updated_by = date_from, date_to, updated_by
    try:
        session.flush()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentUpdateError(availability_id, read_version,
                                    _current_version(session, availability_id)) from exc
    return row
