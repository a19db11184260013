"""Database location, engine tuning and migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from shopwatch.core.config import CameraConfig, Service, Settings
from shopwatch.store import tables  # noqa: F401  (tables on Base.metadata)
from shopwatch.store.base import Base
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.db import alembic_config, create_engine_for, database_url, display_url, migrate


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@pytest.mark.parametrize(
    ("env", "configured", "expected"),
    [
        (
            {"SHOPWATCH_DATABASE_URL": "postgresql+psycopg://u@db/x"},
            "sqlite:///other.db",
            "postgresql+psycopg://u@db/x",
        ),
        ({"SHOPWATCH_DATABASE_URL": "  "}, "sqlite:////srv/sw.db", "sqlite:////srv/sw.db"),
        ({}, "postgresql+psycopg://u@db/y", "postgresql+psycopg://u@db/y"),
    ],
)
def test_database_url_prefers_env_then_config(env: dict[str, str], configured: str, expected: str) -> None:
    settings = Settings(service=Service(database_url=configured))
    assert database_url(settings, env) == expected


def test_database_url_defaults_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(service=Service(data_dir=str(tmp_path / "data")))
    assert database_url(settings, {}) == f"sqlite:///{tmp_path / 'data' / 'shopwatch.db'}"


def test_display_url_masks_the_password() -> None:
    shown = display_url("postgresql+psycopg://shop:s3cret-pw@db:5432/shopwatch")
    assert "s3cret-pw" not in shown
    assert shown == "postgresql+psycopg://shop:***@db:5432/shopwatch"


def test_sqlite_engine_creates_the_directory_and_tunes_connections(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "shopwatch.db"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "foreign_keys")}
            busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1}
        assert busy is not None and busy >= 5000
        assert path.exists()
    finally:
        engine.dispose()


def test_migrate_reaches_head_and_twice_is_a_no_op(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        assert _version(engine) is None
        migrate(engine)
        assert _version(engine) == _head()
        assert {"cameras", "registry_state", "alembic_version"} <= set(inspect(engine).get_table_names())
        repo = CameraRepository(engine)
        repo.upsert_many([CameraConfig(id="cam-1", name="Shop", grid="g1", host="10.0.0.1")], "csv")
        before = repo.revision()

        migrate(engine)

        assert _version(engine) == _head()
        assert repo.revision() == before
        assert [c.id for c in repo.list()] == ["cam-1"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_migrations_match_the_table_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def _migrate_in_child(url: str, barrier: Any) -> None:
    engine = create_engine_for(url)
    barrier.wait()
    migrate(engine)  # an exception here makes the exit code non-zero
    engine.dispose()


def test_two_processes_migrating_at_once_both_succeed(db_url: str) -> None:
    # Real processes: Alembic's context is process-global, and on a new SQLite file both race to switch to WAL.
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2, timeout=30)
    children = [ctx.Process(target=_migrate_in_child, args=(db_url, barrier)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        if child.is_alive():
            child.kill()
    assert [child.exitcode for child in children] == [0, 0]
    engine = create_engine_for(db_url)
    try:
        assert _version(engine) == _head()
        assert CameraRepository(engine).revision() == 0
    finally:
        engine.dispose()
