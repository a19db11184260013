"""CameraReader against simulated cameras over loopback (GStreamer RTSP server in-process)."""

from __future__ import annotations

import io
import itertools
import multiprocessing
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
import pytest
from PIL import Image

from shopwatch.core.config import Activity, Backoff, CameraConfig, Ingest, Transport
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.health import ActivityMode, CameraHealth, CameraState
from shopwatch.ingest.native_reader import NativeCameraReader, NativeLoop
from shopwatch.ingest.pacing import PaceCore
from shopwatch.ingest.reader import CameraReader, stop_readers
from shopwatch.ingest.worker import Worker

pytestmark = pytest.mark.rtsp

sim_rtsp = pytest.importorskip("shopwatch.sim.rtsp_server")
from shopwatch.sim.clips import ClipSpec, generate_clip  # noqa: E402
from shopwatch.sim.faults import GarbageServer, closed_port  # noqa: E402

T = TypeVar("T")
PASSWORD = "s3cret-Pa55"
SETTINGS = Ingest(
    open_timeout_s=2.0,
    read_timeout_s=1.5,
    stall_after_s=0.5,
    backoff=Backoff(initial_s=0.2, factor=2.0, max_s=1.0, jitter=0.1, auth_retry_s=30.0),
    activity=Activity(idle_keyframe_interval_s=3.0, quiet_s=5.0, detect_fps=6.0),
)
_ids = itertools.count()


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float, step_s: float = 0.05) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {what} within {timeout_s} s")
        time.sleep(step_s)


def in_state(reader: CameraReader, *states: CameraState) -> Callable[[], CameraHealth | None]:
    def probe() -> CameraHealth | None:
        health = reader.health()
        return health if health.state in states else None

    return probe


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cache = tmp_path_factory.mktemp("clips")
    return {kind: generate_clip(ClipSpec(kind=kind), cache) for kind in ("static", "idle_then_motion")}


@pytest.fixture(scope="module")
def sim() -> Iterator[sim_rtsp.SimServer]:
    server = sim_rtsp.SimServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


