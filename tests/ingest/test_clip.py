"""Event clips: the ring's own packets remuxed to MP4, playable from their first picture."""

from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from shopwatch.ingest.access_unit import AccessUnit
from shopwatch.ingest.clip import ClipError, StreamTemplate, cut_clip
from shopwatch.ingest.ring import PacketRing
from shopwatch.sim.clips import ClipSpec, generate_clip

FPS = 12


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[StreamTemplate, list[tuple[Any, float]]]:
    """A simulated camera's packets with arrival times one picture apart, and its stream template."""
    path = generate_clip(ClipSpec("walker", seconds=10), tmp_path_factory.mktemp("clips"))
    container = av.open(str(path))
    stream = container.streams.video[0]
    packets = [p for p in container.demux(stream) if p.size]
    rtp_clock = Fraction(1, 90_000)
    for i, p in enumerate(packets):  # a raw H.264 file has no timestamps: stamp them as RTSP would
        p.pts = p.dts = i * 7500
        p.time_base = rtp_clock
    template = replace(StreamTemplate.of(stream), time_base=rtp_clock)
    return template, [(p, i / FPS) for i, p in enumerate(packets)]


def ring_of(recorded: list[tuple[Any, float]], preroll_s: float = 60.0) -> PacketRing[AccessUnit[Any]]:
    ring: PacketRing[AccessUnit[Any]] = PacketRing(preroll_s)
    ring.extend([(u, u.size, u.keyframe, u.arrival) for u in (AccessUnit.of((p,), t) for p, t in recorded)])
    return ring


def decoded(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def test_a_clip_starts_at_the_keyframe_before_its_start_and_every_picture_decodes(
    tmp_path: Path, recorded: tuple[StreamTemplate, list[tuple[Any, float]]]
) -> None:
    template, packets = recorded
    info = cut_clip(ring_of(packets), template, start=3.0, end=6.0, path=tmp_path / "event.mp4")
    # GOP 24 at 12 fps: keyframes at 0, 2, 4 s; from the 2 s keyframe to 6 s inclusive = 49 pictures.
    assert info.pictures == 49
    frames = decoded(info.path)
    assert len(frames) == 49 and frames[0].key_frame
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert info.duration_s == pytest.approx(48 / FPS, abs=0.01)
    assert float(frames[-1].time) == pytest.approx(48 / FPS, abs=0.01)


def test_a_span_without_a_keyframe_is_refused_and_leaves_no_file(
    tmp_path: Path, recorded: tuple[StreamTemplate, list[tuple[Any, float]]]
) -> None:
    template, packets = recorded
    ring = ring_of(packets[1:20])  # P-frames only
    with pytest.raises(ClipError, match="no keyframe"):
        cut_clip(ring, template, start=0.5, end=1.0, path=tmp_path / "event.mp4")
    assert list(tmp_path.iterdir()) == []
