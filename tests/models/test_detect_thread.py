"""The detection thread, through the real ingest path: a simulated RTSP camera shows a card being posted; the
worker's detection submits the event, the worker cuts its clip from the packet ring after the post-roll, and the
supervisor hands it to its event sink."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from pathlib import Path

import av
import numpy as np
import pytest

from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.events import Event, EventType
from shopwatch.ingest.supervisor import Supervisor
from shopwatch.models.detect_thread import DetectionThread
from shopwatch.sim.clips import x264_options
from shopwatch.sim.rtsp_server import SimServer
from tests.models.handmade import posting_clip_frames

pytestmark = pytest.mark.rtsp

FPS, GOP = 12, 24
INGEST = Ingest(
    cameras_per_worker=10,
    open_timeout_s=3,
    read_timeout_s=2,
    stall_after_s=1,
    health_interval_s=0.2,
    activity={"quiet_s": 60.0},
)
DETECTION = {
    "zones": [
        {"name": "shopfront", "kind": "surface", "polygon": [[0.05, 0.1], [0.6, 0.1], [0.6, 0.75], [0.05, 0.75]]}
    ],
    "rules": {"card_posting": {"zones": ["shopfront"]}},
}


def camera_stream(path: Path) -> Path:
    """The hand-made posting scene after 8 s of empty street, as a camera substream: raw H.264, GOP 24, no
    B-frames; the visit is from 8 to 13 s."""
    with av.open(str(path), mode="w", format="h264") as container:
        stream = container.add_stream("libx264", rate=FPS, options=x264_options(GOP))
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.codec_context.gop_size, stream.codec_context.max_b_frames = GOP, 0
        frames = posting_clip_frames(FPS)
        # A camera has watched the empty street a while before someone comes (its idle baseline is learned).
        for rgb in [frames[0]] * (6 * FPS) + frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


async def test_a_card_posted_in_front_of_a_live_camera_is_published_with_its_clip(tmp_path: Path) -> None:
    clip = camera_stream(tmp_path / "posting.h264")
    published: list[Event] = []

    class Sink:
        def submit(self, event: Event) -> bool:
            published.append(event)
            return True

    consumer = partial(DetectionThread, DetectSettings(model=None), 6.0)
    ingest = INGEST.model_copy(update={"activity": INGEST.activity.model_copy(update={"postroll_s": 1.0})})
    with SimServer() as sim:
        url = sim.add_camera("shop-1", clip)
        cam = CameraConfig.model_validate(
            {
                "id": "shop-1",
                "name": "shop",
                "grid": "g1",
                "host": "127.0.0.1",
                "streams": {"detect": url},
                "detection": DETECTION,
            }
        )
        clips = tmp_path / "clips"
        sup = Supervisor(ingest, log_level="warning", consumer=consumer, on_published=Sink(), clips_dir=clips)
        try:
            started = time.time()
            await sup.start([cam])
            deadline = time.monotonic() + 40.0  # the scene loops every 18 s; the event comes in the first loop
            while not published and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            health = sup.health("shop-1")  # the worker reports what detection makes of the camera
            assert health is not None and health.detection is not None
            assert health.detection.mode == "motion" and health.detection.frames > 0  # no model: degraded mode
        finally:
            await sup.stop()
    assert published, "no event published"
    event = published[0]
    assert event.camera_id == "shop-1" and event.type is EventType.CARD_POSTING
    assert event.evidence is not None and len(event.evidence.patches) == 1
    x1, y1, x2, y2 = event.evidence.patches[0]
    assert x1 < 0.336 and x2 > 0.32 and y1 < 0.47 and y2 > 0.45  # the card
    assert started < event.start < event.end <= event.detected_at
    assert set(event.snapshots) >= {"actor", "before", "after"}
    assert event.clip_path is not None
    with av.open(event.clip_path) as container:
        frames = list(container.decode(video=0))
    assert frames[0].key_frame
    # From before the visit began to a second after it ended: the whole visit is in the clip.
    assert len(frames) / FPS >= event.end - event.start + 1.0


def test_the_detection_thread_submits_each_event_as_it_completes() -> None:
    from shopwatch.core.clock import ManualClock
    from shopwatch.core.consumer import CameraFeed
    from shopwatch.core.frame import Frame
    from shopwatch.ingest.slot import LatestSlot
    from tests.models.handmade import posting_clip_frames

    clock = ManualClock(start=0.0, wall_start=1_000.0)
    submitted: list[tuple[float, Event]] = []

    class Sink:
        def submit(self, event: Event) -> bool:
            submitted.append((clock.wall(), event))
            return True

    cam = CameraConfig.model_validate(
        {"id": "shop-1", "name": "shop", "grid": "g1", "host": "127.0.0.1", "detection": DETECTION}
    )
    slot: LatestSlot[Frame] = LatestSlot(capacity=400)
    detection = DetectionThread(DetectSettings(model=None), 6.0, Sink(), clock=clock, poll_s=60)
    try:
        detection.set_feeds({"shop-1": CameraFeed(cam, slot)})
        for i, rgb in enumerate(posting_clip_frames(FPS)[::2]):  # 6 fps
            t = i / 6
            clock.advance(t - clock.monotonic())
            slot.put(Frame("shop-1", rgb, pts_s=t, wall_time=1_000.0 + t, keyframe=False, seq=i))
            detection.run_once()
    finally:
        detection.close()
    [(at, event)] = submitted
    # handed on in the round that completed it (no waiting here: the worker's sink waits for the post-roll)
    assert event.type is EventType.CARD_POSTING and event.clip_path is None
    assert at == pytest.approx(event.detected_at) and event.end <= at
