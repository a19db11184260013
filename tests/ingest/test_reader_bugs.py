"""A bug inside the reader is not a camera failure: with a programming error injected into a live camera's stream
pipeline, the error is logged at ERROR with its traceback, counted in the camera's health as an internal error
(shown by ``GET /api/cameras``' health view and by ``/metrics``), and the camera is retried with the backoff; camera
failures (a refused connection) are not counted as internal errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from shopwatch.api.metrics import build_registry
from shopwatch.api.views import health_view
from shopwatch.core.health import CameraState
from shopwatch.ingest.pipeline import StreamPipeline
from shopwatch.sim.faults import closed_port
from tests.api.fakes import FakeFleet
from tests.ingest.test_reader import (  # noqa: F401 - fixtures
    SETTINGS,
    Readers,
    camera,
    clips,
    in_state,
    mount,
    readers,
    sim,
    start,
    wait_for,
)

pytestmark = pytest.mark.rtsp


def test_a_programming_error_in_the_reader_is_logged_counted_and_retried(
    sim, clips: dict[str, Path], readers: Readers, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    real_on_units = StreamPipeline.on_units
    bugs = [2]  # the first two sessions hit the bug, then the pipeline works again

    def on_units(self: StreamPipeline, *args: object, **kwargs: object) -> None:
        if bugs[0] > 0:
            bugs[0] -= 1
            raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")  # a typical slip
        real_on_units(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(StreamPipeline, "on_units", on_units)
    caplog.set_level(logging.ERROR, logger="shopwatch.ingest")
    logger = "shopwatch.ingest.reader" if readers.kind == "ffmpeg" else "shopwatch.ingest.native_reader"
    cam = camera(mount(sim, clips["static"]))
    reader = start(readers, cam)

    failing = wait_for("an internal error", lambda: (h := reader.health()).internal_errors and h, 5.0)
    assert failing.state is CameraState.OFFLINE
    assert failing.last_error == "internal error in the reader (TypeError); its traceback is in the service log"
    assert failing.next_retry_in_s is not None  # retried with the backoff, not in a tight loop
    [record, *_] = [r for r in caplog.records if r.name == logger]
    assert record.levelno == logging.ERROR and cam.id in record.getMessage()
    # The traceback, in the log (as exc_info, or already rendered and redacted by the service's log filter).
    traceback = record.exc_text or (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
    assert "Traceback (most recent call last)" in traceback and "TypeError: unsupported operand" in traceback

    health = wait_for("online after the bug stops", in_state(reader, CameraState.ONLINE), 10.0)
    assert health.internal_errors == 2 and health.reconnects >= 2

    view = health_view(health)  # what GET /api/cameras shows of it
    assert view["counters"]["internal_errors"] == 2
    fleet = FakeFleet([cam])
    fleet.report(health)
    metrics = generate_latest(build_registry(fleet)).decode()  # type: ignore[arg-type]
    assert f'shopwatch_camera_internal_errors_total{{camera="{cam.id}"}} 2.0' in metrics


def test_a_camera_failure_is_not_an_internal_error(readers: Readers) -> None:  # noqa: F811
    reader = start(readers, camera(f"rtsp://127.0.0.1:{closed_port()}/stream"))
    health = wait_for("offline", in_state(reader, CameraState.OFFLINE), 5.0)
    assert health.last_error is not None and "connection refused" in health.last_error
    assert health.internal_errors == 0
