"""The inbox's security: nothing without login, CSRF on every POST, escaped output, lockout,
hashed passwords, roles, cookie flags."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from test_inbox_helpers import PASSWORD, make_user, running_inbox

from bot import db, handoff
from bot.handoff import StaffUser
from bot.inbox import auth
from bot.intake import store
from bot.intake.models import CareRequest


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    async with running_inbox(tmp_path, monkeypatch) as running:
        yield running


PUBLIC = {"/", "/health", "/inbox/login", "/chat", "/chat/send", "/chat/poll"}


def _routes(app) -> list[tuple[str, str]]:
    out = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method == "HEAD" or path in PUBLIC or "prefix" in info:
            continue
        out.append((route.method, path.replace("{id}", "1")))
    return out


async def test_no_page_or_api_without_login(inbox) -> None:
    routes = _routes(inbox.client.server.app)
    assert len(routes) >= 15
    for method, path in routes:
        response = await inbox.client.request(method, path, allow_redirects=False,
                                              data={"csrf": "x"} if method == "POST" else None)
        if method == "GET" and not path.startswith("/inbox/api/"):
            assert response.status == 303, path
            assert response.headers["Location"].startswith("/inbox/login"), path
        else:
            assert response.status == 401, (method, path)


async def test_tampered_or_revoked_session_is_refused(inbox) -> None:
    response = await inbox.login("ann")
    assert response.status == 303
    cookie = response.cookies["inbox_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    value = cookie.value
    body, mac = value.split(".")
    forged = auth._b64(auth._unb64(body).replace(b'"ann"', b'"admin"')) + "." + mac
    other = await inbox.new_client()
    try:
        other.session.cookie_jar.update_cookies({"inbox_session": forged})
        response = await other.get("/inbox", allow_redirects=False)
        assert response.status == 303
    finally:
        await other.close()
    assert (await inbox.client.get("/inbox", allow_redirects=False)).status == 200
    token = await inbox.csrf()
    await inbox.client.post("/inbox/logout", data={"csrf": token}, allow_redirects=False)
    other = await inbox.new_client()
    try:  # the old cookie replayed after logout
        other.session.cookie_jar.update_cookies({"inbox_session": value})
        assert (await other.get("/inbox", allow_redirects=False)).status == 303
    finally:
        await other.close()


async def test_post_without_or_with_wrong_csrf_is_refused(inbox) -> None:
    with db.session_scope(inbox.url) as s:
        hid = handoff.open_handoff(s, "web-1", channel="rest", language="nl", reason="request",
                                   urgent=False, paused=True).id
    await inbox.login("ann")
    for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
        response = await inbox.client.post(f"/inbox/c/{hid}/claim", data=data,
                                           allow_redirects=False)
        assert response.status == 403
    # a token of another session does not work either
    other = await inbox.new_client()
    try:
        await inbox.login("bert", client=other)
        foreign = await inbox.csrf(other)
    finally:
        await other.close()
    response = await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": foreign},
                                       allow_redirects=False)
    assert response.status == 403
    with db.session_scope(inbox.url) as s:
        assert s.get(handoff.Handoff, hid).status == "waiting"
    response = await inbox.client.post(f"/inbox/c/{hid}/claim",
                                       data={"csrf": await inbox.csrf()}, allow_redirects=False)
    assert response.status == 303


async def test_login_form_needs_its_token(inbox) -> None:
    response = await inbox.client.post("/inbox/login", data={
        "username": "ann", "password": PASSWORD}, allow_redirects=False)
    assert response.status == 403
    assert "inbox_session" not in response.cookies


async def test_family_text_is_shown_as_text(inbox) -> None:
    sender = "whatsapp:+32470000009"
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    inbox.rasa.say_family(sender, evil)
    with db.session_scope(inbox.url) as s:
        hid = handoff.open_handoff(s, sender, channel="whatsapp", language="nl",
                                   reason="request", urgent=False, paused=True).id
        handoff.open_handoff(s, "web-<b>x</b>", channel="rest", language="nl", reason="request",
                             urgent=False, paused=True)
        request = store.start_draft(s, sender, channel="rest", role="parent", language="nl")
        store.save_answer(s, request, "child_name", "<script>bad()</script>")
        store.save_answer(s, request, "health", "<b>astma</b>")
    await inbox.login("ann")
    html = await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;script&gt;bad()&lt;/script&gt;" in html
    assert "&lt;b&gt;astma&lt;/b&gt;" in html  # decrypted for this page, escaped
    queue = await inbox.client.get("/inbox/api/queue")
    assert queue.content_type == "application/json"
    page = await inbox.client.get("/inbox")
    assert "web-&lt;b&gt;x&lt;/b&gt;" in await page.text()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


async def test_lockout_after_five_failures(inbox) -> None:
    for _ in range(4):
        assert (await inbox.login("ann", "wrong password!")).status == 401
    assert (await inbox.login("ann", "wrong password!")).status == 429  # fifth: locked
    response = await inbox.login("ann")  # the right password, still refused
    assert response.status == 429 and "inbox_session" not in response.cookies
    with db.session_scope(inbox.url) as s:
        user = auth.find_user(s, "ann")
        locked = auth.aware(user.locked_until)
        assert timedelta(minutes=14) < locked - datetime.now(timezone.utc) <= timedelta(
            minutes=15)
        user.locked_until = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert (await inbox.login("ann")).status == 303
    with db.session_scope(inbox.url) as s:
        actions = [e.action for e in s.execute(select(handoff.AuditEntry)).scalars()]
    assert "locked" in actions and "login_refused" in actions


async def test_unknown_user_and_wrong_password_look_the_same(inbox) -> None:
    a = await inbox.login("nobody", "whatever password")
    b = await inbox.login("bert", "whatever password")
    assert a.status == b.status == 401
    assert await a.text() != "" and "nobody" not in await a.text()


def test_passwords_are_hashed_with_salt(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    make_user(url, "ann")
    make_user(url, "bert")
    with db.session_scope(url) as s:
        hashes = [u.password_hash for u in s.execute(select(StaffUser)).scalars()]
    assert all(h.startswith("scrypt$16384$8$1$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes)
    assert hashes[0] != hashes[1]  # same password, different salt
    assert auth.verify_password(PASSWORD, hashes[0])
    assert not auth.verify_password(PASSWORD + "x", hashes[0])
    raw = (tmp_path / "bot.db").read_bytes()
    assert PASSWORD.encode() not in raw


def test_generated_secret_is_private(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("INBOX_SECRET", raising=False)
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    first = auth.secret()
    assert len(first) >= 32 and auth.secret() == first
    mode = stat.S_IMODE(os.stat(tmp_path / "inbox_secret").st_mode)
    assert mode == 0o600


async def test_admin_pages_need_the_admin_role(inbox) -> None:
    await inbox.login("ann")
    token = await inbox.csrf()
    for path in ("/inbox/admin/places", "/inbox/admin/users", "/inbox/admin/audit"):
        assert (await inbox.client.get(path)).status == 403
    response = await inbox.client.post("/inbox/admin/users", data={
        "csrf": token, "username": "mallory", "password": "x" * 20, "role": "admin"})
    assert response.status == 403
    with db.session_scope(inbox.url) as s:
        assert auth.find_user(s, "mallory") is None
    html = await (await inbox.client.get("/inbox")).text()
    assert "/inbox/admin/places" not in html  # not even offered
    admin = await inbox.new_client()
    try:
        await inbox.login("admin", client=admin)
        for path in ("/inbox/admin/places", "/inbox/admin/users", "/inbox/admin/audit"):
            assert (await admin.get(path)).status == 200, path
    finally:
        await admin.close()


async def test_password_change_ends_old_sessions(inbox) -> None:
    await inbox.login("ann")
    assert (await inbox.client.get("/inbox", allow_redirects=False)).status == 200
    with db.session_scope(inbox.url) as s:
        auth.set_password(s, auth.find_user(s, "ann"), "another long password", "admin")
    assert (await inbox.client.get("/inbox", allow_redirects=False)).status == 303


async def test_snelfiche_only_on_the_conversation_page_and_audited(inbox) -> None:
    with db.session_scope(inbox.url) as s:
        hid = handoff.open_handoff(s, "web-2", channel="rest", language="nl", reason="request",
                                   urgent=False, paused=True).id
        request = store.start_draft(s, "web-2", channel="rest", role="parent", language="nl")
        store.save_answer(s, request, "health", "epilepsie")
        store.confirm(s, request)
        reference = request.reference
    await inbox.login("ann")
    assert "epilepsie" not in await (await inbox.client.get("/inbox")).text()
    assert "epilepsie" not in await (await inbox.client.get("/inbox/api/queue")).text()
    assert "epilepsie" not in await (await inbox.client.get(f"/inbox/api/c/{hid}")).text()
    assert "epilepsie" in await (await inbox.client.get(f"/inbox/c/{hid}")).text()
    with db.session_scope(inbox.url) as s:
        viewed = s.execute(select(handoff.AuditEntry).where(
            handoff.AuditEntry.action == "viewed")).scalars().all()
        assert [(v.worker, v.target, v.detail) for v in viewed] == [("ann", "web-2", reference)]
        assert "epilepsie" not in (s.execute(select(CareRequest)).scalar_one().sensitive or "")
