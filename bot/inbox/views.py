"""Staff pages: login, the queue, a conversation (claim, transcript, snelfiche, reply,
handback, close, care request status).

Handlers stay small: blocking work (database, Rasa's HTTP API) runs in a thread, every
value goes through ``bot.inbox.html`` (escaped), every POST carries the session's CSRF token
(checked in the app's middleware), and a change answers with a redirect (no re-post on
reload).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from bot import handoff, i18n, messages
from bot.db import session_scope
from bot.handoff import OUTCOMES, AlreadyClaimed, Handoff
from bot.inbox import auth, relay, throttle
from bot.inbox.html import Markup, document, el, hidden, join, post_form
from bot.inbox.texts import has, language, st
from bot.intake import store as intake_store
from bot.intake.models import STATUSES, CareRequest

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
                   "unlocked", "password_set", "deactivated", "reactivated"})
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


def layout(request: web.Request, title: str, *body: Any, status: int = 200,
           scripts: tuple[str, ...] = ("/static/inbox.js",)) -> web.Response:
    user = request["user"]
    lang = lang_of(request)
    csrf = request["csrf"]
    links = [("/inbox", st("nav.queue", lang)), ("/inbox/report", st("nav.report", lang))]
    if user["role"] == "admin":
        links += [("/inbox/admin/places", st("nav.places", lang)),
                  ("/inbox/admin/users", st("nav.users", lang)),
                  ("/inbox/admin/family", st("nav.family", lang)),
                  ("/inbox/admin/audit", st("nav.audit", lang))]
    other = "en" if lang == "nl" else "nl"
    nav = el("nav",
             el("ul", [el("li", el("a", label, href=href,
                                   aria_current="page" if request.path == href else None))
                       for href, label in links]),
             aria_label=st("nav.label", lang))
    tools = el("div",
               el("span", st("nav.signed_in", lang, user=user["username"])),
               post_form("/inbox/language", csrf, hidden("language", other),
                         el("button", st(f"nav.switch_to_{other}", lang), type="submit",
                            lang=other)),
               post_form("/inbox/logout", csrf,
                         el("button", st("nav.logout", lang), type="submit")),
               class_="tools")
    flash = request.query.get("msg")
    notice = (el("p", st(f"flash.{flash}", lang), role="status", class_="flash ok")
              if flash in FLASH else None)
    page = [el("a", st("nav.skip", lang), href="#main", class_="skip"),
            el("header", el("span", st("app.name", lang), class_="brand"), nav, tools),
            el("main", el("h1", title), notice, *body, id="main", tabindex="-1")]
    return html_response(document(lang=lang, title=f"{title} · {st('app.name', lang)}",
                                  body=page, scripts=scripts), status)


def error_note(text: str) -> Markup:
    return el("p", text, role="alert", class_="flash error")


# --- login ---------------------------------------------------------------------------------

def _login_page(request: web.Request, lang: str, nonce: str, error: str | None = None,
                status: int = 200) -> web.Response:
    signer: auth.Signer = request.app[SIGNER]
    nxt = request.query.get("next") or ""
    form = el("form",
              hidden("csrf", signer.login_token(nonce)),
              hidden("next", nxt if nxt.startswith("/inbox") else ""),
              hidden("lang", lang),
              el("p", el("label", st("login.username", lang), for_="username"),
                 el("input", id="username", name="username", autocomplete="username",
                    required=True, autofocus=True)),
              el("p", el("label", st("login.password", lang), for_="password"),
                 el("input", id="password", name="password", type="password",
                    autocomplete="current-password", required=True)),
              el("p", el("button", st("login.submit", lang), type="submit")),
              method="post", action="/inbox/login")
    other = "en" if lang == "nl" else "nl"
    body = el("main", el("h1", st("login.title", lang)),
              error_note(error) if error else None, form,
              el("p", el("a", st(f"nav.switch_to_{other}", lang),
                         href=f"/inbox/login?lang={other}", lang=other)),
              id="main", class_="login")
    response = html_response(document(lang=lang, title=st("login.title", lang), body=body),
                             status)
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

def queue_items() -> list[dict[str, Any]]:
    with session_scope() as session:
        return [{
            "id": h.id, "sender": h.sender_id, "channel": h.channel or "", "language":
            h.language or "", "urgent": bool(h.urgent), "reason": h.reason, "status": h.status,
            "claimed_by": h.claimed_by or "", "waiting": minutes_since(h.created_at),
            "since": auth.aware(h.created_at).isoformat() if h.created_at else None,
        } for h in handoff.queue(session)]


def _queue_labels(lang: str) -> dict[str, str]:
    return {"data_" + k.replace(".", "_"): st(k, lang) for k in (
        "queue.urgent", "queue.normal", "queue.open", "queue.unclaimed", "queue.minutes",
        "queue.empty")}


def _queue_row(item: dict[str, Any], lang: str) -> list[Any]:
    return [
        el("strong", st("queue.urgent", lang), class_="urgent") if item["urgent"]
        else st("queue.normal", lang),
        st("queue.minutes", lang, n=item["waiting"]),
        item["sender"], item["language"], item["channel"],
        st(f"reason.{item['reason']}", lang)
        if has(f"reason.{item['reason']}", lang) else item["reason"],
        item["claimed_by"] or st("queue.unclaimed", lang),
        el("a", st("queue.open", lang), href=f"/inbox/c/{item['id']}",
           aria_label=st("queue.open_label", lang, sender=item["sender"])),
    ]


async def queue_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    items = await blocking(queue_items)
    headers = [st(f"queue.col.{c}", lang) for c in
               ("priority", "waiting", "sender", "language", "channel", "reason", "claimed_by",
                "open")]
    table = el("table",
               el("caption", st("queue.caption", lang)),
               el("thead", el("tr", [el("th", h, scope="col") for h in headers])),
               el("tbody", [el("tr", [el("td", c) for c in _queue_row(i, lang)],
                               class_="urgent-row" if i["urgent"] else None) for i in items]),
               id="queue", data_api="/inbox/api/queue", **_queue_labels(lang))
    empty = el("p", st("queue.empty", lang), id="queue-empty", hidden=bool(items))
    return layout(request, st("queue.title", lang), el("p", st("queue.live", lang)), table,
                  empty)


async def queue_api(request: web.Request) -> web.Response:
    lang = lang_of(request)
    items = await blocking(queue_items)
    for item in items:
        key = f"reason.{item['reason']}"
        item["reason_label"] = st(key, lang) if has(key, lang) else item["reason"]
    return web.json_response({"items": items})


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
            "role": r.role, "created": when(r.created_at, lang),
            "answers": _answer_rows(r, lang),
        } for r in rows]
        viewed = ", ".join(r["reference"] or f"draft:{r['id']}" for r in requests) or None
        handoff.audit(session, worker, "viewed", h.sender_id, viewed)
        return {"id": h.id, "sender": h.sender_id, "channel": h.channel, "language": h.language,
                "status": h.status, "urgent": h.urgent, "reason": h.reason,
                "claimed_by": h.claimed_by, "created": when(h.created_at, lang),
                "waiting": minutes_since(h.created_at), "outcome": h.outcome,
                "requests": requests}


def _channel_notes(contact: dict[str, Any] | None, lang: str) -> Markup | None:
    """What the channel knows about this conversation: the link the family came through
    (a Telegram deep link: which flyer or partner), a block of the assistant by the person."""
    if not contact:
        return None
    notes = []
    if contact.get("started_from"):
        notes.append(st("conversation.came_via", lang, source=contact["started_from"]))
    if contact.get("blocked_at"):
        notes.append(st("conversation.blocked", lang, since=when(contact["blocked_at"], lang)))
    return el("p", " · ".join(notes), class_="meta", id="channel-notes") if notes else None


def load_transcript(sender: str, lang: str) -> tuple[list[dict[str, Any]] | None, Any]:
    """(transcript, eligibility facts); (None, None) when Rasa cannot be reached."""
    try:
        state = relay.tracker(sender)
    except relay.RasaError:
        return None, None
    lines, facts = relay.transcript(state), relay.slot(state, "facts")
    for line in lines:
        at = line.get("at")
        line["time"] = when(datetime.fromtimestamp(at, timezone.utc), lang) if at else ""
    return lines, facts


def _who(line: dict[str, Any], lang: str) -> str:
    if line["who"] == "staff":
        return st("conversation.who_staff", lang, worker=line.get("worker") or "")
    return st(f"conversation.who_{line['who']}", lang)


def _transcript_list(lines: list[dict[str, Any]] | None, lang: str, api: str) -> Markup:
    labels = {"data_who_family": st("conversation.who_family", lang),
              "data_who_bot": st("conversation.who_bot", lang),
              "data_who_staff": st("conversation.who_staff", lang, worker="{worker}")}
    if lines is None:
        return error_note(st("conversation.rasa_down", lang))
    items = [el("li", el("span", _who(line, lang), class_="who"), " ",
                el("time", line.get("time", ""), class_="at"),
                el("div", line.get("text") or "", class_="text"),
                class_=f"msg {line['who']}") for line in lines]
    return el("ol", items, id="transcript", data_api=api, aria_live="polite", **labels)


def _requests_section(conv: dict[str, Any], request: web.Request, lang: str) -> Markup:
    if not conv["requests"]:
        return el("p", st("conversation.no_requests", lang))
    parts = []
    for r in conv["requests"]:
        title = r["reference"] or st("conversation.draft", lang)
        status_form = None
        me = request["user"]
        may = me["role"] == "admin" or (conv["status"] == "claimed"
                                        and conv["claimed_by"] == me["username"])
        if r["status"] != "draft" and may:
            status_form = post_form(
                f"/inbox/requests/{r['id']}/status", request["csrf"],
                hidden("back", conv["id"]),
                el("label", st("conversation.request_status", lang),
                   for_=f"status-{r['id']}"), " ",
                el("select", [el("option", st(f"request_status.{s}", lang), value=s,
                                 selected=s == r["status"]) for s in REQUEST_STATUSES],
                   name="status", id=f"status-{r['id']}"), " ",
                el("button", st("conversation.change_status", lang), type="submit"),
                class_="inline")
        rows = el("dl", [join(el("dt", k), el("dd", v)) for k, v in r["answers"]])
        parts.append(el("section",
                        el("h3", title, " · ", st(f"request_status.{r['status']}", lang)),
                        el("p", st("conversation.request_meta", lang, created=r["created"],
                                   language=r["language"] or "",
                                   role=st(f"requester.{r['role']}", lang)
                                   if has(f"requester.{r['role']}", lang) else r["role"])),
                        rows, status_form, class_="request"))
    return join(parts)


def _facts_section(facts: Any, lang: str) -> Markup:
    if not facts or not isinstance(facts, dict):
        return el("p", st("conversation.no_facts", lang))
    return el("dl", [join(el("dt", k), el("dd", str(v))) for k, v in facts.items()],
              class_="facts")


def _canned(conv_lang: str, staff_lang: str) -> list[tuple[str, str]]:
    """(staff label, family text in the conversation language) of each canned reply."""
    family_lang = conv_lang if conv_lang in i18n.SUPPORTED else i18n.DEFAULT
    out = []
    for name in CANNED:
        text = i18n.catalog(family_lang).get(f"canned.{name}")
        if text:
            out.append((st(f"canned.{name}", staff_lang), text))
    return out


def _actions_section(conv: dict[str, Any], request: web.Request, lang: str) -> Markup:
    me = request["user"]["username"]
    csrf = request["csrf"]
    cid = conv["id"]
    if conv["status"] not in handoff.OPEN_STATUSES:
        return el("p", st("conversation.finished", lang,
                          status=st(f"handoff_status.{conv['status']}", lang),
                          outcome=st(f"outcome.{conv['outcome']}", lang)
                          if conv["outcome"] else "-"))
    if conv["status"] == "waiting":
        return post_form(f"/inbox/c/{cid}/claim", csrf,
                         el("button", st("conversation.claim", lang), type="submit",
                            class_="primary"))
    if conv["claimed_by"] != me:
        return el("p", st("conversation.claimed_by_other", lang, worker=conv["claimed_by"]),
                  class_="flash")
    canned = _canned(conv["language"] or "nl", lang)
    canned_picker = None
    if canned:
        canned_picker = el("p",
                           el("label", st("conversation.canned", lang), for_="canned"), " ",
                           el("select", el("option", "—", value=""),
                              [el("option", label, value=text) for label, text in canned],
                              id="canned"), " ",
                           el("button", st("conversation.canned_insert", lang), type="button",
                              id="canned-insert"),
                           class_="canned")
    reply = post_form(f"/inbox/c/{cid}/reply", csrf,
                      el("p", el("label", st("conversation.reply_label", lang,
                                             language=conv["language"] or "?"), for_="reply")),
                      el("textarea", name="text", id="reply", rows="4", maxlength=MAX_REPLY,
                         required=True),
                      canned_picker,
                      el("p", el("button", st("conversation.send", lang), type="submit",
                                 class_="primary")),
                      class_="reply")
    outcome_select = el("select", [el("option", st(f"outcome.{o}", lang), value=o)
                                   for o in OUTCOMES], name="outcome", id="outcome")
    finish = post_form(f"/inbox/c/{cid}/finish", csrf,
                       el("p", el("label", st("conversation.outcome", lang), for_="outcome"),
                          " ", outcome_select),
                       el("p", el("button", st("conversation.hand_back", lang), type="submit",
                                  name="how", value="hand_back"), " ",
                          el("button", st("conversation.close", lang), type="submit",
                             name="how", value="close")),
                       el("p", st("conversation.finish_help", lang), class_="help"),
                       class_="finish")
    return join(reply, finish)


async def conversation_page(request: web.Request, message: str | None = None,
                            status: int = 200, cid: int | None = None) -> web.Response:
    lang = lang_of(request)
    cid = _int(request.match_info["id"]) if cid is None else cid
    conv = await blocking(load_conversation, cid, request["user"]["username"], lang)
    if conv is None:
        raise web.HTTPNotFound()
    lines, facts = await blocking(load_transcript, conv["sender"], lang)
    contact = await blocking(messages.contact, conv["sender"])
    urgent = el("strong", st("queue.urgent", lang), class_="urgent") if conv["urgent"] else None
    meta = el("p", urgent, " ",
              st("conversation.meta", lang, sender=conv["sender"], channel=conv["channel"] or "?",
                 language=conv["language"] or "?", since=conv["created"],
                 minutes=conv["waiting"]),
              class_="meta")
    state = el("p", st("conversation.claimed_by", lang, worker=conv["claimed_by"])
               if conv["claimed_by"] else st("conversation.unclaimed", lang),
               id="claim-state", aria_live="polite")
    body = [
        el("p", el("a", st("conversation.back_to_queue", lang), href="/inbox")),
        error_note(message) if message else None,
        meta, _channel_notes(contact, lang), state,
        el("div",
           el("section", el("h2", st("conversation.transcript", lang)),
              _transcript_list(lines, lang, f"/inbox/api/c/{cid}"),
              _actions_section(conv, request, lang), class_="col-main"),
           el("aside", el("h2", st("conversation.requests", lang)),
              _requests_section(conv, request, lang),
              el("h2", st("conversation.facts", lang)), _facts_section(facts, lang),
              class_="col-side", aria_label=st("conversation.about", lang)),
           class_="columns"),
    ]
    return layout(request, st("conversation.title", lang, sender=conv["sender"]), *body,
                  status=status)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise web.HTTPNotFound() from None


def _handoff_state(handoff_id: int) -> dict[str, Any] | None:
    with session_scope() as session:
        h = session.get(Handoff, handoff_id)
        if h is None:
            return None
        return {"sender": h.sender_id, "status": h.status, "claimed_by": h.claimed_by,
                "paused": h.paused}


async def conversation_api(request: web.Request) -> web.Response:
    """The claim state and the transcript from line ``from`` on (the page polls it with the
    number of lines it shows). Every read that hands out transcript lines is audited."""
    lang = lang_of(request)
    cid = _int(request.match_info["id"])
    state = await blocking(_handoff_state, cid)
    if state is None:
        raise web.HTTPNotFound()
    start = request.query.get("from", "0")
    start_at = int(start) if start.isdigit() else 0
    lines, _facts = await blocking(load_transcript, state["sender"], lang)
    shown = None if lines is None else lines[start_at:]
    if shown:
        await blocking(_audit, request["user"]["username"], "transcript_read",
                       state["sender"], f"api: lines {start_at + 1}-{start_at + len(shown)}")
    return web.json_response({
        "status": state["status"], "claimed_by": state["claimed_by"],
        "claim_text": st("conversation.claimed_by", lang, worker=state["claimed_by"])
        if state["claimed_by"] else st("conversation.unclaimed", lang),
        "from": start_at,
        "transcript": None if shown is None else [
            {"who": x["who"], "worker": x.get("worker"), "text": x.get("text") or "",
             "time": x.get("time", "")} for x in shown]})


async def claim(request: web.Request) -> web.Response:
    lang = lang_of(request)
    cid = _int(request.match_info["id"])
    me = request["user"]["username"]

    def do() -> tuple[str, str | None, str | None]:
        with session_scope() as session:
            h = session.get(Handoff, cid)
            if h is None:
                raise web.HTTPNotFound()
            if h.status not in handoff.OPEN_STATUSES:
                return "finished", None, None
            try:
                h = handoff.claim(session, cid, me)
            except AlreadyClaimed as exc:
                return "taken", exc.worker, None
            needs_pause = not h.paused
            h.paused = True
            return "ok", None, h.sender_id if needs_pause else None

    result, other, pause_sender = await blocking(do)
    if result == "taken":
        return await conversation_page(
            request, st("conversation.claimed_by_other", lang, worker=other or "?"), 409)
    if result == "finished":
        return await conversation_page(request, st("conversation.not_open", lang), 409)
    if pause_sender:
        try:
            await blocking(relay.pause_for_claim, pause_sender)
        except relay.RasaError:
            await blocking(_set_paused, cid, False)
            return await conversation_page(request, st("conversation.rasa_down", lang), 502)
    return see_other(f"/inbox/c/{cid}", "claimed")


def _set_paused(handoff_id: int, paused: bool) -> None:
    with session_scope() as session:
        h = session.get(Handoff, handoff_id)
        if h is not None:
            h.paused = paused


async def _mine(request: web.Request) -> tuple[int, dict[str, Any] | web.Response]:
    """The handoff if this worker holds it; else the page with the reason (409)."""
    lang = lang_of(request)
    cid = _int(request.match_info["id"])
    state = await blocking(_handoff_state, cid)
    if state is None:
        raise web.HTTPNotFound()
    if state["status"] not in handoff.OPEN_STATUSES:
        return cid, await conversation_page(request, st("conversation.not_open", lang), 409)
    if state["claimed_by"] != request["user"]["username"]:
        text = (st("conversation.claim_first", lang) if not state["claimed_by"] else
                st("conversation.claimed_by_other", lang, worker=state["claimed_by"]))
        return cid, await conversation_page(request, text, 409)
    return cid, state


async def reply(request: web.Request) -> web.Response:
    lang = lang_of(request)
    cid, state = await _mine(request)
    if isinstance(state, web.Response):
        return state
    form = await request.post()
    text = str(form.get("text", "")).strip()
    if not text or len(text) > MAX_REPLY:
        return await conversation_page(request, st("conversation.reply_invalid", lang,
                                                   max=MAX_REPLY), 400)
    me = request["user"]["username"]
    try:
        delivery = await blocking(relay.say, state["sender"], me, text)
    except relay.RasaError:
        await blocking(_audit, me, "sent", state["sender"], "failed: rasa")
        return await conversation_page(request, st("conversation.send_failed", lang), 502)
    detail = delivery.status + (f": {delivery.reason}" if delivery.reason else "")
    await blocking(_audit, me, "sent", state["sender"], detail)
    if delivery.status == "queued":  # the provider is down: it goes out when it is back
        return see_other(f"/inbox/c/{cid}", "queued")
    if delivery.status != "sent":
        return await conversation_page(
            request, st("conversation.not_delivered", lang, reason=delivery.reason or
                        delivery.status), 502)
    return see_other(f"/inbox/c/{cid}", "sent")


def _audit(worker: str, action: str, target: str | None, detail: str | None = None) -> None:
    with session_scope() as session:
        handoff.audit(session, worker, action, target, detail)


async def finish(request: web.Request) -> web.Response:
    """Hand back to the bot (the family is told) or close with an outcome (the bot answers
    again, without a message)."""
    lang = lang_of(request)
    cid, state = await _mine(request)
    if isinstance(state, web.Response):
        return state
    form = await request.post()
    how = str(form.get("how", ""))
    outcome = str(form.get("outcome", ""))
    if how not in ("hand_back", "close") or outcome not in OUTCOMES:
        return await conversation_page(request, st("conversation.outcome_required", lang), 400)
    try:
        if how == "hand_back":
            await blocking(relay.hand_back, state["sender"])
        else:
            await blocking(relay.resume_silently, state["sender"])
    except relay.RasaError:
        return await conversation_page(request, st("conversation.rasa_down", lang), 502)
    me = request["user"]["username"]

    def done() -> None:
        with session_scope() as session:
            h = handoff.finish(session, cid, me, outcome=outcome,
                               handed_back=how == "hand_back")
            h.paused = False

    await blocking(done)
    return see_other("/inbox", "handed_back" if how == "hand_back" else "closed")


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
    if changed == "unknown":
        raise web.HTTPNotFound()
    if changed == "not_holder":
        message = st("conversation.status_not_holder", lang)
        if back.isdigit():
            return await conversation_page(request, message, 403, cid=int(back))
        raise web.HTTPForbidden(text=message)
    sender, reference, old, family_lang = changed  # type: ignore[misc]
    if old == new:
        return see_other(target)
    if not confirmed:
        return _confirm_status_page(request, rid, reference, old, new, back,
                                    _family_text(new, reference, family_lang))
    try:
        await blocking(relay.request_update, sender, reference, new)
    except relay.RasaError:
        if back.isdigit():
            return await conversation_page(request, st("conversation.status_not_told", lang),
                                           502, cid=int(back))
        raise web.HTTPBadGateway(text=st("conversation.status_not_told", lang)) from None
    return see_other(target, "status_changed")


def _confirm_status_page(request: web.Request, rid: int, reference: str, old: str, new: str,
                         back: str, family_text: str) -> web.Response:
    lang = lang_of(request)
    cancel = f"/inbox/c/{int(back)}" if back.isdigit() else "/inbox"
    form = post_form(f"/inbox/requests/{rid}/status", request["csrf"],
                     hidden("status", new), hidden("back", back), hidden("confirm", "1"),
                     el("p", el("button", st("conversation.status_confirm_submit", lang),
                                type="submit", class_="primary"), " ",
                        el("a", st("conversation.status_cancel", lang), href=cancel)))
    return layout(request, st("conversation.status_confirm_title", lang, reference=reference),
                  el("p", st("conversation.status_confirm_text", lang, reference=reference,
                             old=st(f"request_status.{old}", lang),
                             new=st(f"request_status.{new}", lang))),
                  el("p", st("conversation.status_confirm_family", lang)),
                  el("blockquote", family_text, class_="family-text"),
                  form)
