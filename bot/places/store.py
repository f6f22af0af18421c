"""Changing free places safely: optimistic locking on ``Availability.version``.

Two people (or a person and an import) who change the same availability row based on what
they saw earlier: the second write finds another version and fails with
ConcurrentUpdateError instead of silently overwriting the first (no lost update).
"""

from __future__ import annotations

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
