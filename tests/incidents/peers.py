"""Real peers for the incident tests: an MQTT subscriber, a mosquitto of our own (to stop and restart), a
webhook receiver that checks signatures, and helpers to build events and the service."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
from aiohttp import web
from sqlalchemy import Engine

from shopwatch.core.clock import Clock
from shopwatch.core.events import Event, EventType
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.incidents.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_delivery
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService
from tests.api.fakes import FakeFleet, jpeg_bytes

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def make_event(
    camera_id: str, start: float, type_: EventType = EventType.CARD_POSTING, confidence: float = 0.81
) -> Event:
    return Event(
        camera_id=camera_id,
        type=type_,
        start=start,
        end=start + 3.0,
        confidence=confidence,
        track_id=7,
        box=(0.4, 0.2, 0.6, 0.9),
        zone="door",
        detected_at=start + 3.5,
        snapshots={"actor": jpeg_bytes()},
    )


def build(
    settings: IncidentsSettings, engine: Engine, fleet: FakeFleet, data_dir: Path, clock: Clock
) -> IncidentService:
    return build_incidents(settings, engine, fleet, None, data_dir, clock)


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


async def bounded(aw: Any, what: str, timeout_s: float = 10.0) -> None:
    """Await a shutdown step, failing (with every task's stack) instead of hanging the test run."""
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        for other in asyncio.all_tasks():
            other.print_stack(limit=12)
        task.cancel()
        raise AssertionError(f"{what} did not finish within {timeout_s} s")
    task.result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Subscriber:
    """Collects every message on ``topics`` (QoS 1) until closed."""

    port: int
    topics: Iterable[str]
    identifier: str = field(default_factory=lambda: f"t-{uuid.uuid4().hex[:10]}")
    persistent: bool = False  # a session the broker keeps (and queues for) while we are away
    messages: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._ready.clear()
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def _run(self) -> None:
        client = aiomqtt.Client("127.0.0.1", self.port, identifier=self.identifier, clean_session=not self.persistent)
        async with client:
            for topic in self.topics:
                await client.subscribe(topic, qos=1)
            self._ready.set()
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                self.messages.append((str(message.topic), json.loads(message.payload), time.monotonic()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def delivery_ids(self) -> list[str]:
        return [payload["delivery_id"] for _, payload, _ in self.messages]


class Mosquitto:
    """A broker of our own on an ephemeral port, with persistence so subscriptions survive its restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self._dir = workdir
        self._dir.mkdir(parents=True, exist_ok=True)
        self._conf = self._dir / "mosquitto.conf"
        self._conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self._dir}/\nautosave_interval 1\n" + ("user root\n" if os.geteuid() == 0 else "")
            # Started as root, mosquitto would drop to its own user, which cannot write under pytest's tmp dirs.
        )
        self._proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self._proc = subprocess.Popen([MOSQUITTO, "-c", str(self._conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    raise RuntimeError(f"mosquitto did not start on port {self.port}") from None
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """SIGTERM: the broker writes its persistence file (sessions, queued messages) and exits."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self._proc.wait, 10)
        self._proc = None


@dataclass
class WebhookReceiver:
    """A webhook endpoint on loopback. ``answers`` are the status codes of the next requests (then 200);
    every request is recorded with whether its signature was right."""

    secret: bytes
    answers: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, Any], dict[str, str], bool, float]] = field(default_factory=list)
    always: int = 200
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        signature, sent_at = request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)
        good = verify_delivery(self.secret, body, signature, sent_at, time.time())  # the documented check
        self.requests.append((json.loads(body), dict(request.headers), good, time.monotonic()))
        code = self.answers.pop(0) if self.answers else self.always
        return web.Response(status=code, text="ok" if code == 200 else "no")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
