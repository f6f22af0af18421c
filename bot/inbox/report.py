"""The report for the municipality: care requests (counted as Opgroeien counts loket requests,
bot/intake/counting.py), the unanswered ones, and searches that found no place, per month,
municipality, age group, care type and reason, next to today's free places, and how families
who asked for a person were served (``bot.handoff.figures``). Counts only, no person. The
page is templates/report.html."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select

from bot import handoff
from bot.db import session_scope
from bot.inbox.html import bar_chart
from bot.inbox.texts import has, st
from bot.inbox.views import blocking, lang_of, render
from bot.intake import counting
from bot.intake.models import CareRequest
from bot.places.models import Availability, CareLocation, UnmetNeed
from bot.places.search import age_in_months

DIMENSIONS = ("month", "municipality", "age_group", "care_type", "reason")
UNKNOWN = "unknown"


def age_group(months: int | None, unborn: bool = False) -> str:
    if unborn:
        return "unborn"
    if months is None:
        return UNKNOWN
    if months < 12:
        return "0_11"
    if months < 24:
        return "12_23"
    if months < 36:
        return "24_35"
    return "36_plus"


def _iso(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _month(moment: datetime | date | None) -> str:
    return moment.strftime("%Y-%m") if moment else UNKNOWN


def request_rows(session, since: str, until: str) -> list[dict[str, Any]]:
    """One row per registered request as Opgroeien counts it: its dimensions, ``children``
    (what it weighs: twins 2) and ``unanswered``. Duplicates are found over all requests, so
    a family asking again in April for the child of a March request adds nothing to April."""
    requests = []
    for r in session.execute(select(CareRequest).where(CareRequest.status != "draft")).scalars():
        moment = r.confirmed_at or r.created_at
        month = _month(moment)
        fields = r.fields or {}
        birth, start = _iso(fields.get("child_birth")), _iso(fields.get("start"))
        on = start or (moment.date() if moment else date.today())
        group = age_group(None)
        if birth is not None:
            group = age_group(None, unborn=True) if birth > on else age_group(
                age_in_months(birth, on))
        location = fields.get("location") or {}
        requests.append(counting.Request(
            id=r.id, applicant=counting.applicant_key(r.sender_id, fields),
            child=counting.child_key(fields), status=r.status, children=r.children or 1,
            order=counting.moment_order(moment, r.id),
            facts={"month": month, "municipality": location.get("municipality") or UNKNOWN,
                   "age_group": group, "care_type": fields.get("care_type") or UNKNOWN,
                   "reason": _reasons(fields.get("reason"))}))
    rows = []
    for c in counting.count(requests):
        month = c.facts["month"]
        if (since and month < since) or (until and month > until):
            continue
        rows.append({**c.facts, "children": c.children, "unanswered": c.unanswered})
    return rows


def _reasons(value: Any) -> tuple[str, ...]:
    """A request may have several reasons (work and Dutch lessons): it counts under each."""
    if isinstance(value, list):
        return tuple(str(v) for v in value) or (UNKNOWN,)
    return (str(value),) if value else (UNKNOWN,)


def unmet_rows(session, since: str, until: str) -> list[dict[str, str]]:
    rows = []
    for n in session.execute(select(UnmetNeed)).scalars():
        month = _month(n.created_at)
        if (since and month < since) or (until and month > until):
            continue
        rows.append({"month": month, "municipality": n.municipality or UNKNOWN,
                     "age_group": age_group(n.child_age_months),
                     "care_type": n.care_type or UNKNOWN, "reason": UNKNOWN})
    return rows


def free_places(session, today: date) -> dict[str, Counter]:
    """Free places today per municipality and per care type of the location."""
    query = (select(CareLocation.municipality, CareLocation.care_type,
                    func.sum(Availability.places))
             .join(CareLocation, Availability.location_id == CareLocation.id)
             .where(CareLocation.active.is_(True), Availability.date_from <= today,
                    or_(Availability.date_to.is_(None), Availability.date_to >= today))
             .group_by(CareLocation.municipality, CareLocation.care_type))
    out = {"municipality": Counter(), "care_type": Counter()}
    for municipality, care_type, places in session.execute(query):
        out["municipality"][municipality] += int(places or 0)
        out["care_type"][care_type] += int(places or 0)
    return out


def _values(row: dict[str, Any], dim: str) -> tuple[str, ...]:
    value = row[dim]
    return value if isinstance(value, tuple) else (value,)


def build(since: str = "", until: str = "", today: date | None = None) -> dict[str, Any]:
    """Per dimension: [(value, requests, unanswered requests, searches without a place,
    free places or None)]; a request counts its children (twins: 2)."""
    with session_scope() as session:
        requests = request_rows(session, since, until)
        unmet = unmet_rows(session, since, until)
        places = free_places(session, today or date.today())
    out: dict[str, Any] = {
        "requests": sum(r["children"] for r in requests),
        "unanswered": sum(r["children"] for r in requests if r["unanswered"]),
        "unmet": len(unmet), "dimensions": {}}
    for dim in DIMENSIONS:
        req: Counter[str] = Counter()
        open_: Counter[str] = Counter()
        for r in requests:
            for v in _values(r, dim):
                req[v] += r["children"]
                open_[v] += r["children"] if r["unanswered"] else 0
        need = Counter(n[dim] for n in unmet)
        free = places.get(dim)
        values = set(req) | set(need) | (set(free) if free else set())
        if dim == "reason" and not req.get(UNKNOWN):
            values.discard(UNKNOWN)  # unmet needs have no reason: not "unknown" for them
        order = sorted(values) if dim == "month" else sorted(
            values, key=lambda v: (-(req[v] + need[v]), v))
        out["dimensions"][dim] = [(v, req[v], open_[v], need[v],
                                   free[v] if free is not None else None) for v in order]
    return out


CROSS = ("municipality", "care_type", "reason")  # the rows; the months are the columns


def cross_table(since: str = "", until: str = "") -> dict[str, Any]:
    """Requests, unanswered requests and searches without a place by municipality × care
    type × reason (rows) × month (columns): {"months": [...], "rows": [((m, c, r), {month:
    (requests, unanswered, unmet)})]}. A request with two reasons counts under each, with its
    children; a search has no reason (unknown)."""
    with session_scope() as session:
        requests = request_rows(session, since, until)
        unmet = unmet_rows(session, since, until)
    cells: dict[tuple[str, str, str], dict[str, list[int]]] = {}
    months: set[str] = set()
    for kind, rows in ((0, requests), (2, unmet)):
        for r in rows:
            for reason in _values(r, "reason"):
                key = (r["municipality"], r["care_type"], reason)
                cell = cells.setdefault(key, {}).setdefault(r["month"], [0, 0, 0])
                if kind == 0:
                    cell[0] += r["children"]
                    cell[1] += r["children"] if r["unanswered"] else 0
                else:
                    cell[2] += 1
                months.add(r["month"])
    ordered = sorted(months)
    rows_out = [(key, {m: tuple(v) for m, v in by_month.items()})
                for key, by_month in sorted(cells.items())]
    return {"months": ordered, "rows": rows_out}


def label(dim: str, value: str, lang: str) -> str:
    if value == UNKNOWN:
        return st("report.unknown", lang)
    key = {"age_group": f"age.{value}", "care_type": f"care_type.{value}",
           "reason": f"request_reason.{value}"}.get(dim)
    return st(key, lang) if key and has(key, lang) else value


def _period(request: web.Request) -> tuple[str, str]:
    def month(text: str) -> str:
        return text if len(text) == 7 and text[4] == "-" and text.replace("-", "").isdigit() \
            else ""
    return month(request.query.get("from", "")), month(request.query.get("to", ""))


async def report_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    since, until = _period(request)
    data = await blocking(build, since, until)
    sections = []
    series = [st("report.requests", lang), st("report.unanswered", lang),
              st("report.unmet", lang)]
    for dim in DIMENSIONS:
        rows = data["dimensions"][dim]
        has_free = any(r[4] is not None for r in rows)
        headers = [st(f"report.dim.{dim}", lang), *series]
        if has_free:
            headers.append(st("report.free_places", lang))
        chart_rows = [(label(dim, v, lang), [float(a), float(b), float(c)] + (
                          [float(d or 0)] if has_free else [])) for v, a, b, c, d in rows]
        title = st(f"report.by.{dim}", lang)
        sections.append({
            "title": title, "headers": headers,
            # the chart is inline SVG built (and escaped) by bot/inbox/html.py
            "chart": bar_chart(chart_rows, title=title, series=series + (
                [st("report.free_places", lang)] if has_free else [])),
            "rows": [[label(dim, v, lang), a, b, c] + ([d if d is not None else "—"]
                                                       if has_free else [])
                     for v, a, b, c, d in rows]})
    figures = await blocking(handoff.figures, since, until)
    cross = await blocking(cross_table, since, until)
    cross_rows = [([label(d, v, lang) for d, v in zip(CROSS, key, strict=True)],
                   [by_month.get(m, (0, 0, 0)) for m in cross["months"]])
                  for key, by_month in cross["rows"]]
    return render(request, "report.html", st("report.title", lang), since=since, until=until,
                  data=data, sections=sections, figures=figures, minutes=_minutes,
                  cross_months=cross["months"], cross_rows=cross_rows, cross_dims=CROSS)


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _cell(value: str) -> str:
    """No formulas when the CSV is opened in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


