"""Private data: the SQLite database (and so its WAL) is 0600 and its new directory 0700 whatever the umask, and
a real ``shopwatch serve`` leaves nothing in its data directory that another local user could read."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from shopwatch.store.db import create_engine_for, migrate
from tests.api.test_limits import served_fixture  # noqa: F401  (a real `shopwatch serve` subprocess)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(name="open_umask")
def open_umask_fixture() -> Iterator[None]:
    previous = os.umask(0o022)  # a login shell's usual umask: files 0644
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_a_new_sqlite_database_is_the_owners_only(tmp_path: Path) -> None:
    database = tmp_path / "new" / "shopwatch.db"
    engine = create_engine_for(f"sqlite:///{database}")
    migrate(engine)
    with engine.connect() as conn:
        conn.execute(text("select 1"))
    assert mode(database.parent) == 0o700
    assert mode(database) == 0o600
    for companion in database.parent.glob("shopwatch.db-*"):  # the WAL and shared memory: SQLite copies the mode
        assert mode(companion) == 0o600, companion
    engine.dispose()


@pytest.mark.usefixtures("served")
def test_a_served_data_directory_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert mode(data) == 0o700
    made = list(data.rglob("*"))
    assert any(p.name == "shopwatch.db" for p in made)
    for path in made:
        assert mode(path) & 0o077 == 0, (path, oct(mode(path)))
