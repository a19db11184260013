"""Alembic environment. ``migrate()`` hands over an open connection (inside its transaction, holding the
migration lock); authoring a revision with ``alembic_config(url)`` connects to that URL instead."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from shopwatch.store import (
    accounts,  # noqa: F401  (users, login tokens, API keys)
    assignments,  # noqa: F401  (shard assignments of a scale-out fleet)
    audit,  # noqa: F401  (audit log)
    incident_tables,  # noqa: F401  (events, transitions, incidents, feed, outbox)
    learnt_tables,  # noqa: F401  (camera calibrations, ignored spots)
    stats_tables,  # noqa: F401  (summary tables of the case-analysis numbers)
    tables,  # noqa: F401  (registers the tables on Base.metadata)
    talkback,  # noqa: F401  (talkback audit and clip tables)
    tips,  # noqa: F401  (tips from people)
)
from shopwatch.store.base import Base
from shopwatch.store.db import create_engine_for


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copy-and-move
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection: pass one in Config.attributes['connection'] or set sqlalchemy.url")
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run migrate() against a database")
run_online()
