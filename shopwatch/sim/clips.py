"""Synthetic CCTV clips: H.264 Annex-B files that a simulated camera loops without re-encoding.

A clip looks like a fixed camera on a shop front: a static scene (wall, rolling shutter, door, window, sign)
with fine texture, per-frame sensor grain, and optionally a person-like figure walking past.

Bitrate follows what merchant substreams send (640x360, 12 fps, 2 s GOP, 300-600 kbit/s): the static scene
comes out at ~300-400 kbit/s with keyframes carrying ~25-35 % of the bytes, as in the CCTV footage measured
in INGEST_FACTS.md. Most P-frame bytes go to sensor grain the encoder cannot predict, and they rise by
~1.5-2x while the figure moves: ingest uses that as its demux-cost activity signal.

Encoding follows what cameras send and what the RTSP server needs (INGEST_FACTS.md): CRF (VBR-like) rate
control, no B-frames, a fixed GOP (keyframe every ``gop`` frames, no scene-cut keyframes) and SPS/PPS
repeated before every keyframe, so a client can start on any keyframe of the looped file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import av
import numpy as np
import numpy.typing as npt

ClipKind = Literal["static", "walker", "idle_then_motion"]
CLIP_KINDS: tuple[str, ...] = get_args(ClipKind)

# Bump when the rendering or encoding changes, so cached clips of an older look are not reused.
_RENDER_VERSION = 4
# A walker crosses the whole frame in this many seconds (about 1.4 m/s for a 10 m wide shop front).
_CROSSING_S = 5.0
_CRF = "23"  # constant quality: bytes follow the content, as with a camera's VBR mode
# Fine static texture (plaster, brick, dirt), grey levels standard deviation: keyframe bytes.
_TEXTURE = 3.25
# Temporal sensor grain, standard deviation in grey levels, in 2x2 clumps (demosaicing and the camera's own
# noise filter leave no single-pixel noise): the P-frame bytes of a static scene.
_GRAIN = 1.75
# The figure: height as a fraction of the frame, clothing texture (grey levels), and how far the fabric's
# folds slide per frame (pixels): a walking person is not a rigid block that motion search predicts for free.
_FIGURE_HEIGHT = 0.55
_CLOTH = 30
_FOLD_SLIDE = 5

Plane = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ClipSpec:
    """What to render. Equal specs give the same file name, so a cache can share clips between cameras."""

    kind: ClipKind = "static"
    width: int = 640
    height: int = 360
    fps: int = 12
    gop: int = 24
    seconds: float = 20.0
    seed: int = 0
    motion_start_s: float = 10.5  # only for "idle_then_motion"; deliberately not on a keyframe

    def __post_init__(self) -> None:
        if self.kind not in CLIP_KINDS:
            raise ValueError(f"clip kind must be one of {CLIP_KINDS}, found {self.kind!r}")
        if self.width < 64 or self.height < 64 or self.width % 2 or self.height % 2:
            raise ValueError(f"clip size must be even and at least 64x64, found {self.width}x{self.height}")
        if not 1 <= self.fps <= 60 or not 1 <= self.gop <= 600:
            raise ValueError(f"expected 1 <= fps <= 60 and 1 <= gop <= 600, found fps={self.fps} gop={self.gop}")
        if not 1.0 <= self.seconds <= 120.0:
            raise ValueError(f"clip length must be 1-120 s, found {self.seconds}")
        if self.kind == "idle_then_motion" and not 0.0 <= self.motion_start_s < self.seconds - 1.0:
            raise ValueError(
                f"motion_start_s must leave at least 1 s of motion in a {self.seconds} s clip,"
                f" found {self.motion_start_s}"
            )

    @property
    def frame_count(self) -> int:
        return max(1, round(self.seconds * self.fps))

    @property
    def file_name(self) -> str:
        motion = f"-m{self.motion_start_s:g}" if self.kind == "idle_then_motion" else ""
        return (
            f"{self.kind}-{self.width}x{self.height}-{self.fps}fps-g{self.gop}-{self.seconds:g}s"
            f"-seed{self.seed}{motion}-v{_RENDER_VERSION}.h264"
        )


def generate_clip(spec: ClipSpec, cache_dir: Path) -> Path:
    """The clip for ``spec`` under ``cache_dir``, rendered and encoded only if it is not there yet.

    Written to a temporary file and renamed into place, so a reader never sees half a clip and two processes
    that race on the same spec both end with one complete file.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / spec.file_name
    if target.exists():
        return target
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{spec.file_name}.", suffix=".tmp")
    os.close(fd)
    try:
        _encode(spec, Path(tmp_name))
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def x264_options(gop: int) -> dict[str, str]:
    """libx264 options of a camera substream (also used by the scenario clips in ``shopwatch.sim.scenes``)."""
    x264_params = ":".join(
        [
            f"keyint={gop}",
            f"min-keyint={gop}",
            "scenecut=0",
            "bframes=0",
            "repeat-headers=1",  # SPS/PPS before every keyframe (-x264-params repeat-headers=1)
            "threads=1",  # one slice per picture (x264's threads split IDR pictures), and reproducible output
        ]
    )
    return {"preset": "veryfast", "crf": _CRF, "x264-params": x264_params}


