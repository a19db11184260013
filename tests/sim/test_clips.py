"""Synthetic clips: the encoding ingest relies on (size, fps, GOP, no B-frames), a substream's bitrate, and the
activity signal (P-frame sizes that rise when the figure moves)."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from av.video.frame import PictureType

from shopwatch.sim.clips import ClipSpec, generate_clip
from tests.sim.conftest import SHORT


def packets(path: Path) -> list[tuple[int, bool]]:
    """(size, is_keyframe) of every video packet, in file order."""
    with av.open(str(path)) as container:
        return [(p.size, p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]


def mean_pframe(sizes: list[tuple[int, bool]]) -> float:
    p = [size for size, key in sizes if not key]
    return sum(p) / len(p)


def kbit_per_s(sizes: list[tuple[int, bool]], fps: int = 12) -> float:
    return sum(size for size, _ in sizes) * 8 / (len(sizes) / fps) / 1000


def keyframe_share(sizes: list[tuple[int, bool]]) -> float:
    return sum(size for size, key in sizes if key) / sum(size for size, _ in sizes)


def by_position(sizes: list[tuple[int, bool]], gop: int = 24) -> npt.NDArray[np.float64]:
    """Mean size at each position of the GOP (0 = the keyframe), over the clip's whole GOPs."""
    whole = len(sizes) // gop * gop
    return np.array([size for size, _ in sizes[:whole]], dtype=np.float64).reshape(-1, gop).mean(axis=0)


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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_static_clip_has_the_bitrate_and_keyframe_share_of_a_camera_substream(clips_dir: Path, seed: int) -> None:
    # Substreams: 640x360, 10-15 fps, 300-600 kbit/s; in CCTV footage keyframes carry 24-31 % of the bytes.
    sizes = packets(generate_clip(ClipSpec("static", seconds=SHORT, seed=seed), clips_dir))
    assert 300 <= kbit_per_s(sizes) <= 450
    assert 0.20 <= keyframe_share(sizes) <= 0.35
    assert mean_pframe(sizes) > 1500  # sensor grain the encoder has to spend bytes on


def test_walker_pframes_are_much_bigger_than_static_ones(static_clip: Path, walker_clip: Path) -> None:
    static, walker = by_position(packets(static_clip))[1:], by_position(packets(walker_clip))[1:]
    assert walker.mean() >= 1.5 * static.mean()
    # What ingest's window of 6 P-frames sees, wherever it sits in the GOP (the figure's steps make the
    # sizes swing from picture to picture).
    windows = np.convolve(walker / static, np.ones(6) / 6, mode="valid")
    assert windows.min() >= 1.5
    assert kbit_per_s(packets(walker_clip)) <= 650


def test_idle_then_motion_starts_moving_between_keyframes(clips_dir: Path) -> None:
    spec = ClipSpec("idle_then_motion", seconds=16, motion_start_s=10.5)
    sizes = packets(generate_clip(spec, clips_dir))
    start = int(10.5 * 12)
    assert start % 24 != 0
    before, after = sizes[:start], sizes[start + 2 :]
    assert mean_pframe(after) > 1.5 * mean_pframe(before)
    assert mean_pframe(sizes[start - 24 : start]) < 1.15 * mean_pframe(before)  # still idle just before
    assert mean_pframe(sizes[start : start + 12]) > 1.3 * mean_pframe(before)  # and rising within a second


def test_a_looped_clip_restarts_in_the_encoders_steady_state(static_clip: Path) -> None:
    # An encoder's first GOP (small keyframe, P-frames ~2x while its rate control settles) is not in the file:
    # a camera never restarts like that, a looped clip must not either.
    sizes = packets(static_clip)
    gops = np.array([size for size, _ in sizes]).reshape(-1, 24)
    assert gops[0, 0] == pytest.approx(np.median(gops[1:, 0]), rel=0.1)
    assert gops[0, 1:].mean() == pytest.approx(gops[1:, 1:].mean(), rel=0.1)


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
