"""Versioned shard assignments: which cameras each ingest shard of a scale-out fleet reads.

One row per shard: its cameras (a sorted JSON list) and a ``version`` that grows by one each time that set
changes, so a shard (re)starting reads its cameras by its own name, and a running one notices a change with one
primary-key read (``assignment_of``). The supervisor writes the whole fleet's assignment at once (``assign``, one
transaction: every shard sees the old plan or the new one, never half); plans come from
``core.shard_plan.plan_assignment``. A shard left out of a new plan keeps its row with no cameras (version
bumped), so its actor, if still running, lets go of its cameras, and a shard of that name added again later
continues its version instead of starting over at one.

Blocking access (call it from a thread in async code)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine, Integer, String, insert, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from shopwatch.core.clock import Clock
from shopwatch.core.errors import Invalid
from shopwatch.store.base import Base, UtcDateTime
from shopwatch.store.db import write_transaction
from shopwatch.store.incident_tables import JsonDoc

MAX_SHARD_NAME = 64
_ASSIGN_LOCK = "shopwatch-shard-assignments"


class ShardAssignmentRow(Base):
    __tablename__ = "shard_assignments"

    shard: Mapped[str] = mapped_column(String(MAX_SHARD_NAME), primary_key=True)
    cameras: Mapped[list[Any]] = mapped_column(JsonDoc)  # camera ids, sorted
    version: Mapped[int] = mapped_column(Integer)  # 1 when first written, +1 whenever ``cameras`` changes
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Assignment(NamedTuple):
    """A shard's cameras and their version; version 0 and no cameras for a shard never assigned."""

    version: int
    cameras: tuple[str, ...]


UNASSIGNED = Assignment(0, ())


def check_plan(shards: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The plan with each shard's cameras sorted; ``Invalid`` naming the shard or camera that is wrong: an
    empty or too long shard name, or a camera on two shards (or twice on one)."""
    owner: dict[str, str] = {}
    plan: dict[str, list[str]] = {}
    for shard, cameras in shards.items():
        if not shard or len(shard) > MAX_SHARD_NAME:
            raise Invalid(f"expected a shard name of 1 to {MAX_SHARD_NAME} characters, found {shard!r}")
        for camera in cameras:
            if camera in owner:
                raise Invalid(f"camera {camera!r} is assigned to shard {owner[camera]!r} and to {shard!r}")
            owner[camera] = shard
        plan[shard] = sorted(cameras)
    return plan


class ShardAssignments:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def assign(self, shards: Mapping[str, Sequence[str]]) -> dict[str, int]:
        """Make ``shards`` (shard -> camera ids) the fleet's assignment, all at once: each shard whose camera set
        changed gets the next version, a new one version 1, an unchanged one keeps its version, and a stored
        shard not named is emptied (next version). Returns every stored shard's version. ``Invalid`` (and
        nothing written) for a camera on two shards or a bad shard name."""
        plan = check_plan(shards)
        now = datetime.fromtimestamp(self._clock.wall(), UTC)
        with write_transaction(self._engine) as conn:
            if conn.dialect.name == "postgresql":  # two supervisors assigning at once: one after the other
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": _ASSIGN_LOCK})
            stored = {
                row.shard: (row.version, list(row.cameras))
                for row in conn.execute(
                    select(ShardAssignmentRow.shard, ShardAssignmentRow.cameras, ShardAssignmentRow.version)
                )
            }
            for shard in stored.keys() - plan.keys():
                plan[shard] = []
            versions: dict[str, int] = {}
            for shard, cameras in sorted(plan.items()):
                if shard not in stored:
                    conn.execute(
                        insert(ShardAssignmentRow).values(shard=shard, cameras=cameras, version=1, updated_at=now)
                    )
                    versions[shard] = 1
                    continue
                version, before = stored[shard]
                if sorted(before) != cameras:
                    version += 1
                    conn.execute(
                        update(ShardAssignmentRow)
                        .where(ShardAssignmentRow.shard == shard)
                        .values(cameras=cameras, version=version, updated_at=now)
                    )
                versions[shard] = version
        return versions

    def assignment_of(self, shard: str) -> Assignment:
        """The shard's version and cameras (``UNASSIGNED`` for a shard never assigned)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(ShardAssignmentRow.version, ShardAssignmentRow.cameras).where(ShardAssignmentRow.shard == shard)
            ).first()
        return UNASSIGNED if row is None else Assignment(int(row.version), tuple(row.cameras))

    def version_of(self, shard: str) -> int:
        """The shard's version alone (0: never assigned): a cheap poll for a change."""
        with self._engine.connect() as conn:
            found = conn.execute(
                select(ShardAssignmentRow.version).where(ShardAssignmentRow.shard == shard)
            ).scalar_one_or_none()
        return 0 if found is None else int(found)

    def all(self) -> dict[str, Assignment]:
        """Every stored shard's assignment (emptied shards included)."""
        stmt = select(ShardAssignmentRow.shard, ShardAssignmentRow.version, ShardAssignmentRow.cameras)
        with self._engine.connect() as conn:
            return {r.shard: Assignment(int(r.version), tuple(r.cameras)) for r in conn.execute(stmt)}

    def current(self) -> dict[str, list[str]]:
        """The fleet's assignment as a plan (shards with cameras only): the ``current`` of ``plan_assignment``."""
        return {shard: list(a.cameras) for shard, a in self.all().items() if a.cameras}
