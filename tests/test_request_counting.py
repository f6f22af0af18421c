"""Care requests counted as Opgroeien counts loket requests (bot/intake/counting.py): one
applicant and one child per request, twins are two, duplicates once, care found in another
municipality and lapsed requests are not unanswered; and the migration that adds ``children``."""

from __future__ import annotations

from datetime import date

import pytest

from bot import db
from bot.intake import counting
from bot.intake.counting import Request, count, totals
from bot.intake.models import CareRequest


def _request(rid: int, *, phone: str = "0489 11 22 33", child: str = "Lea",
             birth: str = "2025-03-01", status: str = "new", children: int = 1,
             month: str = "2026-03", sender: str = "", **facts: object) -> Request:
    fields = {"phone": phone, "child_name": child, "child_birth": birth}
    return Request(id=rid, applicant=counting.applicant_key(sender or f"web:{rid}", fields),
                   child=counting.child_key(fields), status=status, children=children,
                   order=counting.moment_order(date.fromisoformat(month + "-01"), rid),
                   facts={"month": month, **facts})


def test_one_applicant_and_one_child_is_one_request() -> None:
    # the same family asks twice for Lea (another channel, the number written otherwise)
    counted = count([_request(1), _request(2, phone="+32 489/11.22.33", child="Léa",
                                            month="2026-04")])
    assert totals(counted) == (1, 1)
    assert counted[0].facts["month"] == "2026-03"  # registered when first asked
    # a sibling, and another family's child with the same name: each its own request
    assert totals(count([_request(1), _request(2, child="Noor", birth="2026-01-05"),
                         _request(3, phone="0470 00 00 01")])) == (3, 3)


def test_twins_count_as_two() -> None:
    assert totals(count([_request(1, children=2)])) == (2, 2)
    # two snelfiches for the twins (two names, one birth date): two as well
    assert totals(count([_request(1, child="Sara"), _request(2, child="Lina")])) == (2, 2)
    # a duplicate of a twins' request keeps the two
    assert totals(count([_request(1, children=2), _request(2)])) == (2, 2)


@pytest.mark.parametrize(("status", "unanswered"), [
    ("new", True), ("in_progress", True), ("closed", True),
    ("placed", False), ("found_elsewhere", False), ("withdrawn", False)])
def test_what_is_unanswered(status: str, unanswered: bool) -> None:
    (counted,) = count([_request(1, status=status, children=2)])
    assert counted.unanswered is unanswered
    assert totals([counted]) == (2, 2 if unanswered else 0)


def test_duplicates_take_the_best_news() -> None:
    assert totals(count([_request(1, status="closed"), _request(2, status="placed")])) == (1, 0)
    assert totals(count([_request(1), _request(2, status="found_elsewhere")])) == (1, 0)
    # a duplicate withdrawn because it was one does not answer the request still open
    assert totals(count([_request(1, status="withdrawn"), _request(2)])) == (1, 1)


def test_requests_without_a_childs_name_are_never_merged() -> None:
    # the same birth date without names may be twins
    assert totals(count([_request(1, child=""), _request(2, child="")])) == (2, 2)
    assert counting.child_key({"child_name": " Léa  Marie "}) == "lea marie|"


def test_requests_without_child_or_phone_are_never_merged() -> None:
    blank = [Request(id=i, applicant=counting.applicant_key("web:same", {}),
                     child=counting.child_key({}), status="new", children=1,
                     order=(False, "", i), facts={}) for i in (1, 2)]
    assert totals(count(blank)) == (2, 2)
    # no phone: the conversation is the applicant; the same child there is one request
    assert counting.applicant_key("whatsapp:+32470", {}) == "id:whatsapp:+32470"
    assert totals(count([_request(1, phone="", sender="w:1"),
                         _request(2, phone="", sender="w:1")])) == (1, 1)


def test_the_children_column_matches_its_migration(tmp_path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    try:
        with db.get_engine(url).connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.Base.metadata)
        assert CareRequest.__table__.name == "care_requests"  # the model is in the metadata
        assert [d for d in diff if "care_requests" in repr(d)] == []
        with db.get_engine(url).begin() as connection:
            connection.execute(text(
                "INSERT INTO care_requests (sender_id, role, status, fields, created_at, "
                "updated_at) VALUES ('x', 'parent', 'new', '{}', '2026-01-01', '2026-01-01')"))
            assert connection.execute(text("SELECT children FROM care_requests")).scalar() == 1
        with pytest.raises(IntegrityError), db.get_engine(url).begin() as connection:
            connection.execute(text("UPDATE care_requests SET children = 0"))
    finally:
        db.dispose_engine(url)
