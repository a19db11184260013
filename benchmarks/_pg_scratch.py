"""A scratch PostgreSQL schema for a benchmark, as ``tests/store/db_fixtures.py`` gives each test one: created
on the server of ``SHOPWATCH_TEST_POSTGRES_URL`` (default: the CI service), reached through ``search_path`` in the
URL, migrated, and dropped with everything in it afterwards, so a benchmark run beside the tests (or another run)
never sees their tables.

    with scratch_engine() as engine:
        fill(engine, ...)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from shopwatch.store.db import create_engine_for, migrate
from tests.store.db_fixtures import DEFAULT_POSTGRES_URL, POSTGRES_URL_ENV, _postgres_schema_url

POSTGRES_URL = os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL


@contextmanager
def scratch_schema(url: str = POSTGRES_URL) -> Iterator[str]:
    """The URL of a new, empty schema (``sw_bench_...``) on ``url``'s server, dropped after the block."""
    admin = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        yield from _postgres_schema_url(admin, "sw_bench")
    finally:
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
