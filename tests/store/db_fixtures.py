"""Database fixtures, loaded for the whole test tree by ``tests/conftest.py``.

``db_url`` runs a test twice: on a fresh SQLite file, and on PostgreSQL in a schema created for that test alone
(``search_path`` set through the URL) and dropped afterwards, so people running tests against the same server at
the same time never see each other's tables. PostgreSQL comes from ``SHOPWATCH_TEST_POSTGRES_URL`` (default:
the CI service); when it is unreachable the PostgreSQL half is skipped, or fails with
``SHOPWATCH_REQUIRE_POSTGRES=1``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from shopwatch.store.db import create_engine_for, migrate
from shopwatch.store.secret_box import KeySource, SecretBox

POSTGRES_URL_ENV = "SHOPWATCH_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "SHOPWATCH_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL server, or a skip (a failure when PostgreSQL is required)."""
    url = os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is unreachable: {exc.orig}"
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{reason} (and {REQUIRE_POSTGRES_ENV}=1)")
        pytest.skip(reason)
    yield engine
    engine.dispose()


def _postgres_schema_url(admin: Engine, prefix: str = "sw_test") -> Iterator[str]:
    """Yields the URL of a new schema on ``admin``'s server once, then drops it (the benchmarks' scratch too)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated): a SQLite file in a directory that does not exist yet, or a fresh
    PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'shopwatch.db'}"
        return
    yield from _postgres_schema_url(request.getfixturevalue("postgres_admin"))


def key_file_box(path: Path) -> SecretBox:
    """The secrets of a test database: sealed under a key file at ``path`` (created at the first password)."""
    return SecretBox(KeySource({}, path))


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated engine on ``db_url``; camera passwords sealed with the key file ``<tmp_path>/keys/secret.key``."""
    engine = create_engine_for(db_url, key_file_box(tmp_path / "keys" / "secret.key"))
    migrate(engine)
    yield engine
    engine.dispose()
