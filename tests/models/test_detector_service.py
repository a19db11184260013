"""The node's detector process: one queue for every worker, drops counted, killed -> restarted, workers light."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from functools import partial
from multiprocessing import Pipe
from pathlib import Path

import numpy as np
import pytest

from shopwatch.core.clock import ManualClock
from shopwatch.core.config import CameraConfig
from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.detections import Detections
from shopwatch.core.events import EventType
from shopwatch.core.frame import Frame, Rgb
from shopwatch.models.detector import DetectorUnavailable
from shopwatch.models.detector_client import DetectReply, DetectRequest, NodeDetectorClient
from shopwatch.models.detector_service import DetectorNode, DetectorServer, _Peer
from shopwatch.models.pipeline import DetectionMode, Pipeline
from tests.models.handmade import posting_clip_frames
from tests.models.node_detectors import MeanLeft

ROOT = Path(__file__).resolve().parents[2]
FPS = 12
DETECTION = CameraConfig.model_validate(
    {
        "id": "shop-1",
        "name": "shop",
        "grid": "g1",
        "host": "127.0.0.1",
        "detection": {
            "zones": [
                {
                    "name": "shopfront",
                    "kind": "surface",
                    "polygon": [[0.05, 0.1], [0.6, 0.1], [0.6, 0.75], [0.05, 0.75]],
                }
            ],
            "rules": {"card_posting": {"zones": ["shopfront"]}},
        },
    }
).detection


def image(level: int) -> Rgb:
    return np.full((36, 64, 3), level, np.uint8)


class Gate:
    """A detector that holds its first call until released (the model busy on a batch)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def detect(self, images: Sequence[Rgb]) -> list[Detections]:
        self.entered.set()
        assert self.release.wait(10.0)
        return MeanLeft().detect(images)


def test_frames_that_find_the_queue_full_are_answered_dropped_and_counted_without_waiting() -> None:
    gate = Gate()
    server = DetectorServer(gate, batch_size=1, queue_frames=3)
    ours, theirs = Pipe()
    peer = _Peer(theirs)
    server.take(peer, DetectRequest(1, (image(10),)))
    busy = threading.Thread(target=server.run_batch, args=(5.0,))
    busy.start()
    assert gate.entered.wait(5.0)  # the model works on request 1's frame; the queue is empty
    started = time.monotonic()
    server.take(peer, DetectRequest(2, tuple(image(level) for level in (20, 40, 60, 80, 100))))
    assert time.monotonic() - started < 1.0  # never waits on a full queue (the model is still busy)
    assert server.dropped == 2
    gate.release.set()
    busy.join(5.0)
    while server.run_batch(0.0):
        pass
    first, second = ours.recv(), ours.recv()
    assert isinstance(first, DetectReply) and first.request_id == 1 and len(first.results) == 1
    assert isinstance(second, DetectReply) and second.request_id == 2
    found = [None if people is None else round(float(people.boxes[0][0]) * 2 * 255) for people in second.results]
    assert found == [20, 40, 60, None, None]  # each answer is its own frame's, in order; the last two dropped
    assert server.detected == 4 and server.batches == 4


def _moving(frames: list[Rgb]) -> list[Frame]:
    return [
        Frame("shop-1", rgb, pts_s=i / 6, wall_time=1_000.0 + i / 6, keyframe=False, seq=i)
        for i, rgb in enumerate(frames)
    ]


class Unreachable:
    def detect(self, images: Sequence[Rgb]) -> list[Detections | None]:  # noqa: ARG002 (the protocol's)
        raise DetectorUnavailable("the node detector is not reachable (ConnectionRefusedError)")


class DropsAll:
    def __init__(self) -> None:
        self.calls = 0

    def detect(self, images: Sequence[Rgb]) -> list[Detections | None]:
        self.calls += 1
        return [None] * len(images)


def test_while_the_node_detector_is_away_a_person_camera_runs_on_motion_says_so_and_still_fires() -> None:
    pipeline = Pipeline(DetectSettings(), Unreachable(), ManualClock(), 6.0)
    pipeline.set_camera("shop-1", DETECTION)
    events = [event for frame in _moving(posting_clip_frames(FPS)[::2]) for event in pipeline.process([frame])]
    [health] = pipeline.health()
    assert health.mode is DetectionMode.MOTION
    assert health.detector_down is not None and "not reachable" in health.detector_down
    assert [event.type for event in events] == [EventType.CARD_POSTING]  # as the motion-only mode finds it


