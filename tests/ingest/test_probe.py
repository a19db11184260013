"""probe_camera against simulated cameras and unusable ports, several at once from threads (as the CLI does)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.health import CameraState
from shopwatch.ingest.probe import ProbeResult, probe_camera

pytestmark = pytest.mark.rtsp

sim_rtsp = pytest.importorskip("shopwatch.sim.rtsp_server")
from shopwatch.sim.clips import ClipSpec, generate_clip  # noqa: E402
from shopwatch.sim.faults import closed_port  # noqa: E402

PASSWORD = "pr0be-Secret"
SETTINGS = Ingest(open_timeout_s=2.0, read_timeout_s=1.5, stall_after_s=0.5)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sim_rtsp.SimServer, Path]]:
    clip = generate_clip(ClipSpec(kind="static", seconds=6.0), tmp_path_factory.mktemp("clips"))
    server = sim_rtsp.SimServer(host="127.0.0.1", port=0)
    server.start()
    yield server, clip
    server.stop()


def camera(camera_id: str, url: str, password: str = "") -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": camera_id,
            "name": camera_id,
            "grid": "g1",
            "host": "127.0.0.1",
            "streams": {"detect": url},
            "credentials": {"username": "admin" if password else "", "password": password},
        }
    )


def test_probes_run_in_parallel_and_report_what_each_camera_delivers(
    sim: tuple[sim_rtsp.SimServer, Path],
) -> None:
    server, clip = sim
    cameras = [
        camera("p-ok-1", server.add_camera("p-ok-1", clip)),
        camera("p-ok-2", server.add_camera("p-ok-2", clip)),
        camera("p-auth", server.add_camera("p-auth", clip, username="admin", password=PASSWORD), "bad-" + PASSWORD),
        camera("p-refused", f"rtsp://127.0.0.1:{closed_port()}/x", PASSWORD),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results: dict[str, ProbeResult] = dict(
            zip([c.id for c in cameras], pool.map(lambda c: probe_camera(c, SETTINGS, 1.5), cameras), strict=True)
        )
    for ok in ("p-ok-1", "p-ok-2"):
        r = results[ok]
        assert r.error is None and r.state is CameraState.ONLINE
        assert (r.codec, r.width, r.height) == ("h264", 640, 360)
        assert r.fps == pytest.approx(12, abs=0.5)
        assert r.kbit_per_s is not None and r.kbit_per_s > 0
        assert r.time_to_first_frame_s is not None and r.time_to_first_frame_s < 1.0
    assert results["p-auth"].state is CameraState.AUTH_FAILED
    assert results["p-refused"].state is CameraState.OFFLINE
    for r in (results["p-auth"], results["p-refused"]):
        assert r.error is not None and PASSWORD not in r.error
    assert results["p-ok-1"].to_dict()["state"] == "online"


def test_a_disabled_camera_is_not_probed() -> None:
    cam = camera("p-off", "rtsp://127.0.0.1:1/x").model_copy(update={"enabled": False})
    assert probe_camera(cam, SETTINGS).state is CameraState.DISABLED
