"""The console end to end with a real scene (issue 12): the whole service (``run_service``: workers, the node's
person model, the incident service, the API) watches a simulated RTSP camera playing a card-posting scenario;
an operator signed in to the console in Chinese (Debian's chromium, the real Content-Security-Policy) sees the
event arrive on its wall tile, hears the alarm, sees the camera's map pin blink, finds the event in the list and,
selecting it, silences the alarm and sees its evidence crops. Nothing is inserted by hand: the event is the
detection's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.async_api import Browser

from shopwatch.app import run_service
from shopwatch.core.config_loader import load_settings
from shopwatch.core.principal import Role
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.store.db import create_engine_for, migrate
from tests.api.auth_fixtures import PASSWORD, open_kit
from tests.api.test_console import ARTEFACTS, CHROMIUM, WAIT_MS, ZH, sign_in
from tests.api.test_console_map import PIN, browser_fixture, csp_watch  # noqa: F401  (the browser fixture)
from tests.models.model_path import test_model
from tests.models.test_node_detection_live import INGEST, SCENE, SEED, camera_stream, day_rules
from tests.test_teaching import until

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make deps installs Debian's)"),
    pytest.mark.rtsp,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]
TILE = "#wall [data-camera='shop-1']"
TAIL_S = 40  # after the visit: time to work the event before the looping clip's next visit rings again
LOOP_S = 6 + 16 + TAIL_S  # the clip: 6 s of empty street, the 16 s scene (the visit ~4-7 s into it), the tail


def operator(data_dir: Path, username: str) -> None:
    """An operator account in the service's database (made before it starts, as ``shopwatch users add`` would)."""
    engine = create_engine_for(f"sqlite:///{data_dir / 'shopwatch.db'}")
    try:
        migrate(engine)
        open_kit(engine).auth.accounts.create_user(username, PASSWORD, Role.OPERATOR, None)
    finally:
        engine.dispose()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The service on a camera playing the card-posting scenario, with the person model; an operator "olga"."""
    model = test_model()
    from shopwatch.sim.scenes import generate

    [truth] = generate(tmp_path, SEED, names=[SCENE], workers=1)
    clip = camera_stream(truth.with_suffix(".mp4"), tmp_path / "camera.h264", tail_s=TAIL_S)
    detection = yaml.safe_load(day_rules(truth.with_name(f"{SCENE}.camera.yaml")).read_text(encoding="utf-8"))
    with SimServer() as sim:
        config = {
            "service": {"data_dir": str(tmp_path / "data"), "reload_interval_s": 0.5, "log_level": "warning"},
            "api": {"host": "127.0.0.1", "port": 0},
            "ingest": INGEST.model_dump(mode="json"),
            "detect": {"model": str(model)},
            "incidents": {"mqtt": {"enabled": False}},
            "cameras": [{"id": "shop-1", "name": "好邻居便利店", "grid": "g1", "host": "127.0.0.1",
                         "location": {"lat": 39.9042, "lon": 116.4074},
                         "streams": {"detect": sim.add_camera("shop-1", clip)}, "detection": detection}],
        }  # fmt: skip
        path = tmp_path / "shopwatch.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        (tmp_path / "data").mkdir()
        operator(tmp_path / "data", "olga")
        stop = asyncio.Event()
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(run_service(load_settings(path), path, stop=stop, on_ready=ready.set_result))
        try:
            url = await asyncio.wait_for(ready, 60)
            async with httpx.AsyncClient(base_url=url, timeout=10) as c:
                yield c
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def test_a_card_posting_scene_rings_on_the_wall_blinks_on_the_map_and_is_silenced_by_selecting_it(
    service: httpx.AsyncClient, browser: Browser
) -> None:
    url = str(service.base_url).rstrip("/")
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})  # the real CSP: no bypass
    errors = csp_watch(page)
    await sign_in(page, url, "olga")
    await page.wait_for_selector("#wall-view", state="visible", timeout=WAIT_MS)  # the landing page
    await page.wait_for_selector("#live.on", state="attached", timeout=WAIT_MS)  # the event feed is open
    assert await page.get_attribute("body", "data-alarm") == "quiet"
    assert await page.get_attribute("html", "lang") == "zh-CN"

    # The scene plays; the worker, the node's model and the rules raise the event, the service stores it.
    await page.wait_for_selector(f"{TILE}[data-alarm=on]", timeout=int(2 * LOOP_S * 1000))
    await page.wait_for_selector("body[data-alarm=ringing]", timeout=WAIT_MS)
    assert int(await page.get_attribute("body", "data-rings") or 0) >= 1  # the two-tone beep sounded

    async def stored() -> list[dict[str, Any]]:
        response = await service.get("/api/events", params={"type": "card_posting"})
        return list(response.json()["events"])

    service.cookies.update({c["name"]: c["value"] for c in await page.context.cookies()})  # olga's, as the page's
    [event, *_] = await until(stored, WAIT_MS / 1000, "the card-posting event in the API")
    assert event["camera_id"] == "shop-1" and event["zone"] in {"door", "shutter", "wall"}
    health = (await service.get("/api/cameras/shop-1")).json()["health"]
    assert health["detection"]["mode"] == "person" and health["detection"]["detected"] > 0  # the model looked

    await page.click("#show-map")
    await page.wait_for_selector("#map[data-pins='1']", timeout=WAIT_MS)
    await page.wait_for_selector(PIN.format("shop-1") + "[data-alarm=on]", timeout=WAIT_MS)  # it blinks

    await page.click("#show-work")
    row = page.locator(f"[data-event='{event['id']}']")
    await row.wait_for(timeout=WAIT_MS)  # in the list, in Chinese
    assert "好邻居便利店" in (await row.text_content() or "")
    assert ZH["type.card_posting"] in (await row.text_content() or "")
    assert await page.get_attribute("body", "data-alarm") == "ringing"  # still ringing until it is selected
    await row.click()
    await page.wait_for_selector(f"[data-event='{event['id']}'].selected", timeout=WAIT_MS)
    await page.wait_for_selector("body[data-alarm=quiet]", timeout=WAIT_MS)
    rings = await page.get_attribute("body", "data-rings")
    crops = page.locator("#pictures.evidence img")
    await crops.first.wait_for(timeout=WAIT_MS)
    for _ in range(100):  # the crops are loaded (polled from here: the page's CSP forbids wait_for_function)
        widths = [await crops.nth(i).evaluate("img => img.naturalWidth") for i in range(await crops.count())]
        if widths and all(widths):
            break
        await asyncio.sleep(0.1)
    assert widths and all(widths), "the evidence crops did not load"
    title = await page.text_content("#detail-title") or ""
    assert title.startswith("好邻居便利店"), title  # the camera's own name where the merchant's is empty
    captions = [c.strip() for c in await page.locator("#pictures figcaption").all_text_contents()]
    assert all(captions) and not any(c.startswith("patch") for c in captions), captions  # all in Chinese
    assert any(c.startswith("局部放大") for c in captions), captions  # the magnified spots, named
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-scene-event-zh.png")
    await asyncio.sleep(2.5)  # one alarm period (alarm.js RING_MS): a ringing alarm would have beeped again
    assert await page.get_attribute("body", "data-rings") == rings
    assert errors == []