def test_frames_the_detector_dropped_are_counted_and_skipped_by_the_rules() -> None:
    detector = DropsAll()
    pipeline = Pipeline(DetectSettings(), detector, ManualClock(), 6.0)
    pipeline.set_camera("shop-1", DETECTION)
    frames = _moving(posting_clip_frames(FPS)[::2])
    events = [event for frame in frames for event in pipeline.process([frame])]
    [health] = pipeline.health()
    assert events == []
    assert health.mode is DetectionMode.PERSON and health.detector_down is None
    assert health.frames == len(frames) and health.dropped == detector.calls > 0 and health.detected == 0


async def test_the_node_detector_answers_every_worker_drops_past_its_queue_and_comes_back_when_killed() -> None:
    settings = DetectSettings(batch_size=1, queue_frames=2, reply_timeout_s=10.0)
    node = DetectorNode(settings, factory=partial(MeanLeft, 0.3), log_level="warning")
    client = node.client()
    await node.start()
    try:
        results = await _answered(client, [image(level) for level in (30, 60)], timeout_s=30.0)
        assert [round(float(r.boxes[0][0]) * 2 * 255) for r in results if r is not None] == [30, 60]

        # Eight frames at once, the queue holds two (and the model, one at a time, takes one off meanwhile).
        burst = await asyncio.to_thread(client.detect, [image(i) for i in range(8)])
        assert 2 <= sum(r is not None for r in burst) <= 3 and sum(r is None for r in burst) >= 5

        old = node.pid
        assert old is not None
        os.kill(old, signal.SIGKILL)
        with pytest.raises(DetectorUnavailable):
            await asyncio.to_thread(client.detect, [image(1)])
        results = await _answered(client, [image(90)], timeout_s=30.0)  # restarted; the client reconnects
        assert node.restarts == 1 and node.pid not in (None, old)
        assert results[0] is not None and round(float(results[0].boxes[0][0]) * 2 * 255) == 90
    finally:
        await node.stop()
    assert node.pid is None and not Path(node.address).parent.exists()  # stopped, its socket folder gone


async def _answered(client: NodeDetectorClient, images: list[Rgb], timeout_s: float) -> list[Detections | None]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await asyncio.to_thread(client.detect, images)
        except DetectorUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_a_worker_with_the_node_detector_imports_no_detection_stack(tmp_path: Path) -> None:
    """The worker's entry point and its detection, built as the service builds them (the node's client instead
    of a model), in a fresh interpreter, running a camera's frames through motion, tracker and rules: torch,
    ultralytics and OpenVINO stay out."""
    model = tmp_path / "model.xml"
    model.write_text("<net/>")  # a configured model path: the worker must not even look at it
    code = f"""
import pickle, sys
from functools import partial
from shopwatch.core.detect_config import DetectSettings
from shopwatch.ingest.worker import worker_main
from shopwatch.models.detect_thread import DetectionThread
from shopwatch.models.detector_client import NodeDetectorClient

import numpy as np
from shopwatch.core.config import CameraConfig
from shopwatch.core.consumer import CameraFeed
from shopwatch.core.frame import Frame
from shopwatch.ingest.slot import LatestSlot

settings = DetectSettings(model={str(model)!r})
factory = pickle.loads(pickle.dumps(partial(DetectionThread, settings, 6.0, poll_s=60,
                                            detector=NodeDetectorClient("/nonexistent", b"k", 1.0))))
class Sink:
    def submit(self, event): return True
detection = factory(Sink())
camera = CameraConfig.model_validate({{"id": "c", "name": "c", "grid": "g", "host": "127.0.0.1"}})
slot = LatestSlot(capacity=4)
detection.set_feeds({{"c": CameraFeed(camera, slot)}})
for i in range(3):  # a camera's frames through its motion stage, tracker and rules
    slot.put(Frame("c", np.full((36, 64, 3), 40 * i, np.uint8), pts_s=i, wall_time=1e9 + i, keyframe=False, seq=i))
    detection.run_once()
assert detection.health()["c"].frames == 3, detection.health()
detection.close()
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {{"torch", "ultralytics", "openvino", "torchvision"}})
print("HEAVY", heavy)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "HEAVY []" in out, out
