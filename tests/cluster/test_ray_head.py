"""What the head serves for cameras on Ray shards (a head and three nodes on this machine, two scenario cameras
11 m apart on shards on two nodes, each reporting a card-posting visit every few seconds):

- live view: the head's live socket (``WS /api/live``, through the real API server) plays a shard camera as
  fragmented MP4 that PyAV decodes into that camera's pictures; the stream stops on the shard when the viewer
  leaves; a shard killed mid-view ends its stream and the view starts again (a new init segment) from the
  restarted shard.
- incidents: the two cameras' events become one incident, each event linked and deterred once, also across a
  head restart while the shards run on and store events."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from sqlalchemy import Engine, select
from websockets.sync.client import ClientConnection, connect

from shopwatch.api.app import create_app
from shopwatch.api.live_socket import KIND_INIT, KIND_MEDIA
from shopwatch.api.server import ApiServer
from shopwatch.api.services import Services
from shopwatch.cluster.feed_wake import FeedWake
from shopwatch.cluster.head_events import HeadEvents
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.directory import CameraRoster
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService
from shopwatch.ingest.fleet import LiveFleet
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.store.assignments import ShardAssignments
from shopwatch.store.db import create_engine_for
from shopwatch.store.inbox import EventInbox
from shopwatch.store.incident_tables import EventRow, FeedRow
from tests.api.auth_fixtures import open_kit
from tests.cluster.conftest import RayTestCluster
from tests.cluster.consumers import PeriodicVisits
from tests.cluster.helpers import LoopThread, wait_for
from tests.store.db_fixtures import key_file_box

ray = pytest.importorskip("ray")
from shopwatch.cluster.ray_fleet import RaySupervisor  # noqa: E402

log = logging.getLogger(__name__)

pytestmark = [pytest.mark.slow, pytest.mark.rtsp, pytest.mark.postgres, pytest.mark.timeout(600)]

LIVE, OTHER = "scene-a", "scene-b"  # scene-: PeriodicVisits reports a visit on them every PERIOD_S
SIZES = {LIVE: (320, 180), OTHER: (256, 144)}


def camera(camera_id: str, url: str, north_m: float) -> CameraConfig:
    return CameraConfig.model_validate({
        "id": camera_id, "name": camera_id, "grid": "g1", "host": "127.0.0.1", "streams": {"detect": url},
        "location": {"lat": 39.9 + north_m / 111_195.0, "lon": 116.4},
    })  # fmt: skip


@dataclass
class Head:
    sup: RaySupervisor
    incidents: IncidentService
    events: HeadEvents


class Scene:
    def __init__(self, settings: Settings, engine: Engine, cameras: list[CameraConfig], clips: dict[str, Path]):
        self.settings, self.engine, self.cameras, self.clips = settings, engine, cameras, clips
        self.loop = LoopThread()
        self.head: Head | None = None

    def start_head(self) -> Head:
        async def start() -> Head:
            clock = SystemClock()
            data_dir = Path(self.settings.service.data_dir)
            roster = CameraRoster(self.cameras)
            incidents = build_incidents(self.settings.incidents, self.engine, roster, None, data_dir, clock)
            await incidents.start()
            events = HeadEvents(EventInbox(self.engine), incidents, FeedWake(self.engine, incidents.feed), clock)
            assignments = ShardAssignments(self.engine, clock)
            sup = RaySupervisor(self.settings, assignments, consumer=PeriodicVisits, after_pull=events.after_pull)
            await sup.start(self.cameras)
            return Head(sup, incidents, events)

        self.head = self.loop.run(start())
        return self.head

    def stop_head(self) -> None:
        head, self.head = self.head, None
        if head is not None:
            self.loop.run(head.sup.stop())
            self.loop.run(head.incidents.close())

    @property
    def sup(self) -> RaySupervisor:
        assert self.head is not None
        return self.head.sup

    def online(self) -> bool:
        states = self.loop.call(self.sup.all_health)
        return all(states.get(c.id) is not None and states[c.id].state.value == "online" for c in self.cameras)

    def actor(self, camera_id: str) -> Any:
        return ray.get_actor(self.sup.shard_of(camera_id) or "")

    def node_of(self, camera_id: str) -> str:
        return str(ray.get(self.actor(camera_id).node.remote(), timeout=5))

    def shard_streams(self, camera_id: str) -> list[str]:
        return list(ray.get(self.actor(camera_id).live_streams.remote(), timeout=5))


@pytest.fixture(scope="module")
def scene(ray_cluster: RayTestCluster, cluster_db: tuple[str, Path]) -> Iterator[Scene]:
    assert len(ray_cluster.nodes) == 3, "the cluster first"
    url, data_dir = cluster_db
    clips = {
        LIVE: generate_clip(ClipSpec("walker", width=320, height=180, seconds=10), data_dir / "clips-src"),
        OTHER: generate_clip(ClipSpec("walker", width=256, height=144, seconds=10, seed=1), data_dir / "clips-src"),
    }
    settings = Settings.model_validate({
        "service": {"data_dir": str(data_dir), "database_url": url, "log_level": "warning"},
        "ingest": {
            "cameras_per_worker": 1, "open_timeout_s": 3, "read_timeout_s": 2, "stall_after_s": 1,
            "health_interval_s": 0.5, "backoff": {"initial_s": 0.2, "max_s": 1.0, "auth_retry_s": 5},
            "activity": {"postroll_s": 0.5, "quiet_s": 60},
        },
        "cluster": {
            "namespace": ray.get_runtime_context().namespace, "health_interval_s": 0.5, "call_timeout_s": 2,
            "stale_after_s": 10, "assignment_poll_s": 0.5, "spool_dir": str(data_dir / "spool"),
        },
        "incidents": {
            "mqtt": {"enabled": False}, "linking": {"distance_m": 40, "window_s": 120},
            "deterrence": [{"type": "card_posting", "clip": "warning_cards", "min_confidence": 0.95}],
        },
    })  # fmt: skip
    engine = create_engine_for(url, key_file_box(data_dir / "secret.key"))
    with SimServer() as sim:
        for camera_id, clip in clips.items():
            sim.add_camera(camera_id, clip)
        cameras = [camera(LIVE, sim.url(LIVE), 0.0), camera(OTHER, sim.url(OTHER), 11.0)]
        scene = Scene(settings, engine, cameras, clips)
        scene.start_head()
        try:
            wait_for(scene.online, 90, "both cameras online")
            yield scene
        finally:
            if scene.head is not None:
                scene.loop.run(scene.sup.shutdown_shards())
            scene.stop_head()
            scene.loop.close()
            engine.dispose()


class Viewer:
    """The console's side of ``WS /api/live``: the text messages and the camera's segments, as they come."""

    def __init__(self, ws: ClientConnection, camera_id: str) -> None:
        self.ws, self.camera_id = ws, camera_id
        ws.send(json.dumps({"watch": camera_id}))

    def until_init(self, timeout_s: float) -> bytes:
        """Skips to the next ``live`` announcement; returns the init segment that follows it."""
        deadline = time.monotonic() + timeout_s
        announced = False
        while True:
            message = self.ws.recv(max(0.1, deadline - time.monotonic()))
            if isinstance(message, str):
                text = json.loads(message)
                assert text.get("type") != "error", text
                announced = announced or (text.get("type") == "live" and text.get("camera") == self.camera_id)
            elif announced:
                kind, payload = split(message, self.camera_id)
                assert kind == KIND_INIT, "a live announcement is followed by its init segment"
                return payload

    def media(self, count: int, timeout_s: float) -> list[bytes]:
        deadline = time.monotonic() + timeout_s
        segments: list[bytes] = []
        while len(segments) < count:
            message = self.ws.recv(max(0.1, deadline - time.monotonic()))
            if isinstance(message, bytes):
                kind, payload = split(message, self.camera_id)
                assert kind == KIND_MEDIA, "one init segment per stream"
                segments.append(payload)
        return segments


def split(message: bytes, camera_id: str) -> tuple[int, bytes]:
    kind, size = message[0], message[1]
    assert message[2 : 2 + size].decode() == camera_id
    return kind, message[2 + size :]


def decoded(fmp4: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(fmp4), format="mp4") as container:
        return [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]


def nearest_difference(picture: np.ndarray, clip: Path) -> float:
    """Mean absolute difference (0-255) between ``picture`` and the clip's frame nearest to it."""
    best = 255.0
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            ref = frame.to_ndarray(format="gray")
            if ref.shape == picture.shape:
                best = min(best, float(np.abs(ref.astype(np.int16) - picture.astype(np.int16)).mean()))
    return best