async def report_csv(request: web.Request) -> web.Response:
    since, until = _period(request)
    data = await blocking(build, since, until)
    out = io.StringIO()
    writer = csv.writer(out)
    # unanswered_requests last: the older columns keep their place for scripts reading them
    writer.writerow(["dimension", "value", "requests", "unmet_needs", "free_places_today",
                     "unanswered_requests"])
    for dim in DIMENSIONS:
        for value, req, unanswered, need, free in data["dimensions"][dim]:
            writer.writerow([dim, _cell(value), req, need, "" if free is None else free,
                             unanswered])
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="report.csv"'})


async def report_excel(request: web.Request) -> web.Response:
    """The same figures for a spreadsheet as Belgian Excel opens a CSV by double-click:
    ``;`` between columns, a UTF-8 byte order mark (else "é" comes out garbled), labels in
    the worker's language instead of codes. ``report.csv`` stays the machine-readable one."""
    lang = lang_of(request)
    since, until = _period(request)
    data = await blocking(build, since, until)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([st("report_excel.dimension", lang), st("report_excel.value", lang),
                     st("report.requests", lang), st("report.unanswered", lang),
                     st("report.unmet", lang), st("report.free_places", lang)])
    for dim in DIMENSIONS:
        for value, req, unanswered, need, free in data["dimensions"][dim]:
            writer.writerow([st(f"report.dim.{dim}", lang), _cell(label(dim, value, lang)),
                             req, unanswered, need, "" if free is None else free])
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"),
                        content_type="text/csv", charset="utf-8", headers={
                            "Content-Disposition": 'attachment; filename="rapport.csv"'})


async def report_cross_csv(request: web.Request) -> web.Response:
    """The cross-table for Belgian Excel: one line per municipality × care type × reason,
    per month three columns (requests, unanswered, searches without a place); ``;``, UTF-8
    BOM, labels."""
    lang = lang_of(request)
    since, until = _period(request)
    cross = await blocking(cross_table, since, until)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow([st(f"report.dim.{d}", lang) for d in CROSS] + [
        f"{m} {st(name, lang)}" for m in cross["months"]
        for name in ("report.requests", "report.unanswered", "report.unmet")])
    for key, by_month in cross["rows"]:
        writer.writerow([_cell(label(d, v, lang)) for d, v in zip(CROSS, key, strict=True)] + [
            n for m in cross["months"] for n in by_month.get(m, (0, 0, 0))])
    return web.Response(body=("\ufeff" + out.getvalue()).encode("utf-8"),
                        content_type="text/csv", charset="utf-8", headers={
                            "Content-Disposition": 'attachment; filename="kruistabel.csv"'})
