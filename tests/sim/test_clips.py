"""Synthetic clips: the encoding ingest relies on (size, fps, GOP, no B-frames) and the activity signal."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import pytest
from av.video.frame import PictureType

from shopwatch.sim.clips import ClipSpec, generate_clip


def packets(path: Path) -> list[tuple[int, bool]]:
    """(size, is_keyframe) of every video packet, in file order."""
    with av.open(str(path)) as container:
        return [(p.size, p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]


def mean_pframe(sizes: list[tuple[int, bool]]) -> float:
    p = [size for size, key in sizes if not key]
    return sum(p) / len(p)


def test_walker_clip_has_the_spec_size_rate_and_gop(walker_clip: Path) -> None:
    with av.open(str(walker_clip)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 360)
        assert stream.codec_context.name == "h264"
    assert len(frames) == 10 * 12  # 10 s at 12 fps
    keyframes = [i for i, f in enumerate(frames) if f.key_frame]
    assert keyframes == list(range(0, len(frames), 24))
    assert not [f for f in frames if f.pict_type == PictureType.B]


def test_every_keyframe_carries_sps_and_pps(walker_clip: Path) -> None:
    data = walker_clip.read_bytes()
    nal_types = [data[i + 3] & 0x1F for i in range(len(data) - 4) if data[i : i + 3] == b"\x00\x00\x01"]
    # first slice of each IDR picture (a picture may have several slices), and the NALs before it
    idr_starts = [i for i, t in enumerate(nal_types) if t == 5 and nal_types[i - 1] != 5]
    assert len(idr_starts) == 120 // 24
    for i in idr_starts:
        assert [t for t in nal_types[max(0, i - 4) : i] if t != 6][-2:] == [7, 8]  # SPS, PPS; SEI may sit between


def test_walker_pframes_are_much_bigger_than_static_ones(static_clip: Path, walker_clip: Path) -> None:
    static, walker = packets(static_clip), packets(walker_clip)
    assert mean_pframe(walker) > 2.0 * mean_pframe(static)
    assert mean_pframe(static) > 20  # sensor noise: P-frames are never empty


def test_idle_then_motion_starts_moving_between_keyframes(clips_dir: Path) -> None:
    spec = ClipSpec("idle_then_motion", seconds=16, motion_start_s=10.5)
    sizes = packets(generate_clip(spec, clips_dir))
    start = int(10.5 * 12)
    assert start % 24 != 0
    before, after = sizes[:start], sizes[start + 2 :]
    assert mean_pframe(after) > 2.0 * mean_pframe(before)
    assert mean_pframe(sizes[start - 24 : start]) < 1.5 * mean_pframe(before)  # still idle just before


def test_generate_clip_reuses_the_cached_file(clips_dir: Path, static_clip: Path) -> None:
    mtime = static_clip.stat().st_mtime_ns
    again = generate_clip(ClipSpec("static", seconds=10), clips_dir)
    assert again == static_clip and again.stat().st_mtime_ns == mtime
    other = ClipSpec("static", seconds=10, seed=1)
    assert other.file_name != static_clip.name


def test_racing_generators_leave_one_complete_clip(tmp_path: Path) -> None:
    spec = ClipSpec("static", seconds=2, seed=9)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(generate_clip(spec, tmp_path))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2 and results[0] == results[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [spec.file_name]  # no temp files left
    assert len(packets(results[0])) == 24


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kind": "dancing"}, "clip kind must be one of"),
        ({"width": 641}, "clip size must be even"),
        ({"fps": 0}, "fps"),
        ({"seconds": 0.5}, "clip length must be 1-120 s"),
        ({"kind": "idle_then_motion", "seconds": 10, "motion_start_s": 9.5}, "motion_start_s"),
    ],
)
def test_bad_specs_are_refused(kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        ClipSpec(**kwargs)  # type: ignore[arg-type]
