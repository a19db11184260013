"""The per-connection gating logic, driven by a synthetic camera and a fake decoder (no PyAV, no sleeping)."""

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from shopwatch.core.clock import ManualClock
from shopwatch.core.config import Activity
from shopwatch.core.frame import Frame
from shopwatch.core.health import ActivityMode, StreamInfo
from shopwatch.ingest.access_unit import AccessUnit
from shopwatch.ingest.activity import ActivityGate
from shopwatch.ingest.pipeline import PipelineContext, StreamPipeline
from shopwatch.ingest.ring import PacketRing
from shopwatch.ingest.slot import LatestSlot
from shopwatch.ingest.snapshot import SnapshotStore
from shopwatch.ingest.stats import HealthTracker

FPS, GOP = 12, 24
H, W = 90, 160
Luma = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class FakePacket:
    pts: int
    is_keyframe: bool
    size: int
    figure: bool  # what the picture shows
    time_base: Fraction = Fraction(1, FPS)


@dataclass
class FakeFrame:
    pts: int
    figure: bool


@dataclass
class FakeDecoder:
    decoded: list[FakePacket] = field(default_factory=list)

    def decode(self, unit: AccessUnit[Any]) -> list[Any]:
        packet = unit.packets[0]
        self.decoded.append(packet)
        return [FakeFrame(packet.pts, packet.figure)]

    def luma(self, frame: Any) -> Luma:
        image = np.full((H, W), 120, dtype=np.uint8)
        image[::8, :] = 60  # some texture
        if frame.figure:
            image[40:80, 70 + frame.pts % 20 : 80 + frame.pts % 20] = 20
        return image

    def rgb(self, frame: Any) -> npt.NDArray[np.uint8]:
        return np.repeat(self.luma(frame)[:, :, None], 3, axis=2)

    def pts_s(self, frame: Any) -> float:
        return float(frame.pts) / FPS


class Camera:
    """A 12 fps camera with a 2 s GOP; P-frames grow from ~110 to ~360 bytes while a figure is in view."""

    def __init__(self, settings: Activity | None = None) -> None:
        self.clock = ManualClock()
        self.settings = settings or Activity(quiet_s=5.0)
        self.frames: LatestSlot[Frame] = LatestSlot(capacity=64)
        self.snapshots = SnapshotStore()
        self.health = HealthTracker("cam", self.clock, stall_after_s=3.0)
        self.ring: PacketRing[AccessUnit[Any]] = PacketRing(self.settings.preroll_s)
        self.gate = ActivityGate(self.settings.quiet_s)
        self.decoder = FakeDecoder()
        ctx = PipelineContext(
            "cam", self.settings, self.clock, self.ring, self.frames, self.health, self.snapshots, self.gate
        )
        self.pipeline = StreamPipeline(ctx, self.decoder, StreamInfo("h264", W, H, None))
        self.index = 0
        self.rng = np.random.default_rng(0)

    def run(self, seconds: float, figure: bool = False) -> None:
        for _ in range(round(seconds * FPS)):
            key = self.index % GOP == 0
            size = 3600 if key else int(110 * self.rng.uniform(0.8, 1.2)) + (250 if figure else 0)
            packet = FakePacket(self.index, key, size, figure)
            self.pipeline.on_unit(AccessUnit((packet,), self.clock.monotonic()))
            self.index += 1
            self.clock.advance(1 / FPS)

    def handed(self) -> list[Frame]:
        return self.frames.drain()


def test_idle_decodes_only_a_keyframe_now_and_then() -> None:
    cam = Camera(Activity(idle_keyframe_interval_s=3.0))
    cam.run(20)
    assert all(p.is_keyframe for p in cam.decoder.decoded)
    # Keyframes every 2 s, at most one per 3 s decoded: t = 0, 4, 8, 12, 16.
    assert [p.pts / FPS for p in cam.decoder.decoded] == [0, 4, 8, 12, 16]
    assert cam.handed() == []
    assert cam.gate.mode is ActivityMode.IDLE
    assert cam.health.health().frames_total == 5


