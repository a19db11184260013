"""Detection quality on scenario clips the thresholds were not tuned on (tuned on seed 1; measured on seed 7).

Every clip of ``shopwatch sim scenes`` runs through the analyze pipeline with the real COCO person model. A
ground-truth event is found when a detected event of its type overlaps it in time; a detected event is right
when it overlaps a ground-truth event of its type. (A visit that sticks several cards, stepping sideways between
them, is several ground-truth events and one detected event listing every patch: it finds them all.)"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.detect_loader import load_camera_detection
from shopwatch.models.detector import YoloDetector
from tests.models.model_path import test_model

SEED = 7
SLACK_S = 0.5  # of time-overlap tolerance (truth times are frame-exact, ours are at the 6 fps detection rate)
Span = tuple[str, float, float]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] <= b[2] + SLACK_S and b[1] <= a[2] + SLACK_S


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[Span], list[Span]]]:
    """Per clip: (ground truth, detected), as (type, start_s, end_s)."""
    model = test_model()
    from shopwatch.models.video_file import analyze_file
    from shopwatch.sim.scenes import generate

    out = tmp_path_factory.mktemp(f"scenes-{SEED}")
    paths = generate(out, SEED, workers=2)
    settings = DetectSettings()
    detector = YoloDetector(settings, model)
    per_clip: dict[str, tuple[list[Span], list[Span]]] = {}
    for path in paths:
        truth: dict[str, Any] = json.loads(path.read_text())
        camera = load_camera_detection(path.with_name(f"{truth['name']}.camera.yaml"))
        start = datetime.fromisoformat(truth["start_time"]).astimezone().timestamp()
        run = analyze_file(path.with_suffix(".mp4"), camera, settings, detector, start, fps=6.0)
        expected = [(e["type"], e["start_s"], e["end_s"]) for e in truth["events"]]
        found = [(e.type.value, e.start - start, e.end - start) for e in run.events]
        per_clip[truth["name"]] = (expected, found)
    return per_clip


@pytest.mark.parametrize("kind", ["card_posting", "loitering", "intrusion"])
def test_precision_and_recall_of_each_event_type(results: dict[str, tuple[list[Span], list[Span]]], kind: str) -> None:
    truths = [(name, e) for name, (expected, _) in results.items() for e in expected if e[0] == kind]
    detections = [(name, d) for name, (_, found) in results.items() for d in found if d[0] == kind]
    assert truths, f"the scene set has no {kind} clip"
    missed = [(n, e) for n, e in truths if not any(overlaps(d, e) for d in results[n][1])]
    wrong = [(n, d) for n, d in detections if not any(overlaps(d, e) for e in results[n][0])]
    recall = 1 - len(missed) / len(truths)
    precision = 1 - len(wrong) / len(detections) if detections else 0.0
    assert recall >= 0.9, f"{kind} recall {recall:.2f}; missed {missed}"
    assert precision >= 0.9, f"{kind} precision {precision:.2f}; wrong {wrong}"


def test_no_event_on_clips_that_must_stay_quiet(results: dict[str, tuple[list[Span], list[Span]]]) -> None:
    """Walk-pasts, a stop without posting, lights switching on, a poster, a parked bicycle, rain, the forecourt by
    day: no event at all."""
    quiet = {name: found for name, (expected, found) in results.items() if not expected}
    assert len(quiet) >= 5
    assert {name: found for name, found in quiet.items() if found} == {}
