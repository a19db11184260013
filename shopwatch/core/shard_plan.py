"""Planning which ingest shard reads which camera: balanced, and moving as few cameras as possible.

Pure: camera ids and shard names in, an assignment out. The supervisor of a scale-out fleet (Ray) plans with it
when cameras or shards come and go, and stores the result as versioned assignments (``store.assignments``);
each shard reads its own on every (re)start.

Balanced means every shard holds ``n // k`` or ``n // k + 1`` cameras. Within that, the plan keeps the most
cameras where they are: the shards already holding the most cameras are the ones given the extra camera, each
shard keeps as many of its cameras as its size allows, and only the rest move (with the cameras of shards that
are gone and the new cameras) to the shards below their size. No balanced plan moves fewer cameras
(``tests/core/test_shard_plan.py`` checks this against every balanced plan of small fleets)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from shopwatch.core.errors import Invalid


def plan_assignment(
    cameras: Iterable[str], shards: Sequence[str], current: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """Every camera of ``cameras`` on one of ``shards`` (each shard's cameras sorted), keeping those of
    ``current`` (shard -> its cameras now) where they are as far as balance allows. Cameras and shards of
    ``current`` that are not in ``cameras``/``shards`` are dropped. Raises ``Invalid`` for no shard at all
    (with cameras to place) or a shard named twice."""
    wanted = sorted(set(cameras))
    names = list(shards)
    if len(set(names)) != len(names):
        twice = sorted({s for s in names if names.count(s) > 1})
        raise Invalid(f"expected each shard named once, found {', '.join(twice)} more than once")
    if not names:
        if wanted:
            raise Invalid(f"expected at least one shard for {len(wanted)} cameras, found none")
        return {}
    kept = _kept(set(wanted), names, current or {})
    size = _sizes(len(wanted), names, kept)
    plan: dict[str, list[str]] = {}
    pool: list[str] = []
    for shard in names:
        mine = sorted(kept[shard])
        plan[shard] = mine[: size[shard]]
        pool += mine[size[shard] :]
    placed = {c for cams in plan.values() for c in cams}
    pool = sorted(set(pool) | (set(wanted) - placed))
    for shard in names:
        need = size[shard] - len(plan[shard])
        plan[shard] += pool[:need]
        pool = pool[need:]
        plan[shard].sort()
    assert not pool, "every camera has a shard"
    return plan


def _kept(wanted: set[str], shards: Sequence[str], current: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """Each shard's cameras now that are still wanted (a camera listed on two shards stays on the first)."""
    kept: dict[str, set[str]] = {shard: set() for shard in shards}
    seen: set[str] = set()
    for shard in shards:
        for camera in current.get(shard, ()):
            if camera in wanted and camera not in seen:
                kept[shard].add(camera)
                seen.add(camera)
    return kept


def _sizes(n: int, shards: Sequence[str], kept: Mapping[str, set[str]]) -> dict[str, int]:
    """``n // k`` cameras per shard, one more for the ``n % k`` shards that keep the most (ties: shard order)."""
    base, extra = divmod(n, len(shards))
    order = sorted(range(len(shards)), key=lambda i: (-len(kept[shards[i]]), i))
    bigger = {shards[i] for i in order[:extra]}
    return {shard: base + (1 if shard in bigger else 0) for shard in shards}


def moves(before: Mapping[str, Sequence[str]], after: Mapping[str, Sequence[str]]) -> int:
    """How many cameras of ``before`` are on another shard (or on none) in ``after``."""
    where = {camera: shard for shard, cams in after.items() for camera in cams}
    return sum(1 for shard, cams in before.items() for camera in cams if where.get(camera) != shard)
