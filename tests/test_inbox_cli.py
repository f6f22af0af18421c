"""``python -m bot inbox create-admin|create-user``: passwords from the environment or stdin,
never from the command line; admins manage accounts on the staff page."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_inbox_helpers import PASSWORD, running_inbox

from bot import db
from bot.inbox import auth
from bot.settings import ROOT


def _cli(tmp_path, *args: str, password_env: str | None = None, stdin: str = "") -> \
        subprocess.CompletedProcess:
    env = dict(os.environ, BOT_VAR_DIR=str(tmp_path), BOT_DB_URL=f"sqlite:///{tmp_path}/bot.db",
               PYTHONPATH=str(ROOT))
    env.pop("INBOX_ADMIN_PASSWORD", None)
    if password_env:
        env["INBOX_ADMIN_PASSWORD"] = password_env
    return subprocess.run([sys.executable, "-m", "bot.inbox", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_create_admin_and_user(tmp_path) -> None:
    done = _cli(tmp_path, "create-admin", "Anna", password_env="a very long password")
    assert done.returncode == 0, done.stderr
    done = _cli(tmp_path, "create-user", "bert", "--role", "worker", "--language", "en",
                stdin="another long password\n")
    assert done.returncode == 0, done.stderr
    short = _cli(tmp_path, "create-user", "carl", stdin="short\n")
    assert short.returncode == 2 and "password shorter" in short.stderr
    again = _cli(tmp_path, "create-user", "bert", stdin="another long password\n")
    assert again.returncode == 2 and "exists" in again.stderr
    url = f"sqlite:///{tmp_path}/bot.db"
    with db.session_scope(url) as s:
        anna, bert = auth.find_user(s, "anna"), auth.find_user(s, "bert")
        assert (anna.role, bert.role, bert.language) == ("admin", "worker", "en")
        assert auth.verify_password("a very long password", anna.password_hash)
        assert auth.find_user(s, "carl") is None
    db.dispose_engine(url)


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    async with running_inbox(tmp_path, monkeypatch) as running:
        yield running


async def test_admin_creates_and_unlocks_accounts(inbox) -> None:
    await inbox.login("admin")
    token = await inbox.csrf()
    short = await inbox.client.post("/inbox/admin/users", data={
        "csrf": token, "username": "dora", "password": "short", "role": "worker"})
    assert short.status == 400 and "minstens 12 tekens" in await short.text()
    created = await inbox.client.post("/inbox/admin/users", allow_redirects=False, data={
        "csrf": token, "username": "dora", "password": "dora's long password",
        "role": "worker", "language": "en"})
    assert created.status == 303
    for _ in range(5):
        await inbox.login("bert", "wrong password!!", client=await inbox.new_client())
    with db.session_scope(inbox.url) as s:
        bert_id = auth.find_user(s, "bert").id
        assert auth.find_user(s, "bert").locked_until is not None
    page = await (await inbox.client.get("/inbox/admin/users")).text()
    assert f"/inbox/admin/users/{bert_id}/unlock" in page
    await inbox.client.post(f"/inbox/admin/users/{bert_id}/unlock", data={"csrf": token})
    other = await inbox.new_client()
    try:
        assert (await inbox.login("bert", PASSWORD, client=other)).status == 303
        assert (await inbox.login("dora", "dora's long password",
                                  client=await inbox.new_client())).status == 303
    finally:
        await other.close()
    audit = await (await inbox.client.get("/inbox/admin/audit?action=unlocked")).text()
    assert "bert" in audit and "user_created" in audit  # the filter lists every action
