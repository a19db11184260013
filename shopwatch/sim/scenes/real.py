"""Real footage with a known truth: the labelled real clip, and cards composited onto it.

The clip is ``one-by-one-person-detection.mp4``, Intel Corporation, CC BY 4.0 (read from ``../shared/data/real``,
never copied into the project). Its labels (``tests/data/real/table.labels.yaml``) give each visit's time span,
what it left changed on the table top (a sheet moved or turned: no card-posting event) and where its hands were.

A composite pastes a small card where a visitor's hands were, from the moment the visitor stepped away (hidden
behind them while they stood there), and lets the clip act on it: the card's brightness follows the table's own
brightness around it frame by frame (auto-exposure), it is drawn at 4x and shrunk (sub-pixel edges), blurred like
the clip's optics, given the clip's measured temporal noise, and the whole window is encoded again with x264 at
a camera's CRF. Its truth is one card-posting event over that visit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt
import yaml

from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.detect_loader import load_camera_detection
from shopwatch.models.detector import PersonDetector
from shopwatch.sim.clips import x264_options
from shopwatch.sim.scenes.score import ClipResult, Span

ATTRIBUTION = "one-by-one-person-detection.mp4, Intel Corporation, CC BY 4.0"
SUPERSAMPLE = 4
OPTICS_SIGMA = 0.6  # px: the clip's edges spread over about a pixel and a half
NOISE_SIGMA = 1.2  # grey levels: the clip's temporal noise on the table top (median per-pixel std, 0-6 s)
BEFORE_S = 6.0  # a composite window starts this long before its visit (the surface as it was)
AFTER_S = 14.0  # and ends this long after the visitor left


@dataclass(frozen=True, slots=True)
class LabelledVisit:
    start_s: float
    left_s: float  # the visitor's box no longer overlaps the table top
    table_after: str  # what changed on the table top (for a person reading the labels)
    hands: tuple[float, float]  # normalized point on the table top where the visitor's hands worked
    tuning: bool  # used while tuning; the others are held out


@dataclass(frozen=True, slots=True)
class Labels:
    clip: str
    camera_config: str
    visits: tuple[LabelledVisit, ...]


@dataclass(frozen=True, slots=True)
class Card:
    at: tuple[float, float]  # normalized centre
    size: tuple[int, int]  # width, height in pixels of the clip
    kind: str  # plain-light, plain-dark, colour, printed
    crf: int = 26


def load_labels(path: Path) -> Labels:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    visits = tuple(
        LabelledVisit(
            float(v["start_s"]),
            float(v["left_s"]),
            str(v["table_after"]),
            (float(v["hands"][0]), float(v["hands"][1])),
            bool(v["tuning"]),
        )
        for v in data["visits"]
    )
    return Labels(str(data["clip"]), str(data["camera_config"]), visits)


def card_image(card: Card, rng: np.random.Generator) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The card as reflectance (0-1.2 of the table's white) and coverage, drawn at 4x and shrunk with its
    sub-pixel position."""
    w, h = card.size
    big = (h * SUPERSAMPLE, w * SUPERSAMPLE)
    colours = {"plain-light": (1.12, 1.1, 1.05), "plain-dark": (0.2, 0.18, 0.22), "colour": (1.1, 0.45, 0.7)}
    face = np.ones((*big, 3), np.float32) * np.array(colours.get(card.kind, (1.1, 1.1, 1.08)), np.float32)
    if card.kind == "printed":  # dark lines of text on a light card
        for row in range(SUPERSAMPLE, big[0] - SUPERSAMPLE, 2 * SUPERSAMPLE):
            length = int(rng.uniform(0.5, 0.9) * big[1])
            face[row : row + SUPERSAMPLE, SUPERSAMPLE : SUPERSAMPLE + length] = 0.25
    pad = 2 * SUPERSAMPLE
    face = np.asarray(cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)), np.float32)
    alpha = np.asarray(
        cv2.copyMakeBorder(np.ones(big, np.float32), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0), np.float32
    )
    shift = rng.uniform(0, SUPERSAMPLE, 2).astype(np.float32)
    move = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32)
    size = (face.shape[1], face.shape[0])
    face = np.asarray(cv2.warpAffine(face, move, size), np.float32)
    alpha = np.asarray(cv2.warpAffine(alpha, move, size), np.float32)
    small = (size[0] // SUPERSAMPLE, size[1] // SUPERSAMPLE)
    face = np.asarray(cv2.resize(face, small, interpolation=cv2.INTER_AREA), np.float32)
    alpha = np.asarray(cv2.resize(alpha, small, interpolation=cv2.INTER_AREA), np.float32)
    face = np.asarray(cv2.GaussianBlur(face, (0, 0), OPTICS_SIGMA), np.float32)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), OPTICS_SIGMA), np.float32)
    return face, alpha


