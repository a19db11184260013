"""Detection quality on scenario clips: run the analyze pipeline on each clip and compare with its ground truth.

A ground-truth event is found when a detected event of its type overlaps it in time (``SLACK_S`` of
tolerance: truth times are frame-exact, ours are at the detection rate); a detected event is right when it
overlaps a ground-truth event of its type. A visit that sticks several cards, stepping sideways between them,
is several ground-truth events and one detected event listing every patch: it finds them all."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.detect_loader import load_camera_detection
from shopwatch.models.detector import PersonDetector

SLACK_S = 0.5
Span = tuple[str, float, float]  # (type, start_s, end_s) from the start of the clip


@dataclass(frozen=True, slots=True)
class ClipResult:
    expected: list[Span]
    found: list[Span]
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Score:
    kind: str
    truths: int
    detections: int
    missed: list[tuple[str, Span]]  # (clip, ground truth)
    wrong: list[tuple[str, Span]]  # (clip, detection)

    @property
    def recall(self) -> float:
        return 1 - len(self.missed) / self.truths if self.truths else 1.0

    @property
    def precision(self) -> float:
        return 1 - len(self.wrong) / self.detections if self.detections else 1.0


def overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] <= b[2] + SLACK_S and b[1] <= a[2] + SLACK_S


def analyze_clips(
    truth_paths: Iterable[Path], settings: DetectSettings, detector: PersonDetector | None, fps: float = 6.0
) -> dict[str, ClipResult]:
    """Per clip name, what should have been found and what was, with the live pipeline."""
    from shopwatch.models.video_file import analyze_file  # PyAV and the pipeline, only when clips are run

    results: dict[str, ClipResult] = {}
    for path in truth_paths:
        truth: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        camera = load_camera_detection(path.with_name(f"{truth['name']}.camera.yaml"))
        start = datetime.fromisoformat(truth["start_time"]).astimezone().timestamp()
        run = analyze_file(path.with_suffix(".mp4"), camera, settings, detector, start, fps=fps)
        expected = [(e["type"], e["start_s"], e["end_s"]) for e in truth["events"]]
        found = [(e.type.value, e.start - start, e.end - start) for e in run.events]
        results[truth["name"]] = ClipResult(expected, found, run.duration_s)
    return results


def score(results: Mapping[str, ClipResult], kind: str) -> Score:
    truths = [(name, e) for name, r in results.items() for e in r.expected if e[0] == kind]
    detections = [(name, d) for name, r in results.items() for d in r.found if d[0] == kind]
    missed = [(n, e) for n, e in truths if not any(overlaps(d, e) for d in results[n].found)]
    wrong = [(n, d) for n, d in detections if not any(overlaps(d, e) for e in results[n].expected)]
    return Score(kind, len(truths), len(detections), missed, wrong)


def false_per_hour(results: Mapping[str, ClipResult]) -> tuple[int, float]:
    """Events on the clips that must stay quiet, and how many hours those clips last."""
    quiet = [r for r in results.values() if not r.expected]
    return sum(len(r.found) for r in quiet), sum(r.duration_s for r in quiet) / 3600.0


def noisy_quiet_clips(results: Mapping[str, ClipResult]) -> dict[str, list[Span]]:
    """Clips with no ground-truth event that still produced events."""
    return {name: r.found for name, r in results.items() if not r.expected and r.found}
