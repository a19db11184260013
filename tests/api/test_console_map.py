"""The console's map in a real browser (Debian's chromium through Playwright, under the API's real
Content-Security-Policy) against the real API server: every located camera's pin coloured by its state, a camera
going offline recoloured from the event stream, an event blinking its pin (and its cluster when zoomed out), a
pin opening the camera's live picture, and an incident's path (its linked events' cameras in time order) drawn
with an arrow on each leg from the incident view. The station's own image as background; the map's routes only
for signed-in callers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright, expect

from shopwatch.api.app import create_app
from shopwatch.api.server import ApiServer
from shopwatch.api.services import Services
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import Settings
from shopwatch.core.health import CameraState
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.principal import Role
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService
from tests.api.auth_fixtures import AuthKit
from tests.api.fakes import FakeFleet, make_health
from tests.api.test_console import ARTEFACTS, CHROMIUM, WAIT_MS, ZH, sign_in
from tests.incidents.peers import make_event

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make deps installs Debian's)"),
    pytest.mark.timeout(120),
]
PIN = ".pin-dot[data-camera='{}']"
SETTLED = "#map[data-zoom]:not([data-moving])"  # no pan or zoom under way (map.js): pins and paths stay put


@pytest.fixture
async def incidents(fleet: FakeFleet, auth_kit: AuthKit, tmp_path: Path) -> AsyncIterator[IncidentService]:
    """The real incident service with cross-camera linking on (the small fleet's cameras are ~11 m apart)."""
    settings = IncidentsSettings.model_validate({"mqtt": {"enabled": False}})
    service = build_incidents(settings, auth_kit.engine, fleet, None, tmp_path / "data", SystemClock())
    yield service
    await service.close()


async def serve(app: FastAPI) -> AsyncIterator[str]:
    server = ApiServer(app, "127.0.0.1", 0)
    task = asyncio.create_task(server.serve())
    yield server.url
    server.stop()
    await asyncio.wait_for(task, timeout=10)


@pytest.fixture(name="browser")
async def browser_fixture() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        await browser.close()


@pytest.fixture(name="server")
async def server_fixture(app: FastAPI) -> AsyncIterator[str]:
    async for url in serve(app):
        yield url


def csp_watch(page: Page) -> list[str]:
    """What the browser said about the page's policy ("Refused to ...") or its scripts: must stay empty. An HTTP
    error the page expects (401 before signing in, 503 for an offline camera's still) is not one."""
    said: list[str] = []
    page.on("console", lambda m: said.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None)
    page.on("pageerror", lambda e: said.append(str(e)))
    return said


async def loaded(page: Page, selector: str) -> bool:
    """The picture has arrived (polled from here: the page's CSP forbids wait_for_function's eval)."""
    for _ in range(100):
        if await page.eval_on_selector(selector, "img => img.naturalWidth") > 0:
            return True
        await asyncio.sleep(0.1)
    return False


async def zoom_out(page: Page) -> None:
    """One step out with the map's own button, waiting for the zoom to end: a click while Leaflet still animates
    the previous one would be swallowed (on a loaded machine a fixed pause is not enough)."""
    await page.wait_for_selector(SETTLED, timeout=WAIT_MS)
    zoom = await page.get_attribute("#map", "data-zoom")
    await page.click(".leaflet-control-zoom-out")
    await page.wait_for_selector(f"{SETTLED}:not([data-zoom='{zoom}'])", timeout=WAIT_MS)


async def test_the_map_shows_pins_by_state_flashes_an_event_and_draws_an_incident_path(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService, fleet: FakeFleet
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})  # the real CSP: no bypass
    errors = csp_watch(page)
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#live.on", state="attached", timeout=WAIT_MS)
    await page.click("#show-map")
    await page.wait_for_selector(f"{SETTLED}[data-pins='7'][data-background=grids]", timeout=WAIT_MS)
    await expect(page.locator(".pin-dot")).to_have_count(7, timeout=WAIT_MS)  # zoomed to the cameras: every pin alone
    assert await page.locator(".grid-outline").count() == 2  # north and south, drawn round their cameras
    states = {i: await page.get_attribute(PIN.format(f"cam-000{i}"), "data-state") for i in range(1, 8)}
    assert states == {1: "online", 2: "online", 3: "offline", 4: "stalled", 5: "auth_failed", 6: "unknown",
                      7: "disabled"}  # fmt: skip
    colour = "e => getComputedStyle(e).backgroundColor"
    assert await page.eval_on_selector(PIN.format("cam-0001"), colour) != await page.eval_on_selector(
        PIN.format("cam-0003"), colour
    )

    cam2 = fleet.camera("cam-0002")
    assert cam2 is not None
    fleet.report(make_health(cam2, CameraState.OFFLINE))  # the camera goes down: the stream says so
    await page.wait_for_selector(PIN.format("cam-0002") + "[data-state=offline]", timeout=WAIT_MS)

    start = time.time() - 60
    first = await incidents.ingest(make_event("cam-0001", start))
    await page.wait_for_selector(PIN.format("cam-0001") + "[data-alarm=on]", timeout=WAIT_MS)  # it blinks
    cluster = page.locator(".cluster-count[data-state=alarm]")
    for _ in range(12):  # zoomed out, the pins gather into clusters; the one holding it blinks too
        if await cluster.count():
            break
        await zoom_out(page)
    await cluster.wait_for(timeout=WAIT_MS)
    await page.wait_for_selector(PIN.format("cam-0001"), state="hidden", timeout=WAIT_MS)  # in its cluster

    second = await incidents.ingest(make_event("cam-0002", start + 15))
    third = await incidents.ingest(make_event("cam-0003", start + 30))
    stored = await asyncio.to_thread(incidents.events.get, third.id)
    assert stored is not None and stored.incident_id is not None  # linked across the three cameras
    await page.click("#show-work")
    await page.locator(f"[data-event='{third.id}']").click(timeout=WAIT_MS)
    steps = page.locator("#incident .incident-steps li")
    await steps.nth(2).wait_for(timeout=WAIT_MS)
    assert [await steps.nth(i).get_attribute("data-event") for i in range(3)] == [first.id, second.id, third.id]
    assert ZH["direction.north"] in (await page.text_content("#incident .incident-facts") or "")
    await page.click("#incident .incident-map")
    await page.wait_for_selector(f"{SETTLED}[data-path='3'][data-arrows='2']", timeout=WAIT_MS)  # zoomed to it
    assert await page.locator("path.incident-path").count() == 1
    assert await page.locator("path.incident-arrow").count() == 2
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-map-incident-zh.png")

    await page.click(PIN.format("cam-0001"))  # a pin: the camera and its live picture
    await page.wait_for_selector("#map-camera", state="visible", timeout=WAIT_MS)
    assert "Merchant 1" in (await page.text_content("#map-camera-name") or "")
    await page.wait_for_selector("#map-live[data-live] video", state="attached", timeout=WAIT_MS)  # MSE player
    await page.click("#map-camera-close")
    await expect(page.locator("#map-live video")).to_have_count(0, timeout=WAIT_MS)  # the player is stopped
    assert await page.get_attribute("#map-live", "data-live") is None
    assert errors == []


