"""The node's detector behind live workers, with the real person model: a scenario camera served over RTSP gives
its card-posting event through the supervisor's worker and the node's detector process, where the model lives
(the worker maps no torch, ultralytics or OpenVINO library); the detector killed -> the camera keeps streaming on
motion (health says so) and person detection comes back with the restarted process."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import av
import numpy as np
import pytest
import yaml

from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.detect_loader import load_camera_detection
from shopwatch.core.events import Event, EventType
from shopwatch.core.health import CameraHealth
from shopwatch.ingest.supervisor import Supervisor
from shopwatch.models.detect_thread import DetectionThread
from shopwatch.models.detector import DetectorUnavailable
from shopwatch.models.detector_client import NodeDetectorClient
from shopwatch.models.detector_service import DetectorNode
from shopwatch.sim.clips import x264_options
from shopwatch.sim.rtsp_server import SimServer
from tests.models.model_path import test_model

pytestmark = [pytest.mark.rtsp, pytest.mark.slow, pytest.mark.timeout(300)]

SCENE, SEED, FPS, GOP = "post_door_day", 1, 12, 24
INGEST = Ingest(
    cameras_per_worker=10,
    open_timeout_s=3,
    read_timeout_s=2,
    stall_after_s=1,
    health_interval_s=0.2,
    activity={"quiet_s": 60.0, "postroll_s": 1.0},
)
HEAVY_LIBRARIES = ("libopenvino", "libtorch", "ultralytics")


def camera_stream(mp4: Path, out: Path, *, tail_s: int = 0) -> Path:
    """The scene as a camera substream (raw H.264, GOP 24, no B-frames) after 6 s of its first frame: the camera
    has watched the empty street a while before anyone comes; then ``tail_s`` of its last frame (the street after
    the visit), which puts the next visit of the looping clip that much later."""
    with av.open(str(mp4)) as source:
        frames = [frame.to_ndarray(format="rgb24") for frame in source.decode(video=0)]
    with av.open(str(out), mode="w", format="h264") as container:
        stream = container.add_stream("libx264", rate=FPS, options=x264_options(GOP))
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.gop_size, stream.codec_context.max_b_frames = GOP, 0
        for rgb in [frames[0]] * (6 * FPS) + frames + [frames[-1]] * (tail_s * FPS):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


def heavy_maps(pid: int) -> set[str]:
    """The detection stack's files mapped into the process (shared libraries, extension modules)."""
    paths = {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines() if "/" in line}
    return {path for path in paths if any(name in path for name in HEAVY_LIBRARIES)}


def _answers(client: NodeDetectorClient) -> bool:
    try:
        client.detect([np.zeros((360, 640, 3), np.uint8)])
    except DetectorUnavailable:
        return False
    return True


async def until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        await asyncio.sleep(0.1)


def day_rules(path: Path) -> Path:
    """The scene's camera file without its after-hours intrusion rule.

    A live camera's clock is the wall clock, not the scene's: when the suite runs between 22:00 and 06:00 the visitor
    crossing the forecourt is an intrusion too, which these card-posting tests are not about.
    """
    detection = yaml.safe_load(path.read_text(encoding="utf-8"))
    detection["rules"].pop("intrusion", None)
    out = path.with_name(f"{path.stem}.day.yaml")
    out.write_text(yaml.safe_dump(detection, allow_unicode=True), encoding="utf-8")
    return out


async def test_a_scenario_camera_fires_through_the_node_detector_and_survives_its_death(tmp_path: Path) -> None:
    model = test_model()
    from shopwatch.sim.scenes import generate

    [truth] = generate(tmp_path, SEED, names=[SCENE], workers=1)
    clip = camera_stream(truth.with_suffix(".mp4"), tmp_path / "camera.h264")
    detection = load_camera_detection(day_rules(truth.with_name(f"{SCENE}.camera.yaml")))
    settings = DetectSettings(model=str(model))
    published: list[Event] = []

    class Sink:
        def submit(self, event: Event) -> bool:
            published.append(event)
            return True

    node = DetectorNode(settings, log_level="warning")
    await node.start()
    probe = node.client()
    # Until the model is loaded the camera would run on motion (and may fire on that): start once it answers.
    await until(lambda: _answers(probe), 120.0, "the node detector answering")
    consumer = partial(DetectionThread, settings, 6.0, detector=node.client())
    with SimServer() as sim:
        url = sim.add_camera("shop-1", clip)
        cam = CameraConfig.model_validate(
            {"id": "shop-1", "name": "shop", "grid": "g1", "host": "127.0.0.1", "streams": {"detect": url}}
        ).model_copy(update={"detection": detection})
        sup = Supervisor(INGEST, log_level="warning", consumer=consumer, on_published=Sink(), clips_dir=tmp_path)
        try:
            await sup.start([cam])

            def health() -> CameraHealth:
                h = sup.health("shop-1")
                assert h is not None
                return h

            def detected() -> int:
                d = health().detection
                return 0 if d is None or d.mode != "person" else d.detected

            await until(lambda: bool(published), 120.0, "a card-posting event")
            assert published[0].type is EventType.CARD_POSTING and published[0].camera_id == "shop-1"
            assert detected() > 0  # the node's model looked at this camera's frames
            [worker_pid] = [pid for pid in sup.worker_pids().values() if pid is not None]
            assert node.pid is not None and heavy_maps(node.pid)  # the model lives in the detector process
            assert heavy_maps(worker_pid) == set()  # and nowhere near the worker (tracker and rules included)

            os.kill(node.pid, signal.SIGKILL)
            await until(
                lambda: (d := health().detection) is not None and d.mode == "motion" and d.detector_down is not None,
                30.0,
                "health saying the camera runs on motion",
            )
            frames = health().frames_total
            await until(lambda: health().frames_total > frames + 12, 10.0, "frames still decoded")
            assert health().state.value == "online"
            await until(
                lambda: (d := health().detection) is not None and d.mode == "person" and d.detector_down is None,
                60.0,
                "person detection back with the restarted detector",
            )
            assert node.restarts == 1
        finally:
            await sup.stop()
            await node.stop()
