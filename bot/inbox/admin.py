"""Admin pages: free places (optimistic version check), staff accounts, the audit log."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import func, or_, select

from bot.db import session_scope
from bot.handoff import AuditEntry, StaffUser, audit
from bot.inbox import auth
from bot.inbox.html import el, hidden, join, post_form, table
from bot.inbox.texts import has, st
from bot.inbox.views import blocking, error_note, lang_of, layout, see_other, when
from bot.places.models import Availability, CareLocation
from bot.places.store import ConcurrentUpdateError, UnknownAvailabilityError, update_free_places

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
            "id": a.id, "name": loc.name, "municipality": loc.municipality,
            "care_type": loc.care_type, "kind": a.kind, "from": a.date_from.isoformat(),
            "to": a.date_to.isoformat() if a.date_to else "", "places": a.places,
            "version": a.version, "updated_by": a.updated_by or "",
        } for a, loc in rows]}


async def places_page(request: web.Request, message: str | None = None,
                      status: int = 200) -> web.Response:
    lang = lang_of(request)
    source = request.query if message is None else await request.post()
    municipality = str(source.get("municipality", ""))[:80]
    page = max(int(str(source.get("page", "0"))) if str(source.get("page", "0")).isdigit()
               else 0, 0)
    data = await blocking(_places, municipality, page, date.today())
    csrf = request["csrf"]
    filter_form = el("form",
                     el("label", st("places.municipality", lang), for_="municipality"), " ",
                     el("select", el("option", st("places.all", lang), value=""),
                        [el("option", m, value=m, selected=m == municipality)
                         for m in data["municipalities"]], name="municipality",
                        id="municipality"), " ",
                     el("button", st("places.filter", lang), type="submit"),
                     method="get", action="/inbox/admin/places", class_="inline")
    rows = []
    for r in data["rows"]:
        label = st("places.input_label", lang, name=r["name"], start=r["from"])
        care_type = (st(f"care_type.{r['care_type']}", lang)
                     if has(f"care_type.{r['care_type']}", lang) else r["care_type"])
        rows.append([r["name"], r["municipality"], care_type,
                     st(f"places.kind.{r['kind']}", lang), r["from"], r["to"] or "—",
                     post_form(f"/inbox/admin/places/{r['id']}", csrf,
                               hidden("version", r["version"]),
                               hidden("municipality", municipality), hidden("page", page),
                               el("input", type="number", name="places", min="0", max="999",
                                  value=r["places"], aria_label=label, class_="num",
                                  required=True), " ",
                               el("button", st("places.save", lang), type="submit"),
                               class_="inline"),
                     r["updated_by"]])
    headers = [st(f"places.col.{c}", lang) for c in
               ("name", "municipality", "care_type", "kind", "from", "to", "places",
                "updated_by")]
    pages = []
    if page > 0:
        pages.append(el("a", st("places.previous", lang), href="/inbox/admin/places?"
                        + urlencode({"municipality": municipality, "page": page - 1})))
    if (page + 1) * PAGE < data["total"]:
        pages.append(el("a", st("places.next", lang), href="/inbox/admin/places?"
                        + urlencode({"municipality": municipality, "page": page + 1})))
    return layout(request, st("places.title", lang),
                  error_note(message) if message else None,
                  el("p", st("places.help", lang)), filter_form,
                  table(headers, rows, caption=st("places.caption", lang, n=data["total"])),
                  el("nav", pages, class_="pages", aria_label=st("places.pages", lang)),
                  status=status)


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
    csrf = request["csrf"]
    users = await blocking(_users, lang)
    rows = [[u["username"], st(f"role.{u['role']}", lang), u["language"],
             u["locked"] or "—",
             post_form(f"/inbox/admin/users/{u['id']}/unlock", csrf,
                       el("button", st("users.unlock", lang), type="submit"))
             if u["locked"] or u["failed"] else "",
             post_form(f"/inbox/admin/users/{u['id']}/password", csrf,
                       el("input", type="password", name="password", autocomplete="new-password",
                          minlength=auth.MIN_PASSWORD, required=True,
                          aria_label=st("users.new_password_for", lang, user=u["username"])),
                       " ", el("button", st("users.set_password", lang), type="submit"),
                       class_="inline"),
             _active_form(u, csrf, lang, request["user"]["username"])] for u in users]
    headers = [st(f"users.col.{c}", lang) for c in
               ("username", "role", "language", "locked", "unlock", "password", "active")]
    create = post_form(
        "/inbox/admin/users", csrf,
        el("h2", st("users.create", lang)),
        el("p", el("label", st("users.username", lang), for_="new-username"), " ",
           el("input", id="new-username", name="username", required=True,
              autocomplete="off")),
        el("p", el("label", st("users.password", lang, n=auth.MIN_PASSWORD),
                   for_="new-password"), " ",
           el("input", id="new-password", name="password", type="password", required=True,
              minlength=auth.MIN_PASSWORD, autocomplete="new-password")),
        el("p", el("label", st("users.role", lang), for_="new-role"), " ",
           el("select", [el("option", st(f"role.{r}", lang), value=r) for r in auth.ROLES],
              name="role", id="new-role"), " ",
           el("label", st("users.language", lang), for_="new-language"), " ",
           el("select", el("option", "Nederlands", value="nl"),
              el("option", "English", value="en"), name="language", id="new-language")),
        el("p", el("button", st("users.create_submit", lang), type="submit")))
    return layout(request, st("users.title", lang), error_note(message) if message else None,
                  table(headers, rows, caption=st("users.caption", lang)), create,
                  status=status)


def _active_form(user: dict[str, Any], csrf: str, lang: str, me: str) -> Any:
    if user["username"] == me:  # an admin does not lock themselves out
        return st("users.active_yes", lang)
    return join(st("users.active_yes" if user["active"] else "users.active_no", lang), " ",
                post_form(f"/inbox/admin/users/{user['id']}/active", csrf,
                          hidden("active", "0" if user["active"] else "1"),
                          el("button", st("users.deactivate" if user["active"]
                                          else "users.reactivate", lang), type="submit"),
                          class_="inline"))


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
    form = el("form",
              el("label", st("audit.action", lang), for_="audit-action"), " ",
              el("select", el("option", st("audit.all", lang), value=""),
                 [el("option", a, value=a, selected=a == action) for a in actions],
                 name="action", id="audit-action"), " ",
              el("label", st("audit.worker", lang), for_="audit-worker"), " ",
              el("input", name="worker", id="audit-worker", value=worker), " ",
              el("button", st("audit.filter", lang), type="submit"),
              method="get", action="/inbox/admin/audit", class_="inline")
    headers = [st(f"audit.col.{c}", lang) for c in ("at", "worker", "action", "target",
                                                    "detail")]
    return layout(request, st("audit.title", lang), form,
                  table(headers, rows, caption=st("audit.caption", lang)))
