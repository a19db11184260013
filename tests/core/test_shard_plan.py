"""The shard planner: every camera on exactly one shard, shards balanced within one camera, and no balanced plan
that moves fewer cameras (checked against all of them for small fleets); adding a shard moves about its share,
removing one moves only its cameras."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopwatch.core.errors import Invalid
from shopwatch.core.shard_plan import moves, plan_assignment


def cams(n: int, prefix: str = "cam") -> list[str]:
    return [f"{prefix}-{i:04d}" for i in range(n)]


def check_balanced(plan: dict[str, list[str]], cameras: list[str], shards: list[str]) -> None:
    placed = [c for cs in plan.values() for c in cs]
    assert sorted(placed) == sorted(set(cameras))  # each once
    assert list(plan) == shards
    sizes = [len(cs) for cs in plan.values()]
    assert max(sizes) - min(sizes) <= 1
    assert all(cs == sorted(cs) for cs in plan.values())


def fewest_moves(cameras: list[str], shards: list[str], current: dict[str, list[str]]) -> int:
    """Brute force: the fewest moves of any balanced plan."""
    n, k = len(cameras), len(shards)
    best = None
    for choice in itertools.product(range(k), repeat=n):
        counts = [choice.count(i) for i in range(k)]
        if max(counts) - min(counts) > 1:
            continue
        plan = {s: [c for c, i in zip(cameras, choice, strict=True) if i == j] for j, s in enumerate(shards)}
        m = moves(current, plan)
        best = m if best is None else min(best, m)
    assert best is not None
    return best


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Small fleets: cameras now, shards now, and a current plan over a partly different fleet (cameras and
    shards that are gone, cameras that are new, unbalanced shards)."""
    universe = cams(draw(st.integers(0, 7)))
    cameras = draw(st.lists(st.sampled_from(universe), unique=True)) if universe else []
    all_shards = [f"shard-{i}" for i in range(4)]
    shards = draw(st.lists(st.sampled_from(all_shards), min_size=1, max_size=3, unique=True))
    current: dict[str, list[str]] = {s: [] for s in all_shards}
    for camera in universe:
        where = draw(st.sampled_from([*all_shards, None]))
        if where is not None:
            current[where].append(camera)
    return cameras, shards, current


@settings(max_examples=150, deadline=None)
@given(fleets())
def test_the_plan_is_balanced_and_moves_no_more_than_any_balanced_plan(
    fleet: tuple[list[str], list[str], dict[str, list[str]]],
) -> None:
    cameras, shards, current = fleet
    plan = plan_assignment(cameras, shards, current)
    check_balanced(plan, cameras, shards)
    assert moves(current, plan) == fewest_moves(cameras, shards, current)
    assert plan_assignment(cameras, shards, plan) == plan  # planning again moves nothing


def test_a_new_shard_takes_its_share_and_a_removed_one_gives_only_its_cameras() -> None:
    cameras, shards = cams(1204), [f"shard-{i:03d}" for i in range(4)]
    four = plan_assignment(cameras, shards)
    check_balanced(four, cameras, shards)
    five = plan_assignment(cameras, [*shards, "shard-004"], four)
    check_balanced(five, cameras, [*shards, "shard-004"])
    assert moves(four, five) == len(five["shard-004"]) == 1204 // 5  # only what the new shard takes
    three = plan_assignment(cameras, ["shard-000", "shard-001", "shard-003"], four)
    assert moves(four, three) == len(four["shard-002"])  # only the removed shard's cameras
    assert set(three["shard-000"]) >= set(four["shard-000"])


def test_new_cameras_go_to_the_smallest_shards_and_removed_ones_free_their_place() -> None:
    current = {"a": ["c1", "c2", "c3"], "b": ["c4", "c5"]}
    plan = plan_assignment(["c1", "c2", "c3", "c4", "c5", "c6"], ["a", "b"], current)
    assert plan == {"a": ["c1", "c2", "c3"], "b": ["c4", "c5", "c6"]}
    plan = plan_assignment(["c2", "c3", "c4", "c5", "c6"], ["a", "b"], plan)
    assert plan == {"a": ["c2", "c3"], "b": ["c4", "c5", "c6"]}


@pytest.mark.parametrize(
    ("cameras", "shards", "error"),
    [
        (["c1"], [], "expected at least one shard for 1 cameras, found none"),
        (["c1"], ["a", "b", "a"], "expected each shard named once, found a more than once"),
    ],
)
def test_bad_input_is_refused_with_a_sentence(cameras: list[str], shards: list[str], error: str) -> None:
    with pytest.raises(Invalid, match=error):
        plan_assignment(cameras, shards)
    assert plan_assignment([], []) == {}
