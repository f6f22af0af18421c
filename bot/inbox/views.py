"""Staff pages: login, the queue, a conversation (claim, transcript, snelfiche, reply,
handback, close, care request status).

Handlers only handle the request: the workflow is ``bot.handoff`` (who may do what, Rasa,
the audit log), the HTML is in ``templates/`` (Jinja2, autoescaped). Blocking work (database,
Rasa's HTTP API) runs in a thread, every POST carries the session's CSRF token (checked in the
app's middleware), and a change answers with a redirect (no re-post on reload).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from bot import handoff, i18n
from bot.db import session_scope
from bot.handoff import OUTCOMES, Handoff, RasaError, WorkflowError
from bot.inbox import auth, readable, throttle
from bot.inbox.html import Markup, join
from bot.inbox.texts import has, language, st
from bot.intake import store as intake_store
from bot.intake.models import MAX_CHILDREN, STATUSES, CareRequest
from connectors import delivery, messages

T = TypeVar("T")
SIGNER = web.AppKey("signer", auth.Signer)
SECURE_COOKIES = web.AppKey("secure_cookies", bool)
COOKIE = "inbox_session"
LOGIN_COOKIE = "inbox_login"
DEVICE_COOKIE = "inbox_device"  # a browser that signed in before (bot/inbox/auth.py)
TZ = ZoneInfo("Europe/Brussels")
MAX_REPLY = 1600
# keys of the texts a redirect may ask to show (?msg=…); nothing else is shown
FLASH = frozenset({"claimed", "sent", "queued", "family_deleted", "handed_back", "closed",
                   "status_changed", "language_changed", "places_updated", "user_created",
                   "unlocked", "password_set", "deactivated", "reactivated",
                   "children_changed"})
# the workflow's flash texts are workflow.flash.<key>
WORKFLOW_FLASH = frozenset({"released", "reassigned", "taken_over", "note_added",
                            "labels_set"})
CANNED = ("greeting", "checking", "call_you", "request_registered", "come_by", "goodbye")
REQUEST_STATUSES = tuple(s for s in STATUSES if s != "draft")


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


def when(moment: datetime | None, lang: str) -> str:
    moment = auth.aware(moment)
    if moment is None:
        return ""
    local = moment.astimezone(TZ)
    if local.date() == datetime.now(TZ).date():
        return local.strftime("%H:%M")
    return local.strftime("%d/%m/%Y %H:%M")


def minutes_since(moment: datetime | None) -> int:
    moment = auth.aware(moment)
    return int((datetime.now(timezone.utc) - moment).total_seconds() // 60) if moment else 0


def lang_of(request: web.Request) -> str:
    user = request.get("user")
    return language(request.query.get("lang"), user["language"] if user else None)


def html_response(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def see_other(location: str, msg: str | None = None) -> web.HTTPSeeOther:
    if msg:
        location += ("&" if "?" in location else "?") + urlencode({"msg": msg})
    return web.HTTPSeeOther(location)


def _nav(user: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    links = [("/inbox", st("nav.queue", lang)), ("/inbox/report", st("nav.report", lang))]
    if user["role"] == "admin":
        links += [("/inbox/admin/places", st("nav.places", lang)),
                  ("/inbox/admin/users", st("nav.users", lang)),
                  ("/inbox/admin/family", st("nav.family", lang)),
                  ("/inbox/admin/audit", st("nav.audit", lang))]
    return links


def context(request: web.Request, lang: str, **values: Any) -> dict[str, Any]:
    """What every template gets: ``t`` (staff texts in the page's language), ``has``, the
    signed-in user, the CSRF token and the navigation."""
    user = request.get("user")
    flash = request.query.get("msg")
    return {"lang": lang, "other_lang": "en" if lang == "nl" else "nl",
            "t": lambda key, **params: st(key, lang, **params),
            "has": lambda key: has(key, lang), "user": user, "csrf": request.get("csrf"),
            "path": request.path, "nav": _nav(user, lang) if user else [],
            "flash": f"flash.{flash}" if flash in FLASH else
            f"workflow.flash.{flash}" if flash in WORKFLOW_FLASH else None,
            "scripts": ("/static/inbox.js",), **values}


def render(request: web.Request, template: str, title: str, status: int = 200,
           **values: Any) -> web.Response:
    lang = values.pop("lang", None) or lang_of(request)
    return aiohttp_jinja2.render_template(template, request,
                                          context(request, lang, title=title, **values),
                                          status=status)


def layout(request: web.Request, title: str, *body: Any, status: int = 200,
           scripts: tuple[str, ...] = ("/static/inbox.js",)) -> web.Response:
    """A page whose body is built with ``bot.inbox.html`` (escaped there), in the layout.
    The staff pages are templates now; this stays for code built the old way."""
    return render(request, "base.html", title, status=status, body=join(*body),
                  scripts=scripts)


def error_note(text: str) -> Markup:
    from bot.inbox.html import el

    return el("p", text, role="alert", class_="flash error")


# --- login ---------------------------------------------------------------------------------

def _login_page(request: web.Request, lang: str, nonce: str, error: str | None = None,
                status: int = 200) -> web.Response:
    signer: auth.Signer = request.app[SIGNER]
    nxt = request.query.get("next") or ""
    response = render(request, "login.html", st("login.title", lang), status=status, lang=lang,
                      error=error, login_csrf=signer.login_token(nonce),
                      next=nxt if nxt.startswith("/inbox") else "", scripts=())
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Strict",
                        path="/inbox/login", secure=request.app[SECURE_COOKIES])
    return response


async def login_form(request: web.Request) -> web.Response:
    lang = language(request.query.get("lang"))
    return _login_page(request, lang, secrets.token_urlsafe(18))


async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    lang = language(str(form.get("lang", "")), request.query.get("lang"))
    signer: auth.Signer = request.app[SIGNER]
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not signer.check_csrf_login(nonce, str(form.get("csrf", ""))):
        return _login_page(request, lang, secrets.token_urlsafe(18),
                           st("login.expired", lang), status=403)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    address = throttle.client_address(request)
    device = signer.device(request.cookies.get(DEVICE_COOKIE), username)

    def check() -> tuple[dict | None, str, str | None]:
        with session_scope() as session:
            user, result = auth.authenticate(session, username, password, address=address,
                                             device=device)
            if user is None:
                return None, result, None
            return {"username": user.username}, result, auth.start_session(session, user)

    user, result, cookie = await blocking(check)
    if user is None or cookie is None:
        return _login_page(request, lang, secrets.token_urlsafe(18),
                           st(f"login.{result}", lang), status=401 if result == "bad" else 429)
    nxt = str(form.get("next", ""))
    target = nxt if nxt.startswith("/inbox") and not nxt.startswith("//") else "/inbox"
    response = web.HTTPSeeOther(target)
    secure = request.app[SECURE_COOKIES]
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", path="/",
                        max_age=auth.SESSION_SECONDS, secure=secure)
    if device is None:  # from now on this browser is one the account knows
        response.set_cookie(DEVICE_COOKIE, signer.device_cookie(user["username"]),
                            httponly=True, samesite="Strict", path="/inbox/login",
                            max_age=auth.DEVICE_SECONDS, secure=secure)
    response.del_cookie(LOGIN_COOKIE, path="/inbox/login")
    return response


async def logout(request: web.Request) -> web.Response:
    await blocking(auth.end_session, request.cookies.get(COOKIE))
    response = web.HTTPSeeOther("/inbox/login")
    response.del_cookie(COOKIE, path="/")
    return response


async def set_language(request: web.Request) -> web.Response:
    form = await request.post()
    lang = language(str(form.get("language", "")))

    def save() -> None:
        with session_scope() as session:
            user = auth.find_user(session, request["user"]["username"])
            if user is not None:
                user.language = lang

    await blocking(save)
    return see_other("/inbox", "language_changed")


# --- queue ---------------------------------------------------------------------------------

def _reason_label(reason: str, lang: str) -> str:
    return st(f"reason.{reason}", lang) if has(f"reason.{reason}", lang) else reason


PREVIEWS = readable.PreviewCache()
MAX_PREVIEWS = 50  # rows of a queue view that show the family's last words


def _waited(h: Handoff) -> int:
    """Minutes the family waited for a person: the clock stops once someone claims."""
    created, claimed = auth.aware(h.created_at), auth.aware(h.claimed_at)
    if created and claimed and h.status == "claimed":
        return max(int((claimed - created).total_seconds() // 60), 0)
    return minutes_since(h.created_at)


def _queue_item(h: Handoff, lang: str, preview: bool, latest: dict[str, int]
                ) -> dict[str, Any]:
    lines = PREVIEWS.lines(h.sender_id, handoff.transcript,
                           latest.get(h.sender_id)) if preview else None
    return {
        "id": h.id, "sender": h.sender_id, "channel": h.channel or "",
        "channel_name": readable.channel_name(h.sender_id, h.channel, lang),
        "language": h.language or "",
        "language_name": readable.language_name(h.language, lang),
        "urgent": bool(h.urgent), "reason": h.reason,
        "reason_label": _reason_label(h.reason, lang), "status": h.status,
        "claimed_by": h.claimed_by or "", "waiting": _waited(h),
        "waiting_text": st("readable.waited" if h.status == "claimed" else "queue.minutes",
                           lang, n=_waited(h)),
        "since": auth.aware(h.created_at).isoformat() if h.created_at else None,
        "labels": handoff.labels_of(h),
        "closed": when(h.closed_at, lang) if h.closed_at else "",
        "last": readable.preview(lines, lang) if lines else "",
    }


def queue_items(lang: str, view: str = "all", worker: str = "", query: str = "",
                latest: dict[str, int] | None = None) -> list[dict[str, Any]]:
    rows = handoff.listing(view, worker, query)
    return [_queue_item(h, lang, view != "closed" and i < MAX_PREVIEWS, latest or {})
            for i, h in enumerate(rows)]


def _queue_args(request: web.Request) -> tuple[str, str]:
    view = request.query.get("view", "all")
    return (view if view in handoff.VIEWS else "all"), request.query.get("q", "")[:100]


async def queue_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    view, query = _queue_args(request)
    items = await blocking(queue_items, lang, view, request["user"]["username"], query,
                           _latest(request))
    api = "/inbox/api/queue?" + urlencode({"view": view, "q": query} if query else
                                          {"view": view})
    return render(request, "queue.html", st("queue.title", lang), items=items, view=view,
                  views=handoff.VIEWS, query=query, api=api)


async def queue_api(request: web.Request) -> web.Response:
    view, query = _queue_args(request)
    return web.json_response({"items": await blocking(
        queue_items, lang_of(request), view, request["user"]["username"], query,
        _latest(request))})


def _latest(request: web.Request) -> dict[str, int]:
    """The live watcher's newest tracker event per conversation (bot/inbox/live.py)."""
    from bot.inbox import live

    hub = request.app.get(live.HUB)
    return dict(hub.latest) if hub is not None else {}


# --- a conversation ------------------------------------------------------------------------

def _answer_rows(request_row: CareRequest, lang: str) -> list[tuple[str, str]]:
    from bot.intake import dialogue

    answers = intake_store.answers(request_row)
    order = [f.name for f in dialogue.FIELDS if f.name in answers]
    order += [name for name in answers if name not in order]
    rows = []
    for name in order:
        value = answers[name]
        if value is None:
            continue
        label_key = f"intake.label.{name}"
        label = i18n.t(label_key, lang) if i18n.has(label_key, lang) else name
        try:
            shown = dialogue.display(name, value, lang)
        except Exception:  # an old or odd value is shown as it is stored
            shown = str(value)
        rows.append((label, shown))
    return rows


def load_conversation(handoff_id: int, worker: str, lang: str) -> dict[str, Any] | None:
    """The handoff and the sender's care requests (decrypted: this page only; audited)."""
    with session_scope() as session:
        h = session.get(Handoff, handoff_id)
        if h is None:
            return None
        rows = session.execute(
            select(CareRequest).where(CareRequest.sender_id == h.sender_id)
            .order_by(CareRequest.id.desc())).scalars().all()
        requests = [{
            "id": r.id, "reference": r.reference, "status": r.status, "language": r.language,
            "role": r.role, "created": when(r.created_at, lang), "children": r.children or 1,
            "answers": _answer_rows(r, lang),
        } for r in rows]
        viewed = ", ".join(r["reference"] or f"draft:{r['id']}" for r in requests) or None
        handoff.audit(session, worker, "viewed", h.sender_id, viewed)
        return {"id": h.id, "sender": h.sender_id, "channel": h.channel, "language": h.language,
                "status": h.status, "urgent": h.urgent, "reason": h.reason,
                "claimed_by": h.claimed_by, "created": when(h.created_at, lang),
                "waiting": _waited(h), "outcome": h.outcome,
                "labels": handoff.labels_of(h), "requests": requests}


def _channel_notes(contact: dict[str, Any] | None, lang: str) -> list[str]:
    """What the channel knows about this conversation: the link the family came through
    (a Telegram deep link: which flyer or partner), a block of the assistant by the person."""
    notes = []
    if contact and contact.get("started_from"):
        notes.append(st("conversation.came_via", lang, source=contact["started_from"]))
    if contact and contact.get("blocked_at"):
        notes.append(st("conversation.blocked", lang, since=when(contact["blocked_at"], lang)))
    return notes


def load_transcript(sender: str, lang: str, conversation_language: str | None = None
                    ) -> tuple[list[dict[str, Any]] | None, Any]:
    """(transcript, eligibility facts); (None, None) when Rasa cannot be reached."""
    try:
        state = handoff.rasa_api.tracker(sender)
    except RasaError:
        return None, None
    lines, facts = handoff.transcript_from(state), handoff.rasa_api.slot(state, "facts")
    lines = readable.readable(lines, conversation_language, lang)
    for line in lines:
        at = line.get("at")
        line["time"] = when(datetime.fromtimestamp(at, timezone.utc), lang) if at else ""
    return lines, facts


def _canned(conv_lang: str, staff_lang: str) -> list[tuple[str, str]]:
    """(staff label, family text in the conversation language) of each canned reply."""
    family_lang = conv_lang if conv_lang in i18n.SUPPORTED else i18n.DEFAULT
    out = []
    for name in CANNED:
        text = i18n.catalog(family_lang).get(f"canned.{name}")
        if text:
            out.append((st(f"canned.{name}", staff_lang), text))
    return out


async def conversation_page(request: web.Request, message: str | None = None,
                            status: int = 200, cid: int | None = None) -> web.Response:
    lang = lang_of(request)
    cid = _int(request.match_info["id"]) if cid is None else cid
    conv = await blocking(load_conversation, cid, request["user"]["username"], lang)
    if conv is None:
        raise web.HTTPNotFound()
    lines, facts = await blocking(load_transcript, conv["sender"], lang, conv["language"])
    contact = await blocking(messages.contact, conv["sender"])
    earlier = [{"id": h.id, "date": when(h.created_at, lang),
                "status": st(f"handoff_status.{h.status}", lang),
                "outcome": st(f"outcome.{h.outcome}", lang) if h.outcome else "-",
                "worker": h.claimed_by or "-"}
               for h in await blocking(handoff.history, conv["sender"]) if h.id != conv["id"]]
    me = request["user"]
    may_change = me["role"] == "admin" or (conv["status"] == "claimed"
                                           and conv["claimed_by"] == me["username"])
    notes = await blocking(handoff.notes, conv["sender"])
    for note in notes:
        note["when"] = when(note["at"], lang)
    colleagues = [c for c in await blocking(handoff.colleagues) if c != conv["claimed_by"]]
    # what the family never got (a failure after acceptance, a WhatsApp message waiting for
    # the family's answer) and what the worker can do about it
    undelivered = [{"when": when(p.at, lang), "text": p.text[:120], "advice": p.advice}
                   for p in await blocking(delivery.problems, conv["sender"], lang)]
    return render(request, "conversation.html",
                  st("conversation.title", lang, sender=conv["sender"]), status=status,
                  conv=conv, lines=lines, facts=facts if isinstance(facts, dict) else None,
                  channel_notes=_channel_notes(contact, lang), message=message,
                  may_change=may_change, request_statuses=REQUEST_STATUSES,
                  open_statuses=handoff.OPEN_STATUSES, outcomes=OUTCOMES,
                  canned=_canned(conv["language"] or "nl", lang), max_reply=MAX_REPLY,
                  notes=notes, colleagues=colleagues, is_admin=me["role"] == "admin",
                  earlier=earlier,
                  channel_name=readable.channel_name(conv["sender"], conv["channel"], lang),
                  language_name=readable.language_name(conv["language"], lang),
                  max_note=handoff.MAX_NOTE, undelivered=undelivered)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise web.HTTPNotFound() from None


async def conversation_api(request: web.Request) -> web.Response:
    """The claim state and the transcript from line ``from`` on (the page polls it with the
    number of lines it shows). Every read that hands out transcript lines is audited."""
    lang = lang_of(request)
    cid = _int(request.match_info["id"])
    state = await blocking(handoff.state, cid)
    if state is None:
        raise web.HTTPNotFound()
    start = request.query.get("from", "0")
    start_at = int(start) if start.isdigit() else 0
    lines, _facts = await blocking(load_transcript, state.sender, lang, state.language)
    shown = None if lines is None else lines[start_at:]
    if shown:
        await blocking(handoff.record, request["user"]["username"], "transcript_read",
                       state.sender, f"api: lines {start_at + 1}-{start_at + len(shown)}")
    return web.json_response({
        "status": state.status, "claimed_by": state.claimed_by,
        "claim_text": st("conversation.claimed_by", lang, worker=state.claimed_by)
        if state.claimed_by else st("conversation.unclaimed", lang),
        "from": start_at,
        "transcript": None if shown is None else [
            {"who": x["who"], "worker": x.get("worker"), "text": x["shown"],
             "lang": x["lang"], "note": x["note_text"], "time": x.get("time", "")}
            for x in shown]})


def _refusal(exc: WorkflowError, lang: str) -> str:
    """Why this worker cannot do that now, in her words."""
    if exc.code in ("taken", "not_holder"):
        return st("conversation.claimed_by_other", lang, worker=exc.worker or "?")
    if exc.code == "claim_first":
        return st("conversation.claim_first", lang)
    return st("conversation.not_open", lang)


async def _refused(request: web.Request, exc: WorkflowError) -> web.Response:
    if exc.code == "not_found":
        raise web.HTTPNotFound()
    return await conversation_page(request, _refusal(exc, lang_of(request)), 409)


async def claim(request: web.Request) -> web.Response:
    lang = lang_of(request)
    cid = _int(request.match_info["id"])
    try:
        await blocking(handoff.take, cid, request["user"]["username"])
    except WorkflowError as exc:
        return await _refused(request, exc)
    except RasaError:
        return await conversation_page(request, st("conversation.rasa_down", lang), 502)
    return see_other(f"/inbox/c/{cid}", "claimed")


async def reply(request: web.Request) -> web.Response:
    lang = lang_of(request)
    cid = _int(request.match_info["id"])
    form = await request.post()
    text = str(form.get("text", "")).strip()
    me = request["user"]["username"]
    try:
        await blocking(handoff.held, cid, me)
        if not text or len(text) > MAX_REPLY:
            return await conversation_page(request, st("conversation.reply_invalid", lang,
                                                       max=MAX_REPLY), 400)
        delivery = await blocking(handoff.send, cid, me, text)
    except WorkflowError as exc:
        return await _refused(request, exc)
    except RasaError:
        return await conversation_page(request, st("conversation.send_failed", lang), 502)
    if delivery.status == "queued":  # the provider is down: it goes out when it is back
        return see_other(f"/inbox/c/{cid}", "queued")
    if delivery.status != "sent":
        return await conversation_page(
            request, st("conversation.not_delivered", lang, reason=delivery.reason or
                        delivery.status), 502)
    return see_other(f"/inbox/c/{cid}", "sent")


async def finish(request: web.Request) -> web.Response:
    """Hand back to the bot (the family is told) or close with an outcome and an optional
    last message. The first post shows what will happen; only ``confirm=1`` does it."""
    lang = lang_of(request)
    cid = _int(request.match_info["id"])
    form = await request.post()
    how = str(form.get("how", ""))
    outcome = str(form.get("outcome", ""))
    message = str(form.get("message", "")).strip() if how == "close" else ""
    me = request["user"]["username"]
    try:
        state = await blocking(handoff.held, cid, me)
        if how not in ("hand_back", "close") or outcome not in OUTCOMES:
            return await conversation_page(request, st("conversation.outcome_required", lang),
                                           400)
        if len(message) > MAX_REPLY:
            return await conversation_page(request, st("workflow.message_invalid", lang,
                                                       max=MAX_REPLY), 400)
        if str(form.get("confirm", "")) != "1":
            family_lang = state.language if state.language in i18n.SUPPORTED else \
                i18n.DEFAULT
            title = st(f"workflow.confirm_{how}_title", lang)
            return render(request, "confirm_finish.html", title, cid=cid, how=how,
                          outcome=outcome, message=message,
                          family_text=i18n.t("handoff.back", family_lang)
                          if how == "hand_back" else message)
        if how == "hand_back":
            await blocking(handoff.hand_back, cid, me, outcome)
        else:
            await blocking(handoff.close, cid, me, outcome, None, message or None)
    except WorkflowError as exc:
        return await _refused(request, exc)
    except RasaError:
        return await conversation_page(request, st("conversation.rasa_down", lang), 502)
    return see_other("/inbox", "handed_back" if how == "hand_back" else "closed")


async def release(request: web.Request) -> web.Response:
    cid = _int(request.match_info["id"])
    try:
        await blocking(handoff.release, cid, request["user"]["username"])
    except WorkflowError as exc:
        return await _refused(request, exc)
    return see_other("/inbox", "released")


async def reassign(request: web.Request) -> web.Response:
    """The holder, or an admin, gives the conversation to a colleague."""
    cid = _int(request.match_info["id"])
    form = await request.post()
    user = request["user"]
    try:
        await blocking(lambda: handoff.reassign(cid, user["username"], str(form.get("to", "")),
                                                admin=user["role"] == "admin"))
    except WorkflowError as exc:
        if exc.code == "unknown_colleague":
            return await conversation_page(
                request, st("workflow.unknown_colleague", lang_of(request)), 400)
        return await _refused(request, exc)
    return see_other(f"/inbox/c/{cid}", "reassigned")


async def take_over(request: web.Request) -> web.Response:
    cid = _int(request.match_info["id"])
    if request["user"]["role"] != "admin":
        raise web.HTTPForbidden(text=st("denied.role", lang_of(request)))
    try:
        await blocking(handoff.take_over, cid, request["user"]["username"])
    except WorkflowError as exc:
        return await _refused(request, exc)
    return see_other(f"/inbox/c/{cid}", "taken_over")


async def add_note(request: web.Request) -> web.Response:
    cid = _int(request.match_info["id"])
    form = await request.post()
    try:
        await blocking(handoff.add_note, cid, request["user"]["username"],
                       str(form.get("text", "")))
    except WorkflowError as exc:
        return await _refused(request, exc)
    except ValueError:
        return await conversation_page(request, st("workflow.note_invalid", lang_of(request),
                                                   max=handoff.MAX_NOTE), 400)
    return see_other(f"/inbox/c/{cid}", "note_added")


async def set_labels(request: web.Request) -> web.Response:
    cid = _int(request.match_info["id"])
    form = await request.post()
    try:
        await blocking(handoff.set_labels, cid, request["user"]["username"],
                       str(form.get("labels", ""))[:500])
    except WorkflowError as exc:
        return await _refused(request, exc)
    return see_other(f"/inbox/c/{cid}", "labels_set")


def _may_change(session: Any, sender_id: str, user: dict[str, Any]) -> bool:
    """A worker changes a request only in a conversation they hold; an admin always."""
    if user["role"] == "admin":
        return True
    return session.execute(
        select(Handoff.id).where(Handoff.sender_id == sender_id,
                                 Handoff.status == "claimed",
                                 Handoff.claimed_by == user["username"]).limit(1)
    ).first() is not None


def _family_text(status: str, reference: str, language: str | None) -> str:
    lang = language if language in i18n.SUPPORTED else i18n.DEFAULT
    return i18n.t(f"request_update.{status}", lang, reference=reference)


async def request_children(request: web.Request) -> web.Response:
    """How many children a request is for: the snelfiche asks about one child, a family
    asking for twins tells the worker, and the report counts each child (Opgroeien)."""
    lang = lang_of(request)
    rid = _int(request.match_info["id"])
    form = await request.post()
    back = str(form.get("back", ""))
    target = f"/inbox/c/{int(back)}" if back.isdigit() else "/inbox"
    raw = str(form.get("children", "")).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CHILDREN:
        if back.isdigit():
            return await conversation_page(request, st("conversation.children_invalid", lang),
                                           400, cid=int(back))
        raise web.HTTPBadRequest(text=st("conversation.children_invalid", lang))
    children = int(raw)
    user = request["user"]

    def change() -> str:
        with session_scope() as session:
            r = session.get(CareRequest, rid)
            if r is None or r.status == "draft" or not r.reference:
                return "unknown"
            if not _may_change(session, r.sender_id, user):
                return "not_holder"
            if r.children != children:
                handoff.audit(session, user["username"], "children_changed", r.reference,
                              f"{r.children}->{children}")
                r.children = children
            return "ok"

    changed = await blocking(change)
    refused = await _refused_request_change(changed, request, lang, back)
    if refused is not None:
        return refused
    return see_other(target, "children_changed")


async def _refused_request_change(changed: object, request: web.Request, lang: str,
                                  back: str) -> web.Response | None:
    """The answer when a request could not be changed: unknown, or not this worker's family."""
    if changed == "unknown":
        raise web.HTTPNotFound()
    if changed == "not_holder":
        message = st("conversation.status_not_holder", lang)
        if back.isdigit():
            return await conversation_page(request, message, 403, cid=int(back))
        raise web.HTTPForbidden(text=message)
    return None


async def request_status(request: web.Request) -> web.Response:
    """Change a care request's status: first a page that shows what the family will read,
    then (``confirm=1``) the change and the message."""
    lang = lang_of(request)
    rid = _int(request.match_info["id"])
    form = await request.post()
    new = str(form.get("status", ""))
    back = str(form.get("back", ""))
    confirmed = str(form.get("confirm", "")) == "1"
    target = f"/inbox/c/{int(back)}" if back.isdigit() else "/inbox"
    if new not in REQUEST_STATUSES:
        raise web.HTTPBadRequest(text=st("conversation.status_invalid", lang))
    user = request["user"]
    me = user["username"]

    def change() -> tuple[str, str, str, str] | str:
        with session_scope() as session:
            r = session.get(CareRequest, rid)
            if r is None or r.status == "draft" or not r.reference:
                return "unknown"
            if not _may_change(session, r.sender_id, user):
                return "not_holder"
            old = r.status
            if confirmed and old != new:
                r.status = new
                handoff.audit(session, me, "status_changed", r.reference, f"{old}->{new}")
            return r.sender_id, r.reference, old, r.language or ""

    changed = await blocking(change)
    refused = await _refused_request_change(changed, request, lang, back)
    if refused is not None:
        return refused
    sender, reference, old, family_lang = changed  # type: ignore[misc]
    if old == new:
        return see_other(target)
    if not confirmed:
        return render(request, "confirm_status.html",
                      st("conversation.status_confirm_title", lang, reference=reference),
                      rid=rid, reference=reference, old=old, new=new, back=back,
                      cancel=target, family_text=_family_text(new, reference, family_lang))
    try:
        await blocking(handoff.request_update, sender, reference, new)
    except RasaError:
        if back.isdigit():
            return await conversation_page(request, st("conversation.status_not_told", lang),
                                           502, cid=int(back))
        raise web.HTTPBadGateway(text=st("conversation.status_not_told", lang)) from None
    return see_other(target, "status_changed")