@dataclass(frozen=True)
class Stored:
    id: str
    camera_id: str
    incident_id: str | None


def stored(engine: Engine) -> list[Stored]:
    with engine.connect() as conn:
        rows = conn.execute(select(EventRow.id, EventRow.camera_id, EventRow.incident_id)).all()
    return [Stored(str(i), str(c), None if inc is None else str(inc)) for i, c, inc in rows]


def feed_kinds(engine: Engine) -> Counter[tuple[str, str]]:
    with engine.connect() as conn:
        return Counter((str(e), str(k)) for e, k in conn.execute(select(FeedRow.event_id, FeedRow.kind)).all())


def test_the_shards_events_become_one_incident_each_linked_and_deterred_once_across_a_head_restart(
    scene: Scene,
) -> None:
    inbox = EventInbox(scene.engine)
    for cam in scene.cameras:  # decoding at full rate (as on motion) from the start: frames for the visits
        assert scene.loop.call(lambda cam=cam: scene.sup.request_activity(cam.id, "test"))

    def linked(at_least: int) -> bool:
        events = stored(scene.engine)
        return len(events) >= at_least and inbox.count() == 0 and all(e.incident_id for e in events)

    wait_for(lambda: {e.camera_id for e in stored(scene.engine)} == {LIVE, OTHER}, 90, "both cameras' visits stored")
    wait_for(lambda: linked(4), 60, "four events stored by the shards, each linked by the head")
    before = len(stored(scene.engine))
    scene.stop_head()  # the shards run on and store events; nobody links them
    wait_for(lambda: inbox.count() >= 2, 30, "events stored while the head is away")
    head = scene.start_head()
    wait_for(lambda: linked(before + 2), 30, "the events stored meanwhile linked by the restarted head")
    events = stored(scene.engine)
    assert len({e.incident_id for e in events}) == 1, "one incident linking both cameras' events"
    assert {e.camera_id for e in events} == {LIVE, OTHER}
    wait_for(lambda: all(feed_kinds(scene.engine)[(e.id, "deterrence")] >= 1 for e in events), 10, "deterred")
    kinds = feed_kinds(scene.engine)
    assert all(kinds[(e.id, "linked")] == 1 for e in events), "an event linked twice"
    assert all(kinds[(e.id, "deterrence")] == 1 for e in events), "an event deterred twice"
    log.info("%d events, one incident; %d linked by the restarted head", len(events), head.events.linked)


