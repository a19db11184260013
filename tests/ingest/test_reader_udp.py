"""CameraReader over RTSP/UDP (``transport: udp``) against a simulated camera on loopback.

The simulated server binds its RTP/RTCP sockets to 127.0.0.1 (tests/sim/test_rtsp_server.py checks that);
``udp_addresses`` tells that a UDP client really set up, so these tests cannot pass over TCP by mistake.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from PIL import Image

from shopwatch.core.config import Activity, Backoff, CameraConfig, Ingest, Transport
from shopwatch.core.health import CameraHealth, CameraState
from shopwatch.ingest.reader import CameraReader, open_options, stop_readers

pytestmark = pytest.mark.rtsp

pytest.importorskip("shopwatch.sim.rtsp_server")  # needs GStreamer's RTSP server (gi)
from shopwatch.sim.clips import ClipSpec, generate_clip  # noqa: E402
from shopwatch.sim.rtsp_server import SimServer  # noqa: E402

SETTINGS = Ingest(
    open_timeout_s=2.0,
    read_timeout_s=1.5,
    stall_after_s=0.5,
    backoff=Backoff(initial_s=0.2, factor=2.0, max_s=1.0, jitter=0.1, auth_retry_s=30.0),
    activity=Activity(idle_keyframe_interval_s=3.0, quiet_s=5.0, detect_fps=6.0),
)
_ids = itertools.count()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_clip(ClipSpec("static", seconds=10.0), tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(host="127.0.0.1", port=0, udp=True) as server:
        yield server


@pytest.fixture
def readers() -> Iterator[list[CameraReader]]:
    started: list[CameraReader] = []
    yield started
    assert stop_readers(started, timeout_s=SETTINGS.open_timeout_s + 1.0) == []


def udp_camera(sim: SimServer, clip: Path, transport: Transport | None) -> CameraConfig:
    camera_id = f"cam-udp-{next(_ids)}"
    url = sim.add_camera(camera_id, clip)
    return CameraConfig.model_validate(
        {
            "id": camera_id,
            "name": "udp camera",
            "grid": "g1",
            "host": "127.0.0.1",
            "streams": {"detect": url},
            "transport": transport,
        }
    )


def online(reader: CameraReader, timeout_s: float) -> CameraHealth:
    deadline = time.monotonic() + timeout_s
    while (health := reader.health()).state is not CameraState.ONLINE:
        assert time.monotonic() < deadline, f"expected online within {timeout_s} s, found {health}"
        time.sleep(0.05)
    return health


def test_a_udp_camera_comes_online_at_camera_rate_and_gives_a_snapshot(
    sim: SimServer, clip: Path, readers: list[CameraReader]
) -> None:
    camera = udp_camera(sim, clip, Transport.UDP)
    assert open_options(SETTINGS, camera)["rtsp_transport"] == "udp"
    reader = CameraReader(camera, SETTINGS)
    readers.append(reader)
    reader.start()
    health = online(reader, 5.0)
    assert health.stream is not None and (health.stream.width, health.stream.height) == (640, 360)
    assert sim.udp_addresses(camera.id), "expected the reader to have set up RTP over UDP"
    jpeg = reader.snapshot_jpeg(timeout_s=3.0)
    assert Image.open(io.BytesIO(jpeg)).size == (640, 360)
    time.sleep(3.0)  # a few seconds of streaming, so the rate is measured over more than the first burst
    health = reader.health()
    assert health.state is CameraState.ONLINE and health.reconnects == 0
    assert 10.0 < health.packets_per_s < 14.0, health
    assert health.packets_total >= 30


def test_ingest_wide_udp_applies_and_a_dropped_udp_session_reconnects(
    sim: SimServer, clip: Path, readers: list[CameraReader]
) -> None:
    camera = udp_camera(sim, clip, None)  # no per-camera transport: ingest.transport decides
    settings = SETTINGS.model_copy(update={"transport": Transport.UDP})
    reader = CameraReader(camera, settings)
    readers.append(reader)
    reader.start()
    online(reader, 5.0)
    assert sim.udp_addresses(camera.id)
    sim.drop(camera.id)  # FFmpeg watches the RTSP connection while RTP comes over UDP: the drop is seen
    deadline = time.monotonic() + 1.0
    while reader.health().state is CameraState.ONLINE:
        assert time.monotonic() < deadline, "expected the reader to leave online within 1 s of the drop"
        time.sleep(0.01)
    assert online(reader, 5.0).reconnects >= 1


def test_pyav_over_udp_gets_increasing_timestamps_at_camera_rate(sim: SimServer, clip: Path) -> None:
    camera = udp_camera(sim, clip, Transport.UDP)
    url = camera.streams.detect
    assert url is not None
    options = {"rtsp_transport": "udp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}
    with av.open(url, options=options, timeout=(10, 6)) as container:
        got: list[tuple[float, int | None]] = []
        for packet in container.demux(video=0):
            if packet.size:
                got.append((time.monotonic(), packet.pts))
            if len(got) == 24:
                break
    pts = [p for _, p in got[1:] if p is not None]  # FFmpeg's parser leaves the very first packet without pts
    assert len(pts) == 23 and all(b > a for a, b in zip(pts, pts[1:], strict=False)), pts
    steady = got[6:]  # the first packets may come in a burst
    fps = (len(steady) - 1) / (steady[-1][0] - steady[0][0])
    assert 10.0 < fps < 14.5
    assert sim.udp_addresses(camera.id)
