"""The inbox's security: nothing without login, CSRF on every POST, escaped output, lockout,
hashed passwords, roles, cookie flags."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from test_inbox_helpers import PASSWORD, csrf_of, make_user, running_inbox

from bot import db, handoff
from bot.handoff import StaffUser
from bot.inbox import auth, throttle
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


async def _status(inbox, cookie: str, app=None) -> int:
    """GET /inbox with only this session cookie (a fresh browser; ``app``: another process)."""
    from aiohttp.test_utils import TestClient, TestServer

    other = TestClient(TestServer(app)) if app is not None else await inbox.new_client()
    if app is not None:
        await other.start_server()
    try:
        other.session.cookie_jar.update_cookies({"inbox_session": cookie})
        return (await other.get("/inbox", allow_redirects=False)).status
    finally:
        await other.close()


async def test_tampered_or_revoked_session_is_refused(inbox) -> None:
    response = await inbox.login("ann")
    assert response.status == 303
    cookie = response.cookies["inbox_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    value = cookie.value
    forged = value[:-1] + ("A" if value[-1] != "A" else "B")
    assert await _status(inbox, forged) == 303
    assert await _status(inbox, value) == 200
    with db.session_scope(inbox.url) as s:  # only a hash of the cookie is stored
        assert value not in str([tuple(r) for r in s.execute(select(auth.StaffSession.id))])
    token = await inbox.csrf()
    await inbox.client.post("/inbox/logout", data={"csrf": token}, allow_redirects=False)
    assert await _status(inbox, value) == 303  # the old cookie replayed after logout


async def test_logout_and_deactivation_hold_when_the_inbox_restarts(inbox) -> None:
    from bot.inbox.app import create_app

    ann = (await inbox.login("ann")).cookies["inbox_session"].value
    other = await inbox.new_client()
    try:
        bert = (await inbox.login("bert", client=other)).cookies["inbox_session"].value
        token = await inbox.csrf(other)
        await other.post("/inbox/logout", data={"csrf": token}, allow_redirects=False)
    finally:
        await other.close()
    with db.session_scope(inbox.url) as s:
        auth.set_active(s, auth.find_user(s, "ann"), False, "admin")
    restarted = create_app()  # a new process: nothing of the old one's memory
    assert await _status(inbox, bert, restarted) == 303
    assert await _status(inbox, ann, restarted) == 303
    assert (await inbox.login("ann")).status == 401  # deactivated: no new session either
    with db.session_scope(inbox.url) as s:
        auth.set_active(s, auth.find_user(s, "ann"), True, "admin")
    assert (await inbox.login("ann")).status == 303


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
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # markupsafe's escaping
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


# --- throttling that cannot lock a colleague out ------------------------------------------


async def _login_from(inbox, username: str, address: str, password: str = PASSWORD,
                      client=None):
    """A login as it arrives through the reverse proxy from ``address``."""
    client = client or inbox.client
    page = await client.get("/inbox/login")
    return await client.post("/inbox/login", data={
        "csrf": csrf_of(await page.text()), "username": username, "password": password,
        "next": ""}, headers={"X-Forwarded-For": f"10.9.9.9, {address}"},
        allow_redirects=False)


async def test_one_address_trying_many_usernames_is_stopped(inbox, monkeypatch) -> None:
    import time

    monkeypatch.setenv("INBOX_TRUST_PROXY", "1")
    statuses = []
    started = time.monotonic()
    for n in range(60):
        response = await _login_from(inbox, f"user{n}", "203.0.113.9", "guess password 1")
        statuses.append(response.status)
    took = time.monotonic() - started
    assert statuses[:throttle.MAX_ADDRESS_FAILURES] == [401] * throttle.MAX_ADDRESS_FAILURES
    assert set(statuses[throttle.MAX_ADDRESS_FAILURES:]) == {429}
    assert took < 30, took  # refused before the password check: no scrypt for the rest
    # the right password from that address is refused too; another address is not
    assert (await _login_from(inbox, "ann", "203.0.113.9")).status == 429
    other = await inbox.new_client()
    try:
        assert (await _login_from(inbox, "ann", "198.51.100.4", client=other)).status == 303
    finally:
        await other.close()
    # a restart forgets nothing: the failures are in the database
    from aiohttp.test_utils import TestClient, TestServer

    from bot.inbox.app import create_app

    restarted = TestClient(TestServer(create_app()))
    await restarted.start_server()
    try:
        assert (await _login_from(inbox, "bert", "203.0.113.9", client=restarted)).status \
            == 429
    finally:
        await restarted.close()


async def test_failures_elsewhere_do_not_lock_out_a_known_browser(inbox, monkeypatch) -> None:
    monkeypatch.setenv("INBOX_TRUST_PROXY", "1")
    first = await _login_from(inbox, "ann", "198.51.100.4")  # ann at her own desk
    assert first.status == 303 and "inbox_device" in first.cookies
    await inbox.client.post("/inbox/logout", data={"csrf": await inbox.csrf()})
    # someone else guesses ann's password, each try from another address
    attacker = await inbox.new_client()
    try:
        for n in range(auth.MAX_FAILED_LOGINS):
            await _login_from(inbox, "ann", f"203.0.113.{n}", "wrong password!", attacker)
        # an unknown browser is locked out now, even with the right password
        assert (await _login_from(inbox, "ann", "203.0.113.50", client=attacker)).status == 429
        # a forged device cookie, or bert's, does not make a browser known for ann
        attacker.session.cookie_jar.update_cookies({"inbox_device": "x.YW5u.0"})
        assert (await _login_from(inbox, "ann", "203.0.113.51", client=attacker)).status == 429
    finally:
        await attacker.close()
    # ann's own browser still gets in
    assert (await _login_from(inbox, "ann", "198.51.100.4")).status == 303
    with db.session_scope(inbox.url) as s:
        entries = [(e.worker, e.action, e.detail) for e in s.execute(
            select(handoff.AuditEntry).order_by(handoff.AuditEntry.id)).scalars()]
    assert ("ann", "locked", "5 failed logins from unknown browsers") in entries
    assert entries[-1] == ("ann", "login", "known browser")
    # a known browser is limited on its own: five wrong passwords and it is unknown again
    await inbox.client.post("/inbox/logout", data={"csrf": await inbox.csrf()})
    for _ in range(throttle.MAX_DEVICE_FAILURES):
        assert (await _login_from(inbox, "ann", "198.51.100.4", "wrong again!!")).status == 401
    assert (await _login_from(inbox, "ann", "198.51.100.4")).status == 429


def test_the_proxy_header_counts_only_behind_the_proxy(monkeypatch) -> None:
    from types import SimpleNamespace

    request = SimpleNamespace(remote="127.0.0.1",
                              headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.2"})
    monkeypatch.delenv("INBOX_TRUST_PROXY", raising=False)
    assert throttle.client_address(request) == "127.0.0.1"  # anyone can write the header
    monkeypatch.setenv("INBOX_TRUST_PROXY", "1")
    assert throttle.client_address(request) == "198.51.100.2"  # the one our proxy added


def test_limiter_slides() -> None:
    limiter = throttle.Limiter(2, 60)
    assert limiter.allow("a", 0) and limiter.allow("a", 1) and not limiter.allow("a", 2)
    assert limiter.allow("b", 2)
    assert limiter.allow("a", 60.5) and not limiter.allow("a", 60.6)  # only 0 has left


def test_new_tables_match_their_migration(tmp_path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db.upgrade(url)
    with db.get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.Base.metadata)
    ours = ("staff_sessions", "login_failures", "channel_notices", "'active'")
    assert [d for d in diff if any(name in repr(d) for name in ours)] == []


# --- who may change a request, transcript reads -------------------------------------------


def _request_in_conversation(url: str, sender: str) -> tuple[int, int]:
    with db.session_scope(url) as s:
        hid = handoff.open_handoff(s, sender, channel="whatsapp", language="nl",
                                   reason="request", urgent=False, paused=True).id
        request = store.start_draft(s, sender, channel="whatsapp", role="parent",
                                    language="nl")
        store.save_answer(s, request, "child_name", "Noor")
        store.confirm(s, request)
        return hid, request.id


async def test_only_the_holder_or_an_admin_changes_a_request(inbox) -> None:
    sender = "whatsapp:+32470000321"
    hid, rid = _request_in_conversation(inbox.url, sender)
    await inbox.login("ann")
    token = await inbox.csrf()
    await inbox.client.post(f"/inbox/c/{hid}/claim", data={"csrf": token})
    bert = await inbox.new_client()
    try:
        await inbox.login("bert", client=bert)
        bert_token = await inbox.csrf(bert)
        for confirm in ("", "1"):
            refused = await bert.post(f"/inbox/requests/{rid}/status", data={
                "csrf": bert_token, "status": "placed", "back": str(hid), "confirm": confirm})
            assert refused.status == 403
    finally:
        await bert.close()
    with db.session_scope(inbox.url) as s:
        assert s.get(CareRequest, rid).status == "new"
    assert not [c for c in inbox.rasa.calls if c[1] == sender and c[0] == "execute"]
    admin = await inbox.new_client()
    try:
        await inbox.login("admin", client=admin)
        response = await admin.post(f"/inbox/requests/{rid}/status", data={
            "csrf": await inbox.csrf(admin), "status": "placed", "back": str(hid),
            "confirm": "1"}, allow_redirects=False)
        assert response.status == 303
    finally:
        await admin.close()
    with db.session_scope(inbox.url) as s:
        assert s.get(CareRequest, rid).status == "placed"


async def test_every_transcript_read_is_audited(inbox) -> None:
    sender = "whatsapp:+32470000322"
    inbox.rasa.say_family(sender, "eerste bericht")
    hid, _rid = _request_in_conversation(inbox.url, sender)
    await inbox.login("bert")
    data = await (await inbox.client.get(f"/inbox/api/c/{hid}")).json()
    assert [x["text"] for x in data["transcript"]] == ["eerste bericht"]
    # the page's poll asks only for what it does not show yet: nothing new, nothing read
    assert (await (await inbox.client.get(f"/inbox/api/c/{hid}?from=1")).json()
            )["transcript"] == []
    inbox.rasa.say_family(sender, "tweede bericht")
    data = await (await inbox.client.get(f"/inbox/api/c/{hid}?from=1")).json()
    assert [x["text"] for x in data["transcript"]] == ["tweede bericht"]
    with db.session_scope(inbox.url) as s:
        reads = [(e.worker, e.target, e.detail) for e in s.execute(
            select(handoff.AuditEntry).where(handoff.AuditEntry.action == "transcript_read")
            .order_by(handoff.AuditEntry.id)).scalars()]
    assert reads == [("bert", sender, "api: lines 1-1"), ("bert", sender, "api: lines 2-2")]


# --- the web chat ------------------------------------------------------------------------


async def test_web_chat_posts_only_with_the_pages_token(inbox) -> None:
    _sender, token = await inbox.chat()
    sends = len([c for c in inbox.rasa.calls if c[0] == "webhook"])
    # another site's form: text/plain, no token (the browser sends the Lax cookie along
    # only on top-level navigations, but even then the token is missing)
    for headers, data in (({"Content-Type": "text/plain"}, '{"message": "hallo"}'),
                          ({"Content-Type": "application/json"}, '{"message": "hallo"}'),
                          ({"Content-Type": "application/json", "X-Chat-Token": "0" * 64},
                           '{"message": "hallo"}'),
                          ({"Content-Type": "application/json", "X-Chat-Token": token,
                            "Sec-Fetch-Site": "cross-site"}, '{"message": "hallo"}')):
        response = await inbox.client.post("/chat/send", data=data, headers=headers)
        assert response.status == 403, headers
    assert (await inbox.client.get("/chat/poll")).status == 403
    wrong_type = await inbox.client.post("/chat/send", data='{"message": "hallo"}', headers={
        "Content-Type": "text/plain", "X-Chat-Token": token})
    assert wrong_type.status == 415
    assert len([c for c in inbox.rasa.calls if c[0] == "webhook"]) == sends
    # the token of one conversation does not open another
    other = await inbox.new_client()
    try:
        await inbox.chat(other)
        response = await other.post("/chat/send", json={"message": "x"},
                                    headers={"X-Chat-Token": token})
        assert response.status == 403
    finally:
        await other.close()


async def test_web_chat_limits_new_conversations_and_polls_per_address(inbox) -> None:
    accepted = 0
    for _ in range(30):  # thirty new conversations from one address, as fast as it goes
        browser = await inbox.new_client()
        try:
            _sender, token = await inbox.chat(browser)
            response = await browser.post("/chat/send", json={"message": "iemand spreken"},
                                          headers={"X-Chat-Token": token})
            accepted += response.status == 200
            assert response.status in (200, 429)
        finally:
            await browser.close()
    assert accepted == 3
    _sender, token = await inbox.chat()
    polls = [(await inbox.client.get("/chat/poll", headers={"X-Chat-Token": token})).status
             for _ in range(31)]
    assert polls[:30] == [200] * 30 and polls[30] == 429
