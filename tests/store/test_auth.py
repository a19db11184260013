"""Users, tokens, API keys and the audit log on SQLite and PostgreSQL; the migrations stay one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from shopwatch.core.audit_records import AuditRecord
from shopwatch.store import accounts, audit  # noqa: F401  (their tables on Base.metadata)
from shopwatch.store.accounts import AccountRepository, ApiKeyRecord, UsernameTaken, UserRecord
from shopwatch.store.audit import AuditFilter, AuditRepository
from shopwatch.store.base import Base
from shopwatch.store.db import alembic_config

T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def user(name: str, role: str = "operator", grids: tuple[str, ...] | None = None) -> UserRecord:
    return UserRecord(f"id-{name}", name, role, grids, "$argon2id$...", True, T0, T0)


def test_the_migrations_have_a_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_migrations_match_the_auth_and_audit_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_users_and_tokens(engine: Engine) -> None:
    repo = AccountRepository(engine)
    repo.add_user(user("alice", "patrol", ("grid-3",)))
    with pytest.raises(UsernameTaken):
        repo.add_user(user("alice"))
    assert repo.user_named("alice") == user("alice", "patrol", ("grid-3",))

    repo.add_token("h1", "id-alice", T0, T0 + timedelta(hours=1))
    assert repo.token_user("h1", T0 + timedelta(minutes=59)) is not None
    assert repo.token_user("h1", T0 + timedelta(hours=1)) is None  # expired
    assert repo.token_user("nope", T0) is None

    repo.add_token("h2", "id-alice", T0, T0 + timedelta(hours=1))
    repo.update_user(
        UserRecord("id-alice", "alice", "patrol", ("grid-3",), "$argon2id$...", False, T0, T0), revoke_tokens=True
    )
    assert repo.token_user("h2", T0) is None
    assert repo.delete_expired_tokens(T0 + timedelta(days=1)) == 0  # revoking deleted them already


def test_keys(engine: Engine) -> None:
    repo = AccountRepository(engine)
    key = ApiKeyRecord("0123456789ab", "bot", "viewer", None, "f" * 64, T0, "admin")
    repo.add_key(key)
    assert repo.keys() == [key]
    assert repo.revoke_key(key.id, T0) and not repo.revoke_key(key.id, T0)
    assert repo.key(key.id) is not None and repo.key(key.id).revoked_at == T0  # type: ignore[union-attr]


def test_audit_append_and_query(engine: Engine) -> None:
    repo = AuditRepository(engine)
    ids = [
        repo.append(AuditRecord(T0 + timedelta(seconds=i), "alice", "user", a, "operator", "cam-1", {"n": i}))
        for i, a in enumerate(["login.failed", "login", "talkback.start_talk", "login.limited"])
    ]
    assert ids == sorted(ids)
    everything = repo.query(AuditFilter())
    assert [r.action for r in everything] == ["login.limited", "talkback.start_talk", "login", "login.failed"]
    assert everything[0].detail == {"n": 3} and everything[0].at == T0 + timedelta(seconds=3)
    assert [r.action for r in repo.query(AuditFilter(action="login."))] == ["login.limited", "login.failed"]
    assert [r.id for r in repo.query(AuditFilter(before_id=ids[2], limit=1))] == [ids[1]]
    assert len(repo.query(AuditFilter(since=T0 + timedelta(seconds=1), until=T0 + timedelta(seconds=3)))) == 2
