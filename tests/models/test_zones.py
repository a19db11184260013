"""Zone geometry: points in polygons, box overlap with a non-rectangular zone."""

from __future__ import annotations

import numpy as np
import pytest

from shopwatch.core.detect_config import Zone
from shopwatch.models.zones import ZoneShape

TRIANGLE = ZoneShape.of(Zone(name="t", kind="area", polygon=[(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]))


@pytest.mark.parametrize(
    ("point", "inside"), [((0.1, 0.1), True), ((0.45, 0.45), True), ((0.55, 0.55), False), ((0.9, 0.9), False)]
)
def test_points_in_a_triangle(point: tuple[float, float], inside: bool) -> None:
    assert TRIANGLE.contains(np.array([point], np.float32))[0] == inside


def test_box_overlap_is_the_fraction_of_the_box_inside() -> None:
    boxes = np.array([[0.0, 0.0, 0.2, 0.2], [0.8, 0.8, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]], np.float32)
    overlap = TRIANGLE.box_overlap(boxes)
    assert overlap[0] > 0.95 and overlap[1] < 0.02 and abs(overlap[2] - 0.5) < 0.02