def test_the_heads_live_view_plays_a_shard_camera_as_fmp4_and_stops_on_the_shard_when_the_viewer_leaves(
    scene: Scene, ray_cluster: RayTestCluster
) -> None:
    assert scene.node_of(LIVE) != scene.node_of(OTHER), "the two cameras on shards on two nodes"
    assert ray_cluster.cluster.head_node.node_id not in {scene.node_of(LIVE), scene.node_of(OTHER)}
    kit = open_kit(scene.engine)
    fleet = LiveFleet(scene.sup, scene.cameras)
    app = create_app(scene.settings, Services(fleet, auth=kit.auth, audit=kit.audit))
    server = ApiServer(app, "127.0.0.1", 0)
    task = asyncio.run_coroutine_threadsafe(server.serve(), scene.loop.loop)
    url = server.url.replace("http://", "ws://") + "/api/live"
    try:
        with connect(url, additional_headers=kit.headers("op"), open_timeout=10) as ws:
            viewer = Viewer(ws, LIVE)
            init = viewer.until_init(20)
            media = viewer.media(24, 20)  # two seconds of pictures
            pictures = decoded(init + b"".join(media))
            assert len(pictures) >= 20
            assert {p.shape for p in pictures} == {SIZES[LIVE][::-1]}
            assert nearest_difference(pictures[-1], scene.clips[LIVE]) < 8.0, "the camera's own picture"
            assert scene.shard_streams(LIVE) == [LIVE] and scene.shard_streams(OTHER) == []

            # The shard killed mid-view: its stream ends, the view starts again from the restarted shard.
            pid = ray.get(scene.actor(LIVE).health.remote(), timeout=5).pid
            os.kill(pid, signal.SIGKILL)
            again = viewer.until_init(30)
            pictures = decoded(again + b"".join(viewer.media(12, 20)))
            assert len(pictures) >= 8 and {p.shape for p in pictures} == {SIZES[LIVE][::-1]}
            assert ray.get(scene.actor(LIVE).health.remote(), timeout=5).pid != pid
        wait_for(lambda: scene.shard_streams(LIVE) == [], 10, "the stream stopped on the shard")
        wait_for(lambda: scene.loop.call(scene.sup.live_streams) == [], 5, "and on the head")
    finally:
        server.stop()
        task.result(15)
    wait_for(scene.online, 30, "both cameras online")
