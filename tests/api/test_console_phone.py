"""The patrol phone's page at 390×844 in a real browser (Debian's chromium, the API's real CSP): a phone opening
the console gets the patrol page; a patrol user sees only its grid's events (live too), opens one with its
pictures and place, and acknowledges it with a note that the store keeps. Desktop notifications on the command
room's console; dates in English year first."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.async_api import Browser

from shopwatch.core.events import EventType
from shopwatch.core.principal import Role
from shopwatch.incidents.service import IncidentService
from tests.api.auth_fixtures import AuthKit
from tests.api.test_console import ARTEFACTS, EN, WAIT_MS, ZH, labels_are, sign_in
from tests.api.test_console_map import browser_fixture, csp_watch, loaded, pytestmark, server_fixture  # noqa: F401
from tests.incidents.peers import make_event

PHONE = {"width": 390, "height": 844}


async def test_the_patrol_phone_sees_only_its_grid_and_acknowledges_with_a_note(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService
) -> None:
    auth_kit.user("pat", Role.PATROL, ("south",))
    north = await incidents.ingest(make_event("cam-0001", time.time() - 30))
    south = await incidents.ingest(make_event("cam-0004", time.time() - 20, EventType.LOITERING))
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = await context.new_page()
    errors = csp_watch(page)
    await page.goto(server + "/console/")
    await page.wait_for_url("**/console/phone.html", timeout=WAIT_MS)  # a phone gets the patrol page
    await sign_in(page, server + "/console/phone.html#", "pat")
    await page.wait_for_selector(f"[data-event='{south.id}']", timeout=WAIT_MS)
    await page.wait_for_selector("#live.on", timeout=WAIT_MS)
    assert await page.locator(f"[data-event='{north.id}']").count() == 0  # grid north is not theirs
    assert await page.text_content("#list-view h2 span") == ZH["phone.events"]

    later = await incidents.ingest(make_event("cam-0005", time.time() - 5))  # live, in its grid
    await incidents.ingest(make_event("cam-0002", time.time() - 4))  # live, not in its grid
    await page.wait_for_selector(f"#event-list li:first-child[data-event='{later.id}']", timeout=WAIT_MS)
    assert await page.locator("#event-list li").count() == 2
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing off the side

    await page.tap(f"[data-event='{south.id}']")
    await page.wait_for_selector("#detail-view", state="visible", timeout=WAIT_MS)
    assert await loaded(page, "#pictures img")
    picture = await page.locator("#pictures img").bounding_box()
    assert picture is not None and picture["width"] >= 330  # the width of the screen, to judge it
    assert "4 Long Street" in (await page.text_content("#detail-place") or "")
    await page.wait_for_selector("#place-map[data-camera='cam-0004'] path.place-pin", timeout=WAIT_MS)
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-phone-zh.png", full_page=True)

    await page.fill("#note", "到场，无人 on site, nobody there")
    await page.tap("#ack")
    await page.wait_for_selector("#ack-form", state="hidden", timeout=WAIT_MS)  # nothing more for a patrol
    event = await asyncio.to_thread(incidents.events.get, south.id)
    assert event is not None and event.status == "acknowledged"
    [step] = await asyncio.to_thread(incidents.events.transitions, south.id)
    assert (step.user, step.note) == ("pat", "到场，无人 on site, nobody there")
    await page.tap("#back")
    status = page.locator(f"[data-event='{south.id}'] .status")
    assert await status.text_content() == ZH["status.acknowledged"]
    await page.select_option("#lang", "en")  # every label of the phone page in English
    await page.wait_for_selector("html[lang=en]", timeout=WAIT_MS)
    assert await labels_are(page, EN) >= 15
    assert await status.text_content() == EN["status.acknowledged"]
    assert errors == []
    await context.close()


async def test_a_new_event_is_a_desktop_notification_while_the_console_is_not_looked_at(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    await context.grant_permissions(["notifications"], origin=server)
    page = await context.new_page()
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#notify[data-permission=granted]", timeout=WAIT_MS)
    assert await page.text_content("#notify") == ZH["notify.on"]
    await page.wait_for_selector("#live.on", state="attached", timeout=WAIT_MS)
    start = time.time() - 5
    looked_at = await incidents.ingest(make_event("cam-0001", start - 5))
    await page.wait_for_selector(f"[data-event='{looked_at.id}']", state="attached", timeout=WAIT_MS)
    assert await page.get_attribute("body", "data-notices") is None  # the operator is looking: the sound is enough
    # The operator turns to another window. Headless chromium keeps every page focused, so the page is told so.
    await page.evaluate("Document.prototype.hasFocus = () => false")
    await incidents.ingest(make_event("cam-0002", start))
    await page.wait_for_selector("body[data-notices='1']", state="attached", timeout=WAIT_MS)

    await page.select_option("#lang", "en")
    await page.click("#show-work")
    row = page.locator("#event-list li").first
    await row.wait_for(timeout=WAIT_MS)
    station = datetime.fromtimestamp(start, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert await row.locator("time").text_content() == station  # year first and 24 h in English too
    await context.close()
