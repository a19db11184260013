""""附近/沿街搜索" on the console's map in a real browser (Debian's chromium, the API's real CSP): an operator clicks
the map beside a shop for a centre, picks a radius and the station's 22:00-23:00 on a day, and gets that evening's
events of the cameras around in time order (not the one at 23:05) with their picture links; the same along the
street by its name; a result opens the event in the work view. Chinese first, English when chosen."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.async_api import Browser, Page

from shopwatch.core.principal import Role
from shopwatch.incidents.service import IncidentService
from tests.api.auth_fixtures import AuthKit
from tests.api.test_console import ARTEFACTS, EN, WAIT_MS, ZH, sign_in
from tests.api.test_console_map import (  # noqa: F401  (the browser and server fixtures)
    PIN,
    SETTLED,
    browser_fixture,
    csp_watch,
    pytestmark,
    server_fixture,
)
from tests.incidents.peers import make_event

CST = timezone(timedelta(hours=8))


def evening(hour: int, minute: int) -> float:
    return datetime(2026, 12, 7, hour, minute, tzinfo=CST).timestamp()


async def found(page: Page, answers: int) -> list[str]:
    await page.wait_for_selector(f"#search-panel[data-answered='{answers}']", state="attached", timeout=WAIT_MS)
    return [await li.get_attribute("data-id") or "" for li in await page.locator("#search-results li").all()]


async def test_an_operator_searches_near_a_clicked_point_and_along_a_street(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    stored = {}
    for camera, (hour, minute) in [("cam-0003", (22, 40)), ("cam-0001", (22, 10)), ("cam-0005", (22, 30)),
                                   ("cam-0002", (22, 20)), ("cam-0001", (23, 5)), ("cam-0002", (21, 50))]:  # fmt: skip
        stored[(camera, hour, minute)] = (await incidents.ingest(make_event(camera, evening(hour, minute)))).id
    expected = [stored[k] for k in [("cam-0001", 22, 10), ("cam-0002", 22, 20), ("cam-0005", 22, 30),
                                    ("cam-0003", 22, 40)]]  # fmt: skip
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    errors = csp_watch(page)
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#live.on", state="attached", timeout=WAIT_MS)  # the cameras are loaded
    await page.click("#show-map")
    await page.wait_for_selector(f"{SETTLED}[data-pins='7']", timeout=WAIT_MS)  # zoomed to the cameras, at rest
    box = await page.locator(PIN.format("cam-0001")).bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] / 2 + 30, box["y"] + box["height"] / 2)  # beside the shop
    await page.wait_for_selector("#search-centre[data-set]", timeout=WAIT_MS)
    assert (await page.text_content("#search-centre") or "").startswith(ZH["search.centre"].split("{")[0])
    await page.select_option("#search-form select[name=radius]", "200")
    await page.fill("#search-form input[name=date]", "2026-12-07")
    await page.fill("#search-form input[name=from]", "22:00")
    await page.fill("#search-form input[name=to]", "23:00")
    await page.click("#search-form button[type=submit]")
    assert await found(page, 1) == expected  # in time order; not 21:50 nor 23:05
    assert await page.locator("path.search-area").count() == 1
    first = page.locator("#search-results li").first
    assert await first.locator("a").first.get_attribute("href") == f"/api/events/{expected[0]}/snapshots/actor.jpg"
    assert "22:10:00" in (await first.locator("time").text_content() or "")  # the station's time
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-search-zh.png")

    await page.select_option("#search-form select[name=mode]", "along")
    await page.fill("#search-form input[name=street]", "Long Street")
    await page.click("#search-form button[type=submit]")
    assert await found(page, 2) == expected
    assert await page.locator("path.search-area").count() == 0
    await page.select_option("#lang", "en")
    await page.wait_for_selector("html[lang=en]", timeout=WAIT_MS)
    assert await page.text_content("#search-form button[type=submit]") == EN["search.go"]

    await page.locator("#search-results li").nth(1).locator("button").click()  # open it
    await page.wait_for_selector("#detail", state="visible", timeout=WAIT_MS)
    assert await page.is_visible("#app-view")
    assert errors == []
