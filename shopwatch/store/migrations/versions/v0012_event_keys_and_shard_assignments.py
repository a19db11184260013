"""events stored once (an idempotent event_key) and versioned shard assignments

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 20:30:00

"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
# store.event_once as of this revision (frozen here: a later change of the formula must not rewrite history)
WINDOW_S = 3.0
_EVENTS = sa.table(
    "events",
    sa.column("id", sa.String),
    sa.column("camera_id", sa.String),
    sa.column("type", sa.String),
    sa.column("zone", sa.String),
    sa.column("start", sa.DateTime(timezone=True)),
    sa.column("event_key", sa.String),
)


def _key(parts: list[object]) -> str:
    raw = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _bucket(start: datetime | str) -> int:
    moment = start if isinstance(start, datetime) else datetime.fromisoformat(start)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment  # SQLite: naive UTC
    return math.floor(moment.timestamp() / WINDOW_S)


def _fill_keys() -> None:
    """Every stored event gets its key; events stored before that share one (two visits the rules emitted close
    together, kept as they were) get a key of their own, their id added to it."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_EVENTS.c.id, _EVENTS.c.camera_id, _EVENTS.c.type, _EVENTS.c.zone, _EVENTS.c.start).order_by(
            _EVENTS.c.start, _EVENTS.c.id
        )
    ).all()
    used: set[str] = set()
    keys = []
    for event_id, camera_id, type_, zone, start in rows:
        key = _key([camera_id, type_, zone, _bucket(start)])
        if key in used:
            key = _key([camera_id, type_, zone, _bucket(start), event_id])
        used.add(key)
        keys.append({"b_id": event_id, "b_key": key})
    if keys:
        conn.execute(
            sa.update(_EVENTS).where(_EVENTS.c.id == sa.bindparam("b_id")).values(event_key=sa.bindparam("b_key")),
            keys,
        )


def upgrade() -> None:
    op.add_column("events", sa.Column("event_key", sa.String(length=32), nullable=True))
    _fill_keys()
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("event_key", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index("ix_events_event_key", ["event_key"], unique=True)
    op.create_table(
        "shard_assignments",
        sa.Column("shard", sa.String(length=64), nullable=False),
        sa.Column("cameras", JSON_DOC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shard"),
    )


def downgrade() -> None:
    op.drop_table("shard_assignments")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_event_key")
        batch_op.drop_column("event_key")
