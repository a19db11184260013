"""Card-posting on real footage: ``one-by-one-person-detection.mp4``, Intel Corporation, CC BY 4.0 (read from
``../shared/data/real``, never copied into the project; skipped with the reason where it is absent).

Six real people, one after another, stop at a round table and handle the printed sheet lying on it: none leaves
anything, so no card-posting event is right (tests/data/real/table.labels.yaml). A card composited where a
held-out visitor's hands were, from the moment they stepped away, must be found. One pass over the clip with the
person model (~1 min here) and one composite."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopwatch.core.detect_config import DetectSettings
from shopwatch.models.detector import YoloDetector
from shopwatch.sim.scenes.real import CARDS, Card, analyze_file_spans, composite, load_labels
from shopwatch.sim.scenes.score import overlaps
from tests.models.model_path import test_model

DATA = Path(__file__).resolve().parents[1] / "data" / "real"
LABELS = DATA / "table.labels.yaml"
CLIP = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "one-by-one-person-detection.mp4"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def detector() -> YoloDetector:
    if not CLIP.is_file():
        pytest.skip(f"no real clip at {CLIP} (../shared/data/real/README.md)")
    return YoloDetector(DetectSettings(), test_model())


def test_the_labels_describe_six_separate_visits_with_hands_on_the_table() -> None:
    labels = load_labels(LABELS)
    assert len(labels.visits) == 6 and (DATA / labels.camera_config).is_file()
    ends = [v.left_s for v in labels.visits]
    assert all(v.start_s < v.left_s for v in labels.visits)
    assert all(later.start_s > end for later, end in zip(labels.visits[1:], ends, strict=False))
    assert [v.tuning for v in labels.visits] == [True, True, True, False, False, False]


def test_no_card_posting_on_visits_that_only_handle_the_sheet_already_there(detector: YoloDetector) -> None:
    spans = analyze_file_spans(CLIP, LABELS, DetectSettings(), detector)
    assert spans == []


def test_a_small_card_left_by_a_held_out_visitor_is_found(detector: YoloDetector, tmp_path: Path) -> None:
    """Visit 6 (held out while tuning): a 10 x 10 px dark card on the table top, encoded at CRF 25."""
    labels = load_labels(LABELS)
    visit = labels.visits[5]
    spec = CARDS[5]
    path = tmp_path / "visit6.mp4"
    truth = composite(CLIP, visit, Card(visit.hands, spec.size, spec.kind, spec.crf), path, seed=5)
    spans = analyze_file_spans(path, LABELS, DetectSettings(), detector)
    assert len(spans) == 1 and overlaps(spans[0], ("card_posting", *truth)), (spans, truth)
