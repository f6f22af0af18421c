"""The inbox web application: routes, the login guard, CSRF and security headers.

Public: /inbox/login, /chat and its endpoints, /static/ (CSS and JS only) and /health.
Everything else under /inbox needs a session; /inbox/admin/ needs the admin role; every POST
under /inbox carries the session's CSRF token (form field ``csrf`` or header X-CSRF-Token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot import db, handoff
from bot.inbox import admin, auth, family, live, readable, report, views, webchat
from bot.inbox.texts import st

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_PORT = 5080
logger = logging.getLogger(__name__)

# The pages load only their own CSS and JS: no inline script, no other origin.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@web.middleware
async def security_headers(request: web.Request, handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _headers(request, response)
        raise
    _headers(request, response)
    return response


def _headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


def _denied(request: web.Request, status: int, key: str) -> web.Response:
    lang = views.language(request.query.get("lang"),
                          request["user"]["language"] if "user" in request else None)
    if request.path.startswith("/inbox/api/"):
        return web.json_response({"error": key}, status=status)
    return web.Response(text=st(f"denied.{key}", lang), status=status,
                        content_type="text/plain", charset="utf-8")


@web.middleware
async def guard(request: web.Request, handler) -> web.StreamResponse:
    path = request.path
    if not (path == "/inbox" or path.startswith("/inbox/")) or path == "/inbox/login":
        return await handler(request)
    signer: auth.Signer = request.app[views.SIGNER]
    # the session table, not the cookie, says who this is (logout holds across restarts)
    who = await views.blocking(auth.signed_in, request.cookies.get(views.COOKIE))
    if who is None:
        if request.method == "GET" and not path.startswith("/inbox/api/"):
            raise web.HTTPSeeOther("/inbox/login?" + _next(request))
        return _denied(request, 401, "login")
    user = {"username": who.username, "role": who.role, "language": who.language}
    request["user"] = user
    request["sid"] = who.sid
    request["csrf"] = signer.csrf(who.sid)
    if request.method not in ("GET", "HEAD"):
        token = request.headers.get("X-CSRF-Token")
        if token is None and request.content_type in ("application/x-www-form-urlencoded",
                                                      "multipart/form-data"):
            token = str((await request.post()).get("csrf", ""))
        if not signer.check_csrf(who.sid, token):
            return _denied(request, 403, "csrf")
    if path.startswith("/inbox/admin") and user["role"] != "admin":
        return _denied(request, 403, "role")
    return await handler(request)


def _next(request: web.Request) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": request.path_qs if request.path_qs.startswith("/inbox") else
                      "/inbox"})


async def health(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def root(_request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/inbox")


SWEEP_SECONDS = 30


async def _sweep_lapsed_claims(_app: web.Application) -> AsyncIterator[None]:
    """Claims nobody answers go back to the queue (bot/handoff.py ``expire_claims``)."""
    async def loop() -> None:
        while True:
            try:
                await asyncio.to_thread(handoff.expire_claims)
            except Exception:  # a database hiccup must not end the sweeping
                logger.exception("lapsed claims")
            await asyncio.sleep(SWEEP_SECONDS)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(background: bool = True) -> web.Application:
    app = web.Application(middlewares=[security_headers, guard], client_max_size=256 * 1024)
    # autoescape on for every template: a family's "<script>" is text, whatever the file name
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                               autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["ltr_numbers"] = readable.ltr_numbers
    app[views.SIGNER] = auth.Signer(auth.secret())
    app[webchat.LIMITS] = webchat.Limits()
    # behind a TLS proxy set INBOX_SECURE_COOKIES=1; plain http on loopback cannot use them
    app[views.SECURE_COOKIES] = os.environ.get("INBOX_SECURE_COOKIES") == "1"
    app[live.HUB] = live.Hub()
    if background:  # the lapsed-claims sweep and the live watcher
        app.cleanup_ctx.append(_sweep_lapsed_claims)
        app.cleanup_ctx.append(live.watch)
    r = app.router
    r.add_get("/", root)
    r.add_get("/health", health)
    r.add_get("/inbox/login", views.login_form)
    r.add_post("/inbox/login", views.login_submit)
    r.add_post("/inbox/logout", views.logout)
    r.add_post("/inbox/language", views.set_language)
    r.add_get("/inbox", views.queue_page)
    r.add_get("/inbox/api/queue", views.queue_api)
    r.add_get("/inbox/api/events", live.events)
    r.add_get(r"/inbox/c/{id}", views.conversation_page)
    r.add_get(r"/inbox/api/c/{id}", views.conversation_api)
    r.add_post(r"/inbox/c/{id}/claim", views.claim)
    r.add_post(r"/inbox/c/{id}/reply", views.reply)
    r.add_post(r"/inbox/c/{id}/finish", views.finish)
    r.add_post(r"/inbox/c/{id}/release", views.release)
    r.add_post(r"/inbox/c/{id}/reassign", views.reassign)
    r.add_post(r"/inbox/c/{id}/takeover", views.take_over)
    r.add_post(r"/inbox/c/{id}/note", views.add_note)
    r.add_post(r"/inbox/c/{id}/labels", views.set_labels)
    r.add_post(r"/inbox/requests/{id}/status", views.request_status)
    r.add_post(r"/inbox/requests/{id}/children", views.request_children)
    r.add_get("/inbox/report", report.report_page)
    r.add_get("/inbox/report.csv", report.report_csv)
    r.add_get("/inbox/report-excel.csv", report.report_excel)
    r.add_get("/inbox/report-cross.csv", report.report_cross_csv)
    r.add_get("/inbox/admin/places", admin.places_page)
    r.add_post("/inbox/admin/places/import", admin.places_import)
    r.add_post("/inbox/admin/places/add", admin.places_add)
    r.add_get("/inbox/admin/places/location", admin.location_page)
    r.add_post("/inbox/admin/places/location", admin.location_save)
    r.add_get("/inbox/admin/places/period", admin.period_page)
    r.add_post("/inbox/admin/places/period", admin.period_save)  # before {id} below
    r.add_post(r"/inbox/admin/places/{id}", admin.places_update)
    r.add_get("/inbox/admin/users", admin.users_page)
    r.add_post("/inbox/admin/users", admin.users_create)
    r.add_post(r"/inbox/admin/users/{id}/unlock", admin.users_unlock)
    r.add_post(r"/inbox/admin/users/{id}/password", admin.users_password)
    r.add_post(r"/inbox/admin/users/{id}/active", admin.users_active)
    r.add_get("/inbox/admin/audit", admin.audit_page)
    r.add_get(family.PATH, family.family_page)
    r.add_get(family.PATH + "/export", family.family_export)
    r.add_post(family.PATH + "/delete", family.family_delete)
    r.add_get("/chat", webchat.chat_page)
    r.add_post("/chat/send", webchat.chat_send)
    r.add_get("/chat/poll", webchat.chat_poll)
    r.add_static("/static/", STATIC_DIR, follow_symlinks=False)
    return app


def main(port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
    db.upgrade()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    web.run_app(create_app(), host=host, port=port, access_log=None,
                print=lambda *_: print(f"inbox: ready on http://{host}:{port}/inbox",
                                       flush=True))
