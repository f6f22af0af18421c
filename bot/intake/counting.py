"""Care requests counted as Opgroeien counts the loket's registered requests (opvangvragen),
for the report to the municipality and the Lokaal Overleg Kinderopvang. Plain Python: the
report (bot/inbox/report.py) gives it the requests and shows what it counts.

The rules (Opgroeien FAQ of 2026-06-04, in ../shared/domain/rules-2026.md §5):

- "Elke geregistreerde opvangvraag gaat over één unieke aanvrager en één uniek kind": the same
  family asking twice for the same child (a second snelfiche, the parent and a social worker
  both) is one request; a request for twins (``children`` 2, set by the worker: the snelfiche
  asks about one child) is two.
- A request may sit in several subcategories: it counts under each of its reasons (the report
  does that with ``reasons``).
- Unanswered is a request for which no place was found: one whose family found care in another
  municipality (``found_elsewhere``) is not unanswered, nor is one that lapsed (``withdrawn``,
  e.g. after a miscarriage). ``new``, ``in_progress`` and ``closed`` (closed without a place)
  are unanswered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.textnorm import fold

ANSWERED = "placed"
ELSEWHERE = "found_elsewhere"
LAPSED = "withdrawn"
# what a group of duplicates is, from the best news down: one placed request answers the
# child's need, whatever a duplicate of it says
_RANK = {ANSWERED: 0, ELSEWHERE: 1, "new": 2, "in_progress": 2, "closed": 2, LAPSED: 3}
NOT_UNANSWERED = frozenset({ANSWERED, ELSEWHERE, LAPSED})


@dataclass(frozen=True)
class Request:
    """What counting needs of one confirmed care request (no content beyond it)."""

    id: int
    applicant: str  # who asks: the family's phone, else the conversation (see applicant_key)
    child: str | None  # which child: first name and birth date, None when neither is known
    status: str
    children: int
    order: tuple[Any, ...]  # earliest first: (confirmed or created moment, id)
    facts: dict[str, Any]  # the report's dimensions (month, municipality, reasons …)


@dataclass(frozen=True)
class Counted:
    """One registered request as Opgroeien counts it: ``children`` requests (twins: 2), with
    the dimensions of the family's first request for that child."""

    facts: dict[str, Any]
    children: int
    status: str
    unanswered: bool


def applicant_key(sender_id: str, fields: dict[str, Any]) -> str:
    """The applicant is the family: its phone number in any format (a social worker may have
    filed one request and the parent another), else the conversation it wrote from."""
    from bot.handoff import phone_key  # the inbox's search reads numbers the same way

    phone = fields.get("phone")
    key = phone_key(str(phone)) if isinstance(phone, str) and phone else None
    return f"tel:{key}" if key else f"id:{sender_id}"


def child_key(fields: dict[str, Any]) -> str | None:
    """The child: first name (folded: "Léa" = "lea") and birth date. None without a name:
    a birth date alone may be twins', so such a request is never taken for another one."""
    name = " ".join(fold(str(fields.get("child_name") or "")).split())
    birth = str(fields.get("child_birth") or "")[:10]
    return f"{name}|{birth}" if name else None


def count(requests: Iterable[Request]) -> list[Counted]:
    """The requests as Opgroeien counts them: duplicates (same applicant, same child) as one,
    that one as the first request's dimensions with the best status of the group and the
    largest number of children given."""
    groups: dict[tuple[str, str], list[Request]] = {}
    for r in requests:
        key = (r.applicant, r.child) if r.child is not None else ("request", str(r.id))
        groups.setdefault(key, []).append(r)
    out = []
    for group in groups.values():
        group.sort(key=lambda r: r.order)
        status = min((r.status for r in group), key=lambda s: _RANK.get(s, 2))
        out.append(Counted(facts=group[0].facts, children=max(r.children for r in group),
                           status=status, unanswered=status not in NOT_UNANSWERED))
    out.sort(key=lambda c: str(c.facts.get("month", "")))
    return out


def totals(counted: Iterable[Counted]) -> tuple[int, int]:
    """(requests, unanswered requests), each child counted."""
    requests = unanswered = 0
    for c in counted:
        requests += c.children
        unanswered += c.children if c.unanswered else 0
    return requests, unanswered


def moment_order(moment: date | None, request_id: int) -> tuple[Any, ...]:
    """The sort key of a request: undated ones last, then by id."""
    return (moment is None, moment.isoformat() if moment else "", request_id)
