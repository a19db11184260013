"""The supervisor over real worker processes reading real RTSP from the simulated fleet over loopback."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.health import CameraState
from shopwatch.ingest.supervisor import Supervisor
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.fleet import FleetOptions, SimFleet
from shopwatch.sim.process import SimProcess
from shopwatch.sim.rtsp_server import SimServer

pytestmark = pytest.mark.rtsp

FAST = Ingest(
    cameras_per_worker=10,
    open_timeout_s=3,
    read_timeout_s=2,
    stall_after_s=1,
    health_interval_s=0.2,
    backoff={"initial_s": 0.2, "max_s": 1.0, "auth_retry_s": 5},
    worker_nice=3,
)


def camera(camera_id: str, url: str, **extra: object) -> CameraConfig:
    return CameraConfig.model_validate(
        {"id": camera_id, "name": camera_id, "grid": "g1", "host": "127.0.0.1", "streams": {"detect": url}, **extra}
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_clip(ClipSpec("static", seconds=10), tmp_path_factory.mktemp("clips"))


@pytest.fixture
def sim(clip: Path) -> Iterator[SimServer]:
    with SimServer() as server:
        for i in range(20):
            server.add_camera(f"cam-{i:02d}", clip)
        yield server


@pytest.fixture
async def supervisor(request: pytest.FixtureRequest) -> AsyncIterator[Supervisor]:
    """The FFmpeg reader, or the one ``indirect`` parametrization names (``ingest.reader``)."""
    sup = Supervisor(FAST.model_copy(update={"reader": getattr(request, "param", "ffmpeg")}), log_level="warning")
    yield sup
    await sup.stop()


async def wait_for(predicate: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until ``predicate`` held; fails the test after ``timeout_s``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def states(sup: Supervisor) -> dict[str, CameraState]:
    return {cid: h.state for cid, h in sup.all_health().items()}


@pytest.mark.parametrize("supervisor", ["ffmpeg", "native"], indirect=True)
async def test_twenty_cameras_online_within_ten_seconds_and_snapshots_decode(
    sim: SimServer, supervisor: Supervisor
) -> None:
    cameras = [camera(cid, sim.url(cid)) for cid in sim.camera_ids]
    await supervisor.start(cameras)
    assert len(supervisor.worker_pids()) == 2  # 20 cameras at 10 per worker
    took = await wait_for(lambda: set(states(supervisor).values()) == {CameraState.ONLINE}, 10.0)
    assert took < 10.0
    # Workers name themselves for ps/top and run at ingest.worker_nice below this (the API's) process.
    main_nice = os.getpriority(os.PRIO_PROCESS, 0)
    for index, pid in supervisor.worker_pids().items():
        assert pid is not None
        assert Path(f"/proc/{pid}/comm").read_text().strip() == f"sw-worker-{index}"
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, main_nice + FAST.worker_nice)
    jpegs = await asyncio.gather(*(supervisor.snapshot_jpeg(c.id, timeout_s=5.0) for c in cameras))
    for jpeg in jpegs:
        image = Image.open(io.BytesIO(jpeg))
        assert image.format == "JPEG" and image.size == (640, 360)


async def test_killed_worker_restarts_with_its_cameras_and_others_are_untouched(
    sim: SimServer, supervisor: Supervisor
) -> None:
    cameras = [camera(cid, sim.url(cid)) for cid in sim.camera_ids]
    await supervisor.start(cameras)
    await wait_for(lambda: set(states(supervisor).values()) == {CameraState.ONLINE}, 10.0)
    pids = supervisor.worker_pids()
    victim_pid = pids[0]
    assert victim_pid is not None
    others = [c.id for c in cameras if supervisor.worker_of(c.id) == 1]
    victims = [c.id for c in cameras if supervisor.worker_of(c.id) == 0]
    before = {cid: supervisor.all_health()[cid] for cid in others}

    os.kill(victim_pid, signal.SIGKILL)
    await wait_for(lambda: any(states(supervisor)[cid] != CameraState.ONLINE for cid in victims), 5.0)
    took = await wait_for(lambda: all(states(supervisor)[cid] == CameraState.ONLINE for cid in victims), 10.0)
    assert took < 10.0
    assert supervisor.worker_pids()[0] not in (None, victim_pid)
    assert supervisor.worker_pids()[1] == pids[1]
    after = supervisor.all_health()
    for cid in others:  # the other worker's cameras never noticed
        assert after[cid].state == CameraState.ONLINE
        assert after[cid].reconnects == before[cid].reconnects
        assert after[cid].since == before[cid].since


async def test_one_bad_camera_edit_applies_to_that_camera_only(
    sim: SimServer, supervisor: Supervisor, clip: Path
) -> None:
    sim.add_camera("locked", clip, username="admin", password="right-pw")
    good = [camera(cid, sim.url(cid)) for cid in sim.camera_ids if cid != "locked"][:4]
    locked = camera("locked", sim.url("locked"), credentials={"username": "admin", "password": "wrong-pw"})
    await supervisor.start([*good, locked])
    await wait_for(lambda: states(supervisor).get("locked") == CameraState.AUTH_FAILED, 10.0)
    await wait_for(lambda: all(states(supervisor)[c.id] == CameraState.ONLINE for c in good), 10.0)
    health = supervisor.health("locked")
    assert health is not None and health.next_retry_in_s is not None and health.next_retry_in_s > 2.0
    assert "wrong-pw" not in str(health.last_error)
    before = {c.id: supervisor.all_health()[c.id] for c in good}

    fixed = camera("locked", sim.url("locked"), credentials={"username": "admin", "password": "right-pw"})
    supervisor.apply([*good, fixed])
    took = await wait_for(lambda: states(supervisor)["locked"] == CameraState.ONLINE, 5.0)
    assert took < 5.0  # not after the slow auth retry
    for c in good:
        assert supervisor.all_health()[c.id].since == before[c.id].since

    disabled = camera(good[0].id, good[0].streams.detect or "", enabled=False)
    supervisor.apply([disabled, *good[1:], fixed])
    await wait_for(lambda: states(supervisor)[good[0].id] == CameraState.DISABLED, 2.0)
    supervisor.apply([*good[1:], fixed])
    await wait_for(lambda: good[0].id not in states(supervisor), 2.0)


async def test_server_killed_and_back_every_camera_returns_within_the_backoff_cap(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    clips = tmp_path_factory.mktemp("proc-clips")
    ids = SimFleet(FleetOptions(cameras=20, walker_every=0), clips).camera_ids
    sim = SimProcess(cameras=20, clips_dir=clips, walker_every=0)
    sup = Supervisor(FAST, log_level="warning")
    cap = FAST.backoff.max_s
    worst_retry = 0.0

    def watch() -> dict[str, CameraState]:
        nonlocal worst_retry
        healths = sup.all_health()
        for h in healths.values():
            worst_retry = max(worst_retry, h.next_retry_in_s or 0.0)
        return {cid: h.state for cid, h in healths.items()}

    sim.start()
    try:
        await sup.start([camera(cid, sim.url(cid)) for cid in ids])
        await wait_for(lambda: set(watch().values()) == {CameraState.ONLINE}, 10.0)

        sim.kill()
        left = await wait_for(lambda: CameraState.ONLINE not in watch().values(), FAST.read_timeout_s + 1.0)
        assert left <= FAST.read_timeout_s
        for _ in range(int(3 * cap / 0.05)):  # stay down long enough for every backoff to reach its cap
            watch()
            await asyncio.sleep(0.05)

        sim.start()  # same port
        back = await wait_for(lambda: set(watch().values()) == {CameraState.ONLINE}, cap + 5.0)
        # each camera's next attempt comes within the cap; opening and the first packet take the rest
        assert back <= cap + 2.0
        assert worst_retry <= cap
        assert all(h.reconnects >= 1 for h in sup.all_health().values())
    finally:
        await sup.stop()
        sim.stop()


async def test_a_frame_consumer_in_each_worker_gets_frames_and_its_events_reach_the_supervisor_with_clips(
    sim: SimServer, tmp_path: Path
) -> None:
    import av

    from shopwatch.core.events import Event
    from tests.ingest.consumers import FirstFrameEvents

    published: list[Event] = []

    class Sink:  # the supervisor's typed door (the incident service in the service)
        def submit(self, event: Event) -> bool:
            published.append(event)
            return True

    postroll = FAST.model_copy(update={"activity": FAST.activity.model_copy(update={"postroll_s": 1.5})})
    sup = Supervisor(postroll, log_level="warning", consumer=FirstFrameEvents, on_published=Sink(), clips_dir=tmp_path)
    try:
        ids = sim.camera_ids[:3]
        await sup.start([camera(cid, sim.url(cid)) for cid in ids])
        await wait_for(lambda: all(s is CameraState.ONLINE for s in states(sup).values()), 10.0)
        started = time.time()
        for cid in ids:
            assert sup.request_activity(cid, "test")
        await wait_for(lambda: len(published) == 3, 10.0)
    finally:
        await sup.stop()
    # Activation hands on frames from the keyframe before the request, stamped with when they arrived.
    assert sorted(e.camera_id for e in published) == ids and all(e.zone == "keyframe" for e in published)
    assert all(started - 3.0 <= e.start <= started + 1.0 for e in published)
    for event in published:
        assert event.clip_path is not None, event.camera_id  # cut by the worker once the post-roll had come
        assert event.clip_path == str(tmp_path / event.camera_id / f"{event.id}.mp4")
        with av.open(event.clip_path) as container:
            decoded = list(container.decode(video=0))
        # from the keyframe at or before the event to 1.5 s past it, at 12 fps
        assert len(decoded) >= 12 and decoded[0].key_frame, event.camera_id
