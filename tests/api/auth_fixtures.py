"""Credentials for API tests: the real authenticator and audit log on a migrated SQLite file, users made on
demand, and bearer headers for them.

The password hasher is argon2id with the smallest parameters (one pass over 8 MiB) so that tests log in
quickly; production uses argon2-cffi's defaults."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from shopwatch.auth.audit import AuditTrail
from shopwatch.auth.login import LoginService
from shopwatch.core.access_config import AuthSettings
from shopwatch.core.audit_records import AuditRecord
from shopwatch.core.clock import Clock, ManualClock
from shopwatch.core.principal import Role
from shopwatch.store.accounts import AccountRepository
from shopwatch.store.audit import AuditFilter, AuditRepository
from shopwatch.store.db import create_engine_for, migrate

PASSWORD = "correct horse battery"
TEST_SETTINGS = AuthSettings(cookie_secure=False)  # the test clients speak plain HTTP


def fast_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


@dataclass
class AuthKit:
    """The authenticator and audit log handed to ``Services``, and bearer headers for users made on demand."""

    auth: LoginService
    audit: AuditTrail
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)

    def user(self, username: str, role: Role = Role.OPERATOR, grids: tuple[str, ...] | None = None) -> str:
        """A token for ``username`` (created with ``role`` and ``grids`` the first time)."""
        if username not in self.tokens:
            if self.auth.accounts.repo.user_named(username) is None:
                self.auth.accounts.create_user(username, PASSWORD, role, grids)
            self.tokens[username] = self.auth.login(username, PASSWORD, "127.0.0.1").token
        return self.tokens[username]

    def headers(
        self, username: str = "admin", role: Role | None = None, grids: tuple[str, ...] | None = None
    ) -> dict[str, str]:
        """``Authorization`` for ``username``; "admin" is an admin, other names default to operators."""
        chosen = role or (Role.ADMIN if username == "admin" else Role.OPERATOR)
        return {"Authorization": f"Bearer {self.user(username, chosen, grids)}"}

    def entries(self, **where: object) -> list[AuditRecord]:
        """Audit entries, newest first."""
        return AuditRepository(self.engine).query(AuditFilter(**where))  # type: ignore[arg-type]


def open_kit(engine: Engine, clock: Clock | None = None, settings: AuthSettings = TEST_SETTINGS) -> AuthKit:
    clock = clock or ManualClock()
    auth = LoginService(AccountRepository(engine), settings, clock, hasher=fast_hasher())
    return AuthKit(auth, AuditTrail(AuditRepository(engine), clock), engine)


@pytest.fixture(name="migrated_template", scope="session")
def migrated_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest migration, made once and copied by ``auth_engine`` (migrating is slow)."""
    path = tmp_path_factory.mktemp("auth-template") / "shopwatch.db"
    engine = create_engine_for(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(name="auth_engine")
def auth_engine_fixture(migrated_template: Path, tmp_path: Path) -> Engine:
    path = tmp_path / "auth-db" / "shopwatch.db"
    path.parent.mkdir(parents=True)
    shutil.copyfile(migrated_template, path)
    return create_engine_for(f"sqlite:///{path}")


@pytest.fixture(name="auth_kit")
def auth_kit_fixture(auth_engine: Engine) -> AuthKit:
    return open_kit(auth_engine)
