"""events, incidents and the delivery outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_first_at"), ["first_at"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=63), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.Column("snapshots", _JSON, nullable=False),
        sa.Column("clip", sa.Text(), nullable=True),
        sa.Column("media_bytes", sa.Integer(), nullable=False),
        sa.Column("teams", _JSON, nullable=False),
        sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incident_id", sa.String(length=32), nullable=True),
        sa.Column("deterrence", _JSON, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_events_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_camera_id"), ["camera_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_grid"), ["grid"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_status"), ["status"], unique=False)
        batch_op.create_index("ix_events_status_escalate", ["status", "escalate_at"], unique=False)
        batch_op.create_index("ix_events_time_id", ["start", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_type"), ["type"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_deliveries_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_event_id"), ["event_id"], unique=False)
        batch_op.create_index("ix_deliveries_state_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "event_feed",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_feed_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_event_feed")),
    )
    with op.batch_alter_table("event_feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_feed_event_id"), ["event_id"], unique=False)

    op.create_table(
        "event_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_transitions_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_transitions")),
    )
    with op.batch_alter_table("event_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_transitions_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_transitions_event_id"))

    op.drop_table("event_transitions")
    with op.batch_alter_table("event_feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_feed_event_id"))

    op.drop_table("event_feed")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_state_due")
        batch_op.drop_index(batch_op.f("ix_deliveries_event_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_type"))
        batch_op.drop_index("ix_events_time_id")
        batch_op.drop_index("ix_events_status_escalate")
        batch_op.drop_index(batch_op.f("ix_events_status"))
        batch_op.drop_index(batch_op.f("ix_events_incident_id"))
        batch_op.drop_index(batch_op.f("ix_events_grid"))
        batch_op.drop_index(batch_op.f("ix_events_camera_id"))

    op.drop_table("events")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_first_at"))

    op.drop_table("incidents")
