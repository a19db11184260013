"""A scratch PostgreSQL schema for a benchmark, the way ``tests/store/db_fixtures.py`` gives each test one: created
on the server of ``SHOPWATCH_TEST_POSTGRES_URL`` (default: the CI service), reached through ``search_path`` in the
URL, migrated, and dropped with everything in it afterwards, so a benchmark run beside the tests (or another run)
never sees their tables.

    with scratch_engine() as engine:
        fill(engine, ...)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from shopwatch.store.db import create_engine_for, migrate

POSTGRES_URL = os.environ.get("SHOPWATCH_TEST_POSTGRES_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_schema(url: str = POSTGRES_URL, prefix: str = "sw_bench") -> Iterator[str]:
    """The URL of a new, empty schema on ``url``'s server (``prefix`` and a random suffix), dropped after the block."""
    admin = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def scratch_engine(url: str = POSTGRES_URL) -> Iterator[Engine]:
    """An engine on a scratch schema with the service's tables (migrated), disposed of before the schema goes."""
    with scratch_schema(url) as schema_url:
        engine = create_engine_for(schema_url)
        try:
            migrate(engine)
            yield engine
        finally:
            engine.dispose()
