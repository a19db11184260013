"""A few scenario clips generated once per test session (the whole set takes about a minute of CPU)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shopwatch.sim.scenes import generate

SEED = 11
# One of each kind: a multi-card visit, a loiterer, an intruder at night, people walking past.
SAMPLE = ("post_wall_day_three", "loiter_wide_day", "intrusion_night", "walk_past_day")


@pytest.fixture(scope="session")
def scenes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scenes")
    generate(out, SEED, names=SAMPLE, workers=1)
    return out


@pytest.fixture(scope="session")
def truths(scenes_dir: Path) -> dict[str, dict[str, Any]]:
    return {name: json.loads((scenes_dir / f"{name}.json").read_text()) for name in SAMPLE}
