"""In a real browser (Debian's Chromium, headless, driven by Playwright), against the whole
assistant: a family asks for a person in the web chat, a worker signs in, takes the
conversation, sees the family's next message arrive, replies, the family sees the reply; the
worker hands back and the bot answers again.

Chromium or Playwright missing is a failure, not a skip: the inbox is not tested then.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from serving import Served, loket_file

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


@pytest.fixture(scope="module")
def running(serve_stack: Callable[..., Served],
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Served, str]:
    var = tmp_path_factory.mktemp("inbox_browser")
    stack = serve_stack(var, BOT_LOKET_FILE=str(loket_file(var, open_now=True)))
    with db.session_scope(stack.db_url) as session:
        auth.create_user(session, "ann", PASSWORD, role="worker", language="nl")
    db.dispose_engine(stack.db_url)
    return stack, stack.inbox


def _send(page, text: str) -> None:
    page.locator("#chat-text").fill(text)
    page.locator("#chat-text").press("Enter")


def test_family_and_worker_in_the_browser(running: tuple[Served, str], tmp_path: Path) -> None:
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
