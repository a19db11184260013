"""A camera that freezes (the simulated server under SIGSTOP) is never shown ``online`` without packets.

The server runs in a child process so the whole RTSP server can be frozen; it is resumed (SIGCONT) in a
``finally`` and stopped by the context manager, so nothing outlives the test.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from shopwatch.core.config import Backoff, CameraConfig, Ingest
from shopwatch.core.health import CameraState
from tests.ingest.test_reader import Readers

pytestmark = pytest.mark.rtsp

sim_process = pytest.importorskip("shopwatch.sim.process")

SETTINGS = Ingest(
    open_timeout_s=2.0,
    read_timeout_s=1.5,
    stall_after_s=0.5,
    backoff=Backoff(initial_s=0.3, factor=2.0, max_s=1.0, jitter=0.1, auth_retry_s=30.0),
)


def camera(sim: sim_process.SimProcess, camera_id: str) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "id": camera_id,
            "name": "frozen",
            "grid": "g1",
            "host": "127.0.0.1",
            "streams": {"detect": sim.url(camera_id)},
        }
    )


@pytest.mark.parametrize("kind", ["ffmpeg", "native"])
def test_a_frozen_server_goes_stalled_then_offline_and_never_online_in_between(
    tmp_path_factory: pytest.TempPathFactory, kind: str
) -> None:
    clips = tmp_path_factory.mktemp("freeze-clips")
    made = Readers(kind)
    with sim_process.SimProcess(cameras=2, clips_dir=clips, walker_every=0) as sim:
        assert sim.pid is not None
        reader = made.make(camera(sim, "cam-01"), SETTINGS)
        late = made.make(camera(sim, "cam-02"), SETTINGS)  # opened while the server is frozen
        reader.start()
        try:
            deadline = time.monotonic() + 10.0
            while reader.health().state is not CameraState.ONLINE:
                assert time.monotonic() < deadline, f"expected online, found {reader.health()}"
                time.sleep(0.05)
            time.sleep(0.5)
            os.kill(sim.pid, signal.SIGSTOP)
            late.start()
            states: list[tuple[float, CameraState, int]] = []
            late_error: str | None = None
            try:
                frozen_at = time.monotonic()
                # FFmpeg hands over the packet it held after one read timeout, fails after the next: watch both.
                while (elapsed := time.monotonic() - frozen_at) < 3 * SETTINGS.read_timeout_s + 1.0:
                    health = reader.health()
                    if not states or states[-1][1] is not health.state:
                        states.append((round(elapsed, 2), health.state, health.packets_total))
                    late_error = late_error or late.health().last_error  # its first, while still frozen
                    if health.state is CameraState.OFFLINE and health.reconnects >= 1 and late_error:
                        break
                    time.sleep(0.02)
            finally:
                os.kill(sim.pid, signal.SIGCONT)
        finally:
            # a reader inside an open to the just-resumed server leaves after the open and read timeouts at most
            late.request_stop()
            assert reader.stop(SETTINGS.open_timeout_s + SETTINGS.read_timeout_s + 2.0)
            assert late.stop(SETTINGS.open_timeout_s + SETTINGS.read_timeout_s + 2.0)
            if made.loop is not None:
                assert made.loop.stop()
    seen = [state for _, state, _ in states]
    assert seen[:2] == [CameraState.ONLINE, CameraState.STALLED], states
    assert CameraState.OFFLINE in seen, states
    assert CameraState.ONLINE not in seen[1:], f"online while frozen: {states}"
    # FFmpeg reports an unanswered OPTIONS as "Invalid data found": the reader says what happened (the native
    # reader's own open timeout says it too).
    assert late_error is not None and "no answer to the RTSP request" in late_error, late_error