def paste(
    image: npt.NDArray[np.uint8],
    card: Card,
    face: npt.NDArray[np.float32],
    alpha: npt.NDArray[np.float32],
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """``image`` with the card on it, lit like the surface around it in this very frame."""
    fh, fw = image.shape[:2]
    ah, aw = alpha.shape
    x1 = int(round(card.at[0] * fw - aw / 2))
    y1 = int(round(card.at[1] * fh - ah / 2))
    region = image[y1 : y1 + ah, x1 : x1 + aw].astype(np.float32)
    ring = np.concatenate([region[:2].reshape(-1, 3), region[-2:].reshape(-1, 3)])
    white = np.median(ring, axis=0)  # the surface's brightness here, now (exposure, shadow)
    lit = face * white + rng.normal(0.0, NOISE_SIGMA, face.shape).astype(np.float32)
    out = image.copy()
    a = alpha[..., None]
    out[y1 : y1 + ah, x1 : x1 + aw] = np.clip(region * (1 - a) + lit * a, 0, 255).astype(np.uint8)
    return out


def window(visit: LabelledVisit) -> tuple[float, float]:
    return max(0.0, visit.start_s - BEFORE_S), visit.left_s + AFTER_S


def clip_frames(clip: Path, start_s: float, end_s: float) -> Iterator[tuple[float, npt.NDArray[np.uint8]]]:
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        for picture in container.decode(stream):
            if picture.pts is None or picture.time_base is None:
                continue
            t = float(picture.pts * picture.time_base)
            if t < start_s - 1e-6:
                continue
            if t > end_s:
                return
            yield t, np.asarray(picture.to_ndarray(format="rgb24"), np.uint8)


def composite(clip: Path, visit: LabelledVisit, card: Card | None, out: Path, seed: int = 0) -> tuple[float, float]:
    """Writes the visit's window of ``clip`` to ``out`` (with ``card`` pasted from the moment the visitor left,
    or re-encoded alone when None); returns the visit's span in seconds from the window's start."""
    start_s, end_s = window(visit)
    rng = np.random.default_rng(seed)
    face, alpha = card_image(card, rng) if card is not None else (None, None)
    with av.open(str(out), mode="w", format="mp4") as container:
        stream = None
        for pts, (t, image) in enumerate(clip_frames(clip, start_s, end_s)):
            if stream is None:
                options = {**x264_options(20), "crf": str(card.crf if card is not None else 26)}
                stream = container.add_stream("libx264", rate=10, options=options)
                stream.width, stream.height = image.shape[1], image.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.codec_context.max_b_frames = 0
            if card is not None and face is not None and alpha is not None and t >= visit.left_s:
                image = paste(image, card, face, alpha, rng)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts = pts
            container.mux(stream.encode(frame))
        if stream is not None:
            container.mux(stream.encode(None))
    return visit.start_s - start_s, visit.left_s - start_s


CARDS = (  # one per visit, in order: sizes 7-30 px, plain light and dark, colour, printed
    Card((0.0, 0.0), (9, 6), "plain-dark"),
    Card((0.0, 0.0), (12, 8), "printed"),
    Card((0.0, 0.0), (8, 7), "colour"),
    Card((0.0, 0.0), (7, 5), "plain-light", crf=30),
    Card((0.0, 0.0), (30, 20), "printed", crf=28),
    Card((0.0, 0.0), (10, 10), "plain-dark", crf=25),
)


def composites(
    labels: Labels, clip: Path, out_dir: Path, tuning: bool | None = None
) -> Iterator[tuple[Path, LabelledVisit, tuple[float, float]]]:
    """One composite per labelled visit (``tuning``: only the tuning visits, or only the held-out ones), each with
    the card of ``CARDS`` at that visit's hands."""
    for index, visit in enumerate(labels.visits):
        if tuning is not None and visit.tuning != tuning:
            continue
        spec = CARDS[index % len(CARDS)]
        card = Card(visit.hands, spec.size, spec.kind, spec.crf)
        path = out_dir / f"real-visit{index + 1}-{card.kind}-{card.size[0]}x{card.size[1]}.mp4"
        yield path, visit, composite(clip, visit, card, path, seed=index)


def analyze_file_spans(
    path: Path, labels_path: Path, settings: DetectSettings, detector: PersonDetector | None
) -> list[Span]:
    """The events of ``path`` analysed with the labelled clip's camera config, as spans from its start (6 fps)."""
    from shopwatch.models.video_file import analyze_file  # PyAV and the pipeline, only when clips are run

    camera = load_camera_detection(labels_path.with_name(load_labels(labels_path).camera_config))
    run = analyze_file(path, camera, settings, detector, 0.0, fps=6.0)
    return [(e.type.value, e.start, e.end) for e in run.events]


def analyze_real(
    labels_path: Path, clip: Path, settings: DetectSettings, detector: PersonDetector | None, out_dir: Path
) -> dict[str, ClipResult]:
    """The labelled clip whole (no event is right: every visit only handled what was there) and one composite
    per visit (its card must be found), through the live pipeline at 6 fps like the rendered scenes."""
    from shopwatch.models.video_file import analyze_file  # PyAV and the pipeline, only when clips are run

    labels = load_labels(labels_path)
    camera = load_camera_detection(labels_path.with_name(labels.camera_config))

    def found(path: Path) -> tuple[list[Span], float]:
        run = analyze_file(path, camera, settings, detector, 0.0, fps=6.0)
        return [(e.type.value, e.start, e.end) for e in run.events], run.duration_s

    spans, duration = found(clip)
    results = {"real-clip": ClipResult([], spans, duration)}
    for path, _visit, (start_s, end_s) in composites(labels, clip, out_dir):
        spans, duration = found(path)
        results[path.stem] = ClipResult([("card_posting", start_s, end_s)], spans, duration)
    return results
