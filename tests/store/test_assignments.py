"""Versioned shard assignments on SQLite and PostgreSQL: versions grow only for shards whose camera set changed,
a shard left out is emptied (its version continues), a bad plan writes nothing, and a plan from the planner
round-trips."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from shopwatch.core.clock import ManualClock
from shopwatch.core.errors import Invalid
from shopwatch.core.shard_plan import plan_assignment
from shopwatch.store.assignments import UNASSIGNED, Assignment, ShardAssignments


def test_versions_grow_only_where_the_set_changed(engine: Engine) -> None:
    clock = ManualClock()
    repo = ShardAssignments(engine, clock)
    assert repo.assignment_of("shard-000") == UNASSIGNED == (0, ())
    assert repo.assign({"shard-000": ["c2", "c1"], "shard-001": ["c3"]}) == {"shard-000": 1, "shard-001": 1}
    version, cameras = repo.assignment_of("shard-000")
    assert (version, cameras) == (1, ("c1", "c2"))

    clock.advance(5)
    # c4 is added to shard-001; shard-000 is the same set in another order.
    assert repo.assign({"shard-000": ["c1", "c2"], "shard-001": ["c4", "c3"]}) == {"shard-000": 1, "shard-001": 2}
    assert repo.assignment_of("shard-001") == Assignment(2, ("c3", "c4"))
    assert repo.version_of("shard-001") == 2 and repo.version_of("nope") == 0

    # shard-001 left out: emptied, its version continues; a new shard starts at 1.
    assert repo.assign({"shard-000": ["c1", "c2", "c3", "c4"], "shard-002": []}) == {
        "shard-000": 2,
        "shard-001": 3,
        "shard-002": 1,
    }
    assert repo.assignment_of("shard-001") == Assignment(3, ())
    assert repo.current() == {"shard-000": ["c1", "c2", "c3", "c4"]}
    # Named again later, it goes on from its version.
    assert repo.assign({"shard-000": ["c1", "c2"], "shard-001": ["c3", "c4"]})["shard-001"] == 4


@pytest.mark.parametrize(
    ("plan", "error"),
    [
        ({"a": ["c1"], "b": ["c1"]}, "camera 'c1' is assigned to shard 'a' and to 'b'"),
        ({"a": ["c1", "c1"]}, "camera 'c1' is assigned to shard 'a' and to 'a'"),
        ({"": ["c1"]}, "expected a shard name of 1 to 64 characters, found ''"),
        ({"s" * 65: ["c1"]}, "expected a shard name of 1 to 64 characters"),
    ],
)
def test_a_bad_plan_writes_nothing(engine: Engine, plan: dict[str, list[str]], error: str) -> None:
    repo = ShardAssignments(engine, ManualClock())
    repo.assign({"a": ["c9"]})
    with pytest.raises(Invalid, match=error):
        repo.assign(plan)
    assert repo.all() == {"a": Assignment(1, ("c9",))}


def test_a_planned_change_reaches_only_the_shards_it_touches(engine: Engine) -> None:
    repo = ShardAssignments(engine, ManualClock())
    shards = ["shard-000", "shard-001", "shard-002"]
    cameras = [f"cam-{i:03d}" for i in range(60)]
    repo.assign(plan_assignment(cameras, shards))
    before = repo.all()
    repo.assign(plan_assignment([*cameras, "cam-new"], shards, repo.current()))  # one camera added
    after = repo.all()
    changed = sorted(s for s in shards if after[s].version != before[s].version)
    assert len(changed) == 1 and "cam-new" in after[changed[0]].cameras
    assert sum(len(a.cameras) for a in after.values()) == 61
