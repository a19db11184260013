"""The per-connection gating logic, driven by a synthetic camera and a fake decoder (no PyAV, no sleeping), and
by the simulator's real clips through a real decoder, looped as the simulated camera loops them (no server)."""

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from shopwatch.core.clock import ManualClock
from shopwatch.core.config import Activity
from shopwatch.core.frame import Frame
from shopwatch.core.health import ActivityMode, StreamInfo
from shopwatch.ingest.access_unit import AccessUnit
from shopwatch.ingest.activity import ActivityGate, downscale_luma
from shopwatch.ingest.decode import AvDecoder
from shopwatch.ingest.pipeline import PipelineContext, StreamPipeline
from shopwatch.ingest.ring import PacketRing
from shopwatch.ingest.slot import LatestSlot
from shopwatch.ingest.snapshot import SnapshotStore
from shopwatch.ingest.stats import HealthTracker
from shopwatch.sim.clips import ClipKind, ClipSpec, generate_clip

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
    pictures: list["FakePicture"] = field(default_factory=list)

    fresh: bool = True  # new or released: like a real one, it cannot decode a P-frame before a keyframe
    releases: int = 0

    def decode(self, unit: AccessUnit[Any]) -> list[Any]:
        packet = unit.packets[0]
        if self.fresh and not packet.is_keyframe:
            raise AssertionError(f"a fresh decoder was given a P-frame (pts {packet.pts})")
        self.fresh = False
        self.decoded.append(packet)
        return [FakeFrame(packet.pts, packet.figure)]

    def decode_alone(self, unit: AccessUnit[Any]) -> list[Any]:
        self.release()
        frames = self.decode(unit)
        self.release()
        return frames

    def release(self) -> None:
        self.fresh = True
        self.releases += 1

    def luma(self, frame: Any, scale: int = 1) -> Luma:
        image = np.full((H, W), 120, dtype=np.uint8)
        image[::8, :] = 60  # some texture
        if frame.figure:
            image[40:80, 70 + frame.pts % 20 : 80 + frame.pts % 20] = 20
        return downscale_luma(image, scale)

    def picture(self, frame: Any) -> "FakePicture":
        picture = FakePicture(self, frame)
        self.pictures.append(picture)
        return picture

    def pts_s(self, frame: Any) -> float:
        return float(frame.pts) / FPS


@dataclass
class FakePicture:
    """What the fake decoder hands on: converted to RGB only if someone asks (counted)."""

    decoder: FakeDecoder
    frame: FakeFrame
    conversions: int = 0

    @property
    def width(self) -> int:
        return W

    @property
    def height(self) -> int:
        return H

    def to_rgb(self, width: int, height: int) -> npt.NDArray[np.uint8]:
        assert (width, height) == (W, H)
        self.conversions += 1
        return np.repeat(self.decoder.luma(self.frame)[:, :, None], 3, axis=2)


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
        self.key_rng = np.random.default_rng(1)

    def run(self, seconds: float, figure: bool = False) -> None:
        for _ in range(round(seconds * FPS)):
            key = self.index % GOP == 0
            # A keyframe codes the whole picture: ~1 % noise, more bytes when the figure is in it.
            key_size = int(3600 * self.key_rng.uniform(0.995, 1.005)) + (700 if figure else 0)
            size = key_size if key else int(110 * self.rng.uniform(0.8, 1.2)) + (250 if figure else 0)
            packet = FakePacket(self.index, key, size, figure)
            self.pipeline.on_unit(AccessUnit.of((packet,), self.clock.monotonic()))
            self.index += 1
            self.clock.advance(1 / FPS)

    @property
    def pictures(self) -> list[FakePicture]:
        return self.decoder.pictures

    def handed(self) -> list[Frame]:
        return self.frames.drain()


def test_idle_decodes_an_unchanged_scene_only_at_the_max_interval() -> None:
    cam = Camera(Activity(idle_keyframe_interval_s=3.0, idle_keyframe_max_interval_s=10.0))
    cam.run(30)
    assert all(p.is_keyframe for p in cam.decoder.decoded)
    # Keyframes every 2 s, all of the same size within noise: the first, then one per 10 s.
    assert [p.pts / FPS for p in cam.decoder.decoded] == [0, 10, 20]
    assert cam.handed() == []
    assert cam.gate.mode is ActivityMode.IDLE
    assert cam.health.health().frames_total == 3
    # Between idle keyframes no decoder is kept (its buffers are ~1 MB per camera): each one had a fresh one.
    assert cam.decoder.fresh and cam.decoder.releases == 2 * 3