def _encode(spec: ClipSpec, path: Path) -> None:
    options = x264_options(spec.gop)
    with av.open(str(path), mode="w", format="h264") as container:
        stream = container.add_stream("libx264", rate=spec.fps, options=options)
        stream.width, stream.height = spec.width, spec.height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = spec.gop
        stream.codec_context.max_b_frames = 0
        # The encoder's first GOP is not like the others (x264 starts with a small keyframe, then P-frames ~2x
        # the steady size while its rate control settles): a camera never restarts like that, but a looped clip
        # would, every loop. So one GOP is encoded first (the clip's last frames, as the loop shows them before
        # its first) and thrown away; the file starts at the second keyframe, in the steady state.
        lead_in = spec.gop
        indices = [i % spec.frame_count for i in range(spec.frame_count - lead_in, spec.frame_count)]
        for pts, yuv in enumerate(_render(spec, indices + list(range(spec.frame_count)))):
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = pts
            _mux_after(container, stream.encode(frame), lead_in)
        _mux_after(container, stream.encode(None), lead_in)


def _mux_after(container: av.container.OutputContainer, packets: list[av.Packet], first_pts: int) -> None:
    for packet in packets:
        if packet.pts is not None and packet.pts >= first_pts:
            container.mux(packet)


def _render(spec: ClipSpec, indices: Iterable[int]) -> Iterator[Plane]:
    """Frames ``indices`` (0 = the clip's first) as yuv420p arrays (Y rows, then U and V rows), the layout
    ``VideoFrame.from_ndarray`` takes."""
    y_bg, u_bg, v_bg = _background(spec)
    rng = np.random.default_rng(spec.seed + 7919)
    cloth = _cloth(spec)
    h, w = spec.height, spec.width
    for index in indices:
        y = y_bg.astype(np.int16)
        u, v = u_bg.copy(), v_bg.copy()
        walker_x = _walker_x(spec, index / spec.fps)
        if walker_x is not None:
            _draw_figure((y, u, v), cloth, walker_x, index, spec)
        # Sensor grain on luma, one draw per 2x2 clump (a view of y: no copy).
        grain = np.rint(rng.standard_normal((h // 2, w // 2), dtype=np.float32) * _GRAIN).astype(np.int16)
        y.reshape(h // 2, 2, w // 2, 2)[:] += grain[:, None, :, None]
        out = np.empty((h * 3 // 2, w), dtype=np.uint8)
        out[:h] = np.clip(y, 0, 255)
        out[h : h + h // 4] = u.reshape(h // 4, w)
        out[h + h // 4 :] = v.reshape(h // 4, w)
        yield out


def _cloth(spec: ClipSpec) -> npt.NDArray[np.int16]:
    """The figure's clothing texture, tiled 2x2 so any part of the figure (at most the frame high and a third of
    that wide) can be sliced out of it without wrapping."""
    rng = np.random.default_rng(spec.seed + 15485863)
    size = (spec.height, max(128, spec.height))
    tile = np.rint(rng.standard_normal(size, dtype=np.float32) * _CLOTH).astype(np.int16)
    return np.tile(tile, (2, 2))


def _background(spec: ClipSpec) -> tuple[Plane, Plane, Plane]:
    """A shop front, laid out and coloured from the seed: wall, sign, shutter, door, window, pavement."""
    rng = np.random.default_rng(spec.seed)
    h, w = spec.height, spec.width
    y = np.empty((h, w), dtype=np.float32)
    y[:] = rng.uniform(110, 170) + np.linspace(-12, 12, h, dtype=np.float32)[:, None]  # wall, lit from below
    u = np.full((h // 2, w // 2), int(rng.uniform(112, 140)), dtype=np.uint8)
    v = np.full((h // 2, w // 2), int(rng.uniform(116, 150)), dtype=np.uint8)

    pavement = int(h * 0.82)
    y[pavement:] = rng.uniform(80, 110)
    u[pavement // 2 :], v[pavement // 2 :] = 126, 128
    sign_h = int(h * 0.12)
    _rect(y, u, v, (int(w * 0.05), int(h * 0.05), int(w * 0.95), int(h * 0.05) + sign_h), rng)

    # Shutter (horizontal ribs), door and window share the wall below the sign in a seeded order.
    top, bottom = int(h * 0.22), pavement
    slots = [(0.06, 0.42), (0.46, 0.62), (0.66, 0.94)]
    order = rng.permutation(3)
    left, right = (int(w * slots[order[0]][0]), int(w * slots[order[0]][1]))
    y[top:bottom, left:right] = rng.uniform(150, 190)
    y[top:bottom:6, left:right] -= 45  # the ribs of a rolling shutter
    left, right = (int(w * slots[order[1]][0]), int(w * slots[order[1]][1]))
    _rect(y, u, v, (left, top, right, bottom), rng)  # door
    left, right = (int(w * slots[order[2]][0]), int(w * slots[order[2]][1]))
    y[top : bottom - 30, left:right] = rng.uniform(40, 70)  # dark shop window
    y[top : bottom - 30, (left + right) // 2 - 2 : (left + right) // 2 + 2] = 200  # window frame
    y[top : top + 4, left:right] = 200
    texture = np.random.default_rng(spec.seed + 104729).standard_normal((h, w), dtype=np.float32)
    y += texture * _TEXTURE  # plaster, brick and dirt: the detail a keyframe spends its bytes on
    return np.clip(y, 0, 255).astype(np.uint8), u, v


def _rect(
    y: npt.NDArray[np.float32], u: Plane, v: Plane, box: tuple[int, int, int, int], rng: np.random.Generator
) -> None:
    x0, y0, x1, y1 = box
    y[y0:y1, x0:x1] = rng.uniform(40, 220)
    u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = int(rng.uniform(80, 180))
    v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = int(rng.uniform(80, 180))


def _walker_x(spec: ClipSpec, t: float) -> float | None:
    """Horizontal centre of the figure at ``t`` seconds, or None when no figure is in the frame."""
    margin = spec.width * 0.08
    span = spec.width + 2 * margin
    if spec.kind == "walker":
        crossing = t / _CROSSING_S
        progress = crossing % 1.0
        if int(crossing) % 2:  # every other crossing walks back
            progress = 1.0 - progress
        return -margin + progress * span
    if spec.kind == "idle_then_motion" and t >= spec.motion_start_s:
        # Walks in at motion_start_s and is still in the frame when the clip ends.
        progress = (t - spec.motion_start_s) / (spec.seconds - spec.motion_start_s) * 0.85
        return -margin + progress * span
    return None


def _draw_figure(
    planes: tuple[npt.NDArray[np.int16], Plane, Plane],
    cloth: npt.NDArray[np.int16],
    cx: float,
    index: int,
    spec: ClipSpec,
) -> None:
    """A person about half the frame high, close to the camera: dark textured clothes, lighter head, legs and
    arms that swing, a bob at every step, and fabric folds that slide as the person moves."""
    y, u, v = planes
    h, w = spec.height, spec.width
    height = int(h * _FIGURE_HEIGHT)
    step = np.sin(index * 2 * np.pi / max(2, spec.fps // 2))  # two steps a second
    feet = int(h * 0.95) - int(abs(step) * 3)
    head_r = max(3, height // 12)
    body_w = max(6, height // 3)
    x = int(cx)
    fold = index * _FOLD_SLIDE
    tile_h, tile_w = cloth.shape[0] // 2, cloth.shape[1] // 2

    def fill(x0: int, y0: int, x1: int, y1: int, luma: int) -> None:
        x0, x1 = max(0, x0), min(w, x1)
        y0, y1 = max(0, y0), min(h, y1)
        if x0 < x1 and y0 < y1:
            row, col = (y0 - feet + fold) % tile_h, (x0 - x + tile_w // 2) % tile_w  # texture moves with the figure
            y[y0:y1, x0:x1] = luma + cloth[row : row + y1 - y0, col : col + x1 - x0]
            u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = 120
            v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = 132

    hip = feet - height * 45 // 100
    swing = int(round(step * body_w * 0.4))
    fill(x - body_w // 2 + swing, hip, x - 1 + swing, feet, 45)  # legs
    fill(x + 1 - swing, hip, x + body_w // 2 - swing, feet, 40)
    shoulders = feet - height + 2 * head_r
    fill(x - body_w // 2, shoulders, x + body_w // 2, hip + 4, 70)  # torso (dark jacket)
    arm = int(round(step * height * 0.08))
    fill(x - body_w // 2 - 6 + arm, shoulders + 4, x - body_w // 2 + arm, hip, 80)  # arms swing with the legs
    fill(x + body_w // 2 - arm, shoulders + 4, x + body_w // 2 + 6 - arm, hip, 80)
    fill(x - head_r, shoulders - 2 * head_r, x + head_r, shoulders, 140)  # head
