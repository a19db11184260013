"""Where the database is, how to connect to it, and bringing its schema to the newest migration.

Embedded default: SQLite at ``<service.data_dir>/shopwatch.db`` (WAL journal so readers never wait for the
writer, foreign keys on, a busy timeout instead of instant "database is locked"). ``SHOPWATCH_DATABASE_URL``
(or ``service.database_url``) selects PostgreSQL, e.g. ``postgresql+psycopg://user@host:5432/shopwatch``.

Migrations are Alembic scripts inside this package (``shopwatch/store/migrations``); there is no alembic.ini.
To write a new one, bring a scratch database to head and let Alembic compare it with the table models::

    from alembic import command
    from shopwatch.store.db import alembic_config
    cfg = alembic_config("sqlite:////tmp/scratch.db")
    command.upgrade(cfg, "head")
    command.revision(cfg, "add events", autogenerate=True, rev_id="0002")  # then review versions/v0002_*.py

New table modules must be imported in ``migrations/env.py`` so their tables are on ``Base.metadata``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL

from shopwatch.core.config import Settings
from shopwatch.core.private_files import DIR_MODE, private_file
from shopwatch.store.secret_box import (
    KEY_FILE_NAME,
    SEALED,
    KeySource,
    SecretBox,
    bind_secrets,
    default_key_file,
    secrets_of,
)

log = logging.getLogger(__name__)

ENV_DATABASE_URL = "SHOPWATCH_DATABASE_URL"
SQLITE_FILE = "shopwatch.db"
SQLITE_BUSY_TIMEOUT_S = 30.0
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Execution option read by the SQLite "begin" hook: the statement that opens a transaction.
SQLITE_BEGIN = "shopwatch_sqlite_begin"
_MIGRATE_LOCK = "shopwatch-migrate"


def database_url(settings: Settings, env: Mapping[str, str]) -> str:
    """The database to use: ``SHOPWATCH_DATABASE_URL``, else ``service.database_url``, else SQLite in data_dir."""
    url = env.get(ENV_DATABASE_URL, "").strip() or settings.service.database_url
    if url:
        return url
    path = Path(settings.service.data_dir).expanduser().resolve() / SQLITE_FILE
    return URL.create("sqlite", database=str(path)).render_as_string()


def display_url(url: str) -> str:
    """The URL with its password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # readable Chinese in the database


def engine_for_settings(settings: Settings, env: Mapping[str, str]) -> Engine:
    """The service's database (``database_url``) with its secrets' key: ``SHOPWATCH_SECRET_KEY`` in ``env``, else
    ``service.secret_key_file``, else ``<data_dir>/secret.key`` (``store.secret_box``)."""
    key_file = default_key_file(settings.service.data_dir, settings.service.secret_key_file)
    return create_engine_for(database_url(settings, env), SecretBox(KeySource(env, key_file)))


def create_engine_for(url: str, secrets: SecretBox | None = None) -> Engine:
    """An engine for ``url``; for a SQLite file, its directory is created and the connection tuned. ``secrets``
    seal the camera passwords; by default ``SHOPWATCH_SECRET_KEY``, else (SQLite) ``secret.key`` beside the file."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(parsed, pool_pre_ping=True, json_serializer=_json_dumps)
        bind_secrets(engine, secrets or SecretBox(KeySource(os.environ, None)))
        return engine
    database = None
    if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
        database = Path(parsed.database).expanduser()
        database.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, json_serializer=_json_dumps)
    beside = None if database is None else database.resolve().parent / KEY_FILE_NAME
    bind_secrets(engine, secrets or SecretBox(KeySource(os.environ, beside)))
    _tune_sqlite(engine)
    if database is not None:
        file = database  # camera credentials and the audit log: the file (and so its WAL) is the owner's only
        event.listen(engine, "connect", lambda _conn, _record: private_file(file))
    return engine


def _tune_sqlite(engine: Engine) -> None:
    # pysqlite opens transactions lazily and never before DDL; take BEGIN into our own hands so that
    # migrations are atomic and writers can ask for BEGIN IMMEDIATE (the SQLAlchemy "pysqlite serializable"
    # recipe). Without IMMEDIATE, a read-then-write transaction in WAL mode fails at once with SQLITE_BUSY
    # when another writer committed in between, instead of waiting for the busy timeout.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no committed data
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(SQLITE_BEGIN, "BEGIN"))


def _enable_wal(cursor: Any) -> None:
    # WAL is a property of the file, set once by whichever connection comes first. Switching needs an
    # exclusive lock and SQLite answers "database is locked" at once, without the busy handler, when another
    # process is opening the same new file: retry for a bounded time.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.01, 0.05))


def write_options() -> dict[str, Any]:
    """Execution options for a connection that will write: on SQLite, take the write lock at BEGIN."""
    return {SQLITE_BEGIN: "BEGIN IMMEDIATE"}


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (on SQLite the write lock is taken at BEGIN, so two writers queue instead of one
    failing at its first write); committed when the block ends, rolled back on an exception."""
    with engine.connect() as conn:
        conn = conn.execution_options(**write_options())
        with conn.begin():
            yield conn


def dialect_insert(dialect: str, table: Any) -> Any:
    """``INSERT`` for ``table`` (a Table or a mapped class) with the ``ON CONFLICT`` clauses of the database
    ``dialect`` names (``on_conflict_do_nothing``, ``on_conflict_do_update``: PostgreSQL and SQLite spell them
    alike)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"expected PostgreSQL or SQLite, found {dialect}")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for the migrations in this package (no alembic.ini needed)."""
    cfg = Config()
    # ConfigParser interpolates '%': double it in values that are not templates.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def check_secrets(conn: Connection, box: SecretBox) -> None:
    """``SecretKeyError`` (one sentence naming the key file or variable) when encrypted passwords are stored and
    the key is missing or is not theirs: at start, rather than at the first camera that connects."""
    sample = conn.execute(
        text("SELECT password FROM cameras WHERE password LIKE :sealed LIMIT 1"), {"sealed": SEALED + "%"}
    ).scalar()
    if sample is not None:
        box.open(str(sample))


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration, then check that the key opens the stored secrets
    (``check_secrets``). Idempotent; two processes starting at once are serialised (PostgreSQL: an advisory lock
    per schema; SQLite: BEGIN IMMEDIATE), and the second finds nothing to do."""
    cfg = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(**write_options())
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key || coalesce(current_schema(), '')))"),
                    {"key": _MIGRATE_LOCK},
                )
            cfg.attributes["connection"] = conn
            cfg.attributes["secrets"] = secrets_of(engine)
            command.upgrade(cfg, "head")
            check_secrets(conn, secrets_of(engine))
    log.debug("database schema is at the newest migration: %s", display_url(str(engine.url)))