async def test_the_station_image_is_the_background_for_signed_in_callers_only(
    browser: Browser, auth_kit: AuthKit, incidents: IncidentService, fleet: FakeFleet, tmp_path: Path
) -> None:
    image = tmp_path / "street.svg"
    image.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20"><rect width="40" height="20" '
                     'fill="#345"/></svg>')  # fmt: skip
    corners = {"south_west": {"lat": 39.8995, "lon": 116.3990}, "north_east": {"lat": 39.9012, "lon": 116.4010}}
    settings = Settings.model_validate({"api": {"console": {"map": {"image": str(image), **corners}}}})
    app = create_app(settings, Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit, incidents=incidents))
    auth_kit.user("olga", Role.OPERATOR)
    async for url in serve(app):
        async with httpx.AsyncClient(base_url=url) as stranger:
            assert (await stranger.get("/console/map.json")).status_code == 401
            assert (await stranger.get("/console/map-image")).status_code == 401
        page = await browser.new_page(viewport={"width": 1200, "height": 800})
        errors = csp_watch(page)
        await sign_in(page, url, "olga")
        await page.click("#show-map")
        await page.wait_for_selector("#map[data-background=image][data-pins='7']", timeout=WAIT_MS)
        assert await loaded(page, "img.map-image")
        assert await page.locator(".grid-outline").count() == 0
        assert errors == []


async def test_a_grid_drawn_by_the_station_is_its_outline_and_the_others_are_boxes(
    browser: Browser, auth_kit: AuthKit, incidents: IncidentService, fleet: FakeFleet
) -> None:
    pentagon = [{"lat": 39.8990, "lon": 116.3990}, {"lat": 39.8990, "lon": 116.4010}, {"lat": 39.9005, "lon": 116.4015},
                {"lat": 39.9012, "lon": 116.4000}, {"lat": 39.9005, "lon": 116.3985}]  # fmt: skip
    settings = Settings.model_validate({"api": {"console": {"map": {"grids": {"north": pentagon}}}}})
    app = create_app(settings, Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit, incidents=incidents))
    auth_kit.user("olga", Role.OPERATOR)
    async for url in serve(app):
        page = await browser.new_page(viewport={"width": 1200, "height": 800})
        errors = csp_watch(page)
        await sign_in(page, url, "olga")
        await page.click("#show-map")
        await page.wait_for_selector("#map[data-background=grids][data-pins='7']", timeout=WAIT_MS)
        assert await page.locator(".grid-outline").count() == 2  # north drawn, south the box round its cameras
        path = await page.get_attribute(".grid-outline.drawn", "d") or ""
        assert path.count("L") == len(pentagon) - 1  # the station's five corners, not a box's four
        assert await page.locator(".grid-outline:not(.drawn)").count() == 1
        assert errors == []


def test_a_drawn_grid_needs_three_corners() -> None:
    with pytest.raises(ValueError, match="map.grids.north: a boundary needs at least 3 corners, found 2"):
        two = [{"lat": 1, "lon": 1}, {"lat": 2, "lon": 2}]
        Settings.model_validate({"api": {"console": {"map": {"grids": {"north": two}}}}})


def test_a_map_image_without_its_corners_is_refused() -> None:
    with pytest.raises(ValueError, match="needs south_west and north_east"):
        Settings.model_validate({"api": {"console": {"map": {"image": "plan.png"}}}})
    with pytest.raises(ValueError, match="must be south and west"):
        Settings.model_validate({"api": {"console": {"map": {"image": "plan.png", "south_west": {"lat": 2, "lon": 1},
                                                             "north_east": {"lat": 1, "lon": 2}}}}})  # fmt: skip