def test_idle_decodes_keyframes_whose_size_changed_at_most_once_per_interval() -> None:
    # Packet sizes can't fire (ratio out of reach) and pixel motion can't either (threshold out of reach): the
    # keyframes grow with the figure in view, so each one due is decoded, at most one per 3 s.
    settings = Activity(
        pframe_ratio=20.0, motion_threshold=0.45, idle_keyframe_interval_s=3.0, idle_keyframe_max_interval_s=60
    )
    cam = Camera(settings)
    cam.run(6.0)
    cam.run(16.0, figure=True)
    assert [p.pts / FPS for p in cam.decoder.decoded] == [0, 6]  # the first keyframe showing the figure
    cam.run(10.0)  # the figure left: sizes changed back
    assert [p.pts / FPS for p in cam.decoder.decoded] == [0, 6, 22]
    assert cam.gate.mode is ActivityMode.IDLE


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


def test_frames_handed_on_are_converted_only_by_whoever_takes_them() -> None:
    cam = Camera(Activity(detect_fps=6.0))
    cam.run(10.5)
    cam.run(3.0, figure=True)
    frames = cam.handed()
    assert len(frames) > 10
    # The reader thread converted nothing: a frame a slow detector never takes costs no conversion.
    pictures = [picture for picture in cam.pictures if picture.conversions]
    assert pictures == []
    first = frames[0]
    assert first.image is first.image  # converted once, on first use
    assert sum(picture.conversions for picture in cam.pictures) == 1


def test_a_batch_that_triggers_mid_way_decodes_each_picture_once() -> None:
    # The reader hands pictures in batches; an activation decodes the ring up to the newest picture of the batch,
    # including those after the trigger, which the rest of the batch must then not decode again.
    cam = Camera(Activity(detect_fps=6.0, quiet_s=5.0))
    cam.run(10.5)
    units = []
    for _ in range(3 * FPS):
        key = cam.index % GOP == 0
        size = 3600 if key else int(110 * cam.rng.uniform(0.8, 1.2)) + 250
        units.append(AccessUnit.of((FakePacket(cam.index, key, size, True),), cam.clock.monotonic()))
        cam.index += 1
        cam.clock.advance(1 / FPS)
        if len(units) == 24:  # 2 s: the batch holds the trigger and the keyframe after it
            cam.pipeline.on_units(units, cam.clock.monotonic())
            units = []
    cam.pipeline.on_units(units, cam.clock.monotonic())
    decoded = [p.pts for p in cam.decoder.decoded if p.pts >= 120]
    assert decoded == list(range(120, decoded[-1] + 1))  # from the keyframe before the figure, each once
    assert cam.gate.active and decoded[-1] == cam.index - 1


def test_back_to_idle_after_quiet_s_without_a_signal() -> None:
    cam = Camera(Activity(quiet_s=5.0, idle_keyframe_interval_s=3.0))
    cam.run(10.5)
    cam.run(2.0, figure=True)
    assert cam.gate.active
    cam.run(4.0)
    assert cam.gate.active  # not yet 5 s since the last signal
    assert not cam.decoder.fresh  # active: one decoder goes on from frame to frame
    cam.run(3.0)
    assert cam.gate.mode is ActivityMode.IDLE
    assert cam.decoder.fresh  # back to idle: the active decoder is let go at once
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


def test_a_slow_rise_is_dated_from_where_it_began() -> None:
    # Someone approaches from far away: from 11.0 s each P-frame carries 6 bytes more than the one before, so the
    # window fires only after the 12 s keyframe. Decoding must still start at the keyframe before the rise.
    cam = Camera(Activity(detect_fps=6.0))
    cam.run(11.0)
    start = cam.index
    while cam.pipeline.last_activation is None and cam.index < start + 3 * GOP:
        key = cam.index % GOP == 0
        extra = 6 * (cam.index - start)
        size = 3600 if key else int(110 * cam.rng.uniform(0.8, 1.2)) + extra
        packet = FakePacket(cam.index, key, size, figure=False)  # too small for the keyframe comparison
        cam.pipeline.on_unit(AccessUnit.of((packet,), cam.clock.monotonic()))
        cam.index += 1
        cam.clock.advance(1 / FPS)
    activation = cam.pipeline.last_activation
    assert activation is not None and activation.reason == "packet sizes"
    assert activation.pts_s is not None and activation.pts_s > 12.0 + 6 / FPS  # the window is past the keyframe
    assert cam.handed()[0].pts_s == 10.0


