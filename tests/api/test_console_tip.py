"""Filing a tip from the patrol phone's page at 390×844 in a real browser (Debian's chromium, the API's real CSP):
a volunteer's login lands on the "上报线索" form; it files a card-posting tip with a phone photo (sent as taken) and a
3000 px picture (redrawn 2048 px wide in the browser), both previewed, and its position from the phone (geolocation
granted). A first try without network fails and keeps everything typed;
while the second is sent the button is disabled; it answers "已上报，编号 …". The tip exists through the API with
its photo stripped of the phone's metadata and the nearby camera's event attached; an operator confirms it into
an incident. A volunteer signing in on the desktop console is sent to the same form."""

from __future__ import annotations

import io
import time

import httpx
from PIL import Image
from playwright.async_api import Browser, Route

from shopwatch.core.principal import Role
from shopwatch.incidents.service import IncidentService
from tests.api.auth_fixtures import AuthKit
from tests.api.test_console import ARTEFACTS, EN, WAIT_MS, ZH, labels_are, sign_in
from tests.api.test_console_map import browser_fixture, csp_watch, loaded, pytestmark, server_fixture  # noqa: F401
from tests.api.test_console_phone import PHONE
from tests.incidents.peers import make_event
from tests.incidents.tip_pictures import phone_jpeg


def big_png() -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((3000, 1500)).convert("RGB").save(out, format="PNG")
    return out.getvalue()


HERE = {"latitude": 39.90012, "longitude": 116.40003, "accuracy": 12}  # beside cam-0001 (39.9001, 116.4)


async def test_a_volunteer_files_a_tip_with_a_photo_and_position_from_the_phone(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService, client: httpx.AsyncClient
) -> None:
    auth_kit.user("vol-li", Role.TIPSTER)
    near = await incidents.ingest(make_event("cam-0001", time.time() - 300))
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
        geolocation=HERE, permissions=["geolocation"],
    )  # fmt: skip
    page = await context.new_page()
    errors = csp_watch(page)
    await sign_in(page, server + "/console/phone.html#", "vol-li")
    await page.wait_for_selector("#tip-view", state="visible", timeout=WAIT_MS)  # a tipster lands on the form
    assert await page.is_hidden("#tip-back") and await page.is_hidden("#tip-camera-row")  # it sees no camera
    assert await page.text_content("#tip-view h2") == ZH["tip.title"]

    await page.select_option("#tip-type", "card_posting")
    await page.fill("#tip-text", "有人在门口贴小卡片，穿黑衣服")
    await page.fill("#tip-address", "长街口")
    await page.tap("#tip-locate")
    await page.wait_for_selector("#tip-position[data-located]", timeout=WAIT_MS)
    assert "39.90012, 116.40003" in (await page.text_content("#tip-position") or "")
    await page.set_input_files("#tip-photos", [
        {"name": "p1.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg()},  # small: goes as taken
        {"name": "wide.png", "mimeType": "image/png", "buffer": big_png()},  # 3000 px wide: redrawn 2048 px
    ])  # fmt: skip
    await page.wait_for_selector("#tip-previews figure:nth-child(2) img", timeout=WAIT_MS)
    assert await loaded(page, "#tip-previews img")
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-phone-tip-filled-zh.png", full_page=True)

    await page.route("**/api/tips", lambda route: route.abort("internetdisconnected"))  # no network
    await page.tap("#tip-send")
    await page.wait_for_selector("#tip-message.error", timeout=WAIT_MS)
    assert ZH["tip.error.network"] in (await page.text_content("#tip-message") or "")
    assert await page.input_value("#tip-text") == "有人在门口贴小卡片，穿黑衣服"  # nothing typed is lost
    assert await page.locator("#tip-previews img").count() == 2
    await page.unroute("**/api/tips")

    disabled_while_sending: list[bool] = []

    async def watch(route: Route) -> None:
        disabled_while_sending.append(await page.is_disabled("#tip-send"))
        await route.continue_()

    await page.route("**/api/tips", watch)
    await page.tap("#tip-send")
    await page.wait_for_selector("#tip-message.ok", timeout=WAIT_MS)
    assert disabled_while_sending == [True] and not await page.is_disabled("#tip-send")
    tip_id = await page.get_attribute("#tip-message", "data-tip")
    assert tip_id is not None
    message = await page.text_content("#tip-message") or ""
    assert message == ZH["tip.filed"].replace("{id}", tip_id[:8].upper())  # 已上报，编号 …
    assert await page.input_value("#tip-text") == ""  # ready for the next one
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=ARTEFACTS / "console-phone-tip-zh.png", full_page=True)
    await page.select_option("#lang", "en")
    await page.wait_for_selector("html[lang=en]", timeout=WAIT_MS)
    assert await labels_are(page, EN) >= 15
    assert errors == []
    await context.close()

    operator = auth_kit.headers("wang")
    tip = (await client.get(f"/api/tips/{tip_id}", headers=operator)).json()
    assert (tip["type"], tip["text"], tip["tipster"], tip["place_from"]) == (
        "card_posting", "有人在门口贴小卡片，穿黑衣服", "vol-li", "location",
    )  # fmt: skip
    assert (round(tip["lat"], 5), round(tip["lon"], 5)) == (39.90012, 116.40003)  # the phone's, not the photo's
    assert tip["nearby"]["cameras"][0]["id"] == "cam-0001"
    assert near.id in [e["id"] for e in tip["nearby"]["events"]]
    as_taken, redrawn = [(await client.get(url, headers=operator)).content for url in tip["photos"]]
    assert as_taken[:2] == b"\xff\xd8" and Image.open(io.BytesIO(as_taken)).size == (64, 48)
    assert b"PhoneCo" not in as_taken and b"SN-8842" not in as_taken and b"Exif" not in as_taken
    assert Image.open(io.BytesIO(redrawn)).size == (2048, 1024)
    confirmed = await client.post(f"/api/tips/{tip_id}/decision", json={"decision": "confirm"}, headers=operator)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    incident = await client.get(f"/api/incidents/{confirmed.json()['incident_id']}", headers=operator)
    assert incident.status_code == 200
    assert (await client.get(f"/api/events/{near.id}", headers=operator)).json()["incident_id"] == incident.json()["id"]


async def test_a_volunteer_signing_in_on_the_desktop_console_is_sent_to_the_tip_form(
    server: str, browser: Browser, auth_kit: AuthKit
) -> None:
    auth_kit.user("vol-wu", Role.TIPSTER)
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors = csp_watch(page)
    await sign_in(page, server, "vol-wu")
    await page.wait_for_url("**/console/phone.html", timeout=WAIT_MS)
    await page.wait_for_selector("#tip-view", state="visible", timeout=WAIT_MS)  # signed in already: the cookie
    assert await page.is_hidden("#list-view") and await page.is_hidden("#login-view")
    assert errors == []