def test_motion_activates_from_the_keyframe_before_it_and_hands_frames_at_detect_fps() -> None:
    cam = Camera(Activity(detect_fps=6.0, quiet_s=5.0))
    cam.run(10.5)
    cam.run(3.0, figure=True)  # the figure appears at 10.5 s, mid-GOP
    activation = cam.pipeline.last_activation
    assert activation is not None and activation.reason == "packet sizes"
    assert activation.time - 1000.0 <= 10.5 + 1.0  # ManualClock starts at 1000: within a second of the figure
    frames = cam.handed()
    first = frames[0]
    assert first.keyframe and first.pts_s == 10.0  # the keyframe before the trigger: no figure yet
    assert first.image.shape == (H, W, 3) and first.image[60, 75].tolist() == [120, 120, 120]
    pts = [f.pts_s for f in frames]
    assert pts == sorted(pts)
    assert len(frames) == pytest.approx(6 * (13.5 - 10.0), abs=2)
    assert [p.pts for p in cam.decoder.decoded if p.pts >= 120] == list(range(120, 162))  # every frame since
    assert cam.health.health().mode is ActivityMode.ACTIVE
    assert cam.health.health().activations == 1


def test_back_to_idle_after_quiet_s_without_a_signal() -> None:
    cam = Camera(Activity(quiet_s=5.0, idle_keyframe_interval_s=3.0))
    cam.run(10.5)
    cam.run(2.0, figure=True)
    assert cam.gate.active
    cam.run(4.0)
    assert cam.gate.active  # not yet 5 s since the last signal
    cam.run(3.0)
    assert cam.gate.mode is ActivityMode.IDLE
    decoded_before = len(cam.decoder.decoded)
    cam.run(10.0)
    assert all(p.is_keyframe for p in cam.decoder.decoded[decoded_before:])
    assert cam.health.health().mode is ActivityMode.IDLE


def test_a_snapshot_request_decodes_the_next_keyframe_even_when_none_is_due() -> None:
    cam = Camera(Activity(idle_keyframe_interval_s=10.0))
    cam.run(1.0)
    assert len(cam.decoder.decoded) == 1
    generation = cam.snapshots.request()
    cam.run(2.0)
    picture = cam.snapshots.latest()
    assert picture is not None and picture.generation > generation
    assert [p.pts for p in cam.decoder.decoded] == [0, 24]
    assert not cam.snapshots.wanted


def test_an_external_request_activates_now_from_the_newest_keyframe() -> None:
    cam = Camera()
    cam.run(5.0)
    assert cam.pipeline.signal("onvif motion") is True
    frames = cam.handed()
    assert frames[0].keyframe and frames[0].pts_s == 4.0
    assert cam.pipeline.last_activation is not None and cam.pipeline.last_activation.reason == "onvif motion"


def test_keyframe_motion_alone_activates_too() -> None:
    # Packet sizes say nothing (ratio out of reach); the keyframe's pixels show the figure.
    cam = Camera(Activity(pframe_ratio=20.0, idle_keyframe_interval_s=2.0))
    cam.run(10.0)
    for _ in range(GOP * 2):
        key = cam.index % GOP == 0
        packet = FakePacket(cam.index, key, 3600 if key else 110, figure=cam.index >= 126)
        cam.pipeline.on_unit(AccessUnit((packet,), cam.clock.monotonic()))
        cam.index += 1
        cam.clock.advance(1 / FPS)
    activation = cam.pipeline.last_activation
    assert activation is not None and activation.reason == "keyframe motion"
    assert cam.handed()[0].pts_s == 10.0  # decoding restarted at the keyframe before the one that showed it


def test_after_joining_mid_gop_nothing_is_decoded_before_a_keyframe() -> None:
    cam = Camera()
    cam.index = 5  # the first packet is a P-frame
    cam.pipeline.signal("operator")
    cam.run(1.0)
    assert cam.decoder.decoded == []
    cam.run(1.5)
    assert cam.decoder.decoded[0].pts == 24 and cam.decoder.decoded[0].is_keyframe
