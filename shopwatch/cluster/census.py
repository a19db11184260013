"""Where shards can go: the ``ingest_slot`` resource over the cluster's live nodes, and what to tell an operator
when a node offers none or the shards outnumber the slots (a lost shard then waits, and says so). Pure: the
node records of ``ray.nodes()`` in, a census out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SLOT = "ingest_slot"


@dataclass(frozen=True, slots=True)
class Census:
    slots: int  # ingest slots over the live nodes
    nodes: int  # live nodes
    without_slot: tuple[str, ...]  # live nodes offering no slot: "address (node id)"

    def shortage(self, shards: int) -> str | None:
        """Why some of ``shards`` cannot run, or None."""
        if shards <= self.slots:
            return None
        return (
            f"no free ingest_slot: the cluster's {self.nodes} live node(s) offer {self.slots} for {shards} shards"
            f" (start nodes with ray start --resources='{{\"{SLOT}\": K}}')"
        )


@dataclass(frozen=True, slots=True)
class ShardCounts:
    """The shards by what they are doing, for ``/metrics``."""

    running: int  # answering and running their assignment
    troubled: int  # answering but not running it (the database away at start, ...)
    no_process: int  # not answering: restarting, waiting for a slot, or unreachable
    without_slot: int  # of those, the ones the cluster has no free ingest_slot for (shards beyond the slots)


def census(nodes: Iterable[Mapping[str, Any]]) -> Census:
    slots, count, without = 0, 0, []
    for node in nodes:
        if not node.get("Alive"):
            continue
        count += 1
        offered = int(node.get("Resources", {}).get(SLOT, 0))
        slots += offered
        if offered == 0:
            without.append(f"{node.get('NodeManagerAddress', '?')} ({str(node.get('NodeID', '?'))[:12]})")
    return Census(slots, count, tuple(without))


def no_slot_note(node: str) -> str:
    return (
        f"node {node} offers no {SLOT}: no ingest shard is placed there"
        f" (start it with ray start --resources='{{\"{SLOT}\": K}}' to host K shards)"
    )
