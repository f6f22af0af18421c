"""Admin pages: free places (optimistic version check), staff accounts, the audit log.
The HTML is in templates/places.html, users.html, audit.html."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import func, or_, select

from bot.db import session_scope
from bot.handoff import AuditEntry, StaffUser, audit
from bot.inbox import auth
from bot.inbox.texts import st
from bot.inbox.views import blocking, lang_of, render, see_other, when
from bot.places import csv_io
from bot.places.models import (
    CARE_TYPES,
    KINDS,
    Availability,
    CareLocation,
    Organisation,
    weekday_names,
)
from bot.places.store import (
    ConcurrentUpdateError,
    PeriodError,
    UnknownAvailabilityError,
    change_period_dates,
    update_free_places,
)

PAGE = 40


# --- free places ---------------------------------------------------------------------------

def _places(municipality: str, page: int, today: date) -> dict[str, Any]:
    with session_scope() as session:
        municipalities = [m for (m,) in session.execute(
            select(CareLocation.municipality).distinct().order_by(CareLocation.municipality))]
        query = (select(Availability, CareLocation)
                 .join(CareLocation, Availability.location_id == CareLocation.id)
                 .where(or_(Availability.date_to.is_(None), Availability.date_to >= today)))
        if municipality:
            query = query.where(CareLocation.municipality == municipality)
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar()
        rows = session.execute(query.order_by(CareLocation.municipality, CareLocation.name,
                                              Availability.date_from)
                               .limit(PAGE).offset(page * PAGE)).all()
        return {"municipalities": municipalities, "total": total, "rows": [{
            "id": a.id, "location_id": loc.id, "name": loc.name,
            "municipality": loc.municipality,
            "care_type": loc.care_type, "kind": a.kind, "from": a.date_from.isoformat(),
            "to": a.date_to.isoformat() if a.date_to else "", "places": a.places,
            "version": a.version, "updated_by": a.updated_by or "",
        } for a, loc in rows]}


async def places_page(request: web.Request, message: str | None = None,
                      status: int = 200, import_errors: list[dict[str, Any]] | None = None,
                      import_result: dict[str, int] | None = None,
                      add_errors: list[str] | None = None,
                      add_form: dict[str, Any] | None = None) -> web.Response:
    lang = lang_of(request)
    posted = message is not None or import_result is not None
    source = await request.post() if posted else request.query
    municipality = str(source.get("municipality", ""))[:80]
    page = max(int(str(source.get("page", "0"))) if str(source.get("page", "0")).isdigit()
               else 0, 0)
    data = await blocking(_places, municipality, page, date.today())
    locations = await blocking(_locations)

    def link(to: int) -> str:
        return "/inbox/admin/places?" + urlencode({"municipality": municipality, "page": to})

    return render(request, "places.html", st("places.title", lang), status=status,
                  message=message, municipality=municipality, page=page, **data,
                  import_errors=import_errors or [], import_result=import_result,
                  max_import_kb=MAX_IMPORT // 1024, locations=locations, kinds=KINDS,
                  add_errors=add_errors or [], add_form=add_form or {},
                  previous=link(page - 1) if page > 0 else None,
                  next=link(page + 1) if (page + 1) * PAGE < data["total"] else None)


def _update(availability_id: int, places: int, version: int, worker: str) -> tuple[str, Any]:
    try:
        with session_scope() as session:
            row = session.get(Availability, availability_id)
            old = row.places if row is not None else None
            update_free_places(session, availability_id, places, expected_version=version,
                               updated_by=worker)
            audit(session, worker, "places_updated", f"availability:{availability_id}",
                  f"{old}->{places}")
            return "ok", None
    except ConcurrentUpdateError:
        with session_scope() as session:
            row = session.get(Availability, availability_id)
            return "conflict", (row.places if row is not None else None)
    except UnknownAvailabilityError:
        return "unknown", None
    except ValueError:
        return "invalid", None


async def places_update(request: web.Request) -> web.Response:
    lang = lang_of(request)
    form = await request.post()
    try:
        aid = int(request.match_info["id"])
        places = int(str(form.get("places", "")))
        version = int(str(form.get("version", "")))
    except ValueError:
        return await places_page(request, st("places.invalid", lang), 400)
    if not 0 <= places <= 999:
        return await places_page(request, st("places.invalid", lang), 400)
    result, current = await blocking(_update, aid, places, version, request["user"]["username"])
    if result == "conflict":
        return await places_page(request, st("places.conflict", lang, places=current
                                              if current is not None else "—"), 409)
    if result != "ok":
        return await places_page(request, st("places.invalid", lang), 400)
    municipality = str(form.get("municipality", ""))
    page = str(form.get("page", "0"))
    return see_other("/inbox/admin/places?" + urlencode(
        {"municipality": municipality, "page": page if page.isdigit() else "0"}),
        "places_updated")


def _locations() -> list[dict[str, Any]]:
    with session_scope() as session:
        return [{"id": loc.id, "name": loc.name, "municipality": loc.municipality}
                for loc in session.execute(select(CareLocation).where(
                    CareLocation.active.is_(True)).order_by(CareLocation.municipality,
                                                           CareLocation.name)).scalars()]


def check_period(form: Any, today: date) -> tuple[dict[str, Any], list[str]]:
    """A new availability period from the page's form, and what is wrong with it (the
    staff text keys of the fields): the importer's date and weekday rules."""
    errors: list[str] = []
    value: dict[str, Any] = {}
    try:
        value["location_id"] = int(str(form.get("location", "")))
    except ValueError:
        errors.append("location")
    try:
        value["date_from"] = csv_io.parse_date(str(form.get("from", "")), today)
    except ValueError:
        errors.append("from")
    to = str(form.get("to", "")).strip()
    try:
        value["date_to"] = csv_io.parse_date(to, today) if to else None
    except ValueError:
        errors.append("to")
    if value.get("date_to") and value.get("date_from") and value["date_to"] < value["date_from"]:
        errors.append("to_before_from")
    try:
        value["weekdays"] = csv_io.parse_weekdays(str(form.get("weekdays", "")))
    except ValueError:
        errors.append("weekdays")
    places = str(form.get("places", "")).strip()
    if places.isdigit() and 0 <= int(places) <= 999:
        value["places"] = int(places)
    else:
        errors.append("places")
    kind = str(form.get("kind", ""))
    if kind in KINDS:
        value["kind"] = kind
    else:
        errors.append("kind")
    return value, errors


