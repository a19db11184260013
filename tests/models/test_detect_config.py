"""Camera detection config: rules refer to zones of the right kind; CAMERA.yaml errors name key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopwatch.core.detect_config import CameraDetection
from shopwatch.core.detect_loader import camera_detection_from_text, load_camera_detection
from shopwatch.core.errors import ConfigError

ISSUE_EXAMPLE = """\
zones:
  - {name: shopfront, kind: surface, polygon: [[0.05, 0.10], [0.60, 0.10], [0.60, 0.75], [0.05, 0.75]]}
  - {name: sidewalk, kind: area, polygon: [[0.0, 0.6], [1.0, 0.6], [1.0, 1.0], [0.0, 1.0]]}
rules:
  card_posting: {zones: [shopfront]}
  loitering: {zones: [sidewalk], dwell_s: 60}
  intrusion: {zones: [sidewalk], hours: "22:00-06:00"}
"""


def test_the_issue_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "cam.yaml"
    path.write_text(ISSUE_EXAMPLE)
    camera = load_camera_detection(path)
    assert [z.name for z in camera.zones] == ["shopfront", "sidewalk"]
    assert camera.rules.loitering is not None and camera.rules.loitering.dwell_s == 60
    assert camera.rules.intrusion is not None and camera.rules.intrusion.contains(__import__("datetime").time(23, 0))


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (("dwell_s: 60", "dwell_s: -1"), "line 6: rules.loitering.dwell_s", "greater than 0"),
        (("card_posting: {zones: [shopfront]}", "card_posting: {zones: [sidewalk]}"), "line 4: rules", "area zone"),
        (("card_posting: {zones: [shopfront]}", "card_posting: {zones: [nowhere]}"), "line 4: rules", "not defined"),
        (('hours: "22:00-06:00"', 'hours: "late"'), "line 7: rules.intrusion.hours", "HH:MM-HH:MM"),
        (("[0.0, 0.6], [1.0, 0.6]", "[0.0, 0.6], [1.5, 0.6]"), "line 3: zones[1].polygon[1][0]", "less than or equal"),
        (("loitering:", "loitring:"), "line 6: rules.loitring", "unknown key"),
    ],
)
def test_errors_name_the_key_and_line(edit: tuple[str, str], where: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        camera_detection_from_text(ISSUE_EXAMPLE.replace(*edit), "cam.yaml")
    text = str(info.value)
    assert f"cam.yaml: {where}" in text and message in text


def test_card_size_range_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="card_max"):
        CameraDetection.model_validate(
            {
                "zones": [{"name": "s", "kind": "surface", "polygon": [[0, 0], [1, 0], [1, 1]]}],
                "rules": {"card_posting": {"zones": ["s"], "card_min": 0.2, "card_max": 0.1}},
            }
        )


SHOPFRONT = "[[0.05, 0.10], [0.60, 0.10], [0.60, 0.75], [0.05, 0.75]]"


@pytest.mark.parametrize(
    ("edits", "where", "message"),
    [
        ([(SHOPFRONT, "[[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]")], "line 2: zones[0].polygon", "has no area"),
        (  # a surface 3 % of the frame wide cannot hold a card of 20 % of a person's height
            [
                (SHOPFRONT, "[[0.5, 0.5], [0.53, 0.5], [0.53, 0.53]]"),
                (
                    "card_posting: {zones: [shopfront]}",
                    "card_posting: {zones: [shopfront], card_min: 0.2, card_max: 0.4}",
                ),
            ],
            "line 4: rules",
            "card_posting.card_min: the smallest card",
        ),
        (
            [("{name: sidewalk, kind: area,", "{name: sidewalk, kind: area, foot_y: 0.9,")],
            "line 3: zones[1].foot_y",
            "only a surface zone has a foot",
        ),
    ],
)
def test_zones_that_make_a_rule_impossible_are_refused(edits: list[tuple[str, str]], where: str, message: str) -> None:
    text = ISSUE_EXAMPLE
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    with pytest.raises(ConfigError) as info:
        camera_detection_from_text(text, "cam.yaml")
    error = str(info.value)
    assert f"cam.yaml: {where}" in error and message in error
    assert "not defined" not in error  # a wrong zone is reported once, not again as missing from the rules
