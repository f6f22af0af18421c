"""Staff pages with what the whole-assistant browser test does not have (a snelfiche with its
status list and number of children, a period's dates with an error, a report with requests)
fit a phone: at 390 px nothing is wider than the screen. Against the inbox app on a fresh
database and a fake Rasa (test_inbox_helpers.py), in Debian's Chromium.

Marked e2e like the other browser tests: it needs Chromium, which ``make test`` installs.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import select
from test_inbox_browser import CHROMIUM, CHROMIUM_ARGS, _playwright
from test_inbox_helpers import PASSWORD, running_inbox
from test_inbox_places_import import DEMO, _upload
from test_inbox_report_handoffs import _confirmed

from bot import db, handoff
from bot.places.models import Availability

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/inbox-shots")
PHONE = {"width": 390, "height": 844}


@pytest.fixture()
async def inbox(tmp_path, monkeypatch):
    async with running_inbox(tmp_path, monkeypatch) as running:
        yield running


async def test_request_period_and_report_pages_fit_a_phone(inbox) -> None:
    _playwright()  # Chromium and Playwright there, else a failure
    from playwright.async_api import async_playwright

    await inbox.login("admin")
    await _upload(inbox, inbox.client, DEMO)
    sender = "webchat:" + secrets.token_urlsafe(18)
    with db.session_scope(inbox.url) as s:
        hid = handoff.open_handoff(s, sender, channel="rest", language="nl",
                                   reason="request", urgent=False, paused=True).id
        aid = s.execute(select(Availability.id).limit(1)).scalar_one()
    _confirmed(inbox.url, sender, child="Sara en Lina", children=2)
    _confirmed(inbox.url, "web-other", child="Noor", status="found_elsewhere")
    base = str(inbox.client.make_url("")).rstrip("/")
    SHOTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                          headless=True)
        try:
            context = await browser.new_context(locale="nl-BE", viewport=PHONE,
                                                is_mobile=True, has_touch=True)
            page = await context.new_page()
            await page.goto(f"{base}/inbox/login")
            await page.get_by_label("Gebruikersnaam").fill("admin")
            await page.get_by_label("Wachtwoord").fill(PASSWORD)
            await page.get_by_role("button", name="Aanmelden").click()
            await page.wait_for_url(f"{base}/inbox")
            for path, name in ((f"/inbox/c/{hid}", "request"),
                               (f"/inbox/admin/places/period?id={aid}", "period"),
                               ("/inbox/report", "report")):
                await page.goto(base + path)
                if name == "period":  # with the error shown next to the field
                    await page.fill("#period-from", "2031-05-01")
                    await page.fill("#period-to", "2031-04-01")
                    await page.get_by_role("button", name="Data bewaren").click()
                    await page.locator("#err-to_before_from").wait_for()
                    assert "ma di wo do vr" in await page.locator("main").inner_text()
                if name == "request":
                    assert await page.locator("#children-1").input_value() == "2"
                width = await page.evaluate("document.documentElement.scrollWidth")
                await page.screenshot(path=str(SHOTS / f"phone-staff-{name}.png"),
                                      full_page=True)
                assert width <= PHONE["width"], (path, width)
        finally:
            await browser.close()
