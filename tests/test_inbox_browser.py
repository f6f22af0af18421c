"""In a real browser (Debian's Chromium, headless, driven by Playwright), against the whole
assistant: a family asks for a person in the web chat, a worker signs in, takes the
conversation, sees the family's next message arrive, replies, the family sees the reply; the
worker hands back and the bot answers again.

Chromium or Playwright missing is a failure, not a skip: the inbox is not tested then.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, Stack, free_port
from test_e2e_handoff import loket_file

from bot import db, i18n
from bot.inbox import auth

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "a long test password"
WAIT_MS = 20_000


def _playwright():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium "
                    "(apt-get install -y chromium) to run the browser test")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install playwright (see requirements.txt)")
    return sync_playwright, expect


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    var = tmp_path_factory.mktemp("inbox_browser")
    port = free_port()
    stack = Stack(var, BOT_LOKET_FILE=str(loket_file(var, open_now=True)),
                  INBOX_PORT=str(port))
    stack.start()
    base = f"http://127.0.0.1:{port}"
    own = None
    try:
        if not _up(f"{base}/health"):  # `make serve` without the inbox: start it here
            env = dict(os.environ, BOT_VAR_DIR=str(var), RASA_TOKEN=stack.token,
                       RASA_URL=f"http://127.0.0.1:{stack.port}", PYTHONPATH=str(ROOT))
            own = subprocess.Popen(
                [sys.executable, "-m", "bot.inbox", "serve", "--port", str(port)], cwd=ROOT,
                env=env, stdout=(var / "inbox.log").open("wb"), stderr=subprocess.STDOUT,
                start_new_session=True)
            deadline = time.monotonic() + 60
            while not _up(f"{base}/health"):
                assert own.poll() is None, (var / "inbox.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the inbox did not start in 60 s"
                time.sleep(0.3)
        url = f"sqlite:///{var / 'bot.db'}"
        with db.session_scope(url) as session:
            auth.create_user(session, "ann", PASSWORD, role="worker", language="nl")
        db.dispose_engine(url)
        yield stack, base
    finally:
        if own is not None and own.poll() is None:
            os.killpg(own.pid, signal.SIGTERM)
            own.wait(timeout=30)
        stack.stop()


def _send(page, text: str) -> None:
    page.locator("#chat-text").fill(text)
    page.locator("#chat-text").press("Enter")


def test_family_and_worker_in_the_browser(running: tuple[Stack, str], tmp_path: Path) -> None:
    sync_playwright, expect = _playwright()
    _stack, base = running
    with sync_playwright() as p:
        def browser(name: str):
            return p.chromium.launch_persistent_context(
                str(tmp_path / name), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                headless=True, locale="nl-BE")

        family_browser, worker_browser = browser("family"), browser("worker")
        try:
            family = family_browser.new_page()
            family.goto(f"{base}/chat")
            expect(family.locator("h1")).to_have_text(i18n.t("webchat.title", "nl"))
            messages = family.locator("#messages")
            _send(family, "hallo")
            expect(messages.locator(".msg.bot").first).to_be_visible(timeout=WAIT_MS)
            _send(family, "ik wil met iemand van het loket spreken")
            expect(messages).to_contain_text(i18n.t("handoff.open", "nl"), timeout=WAIT_MS)

            worker = worker_browser.new_page()
            worker.goto(f"{base}/inbox")
            expect(worker).to_have_url(re.compile(r"/inbox/login\?next="))
            worker.get_by_label("Gebruikersnaam").fill("ann")
            worker.get_by_label("Wachtwoord").fill(PASSWORD)
            worker.get_by_role("button", name="Aanmelden").click()
            expect(worker.locator("h1")).to_have_text("Wachtrij")
            worker.get_by_role("link", name="Openen").first.click(timeout=WAIT_MS)
            worker.get_by_role("button", name="Gesprek opnemen").click()
            expect(worker.locator(".flash.ok")).to_be_visible()
            transcript = worker.locator("#transcript")
            expect(transcript).to_contain_text("ik wil met iemand van het loket spreken")

            # the family writes while paused: no bot answer, the worker sees it live
            _send(family, "mijn dochter is 2 jaar, hebben jullie plaats?")
            expect(transcript).to_contain_text("mijn dochter is 2 jaar", timeout=WAIT_MS)

            reply = "Dag, ik ben Ann van het loket. Ik kijk het voor je na."
            worker.get_by_label("Je antwoord", exact=False).fill(reply)
            worker.get_by_role("button", name="Versturen").click()
            expect(worker.locator(".flash.ok")).to_have_text(
                "Je bericht is verstuurd.")
            expect(messages.locator(".msg.staff")).to_contain_text(reply, timeout=WAIT_MS)
            expect(messages.locator(".msg.staff .who")).to_have_text(
                i18n.t("webchat.staff", "nl"))

            worker.get_by_label("Uitkomst").select_option("answered")
            worker.get_by_role("button", name="Teruggeven aan de digitale assistent").click()
            expect(worker.locator("h1")).to_have_text("Wachtrij")
            expect(messages).to_contain_text(i18n.t("handoff.back", "nl"), timeout=WAIT_MS)

            _send(family, "wat is een onthaalouder")
            expect(messages.locator(".msg.bot").last).to_contain_text(
                i18n.t("care_types.gezinsopvang", "nl")[:40], timeout=WAIT_MS)
        finally:
            family_browser.close()
            worker_browser.close()
