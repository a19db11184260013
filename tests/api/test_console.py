"""The operator console in a real browser (Debian's chromium, driven by Playwright) against the real API server:
sign-in, live events over SSE, working an event, patrol scoping, sign-out. The console is static files; what it
shows is only what the authenticated API gave it."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright

from shopwatch.api.server import ApiServer
from shopwatch.core.events import EventType
from shopwatch.core.health import CameraState
from shopwatch.core.principal import Role
from shopwatch.incidents.service import IncidentService
from tests.api.auth_fixtures import PASSWORD, AuthKit
from tests.api.fakes import FakeFleet, jpeg_bytes, make_health, password_of
from tests.api.test_console_i18n import catalogue
from tests.incidents.peers import make_event

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make deps installs Debian's)"),
    pytest.mark.timeout(120),
]
WAIT_MS = 10_000
ZH, EN = catalogue("zh-CN"), catalogue("en")
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"  # screenshots for people; git-ignored


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    server = ApiServer(app, "127.0.0.1", 0)
    task = asyncio.create_task(server.serve())
    yield server.url
    server.stop()
    await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        await browser.close()


async def sign_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(url + "/")
    await page.wait_for_selector("#login-form", state="visible", timeout=WAIT_MS)
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("#login-form button[type=submit]")


async def test_an_operator_signs_in_sees_an_event_arrive_live_and_works_it(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page(bypass_csp=True)  # wait_for_function evals; test_headers runs the CSP
    await page.goto(server + "/")
    assert page.url == server + "/console/"
    await page.wait_for_selector("#login-form", state="visible", timeout=WAIT_MS)
    assert await page.is_hidden("#app-view")  # nothing shown before signing in

    await sign_in(page, server, "olga", "wrong password")
    await page.wait_for_function("document.querySelector('#login-error').textContent.length > 0", timeout=WAIT_MS)
    assert await page.is_hidden("#app-view")

    await sign_in(page, server, "olga")
    await page.wait_for_selector("#wall-view", state="visible", timeout=WAIT_MS)  # the landing page
    await page.click("#show-work")
    await page.wait_for_selector("#app-view", state="visible", timeout=WAIT_MS)
    assert (await page.text_content("#who") or "").startswith(f"olga（{ZH['role.operator']}")
    await page.wait_for_selector("#cameras tbody tr >> nth=6", timeout=WAIT_MS)
    assert await page.locator("#cameras tbody tr").count() == 7
    online = ZH["cameras.count"].format(state=ZH["health.online"], n=2)
    assert online in (await page.text_content("#fleet-summary") or "")
    await page.wait_for_selector("#live.on", timeout=WAIT_MS)  # the SSE feed is open

    stored = await incidents.ingest(make_event("cam-0002", time.time() - 5))  # detection hands an event in
    row = page.locator(f"[data-event='{stored.id}']")
    await row.wait_for(timeout=WAIT_MS)  # arrived through the feed, no reload
    assert "Merchant 2" in (await row.text_content() or "") and "new" in (await row.get_attribute("class") or "")

    await row.click()
    await page.wait_for_selector("#detail", state="visible", timeout=WAIT_MS)
    await page.wait_for_function(
        "document.querySelector('#pictures img') && document.querySelector('#pictures img').naturalWidth > 0",
        timeout=WAIT_MS,
    )  # the actor picture loaded with the login cookie
    assert await page.is_visible("#talk")  # cam-0002 has a speaker its shop allows
    await page.click("#live-view-toggle")  # MSE over the page's live socket (played: tests/api/test_console_live.py)
    await page.wait_for_selector("#live-view[data-live] video", timeout=WAIT_MS)
    await page.click("#live-view-toggle")
    assert await page.is_hidden("#live-view") and await page.locator("#live-view video").count() == 0
    await page.fill("#note", "patrol 3 on the way")
    await page.click("[data-move=acknowledged]")
    await page.wait_for_selector("[data-move=dispatched]", timeout=WAIT_MS)
    await page.wait_for_function("document.querySelector('#history').children.length == 1", timeout=WAIT_MS)

    event = await asyncio.to_thread(incidents.events.get, stored.id)
    assert event is not None and event.status == "acknowledged"
    [step] = await asyncio.to_thread(incidents.events.transitions, stored.id)
    assert (step.user, step.note) == ("olga", "patrol 3 on the way")

    await page.click("#logout")
    await page.wait_for_selector("#login-form", state="visible", timeout=WAIT_MS)
    assert await page.context.cookies() == []  # the HttpOnly login cookie is gone
    async with httpx.AsyncClient(base_url=server) as client:
        assert (await client.get("/api/auth/me")).status_code == 401


async def test_a_patrol_sees_only_its_grid_and_may_only_acknowledge(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService
) -> None:
    auth_kit.user("pat", Role.PATROL, ("south",))
    page = await browser.new_page(bypass_csp=True)  # wait_for_function evals; test_headers runs the CSP
    await sign_in(page, server, "pat")
    await page.click("#show-work")
    await page.wait_for_selector("#live.on", timeout=WAIT_MS)

    north = await incidents.ingest(make_event("cam-0001", time.time() - 9))
    south = await incidents.ingest(make_event("cam-0004", time.time() - 5, EventType.LOITERING))
    await page.locator(f"[data-event='{south.id}']").click(timeout=WAIT_MS)
    await page.wait_for_selector("[data-move=acknowledged]", timeout=WAIT_MS)
    assert await page.locator("#moves button").count() == 1  # not "false positive": patrol only acknowledges
    assert await page.is_hidden("#talk")
    assert await page.locator(f"[data-event='{north.id}']").count() == 0  # grid north is not theirs
    assert await page.locator("#cameras tbody tr").count() == 4  # the south grid's cameras only


WALK = """() => {
  const out = [];
  for (const node of document.querySelectorAll("[data-i18n]")) out.push([node.dataset.i18n, "text", node.textContent]);
  for (const attr of ["placeholder", "title", "alt", "aria-label"]) {
    for (const node of document.querySelectorAll(`[data-i18n-${attr}]`)) {
      out.push([node.getAttribute(`data-i18n-${attr}`), attr, node.getAttribute(attr)]);
    }
  }
  return out;
}"""


async def labels_are(page: Page, messages: dict[str, str]) -> int:
    shown = await page.evaluate(WALK)
    wrong = [(key, where, text) for key, where, text in shown if text != messages[key]]
    assert wrong == []
    return len(shown)


async def test_the_console_speaks_chinese_first_and_english_when_chosen(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page(bypass_csp=True, viewport={"width": 1600, "height": 900})
    await page.goto(server + "/")
    await page.wait_for_function(f"document.querySelector('#login-form h2').textContent === {ZH['auth.title']!r}")
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    await sign_in(page, server, "olga")
    await page.click("#show-work")
    await page.wait_for_selector("#live.on", timeout=WAIT_MS)
    start = time.time() - 5
    stored = await incidents.ingest(make_event("cam-0002", start))
    row = page.locator(f"[data-event='{stored.id}']")
    await row.wait_for(timeout=WAIT_MS)
    station = datetime.fromtimestamp(start, ZoneInfo("Asia/Shanghai")).strftime("%H:%M:%S")  # 24 h, the station's
    assert station in (await row.locator("time").text_content() or "")
    assert ZH["type.card_posting"] in (await row.text_content() or "")
    await row.click()
    await page.wait_for_selector("[data-move=acknowledged]", timeout=WAIT_MS)
    assert await labels_are(page, ZH) >= 35  # every label on the page, hidden ones too
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-event-zh.png")

    await page.select_option("#lang", "en")
    title = EN["app.title"]
    await page.wait_for_function(f"document.documentElement.lang === 'en' && document.title.endsWith({title!r})")
    assert await page.title() == f"(1) {EN['app.title']}"  # one unhandled event
    await labels_are(page, EN)
    assert (await page.text_content("#who") or "").startswith("olga (operator")
    assert "2 online" in (await page.text_content("#fleet-summary") or "")
    assert EN["type.card_posting"] in (await row.text_content() or "")  # the event list redrawn in place
    assert await page.text_content("[data-move=acknowledged]") == EN["move.acknowledged"]
    assert (await page.text_content("#detail-title") or "").startswith(EN["type.card_posting"] + " at ")
    await page.screenshot(path=ARTEFACTS / "console-event-en.png")

    await page.reload()  # the choice is remembered
    await page.wait_for_selector("#wall-view", state="visible", timeout=WAIT_MS)
    await labels_are(page, EN)


async def test_the_wall_is_the_landing_page_with_pictures_states_pages_and_an_outage_within_5_s(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService, fleet: FakeFleet
) -> None:
    for camera_id in ("cam-0001", "cam-0002"):
        fleet.snapshots[camera_id] = jpeg_bytes(320, 180)
    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page(bypass_csp=True, viewport={"width": 1600, "height": 1000})
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#wall-view", state="visible", timeout=WAIT_MS)
    assert await page.is_hidden("#app-view")
    tile = "#wall [data-camera='{}']"
    await page.wait_for_selector("#wall .tile >> nth=6", timeout=WAIT_MS)  # the camera list arrives after the view
    assert await page.locator("#wall .tile").count() == 7  # 3×3, one page
    await page.wait_for_function(f"document.querySelector(\"{tile.format('cam-0001')} img\").naturalWidth == 320")
    offline = page.locator(tile.format("cam-0003"))
    assert await offline.get_attribute("data-state") == "offline"
    why = await offline.locator(".tile-state").text_content() or ""
    assert why.startswith(ZH["health.offline"]) and ZH["why.refused"] in why  # in the page's language
    sentence = await offline.get_attribute("title") or ""  # the worker's own words on hover
    assert "connection refused" in sentence and password_of(3) not in why + sentence

    cam2 = fleet.camera("cam-0002")
    assert cam2 is not None
    fleet.report(make_health(cam2, CameraState.OFFLINE))  # what the worker's report does to the fleet
    began = time.monotonic()
    await page.wait_for_selector(f"{tile.format('cam-0002')}[data-state=offline]", timeout=5_000)
    assert time.monotonic() - began < 5

    stored = await incidents.ingest(make_event("cam-0001", time.time() - 5))
    await page.wait_for_selector(f"{tile.format('cam-0001')}[data-alarm=on]", timeout=WAIT_MS)
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-wall-zh.png")

    await page.wait_for_function("Number(document.body.dataset.rings) >= 2", timeout=WAIT_MS)  # 2 s passed
    asked = [camera_id for camera_id, _ in fleet.snapshot_calls]
    assert asked.count("cam-0003") == 1  # an offline camera's tile is not asked again until it is back
    await page.select_option("#wall-layout", "2")  # 2×2: two pages
    assert await page.locator("#wall .tile").count() == 4
    assert "1/2" in (await page.text_content("#wall-page") or "")
    await page.click("#wall-next")
    assert await page.locator("#wall .tile").count() == 3
    await page.select_option("#wall-grid", "south")
    assert await page.locator("#wall .tile").count() == 4  # the south grid's four, page 1 again

    await page.select_option("#wall-grid", "")
    await page.click(tile.format("cam-0001"))  # the tile with an unhandled event: its event
    await page.wait_for_selector("#app-view", state="visible", timeout=WAIT_MS)
    await page.wait_for_selector(f"[data-event='{stored.id}'].selected", timeout=WAIT_MS)


async def test_a_new_event_rings_until_selected_shows_in_the_title_and_is_worked_from_the_keyboard(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page(bypass_csp=True, viewport={"width": 1600, "height": 1000})
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#live.on", state="attached", timeout=WAIT_MS)  # the feed, from the wall
    assert await page.get_attribute("body", "data-alarm") == "quiet"
    older = await incidents.ingest(make_event("cam-0001", time.time() - 9))
    newer = await incidents.ingest(make_event("cam-0002", time.time() - 5))
    await page.wait_for_selector("body[data-alarm=ringing]", timeout=WAIT_MS)
    await page.wait_for_function("Number(document.body.dataset.rings) >= 2", timeout=WAIT_MS)  # it repeats
    assert await page.title() == f"(2) {ZH['app.title']}"

    await page.keyboard.press("j")  # the newest event: one still rings
    await page.wait_for_selector(f"[data-event='{newer.id}'].selected", timeout=WAIT_MS)
    assert await page.get_attribute("body", "data-alarm") == "ringing"
    await page.keyboard.press("j")  # the other one: quiet
    await page.wait_for_selector(f"[data-event='{older.id}'].selected", timeout=WAIT_MS)
    await page.wait_for_selector("body[data-alarm=quiet]", timeout=WAIT_MS)
    picture = await page.locator("#pictures.evidence img").bounding_box()  # a card-posting event's evidence
    assert picture is not None and picture["width"] >= 280
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-alarm-event-zh.png")

    await page.keyboard.press("a")  # acknowledge the selected one
    await page.wait_for_selector("[data-move=dispatched]", timeout=WAIT_MS)
    await page.wait_for_function(f"document.title === {'(1) ' + ZH['app.title']!r}", timeout=WAIT_MS)
    await page.keyboard.press("k")
    await page.wait_for_selector(f"[data-event='{newer.id}'].selected", timeout=WAIT_MS)
    await page.keyboard.press("f")  # false positive
    await page.wait_for_function(f"document.title === {ZH['app.title']!r}", timeout=WAIT_MS)
    stored = [await asyncio.to_thread(incidents.events.get, e.id) for e in (older, newer)]
    assert [e.status for e in stored if e is not None] == ["acknowledged", "false_positive"]


async def test_a_card_posting_false_positive_is_taught_with_the_ignore_this_spot_button(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService
) -> None:
    from tests.api.routers.test_camera_spots import card_event

    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page(bypass_csp=True)
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#wall-view", state="visible", timeout=WAIT_MS)
    await page.click("#show-work")
    await page.wait_for_selector("#live.on", timeout=WAIT_MS)
    loitering = await incidents.ingest(make_event("cam-0001", time.time() - 9, EventType.LOITERING))
    card = await incidents.ingest(card_event("cam-0001"))

    await page.locator(f"[data-event='{loitering.id}']").click(timeout=WAIT_MS)
    await page.wait_for_selector("[data-move=false_positive]", timeout=WAIT_MS)
    assert await page.locator("[data-move=ignore_spot]").count() == 0  # no patches: nothing to ignore

    await page.locator(f"[data-event='{card.id}']").click(timeout=WAIT_MS)
    button = page.locator("[data-move=ignore_spot]")
    await button.wait_for(timeout=WAIT_MS)
    assert await button.text_content() == ZH["move.ignore_spot"]
    await button.click()
    await page.wait_for_selector("[data-move=ignore_spot]", state="detached", timeout=WAIT_MS)
    stored = await asyncio.to_thread(incidents.events.get, card.id)
    assert stored is not None and stored.status == "false_positive"
    assert incidents.spots is not None
    [spot] = await incidents.spots.list("cam-0001")
    assert (spot.event_id, spot.created_by) == (card.id, "olga")