class Readers(list[CameraReader]):
    """The readers a test started, of one kind: FFmpeg's (a thread each) or native (one loop for all)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.loop: NativeLoop | None = None

    def make(self, cam: CameraConfig, settings: Ingest = SETTINGS) -> CameraReader:
        if self.kind == "ffmpeg":
            return CameraReader(cam, settings)
        if self.loop is None:
            self.loop = NativeLoop(PaceCore(settings.open_rate, settings.opens_in_flight))
        return NativeCameraReader(cam, settings, self.loop)


@pytest.fixture(params=["ffmpeg", "native"])
def readers(request: pytest.FixtureRequest) -> Iterator[Readers]:
    started = Readers(request.param)
    yield started
    assert stop_readers(started, timeout_s=SETTINGS.open_timeout_s + 1.0) == []
    if started.loop is not None:
        assert started.loop.stop()


def camera(url: str, *, username: str = "", password: str = "", enabled: bool = True) -> CameraConfig:
    camera_id = url.rsplit("/", 1)[-1] if url.count("/") > 2 else f"cam-{next(_ids)}"
    return CameraConfig.model_validate(
        {
            "id": camera_id,
            "name": "test camera",
            "grid": "g1",
            "host": "127.0.0.1",
            "streams": {"detect": url},
            "credentials": {"username": username, "password": password},
            "enabled": enabled,
        }
    )


def start(readers: Readers, cam: CameraConfig) -> CameraReader:
    reader = readers.make(cam)
    readers.append(reader)
    reader.start()
    return reader


def mount(sim: sim_rtsp.SimServer, clip: Path, **auth: str) -> str:
    return str(sim.add_camera(f"cam-{next(_ids)}", clip, **auth))


def test_a_static_scene_comes_online_stays_idle_and_decodes_only_keyframes(
    sim: sim_rtsp.SimServer, clips: dict[str, Path], readers: Readers
) -> None:
    reader = start(readers, camera(mount(sim, clips["static"])))
    health = wait_for("online", in_state(reader, CameraState.ONLINE), 5.0)
    assert health.time_to_first_packet_s is not None and health.time_to_first_packet_s < 1.0
    assert health.stream is not None and (health.stream.codec, health.stream.width, health.stream.height) == (
        "h264",
        640,
        360,
    )
    jpeg = reader.snapshot_jpeg(timeout_s=3.0)
    assert Image.open(io.BytesIO(jpeg)).size == (640, 360)

    time.sleep(10.0)  # ten seconds of a shop front where nothing happens
    health = reader.health()
    assert health.state is CameraState.ONLINE and health.mode is ActivityMode.IDLE
    assert health.activations == 0 and len(reader.frames) == 0
    # Keyframes every 2 s, all of about the same size: the first one is decoded, the next ones are skipped (at
    # most one more for a noise spike) until idle_keyframe_max_interval_s; never a P-frame.
    assert 1 <= health.frames_total <= 2 and health.keyframes_total >= 5
    assert health.packets_per_s > 10 and health.kbit_per_s > 0
    assert health.stream is not None and health.stream.fps == pytest.approx(12, abs=0.5)

    # An external signal (ONVIF event, operator) switches to active at once, from the newest keyframe.
    reader.request_activity("onvif motion")
    first = reader.frames.get(timeout=2.0)
    assert first is not None and first.keyframe and first.image.shape == (360, 640, 3)
    assert reader.health().mode is ActivityMode.ACTIVE


def test_a_figure_walking_in_activates_within_a_gop_from_the_keyframe_before_it(
    sim: sim_rtsp.SimServer, clips: dict[str, Path], readers: Readers
) -> None:
    clip = clips["idle_then_motion"]
    reader = start(readers, camera(mount(sim, clip)))
    first = reader.frames.get(timeout=16.0)  # the figure appears 10.5 s into the clip
    assert first is not None
    activation = reader.last_activation
    assert activation is not None and activation.pts_s is not None
    assert activation.pts_s - 10.5 <= 2.0  # within one GOP of the figure appearing
    assert first.keyframe and first.pts_s == pytest.approx(10.0, abs=0.05)  # the keyframe before the motion
    with av.open(str(clip)) as container:  # that keyframe shows the empty shop front: no figure yet
        frames = container.decode(video=0)
        empty = next(itertools.islice(frames, 120, None)).to_ndarray(format="rgb24")
        with_figure = next(itertools.islice(frames, 23, None)).to_ndarray(format="rgb24")  # t = 12 s
    assert np.abs(first.image.astype(int) - empty).mean() < 2.0
    assert np.abs(first.image.astype(int) - with_figure).mean() > np.abs(first.image.astype(int) - empty).mean()
    later = [reader.frames.get(timeout=1.0) for _ in range(6)]
    assert all(f is not None for f in later)
    pts = [first.pts_s] + [f.pts_s for f in later if f is not None]
    assert pts == sorted(pts) and max(np.diff(pts)) <= 1 / 6 + 1 / 12 + 1e-6  # ~6 fps, evenly


def test_a_hung_camera_is_stalled_then_retried_and_comes_back(
    sim: sim_rtsp.SimServer, clips: dict[str, Path], readers: Readers
) -> None:
    url = mount(sim, clips["static"])
    cam_id = url.rsplit("/", 1)[-1]
    reader = start(readers, camera(url))
    wait_for("online", in_state(reader, CameraState.ONLINE), 5.0)
    sim.hang(cam_id)
    stalled = wait_for("stalled", in_state(reader, CameraState.STALLED), 2.0, step_s=0.02)
    assert stalled.last_packet_age_s is not None and stalled.last_packet_age_s >= SETTINGS.stall_after_s
    # The read times out (read_timeout_s), the reader reconnects with backoff, still nothing comes.
    retried = wait_for("a reconnect", lambda: (h := reader.health()).reconnects >= 1 and h, 6.0)
    assert retried.state in (CameraState.OFFLINE, CameraState.CONNECTING, CameraState.STALLED)
    sim.resume(cam_id)
    wait_for("online again", in_state(reader, CameraState.ONLINE), 8.0)


def test_a_dropped_connection_leaves_online_at_once_and_comes_back(
    sim: sim_rtsp.SimServer, clips: dict[str, Path], readers: Readers
) -> None:
    url = mount(sim, clips["static"])
    reader = start(readers, camera(url))
    wait_for("online", in_state(reader, CameraState.ONLINE), 5.0)
    sim.drop(url.rsplit("/", 1)[-1])
    offline = wait_for("offline", in_state(reader, CameraState.OFFLINE, CameraState.CONNECTING), 1.0, step_s=0.01)
    assert offline.last_error is not None
    back = wait_for("online again", in_state(reader, CameraState.ONLINE), 5.0)
    assert back.reconnects >= 1


def test_a_wrong_password_is_retried_slowly_until_the_config_is_fixed(
    sim: sim_rtsp.SimServer, clips: dict[str, Path], readers: Readers
) -> None:
    url = mount(sim, clips["static"], username="admin", password=PASSWORD)
    reader = start(readers, camera(url, username="admin", password="wrong-" + PASSWORD))
    refused = wait_for("auth_failed", in_state(reader, CameraState.AUTH_FAILED), 5.0)
    retry = refused.next_retry_in_s
    assert retry is not None and 30.0 * 0.9 - 1.0 <= retry <= 30.0 * 1.1
    assert refused.last_error is not None and "401" in refused.last_error
    assert PASSWORD not in refused.last_error and "wrong-" not in refused.last_error
    started = time.monotonic()
    reader.update_config(camera(url, username="admin", password=PASSWORD))
    wait_for("online with the fixed password", in_state(reader, CameraState.ONLINE), 3.0)
    assert time.monotonic() - started < 3.0  # did not wait out the 30 s auth retry


def test_disabling_and_reenabling_a_camera(
    sim: sim_rtsp.SimServer, clips: dict[str, Path], readers: Readers
) -> None:
    url = mount(sim, clips["static"])
    reader = start(readers, camera(url, enabled=False))
    assert reader.health().state is CameraState.DISABLED
    with pytest.raises(SnapshotUnavailable, match="disabled"):
        reader.snapshot_jpeg(timeout_s=0.5)
    reader.update_config(camera(url))
    wait_for("online", in_state(reader, CameraState.ONLINE), 5.0)
    reader.update_config(camera(url, enabled=False))
    wait_for("disabled", in_state(reader, CameraState.DISABLED), 3.0)


@pytest.fixture
def garbage_port() -> Iterator[int]:
    """A port that answers every connection with bytes that are not RTSP."""
    with GarbageServer() as server:
        yield server.port


@pytest.mark.parametrize("peer", ["garbage", "refused"])
def test_an_unusable_peer_is_offline_with_a_clear_redacted_error(
    peer: str, garbage_port: int, readers: Readers
) -> None:
    port = garbage_port if peer == "garbage" else closed_port()
    url = f"rtsp://127.0.0.1:{port}/stream"
    reader = start(readers, camera(url, username="admin", password=PASSWORD))
    health = wait_for("offline", in_state(reader, CameraState.OFFLINE), 5.0)
    assert health.last_error is not None and PASSWORD not in health.last_error
    assert f"127.0.0.1:{port}" in health.last_error
    expected = "expected an RTSP answer" if peer == "garbage" else "connection refused"
    assert expected in health.last_error
    assert health.next_retry_in_s is not None and health.next_retry_in_s <= SETTINGS.backoff.max_s * 1.1
    with pytest.raises(SnapshotUnavailable, match="offline"):
        reader.snapshot_jpeg(timeout_s=0.5)
    assert reader.stop(join_timeout_s=SETTINGS.open_timeout_s + 1.0)


def test_a_clip_cut_from_the_ring_plays_every_picture(
    sim: sim_rtsp.SimServer, clips: dict[str, Path], readers: Readers, tmp_path: Path
) -> None:
    reader = start(readers, camera(mount(sim, clips["static"])))
    wait_for("online", in_state(reader, CameraState.ONLINE), 5.0)
    time.sleep(4.5)  # two keyframes (GOP 2 s) in the ring
    now = time.time()
    info = reader.cut_clip(now - 3.0, now, tmp_path / "clip.mp4")
    with av.open(str(info.path)) as container:
        frames = list(container.decode(video=0))
    assert info.pictures >= 24 and len(frames) == info.pictures  # every picture decodes, from the first
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert info.duration_s == pytest.approx((info.pictures - 1) / 12, abs=0.1)  # the camera's own timestamps


def test_ingest_reader_native_reads_tcp_cameras_natively_and_udp_ones_with_ffmpeg() -> None:
    ours, _theirs = multiprocessing.Pipe()
    worker = Worker(0, ours, SETTINGS.model_copy(update={"reader": "native"}))
    try:
        url = "rtsp://127.0.0.1:1/stream"
        tcp = worker._new_reader(camera(url))
        udp = worker._new_reader(camera(url).model_copy(update={"transport": Transport.UDP}))
        assert type(tcp) is NativeCameraReader and type(udp) is CameraReader
    finally:
        worker.close()