def _add_period(value: dict[str, Any], worker: str) -> bool:
    with session_scope() as session:
        location = session.get(CareLocation, value["location_id"])
        if location is None:
            return False
        row = Availability(**value, updated_by=worker)
        session.add(row)
        session.flush()
        audit(session, worker, "places_added", f"availability:{row.id}",
              f"{location.name}: {row.places} from {row.date_from.isoformat()}")
        return True


async def places_add(request: web.Request) -> web.Response:
    """A new period of free places for a location, checked field by field."""
    lang = lang_of(request)
    form = await request.post()
    value, errors = check_period(form, date.today())
    if not errors and not await blocking(_add_period, value, request["user"]["username"]):
        errors = ["location"]
    if errors:
        return await places_page(request, st("places_add.invalid", lang), 400,
                                 add_errors=errors, add_form=dict(form))
    return see_other("/inbox/admin/places", "places_updated")


def _period(availability_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        a = session.get(Availability, availability_id)
        if a is None:
            return None
        loc = a.location
        return {"id": a.id, "name": loc.name, "municipality": loc.municipality,
                "kind": a.kind, "weekdays": weekday_names(a.weekdays),  # the page names them
                "places": a.places, "version": a.version, "from": a.date_from.isoformat(),
                "to": a.date_to.isoformat() if a.date_to else ""}


async def period_page(request: web.Request, errors: list[str] | None = None,
                      form: dict[str, str] | None = None, status: int = 200,
                      availability_id: int | None = None) -> web.Response:
    """An existing period's dates (``?id=``), to change them."""
    lang = lang_of(request)
    if availability_id is None:
        raw = request.query.get("id", "")
        availability_id = int(raw) if raw.isdigit() else None
    period = await blocking(_period, availability_id) if availability_id else None
    if period is None:
        raise web.HTTPNotFound()
    period = {**period, "weekdays": " ".join(st(f"places_period.day.{d}", lang)
                                             for d in period["weekdays"])}
    if form:  # what she typed stays; the version stays the one she saw
        period = {**period, "from": form.get("from", ""), "to": form.get("to", ""),
                  "version": form.get("version", period["version"])}
    return render(request, "period.html", st("places_period.title", lang), status=status,
                  period=period, errors=errors or [])


PERIOD_ERRORS = ("from", "to", "to_before_from", "duplicate", "conflict")


def _change_dates(availability_id: int, date_from: date, date_to: date | None, version: int,
                  worker: str) -> str:
    try:
        with session_scope() as session:
            row = session.get(Availability, availability_id)
            old = f"{row.date_from}..{row.date_to or ''}" if row is not None else ""
            change_period_dates(session, availability_id, date_from, date_to,
                                expected_version=version, updated_by=worker)
            audit(session, worker, "period_changed", f"availability:{availability_id}",
                  f"{old}->{date_from}..{date_to or ''}")
            return "ok"
    except PeriodError as exc:
        return exc.code
    except ConcurrentUpdateError:
        return "conflict"
    except UnknownAvailabilityError:
        return "unknown"


async def period_save(request: web.Request) -> web.Response:
    """New dates for a period: the same date rules as adding one, the version check of the
    places, and no second identical period of the location (bot/places/store.py)."""
    form = await request.post()
    raw_id, raw_version = str(form.get("id", "")), str(form.get("version", ""))
    if not raw_id.isdigit() or not raw_version.isdigit():
        raise web.HTTPBadRequest()
    aid, version = int(raw_id), int(raw_version)
    typed = {k: str(form.get(k, "")).strip()[:40] for k in ("from", "to", "version")}
    errors: list[str] = []
    today = date.today()
    date_from: date | None = None
    date_to: date | None = None
    try:
        date_from = csv_io.parse_date(typed["from"], today)
    except ValueError:
        errors.append("from")
    try:
        date_to = csv_io.parse_date(typed["to"], today) if typed["to"] else None
    except ValueError:
        errors.append("to")
    if not errors and date_from is not None:
        result = await blocking(_change_dates, aid, date_from, date_to, version,
                                request["user"]["username"])
        if result == "unknown":
            raise web.HTTPNotFound()
        if result == "ok":
            return see_other("/inbox/admin/places", "places_updated")
        errors.append(result)
    status = 409 if errors == ["conflict"] else 400
    return await period_page(request, errors, typed, status, aid)


# the location fields the page edits (the opening hours and flags come in the CSV)
LOCATION_FIELDS = ("location_ref", "organisation", "name", "care_type", "pricing", "address",
                   "postcode", "municipality", "phone", "email", "languages",
                   "min_age_months", "max_age_months", "capacity")
_KEPT = ("hours_mon", "hours_tue", "hours_wed", "hours_thu", "hours_fri", "hours_sat",
         "hours_sun", "opens_early", "closes_late", "weekend", "night", "inclusive",
         "fictional")


def _location_form(location_id: int | None) -> dict[str, str] | None:
    """The form's values for a location (empty for a new one); None if it is unknown."""
    if location_id is None:
        return {}
    with session_scope() as session:
        loc = session.get(CareLocation, location_id)
        if loc is None:
            return None
        values = {"location_ref": loc.ref, "organisation": loc.organisation.name
                  if loc.organisation else ""}
        for field in LOCATION_FIELDS[2:] + _KEPT:
            value = getattr(loc, field)
            values[field] = ("true" if value else "false") if isinstance(value, bool) else \
                ("" if value is None else str(value))
        return values


def _save_location(location_id: int | None, raw: dict[str, str], worker: str
                   ) -> tuple[int | None, list[dict[str, Any]]]:
    """Checked with the CSV importer's rules for one line (bot/places/csv_io.py); a new
    location, or the edited one (its availability untouched)."""
    current = _location_form(location_id)
    if current is None:
        return None, [{"column": "location_ref", "code": "missing_value", "value": ""}]
    values = {**{k: current.get(k, "") for k in _KEPT}, **raw}
    if location_id is not None:
        values["location_ref"] = current["location_ref"]  # the CSV's key stays
    parser = csv_io._RowParser(date.today())
    row = parser.parse(1, values)
    if row is None:
        return None, [e.as_dict() for e in parser.errors]
    with session_scope() as session:
        taken = session.execute(select(CareLocation.id).where(
            CareLocation.ref == row.location["ref"])).scalar()
        if taken is not None and taken != location_id:
            return None, [{"column": "location_ref", "code": "ref_taken",
                           "value": row.location["ref"]}]
        organisation = None
        if row.organisation:
            organisation = session.execute(select(Organisation).where(
                Organisation.name == row.organisation)).scalar_one_or_none()
            if organisation is None:
                organisation = Organisation(name=row.organisation)
                session.add(organisation)
        if location_id is None:
            loc = CareLocation(**row.location, organisation=organisation)
            session.add(loc)
        else:
            loc = session.get(CareLocation, location_id)
            for key, value in row.location.items():
                setattr(loc, key, value)
            loc.organisation = organisation
        session.flush()
        audit(session, worker, "location_saved", f"location:{loc.id}", loc.ref)
        return loc.id, []


async def location_page(request: web.Request, errors: list[dict[str, Any]] | None = None,
                        values: dict[str, str] | None = None, status: int = 200,
                        location_id: int | None = None) -> web.Response:
    """A location's details (``?id=``), or an empty form for a new one."""
    lang = lang_of(request)
    raw_id = request.query.get("id", "")
    if values is None:
        location_id = int(raw_id) if raw_id.isdigit() else None
        values = await blocking(_location_form, location_id)
        if values is None:
            raise web.HTTPNotFound()
    title = st("location.edit_title" if location_id else "location.new_title", lang)
    return render(request, "location.html", title, status=status, location_id=location_id,
                  values=values, errors={e["column"]: e for e in errors or []},
                  fields=LOCATION_FIELDS, care_types=CARE_TYPES)


async def location_save(request: web.Request) -> web.Response:
    form = await request.post()
    raw_id = str(form.get("id", ""))
    location_id = int(raw_id) if raw_id.isdigit() else None
    raw = {k: str(form.get(k, ""))[:200] for k in LOCATION_FIELDS}
    saved, errors = await blocking(_save_location, location_id, raw,
                                   request["user"]["username"])
    if errors:
        return await location_page(request, errors, raw, 400, location_id)
    return see_other(f"/inbox/admin/places/location?id={saved}", "places_updated")


MAX_IMPORT = 200 * 1024  # bytes: a loket's whole region is a few hundred lines


def _import(text: str, worker: str) -> tuple[dict[str, int] | None, list[dict[str, Any]]]:
    """(what the import changed, None on errors) and the errors, line by line. One
    transaction: a single bad line and nothing is written (bot/places/csv_io.py)."""
    try:
        with session_scope() as session:
            result = csv_io.import_csv(session, io.StringIO(text))
            audit(session, worker, "places_imported", None,
                  ", ".join(f"{k}={v}" for k, v in result.as_dict().items() if v))
            return result.as_dict(), []
    except csv_io.CsvImportError as exc:
        return None, [e.as_dict() for e in exc.errors]


def _commas(text: str) -> str:
    """Belgian Excel saves "CSV" with semicolons; the importer reads commas."""
    header = text.split("\n", 1)[0]
    if header.count(";") <= header.count(","):
        return text
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(csv.reader(io.StringIO(text), delimiter=";"))
    return out.getvalue()


async def places_import(request: web.Request) -> web.Response:
    """A CSV of locations and availability (data/places/README.md) uploaded on the page."""
    lang = lang_of(request)
    form = await request.post()
    upload = form.get("file")
    raw = upload.file.read(MAX_IMPORT + 1) if isinstance(upload, web.FileField) else b""
    if not raw or len(raw) > MAX_IMPORT:
        return await places_page(request, st("places_import.empty", lang,
                                             kb=MAX_IMPORT // 1024), 400)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # Excel's "CSV" without UTF-8 is Windows-1252
        text = raw.decode("cp1252", errors="replace")
    result, errors = await blocking(_import, _commas(text), request["user"]["username"])
    if errors:
        return await places_page(request, st("places_import.failed", lang, n=len(errors)),
                                 400, import_errors=errors)
    return await places_page(request, None, 200, import_result=result)


# --- staff accounts ------------------------------------------------------------------------

def _users(lang: str) -> list[dict[str, Any]]:
    with session_scope() as session:
        now = datetime.now(timezone.utc)
        return [{"id": u.id, "username": u.username, "role": u.role, "language": u.language,
                 "locked": when(u.locked_until, lang)
                 if (auth.aware(u.locked_until) or now) > now else "",
                 "failed": u.failed_logins, "active": bool(u.active)}
                for u in session.execute(select(StaffUser).order_by(StaffUser.username))
                .scalars()]


async def users_page(request: web.Request, message: str | None = None,
                     status: int = 200) -> web.Response:
    lang = lang_of(request)
    users = await blocking(_users, lang)
    return render(request, "users.html", st("users.title", lang), status=status,
                  message=message, users=users, roles=auth.ROLES,
                  min_password=auth.MIN_PASSWORD)


async def users_active(request: web.Request) -> web.Response:
    """Deactivate an account (its sessions end at once) or reactivate it."""
    uid = _uid(request)
    form = await request.post()
    active = str(form.get("active", "")) == "1"
    me = request["user"]["username"]

    def change() -> str | None:
        with session_scope() as session:
            user = session.get(StaffUser, uid)
            if user is None:
                return "unknown"
            if user.username == me:
                return "self"
            auth.set_active(session, user, active, me)
            return None

    error = await blocking(change)
    if error == "unknown":
        raise web.HTTPNotFound()
    if error == "self":
        return await users_page(request, st("users.not_yourself", lang_of(request)), 400)
    return see_other("/inbox/admin/users", "reactivated" if active else "deactivated")


async def users_create(request: web.Request) -> web.Response:
    lang = lang_of(request)
    form = await request.post()
    me = request["user"]["username"]

    def create() -> str | None:
        try:
            with session_scope() as session:
                auth.create_user(session, str(form.get("username", "")),
                                 str(form.get("password", "")),
                                 role=str(form.get("role", "worker")),
                                 language=str(form.get("language", "nl")), by=me)
        except auth.AccountError as exc:
            return exc.code
        return None

    error = await blocking(create)
    if error:
        return await users_page(request, st(f"account.{error}", lang, n=auth.MIN_PASSWORD),
                                400)
    return see_other("/inbox/admin/users", "user_created")


def _user_change(user_id: int, me: str, password: str | None) -> str | None:
    try:
        with session_scope() as session:
            user = session.get(StaffUser, user_id)
            if user is None:
                return "unknown"
            if password is None:
                auth.unlock(session, user, me)
            else:
                auth.set_password(session, user, password, me)
    except auth.AccountError as exc:
        return exc.code
    return None


async def users_unlock(request: web.Request) -> web.Response:
    uid = _uid(request)
    error = await blocking(_user_change, uid, request["user"]["username"], None)
    if error == "unknown":
        raise web.HTTPNotFound()
    return see_other("/inbox/admin/users", "unlocked")


async def users_password(request: web.Request) -> web.Response:
    lang = lang_of(request)
    uid = _uid(request)
    form = await request.post()
    error = await blocking(_user_change, uid, request["user"]["username"],
                           str(form.get("password", "")))
    if error == "unknown":
        raise web.HTTPNotFound()
    if error:
        return await users_page(request, st(f"account.{error}", lang, n=auth.MIN_PASSWORD),
                                400)
    return see_other("/inbox/admin/users", "password_set")


def _uid(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


# --- audit log -----------------------------------------------------------------------------

def _audit_rows(action: str, worker: str, lang: str) -> tuple[list[list[str]], list[str]]:
    with session_scope() as session:
        actions = [a for (a,) in session.execute(
            select(AuditEntry.action).distinct().order_by(AuditEntry.action))]
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(500)
        if action:
            query = query.where(AuditEntry.action == action)
        if worker:
            query = query.where(AuditEntry.worker == worker)
        rows = [[when(e.at, lang), e.worker or "—", e.action, e.target or "", e.detail or ""]
                for e in session.execute(query).scalars()]
        return rows, actions


async def audit_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    action = request.query.get("action", "")[:32]
    worker = request.query.get("worker", "")[:64]
    rows, actions = await blocking(_audit_rows, action, worker, lang)
    return render(request, "audit.html", st("audit.title", lang), rows=rows, actions=actions,
                  action=action, worker=worker)
