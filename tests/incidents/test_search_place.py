"""The geometry of search places: distance to a street's line (a leg's end, its middle, past its end), the
bounding box that prefilters cameras (it holds the whole circle, even near a pole), cameras by their street's
text with spaces and case ignored."""

from __future__ import annotations

import pytest

from shopwatch.incidents.linking import Place, distance_m
from shopwatch.incidents.search_place import Circle, Corridor, around, cameras_along, inside, to_path_m
from tests.incidents.search_fixture import cameras

LINE = (Place(39.9, 116.40), Place(39.9, 116.41), Place(39.91, 116.41))  # east, then north


@pytest.mark.parametrize(
    ("point", "metres"),
    [
        (Place(39.9, 116.405), 0.0),  # on the first leg
        (Place(39.9009, 116.405), 100.1),  # 0.0009° north of it
        (Place(39.905, 116.4109), 76.8),  # beside the second leg (0.0009° of longitude: 76.8 m here)
        (Place(39.9, 116.399), 85.3),  # past the line's start: from its end point
    ],
)
def test_distance_to_the_line(point: Place, metres: float) -> None:
    assert to_path_m(point, LINE) == pytest.approx(metres, abs=0.2)


@pytest.mark.parametrize("centre", [Place(39.9, 116.4), Place(-33.9, 151.2), Place(89.99, 0.0), Place(0.0, 179.999)])
def test_the_box_holds_the_whole_circle(centre: Place) -> None:
    box = around([centre], 1000.0)
    for bearing_point in (Place(centre.lat + 0.00898, centre.lon), Place(centre.lat - 0.00898, centre.lon)):
        if abs(bearing_point.lat) <= 90:
            assert distance_m(centre, bearing_point) == pytest.approx(998.5, abs=2)
            assert box.holds(bearing_point.lat, bearing_point.lon)


def test_inside_a_circle_and_a_corridor() -> None:
    assert inside(Circle(Place(39.9, 116.4), 100.0), 39.9, 116.401)[0]  # 85 m
    assert not inside(Circle(Place(39.9, 116.4), 80.0), 39.9, 116.401)[0]
    corridor = Corridor(LINE, 60.0)
    assert inside(corridor, 39.90025, 116.405)[0]  # 28 m off
    assert not inside(corridor, 39.9004, 116.405)[0]  # 44 m off: outside 30 m either side


def test_cameras_by_their_street_text() -> None:
    assert [c.id for c in cameras_along(" 长 街", cameras())] == ["s1", "s2", "s3"]
    assert cameras_along("北街", cameras()) == []