def test_keyframe_motion_alone_activates_too() -> None:
    # Packet sizes say nothing (ratio out of reach); the keyframe's pixels show the figure.
    cam = Camera(Activity(pframe_ratio=20.0, idle_keyframe_interval_s=2.0))
    cam.run(10.0)
    for _ in range(GOP * 2):
        key = cam.index % GOP == 0
        figure = cam.index >= 126
        packet = FakePacket(cam.index, key, (4300 if figure else 3600) if key else 110, figure)
        cam.pipeline.on_unit(AccessUnit.of((packet,), cam.clock.monotonic()))
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


# --- the simulator's clips, looped through the pipeline with a real H.264 decoder --------------------------


@pytest.fixture(scope="module")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline-clips")


class ClipCamera:
    """A simulated camera without the server: the clip's pictures, looped, arriving at its frame rate.

    What the reader gets over RTSP from ``SimServer`` is the same bytes, picture by picture."""

    def __init__(self, path: Path, settings: Activity, start: int = 0) -> None:
        with av.open(str(path)) as container:
            self.pictures = [(bytes(p), p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]
        self.clock = ManualClock()
        self.frames: LatestSlot[Frame] = LatestSlot(capacity=64)
        self.gate = ActivityGate(settings.quiet_s)
        self.health = HealthTracker("clip", self.clock, stall_after_s=3.0)
        ctx = PipelineContext(
            "clip",
            settings,
            self.clock,
            PacketRing(settings.preroll_s),
            self.frames,
            self.health,
            SnapshotStore(),
            self.gate,
        )
        codec = av.CodecContext.create("h264", "r")
        codec.thread_count = 1
        self.pipeline = StreamPipeline(ctx, AvDecoder(codec), StreamInfo("h264", 640, 360, None))
        self.index = start  # the picture of the clip the connection starts at (a shared mount is mid-clip)
        self.sent = 0

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds * FPS)):
            data, key = self.pictures[self.index % len(self.pictures)]
            packet = av.Packet(data)
            packet.pts = packet.dts = self.index
            packet.time_base = Fraction(1, FPS)
            packet.is_keyframe = key
            self.pipeline.on_unit(AccessUnit.of((packet,), self.clock.monotonic()))
            self.index += 1
            self.clock.advance(1 / FPS)


def clip(cache: Path, kind: ClipKind, seed: int) -> Path:
    return generate_clip(ClipSpec(kind, seconds=20, seed=seed), cache)


@pytest.mark.parametrize(("seed", "start"), [(0, 0), (1, 0), (2, 0), (0, 101)])
def test_static_clips_stay_idle_for_a_minute(clip_cache: Path, seed: int, start: int) -> None:
    cam = ClipCamera(clip(clip_cache, "static", seed), Activity(), start=start)
    cam.run(60.0)  # three loops of the 20 s clip
    assert cam.health.health().activations == 0, cam.pipeline.last_activation
    assert cam.gate.mode is ActivityMode.IDLE and len(cam.frames) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_figure_walking_into_a_clip_activates_within_a_gop_from_the_keyframe_before_it(
    clip_cache: Path, seed: int
) -> None:
    cam = ClipCamera(clip(clip_cache, "idle_then_motion", seed), Activity())  # motion_start_s 10.5
    cam.run(12.5)
    activation = cam.pipeline.last_activation
    assert activation is not None and activation.reason == "packet sizes"
    assert activation.pts_s is not None and 10.5 < activation.pts_s <= 10.5 + 2.0
    first = cam.frames.drain()[0]
    assert first.keyframe and first.pts_s == 10.0  # the keyframe before the figure appeared


def test_a_walker_clip_activates(clip_cache: Path) -> None:
    cam = ClipCamera(clip(clip_cache, "walker", 0), Activity())
    cam.run(8.0)
    # The figure is there from the first picture, so its P-frame sizes are this stream's normal: the decoded
    # keyframes (one every idle_keyframe_interval_s) show it moving.
    activation = cam.pipeline.last_activation
    assert activation is not None and activation.reason == "keyframe motion"
    assert cam.gate.active and len(cam.frames) > 0
