"""Settings of the scale-out on Ray (``shopwatch serve --ray ADDRESS``): how many ingest shards, how often the
head pulls their health, when a silent shard is killed, and where a shard keeps events while the database is
away. Read only with ``--ray``; without it the local worker processes of ``ingest`` run as always."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ClusterSettings(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    namespace: str = Field("shopwatch", description="Ray namespace of the shard actors (one per service).")
    shards: int = Field(
        0, ge=0, le=256, description="Ingest shards (Ray actors); 0 = as many as ingest.cameras_per_worker needs."
    )
    connect_timeout_s: float = Field(
        8.0, gt=0, le=60, description="Time allowed to reach the Ray cluster at start-up (then a one-line error)."
    )
    health_interval_s: float = Field(1.0, gt=0, le=60, description="How often the head pulls every shard's health.")
    call_timeout_s: float = Field(
        3.0, gt=0, le=60, description="A shard that does not answer a health call within this is 'unreachable'."
    )
    stale_after_s: float = Field(
        15.0, gt=0, le=600,
        description="A shard whose heartbeat has not moved for this long (answering, but hung) is killed; Ray "
        "restarts it.",
    )  # fmt: skip
    assignment_poll_s: float = Field(
        1.0, gt=0, le=60, description="How often a shard reads its assignment's version from the database."
    )
    spool_dir: str = Field(
        "/var/tmp/shopwatch-spool",
        description="Where a shard spools its events on its node (a file per shard under <namespace>/); local disk.",
    )
    spool_max_events: int = Field(
        10_000, ge=1, le=1_000_000, description="Events one shard's spool holds at most (then it drops, counted)."
    )

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value):
            raise ValueError(f"expected 1-64 letters, digits, '_', '.' or '-', found {value!r}")
        return value
