"""Talking from the console in a real browser (Debian's chromium through Playwright) to GStreamer's ONVIF
backchannel server (``shopwatch.sim.backchannel``), through the real API, talkback service and RTSP client:
hold to talk with Chromium's fake microphone playing a 1 kHz WAV, a clip, typed text read aloud, and a quiet-hours
refusal shown as a sentence without the microphone ever being opened."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright

from shopwatch.api.app import create_app
from shopwatch.api.server import ApiServer
from shopwatch.api.services import Services
from shopwatch.core.clock import ManualClock, SystemClock
from shopwatch.core.config import Settings
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.principal import Role
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService
from shopwatch.sim.backchannel import BackchannelServer, Reception
from shopwatch.talkback.access import SpeakerAccess
from shopwatch.talkback.service import TalkbackService
from tests.api.auth_fixtures import AuthKit
from tests.api.fakes import FakeFleet
from tests.api.routers.talkback_env import wav_tone
from tests.api.test_console import ARTEFACTS, CHROMIUM, WAIT_MS, ZH, sign_in
from tests.incidents.peers import make_event
from tests.talkback.harness import DAYTIME_WALL, build_service, speaker_camera
from tests.talkback.spectrum import peak_hz, voiced_span_s

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make deps installs Debian's)"),
    pytest.mark.timeout(120),
    pytest.mark.rtsp,
]
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian package espeak-ng missing")
# Counts the page's calls for the microphone (a refused talk must make none).
COUNT_MICROPHONE = """
window.__microphone = 0;
const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (c) => { window.__microphone += 1; return ask(c); };
"""


@pytest.fixture
def peer() -> Iterator[BackchannelServer]:
    with BackchannelServer(udp=False) as server:
        yield server


@pytest.fixture
def fleet(peer: BackchannelServer) -> FakeFleet:
    # 16:00 at the station (DAYTIME_WALL): shop-q is inside its quiet hours, shop-a is not.
    return FakeFleet([
        speaker_camera("shop-a", peer.url("pcmu")),
        speaker_camera("shop-q", peer.url("pcma"), quiet_hours={"start": "15:00", "end": "17:00"}),
    ])  # fmt: skip


@pytest.fixture
async def talkback(fleet: FakeFleet, auth_kit: AuthKit, tmp_path: Path) -> AsyncIterator[TalkbackService]:
    service = build_service(fleet, auth_kit.engine, tmp_path / "talk", access=SpeakerAccess(),
                            clock=ManualClock(wall_start=DAYTIME_WALL))  # fmt: skip
    service.start()
    yield service
    await service.close()


@pytest.fixture
async def incidents(fleet: FakeFleet, auth_kit: AuthKit, tmp_path: Path) -> AsyncIterator[IncidentService]:
    settings = IncidentsSettings.model_validate({"mqtt": {"enabled": False}, "linking": {"enabled": False}})
    service = build_incidents(settings, auth_kit.engine, fleet, None, tmp_path / "data", SystemClock())
    yield service
    await service.close()


@pytest.fixture
def app(fleet: FakeFleet, auth_kit: AuthKit, incidents: IncidentService, talkback: TalkbackService) -> FastAPI:
    services = Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit, incidents=incidents, talkback=talkback)
    return create_app(Settings(), services)


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    server = ApiServer(app, "127.0.0.1", 0)
    task = asyncio.create_task(server.serve())
    yield server.url
    server.stop()
    await asyncio.wait_for(task, timeout=10)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    microphone = tmp_path / "microphone-1khz.wav"
    microphone.write_bytes(wav_tone(1000, 4.0, rate=48_000))  # Chromium loops it as the microphone
    args = ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}", "--autoplay-policy=no-user-gesture-required"]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser
        await browser.close()


async def open_talk(page: Page, server: str, incidents: IncidentService, camera_id: str) -> None:
    """Sign in as an operator and open an event of ``camera_id``: its talk panel."""
    await page.add_init_script(COUNT_MICROPHONE)
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#wall-view", state="visible", timeout=WAIT_MS)
    await page.click("#show-work")
    await page.wait_for_selector("#live.on", timeout=WAIT_MS)
    stored = await incidents.ingest(make_event(camera_id, time.time() - 5))
    await page.locator(f"[data-event='{stored.id}']").click(timeout=WAIT_MS)
    await page.wait_for_selector("#talk-hold", state="visible", timeout=WAIT_MS)
    labels = [await page.text_content(f"#talk-{name}") for name in ("say", "hold")]
    assert labels == [ZH["talk.say"], ZH["talk.hold"]]  # in the operator's language, not message keys


async def press(page: Page) -> None:
    box = await page.locator("#talk-hold").bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()


async def hold(page: Page, seconds: float) -> None:
    await press(page)
    await asyncio.sleep(seconds)  # the operator's finger on the button: real time is what is measured
    await page.mouse.up()


async def until_the_speaker_is_free(server: str, token: str, timeout_s: float = 10.0) -> None:
    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(int(timeout_s / 0.1)):
            if not (await client.get("/api/talkback/sessions")).json()["active"]:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"a talk was still active after {timeout_s} s")


def nth_reception(peer: BackchannelServer, mount: str, index: int, seconds: float, timeout_s: float) -> Reception:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = peer.receptions(mount)
        if len(found) > index and found[index].seconds >= seconds:
            return found[index]
        time.sleep(0.05)
    raise AssertionError(f"/{mount}: {[round(r.seconds, 2) for r in peer.receptions(mount)]} s received")


async def test_hold_to_talk_reaches_the_speaker_with_its_pitch_and_everyone_sees_who_talks(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService, peer: BackchannelServer
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    auth_kit.user("ben", Role.OPERATOR)
    page = await browser.new_page(bypass_csp=True)  # wait_for_function evals; test_headers runs the CSP
    await open_talk(page, server, incidents, "shop-a")
    watcher = await browser.new_page(bypass_csp=True)  # another operator's console
    await sign_in(watcher, server, "ben")
    await watcher.wait_for_selector("#wall-view", state="visible", timeout=WAIT_MS)

    await press(page)  # held until the other console has seen who talks (it polls every 3 s)
    await page.wait_for_function(f"document.querySelector('#talk-status').textContent === {ZH['talk.live']!r}",
                                 timeout=WAIT_MS)  # fmt: skip
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-talk-live-zh.png")  # for people (CI artefact), not compared
    await watcher.wait_for_selector("#talking:not([hidden])", timeout=WAIT_MS)
    assert "olga" in (await watcher.text_content("#talking") or "")
    await asyncio.sleep(1.0)  # at least a second of voice after the microphone opened
    await page.mouse.up()
    assert await page.evaluate("window.__microphone") == 1  # opened once the server took the speaker

    received = await asyncio.to_thread(nth_reception, peer, "pcmu", 0, 1.0, 10.0)
    assert peak_hz(received.pcm) == pytest.approx(1000, abs=10)  # the microphone's tone, its frequency intact
    await page.wait_for_function(  # the talk ended cleanly when the button was let go
        f"document.querySelector('#talk-status').textContent.startsWith({ZH['talk.state'].split('{')[0]!r})",
        timeout=WAIT_MS,
    )
    await watcher.wait_for_selector("#talking", state="hidden", timeout=WAIT_MS)


@needs_espeak
async def test_a_clip_and_typed_text_reach_the_speaker(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService, peer: BackchannelServer
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    admin = auth_kit.user("chief", Role.ADMIN)  # the clip library is the admins'
    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {admin}"}) as client:
        uploaded = await client.post("/api/talkback/clips", params={"name": "请勿张贴", "filename": "w.wav"},
                                     content=wav_tone(600, 1.0))  # fmt: skip
        assert uploaded.status_code == 201, uploaded.text
    page = await browser.new_page(bypass_csp=True)
    await open_talk(page, server, incidents, "shop-a")

    await page.wait_for_selector("#talk-clip option", state="attached", timeout=WAIT_MS)
    await page.click("#talk-play")
    clip = await asyncio.to_thread(nth_reception, peer, "pcmu", 0, 0.95, 10.0)
    assert peak_hz(clip.pcm) == pytest.approx(600, abs=10)
    await until_the_speaker_is_free(server, admin)  # else the text is refused: one talker per speaker

    await page.fill("#talk-text", "请勿在店铺门口张贴小广告")
    assert await page.input_value("#talk-voice") == "cmn"  # Mandarin unless the operator picks another voice
    await page.click("#talk-say")
    await asyncio.to_thread(nth_reception, peer, "pcmu", 1, 1.0, 20.0)
    await until_the_speaker_is_free(server, admin)  # all of it, not what had arrived so far
    spoken = peer.receptions("pcmu")[1]
    start, end = voiced_span_s(spoken.pcm)
    assert end - start > 1.0  # a sentence of speech, not silence
    assert await page.evaluate("window.__microphone") == 0


async def test_quiet_hours_are_a_sentence_and_the_microphone_stays_closed(
    server: str, browser: Browser, auth_kit: AuthKit, incidents: IncidentService, peer: BackchannelServer
) -> None:
    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page(bypass_csp=True)
    await open_talk(page, server, incidents, "shop-q")

    await hold(page, 1.0)
    sentence = ZH["talk.refused.quiet_hours"]
    await page.wait_for_function(f"document.querySelector('#talk-status').textContent === {sentence!r}",
                                 timeout=WAIT_MS)  # fmt: skip
    assert await page.evaluate("window.__microphone") == 0  # refused first: the microphone was never asked for
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-talk-refused-zh.png")
    await page.fill("#talk-text", "请勿张贴")
    await page.click("#talk-say")  # typed text is refused the same way, in the same words
    await page.wait_for_function(f"document.querySelector('#talk-status').textContent === {sentence!r}",
                                 timeout=WAIT_MS)  # fmt: skip

    await page.evaluate("document.querySelector('#talk-status').textContent = ''")
    await page.evaluate("document.activeElement.blur()")  # the keys work anywhere but in a field
    await page.keyboard.press("t")  # the talk key: hold-to-talk takes the keyboard, Space holds it
    assert await page.evaluate("document.activeElement.id") == "talk-hold"
    await page.keyboard.down(" ")
    await page.wait_for_function(f"document.querySelector('#talk-status').textContent === {sentence!r}",
                                 timeout=WAIT_MS)  # fmt: skip
    await page.keyboard.up(" ")
    assert await page.evaluate("window.__microphone") == 0

    await page.select_option("#lang", "en")  # the operator's language, not the server's
    await page.click("#talk-say")
    english = "It is the shop's quiet hours: no talking now."
    await page.wait_for_function(f"document.querySelector('#talk-status').textContent === {english!r}",
                                 timeout=WAIT_MS)  # fmt: skip
    assert peer.receptions("pcma") == [] and "SETUP" not in peer.requests()  # nothing reached the camera
