"""``shopwatch users`` and ``shopwatch keys`` through the Typer app, against the database the service reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from shopwatch.auth.login import LoginService
from shopwatch.cli.users import register
from shopwatch.core.access_config import AuthSettings
from shopwatch.core.clock import SystemClock
from shopwatch.store.accounts import AccountRepository
from shopwatch.store.audit import AuditFilter, AuditRepository
from shopwatch.store.db import create_engine_for

PASSWORD = "first-admin-pw-42"


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SHOPWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("SHOPWATCH_CONFIG", raising=False)
    path = tmp_path / "shopwatch.yaml"
    path.write_text(f"service:\n  data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    return path


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return create_engine_for(f"sqlite:///{tmp_path / 'data' / 'shopwatch.db'}")


def run(config: Path, *args: str, stdin: str = "") -> Result:
    result = CliRunner().invoke(_app(), [*args, "--config", str(config)], input=stdin)
    assert PASSWORD not in result.output
    return result


def authenticator(engine: Engine) -> LoginService:
    return LoginService(AccountRepository(engine), AuthSettings(), SystemClock())


def test_create_admin_from_stdin_then_log_in_and_disable(config: Path, engine: Engine) -> None:
    created = run(config, "users", "create-admin", "chief", "--password-stdin", stdin=PASSWORD + "\n")
    assert created.exit_code == 0, created.output

    auth = authenticator(engine)
    login = auth.login("chief", PASSWORD, "127.0.0.1")
    assert login.principal.role.value == "admin"
    assert auth.authenticate(login.token) == login.principal
    assert auth.accounts.repo.user_named("chief").password_hash.startswith("$argon2id$")  # type: ignore[union-attr]

    # The last admin cannot be disabled; with a second one it can, and its token stops at once.
    assert run(config, "users", "disable", "chief").exit_code == 2
    assert run(config, "users", "create-admin", "deputy", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 0
    assert run(config, "users", "disable", "chief").exit_code == 0
    assert auth.authenticate(login.token) is None
    listed = json.loads(run(config, "users", "list", "--json").stdout)
    assert [(u["username"], u["enabled"]) for u in listed] == [("chief", False), ("deputy", True)]

    actions = [(e.action, e.target) for e in AuditRepository(engine).query(AuditFilter())]
    assert actions == [("user.update", "chief"), ("user.create", "deputy"), ("user.create", "chief")]


def test_prompted_password_twice_and_no_default(config: Path, engine: Engine) -> None:
    differ = run(config, "users", "create-admin", stdin=f"{PASSWORD}\nsomething-else-1\n")
    assert differ.exit_code == 2 and "differ" in differ.output
    assert run(config, "users", "create-admin", "--password-stdin", stdin="\n").exit_code == 2
    short = run(config, "users", "create-admin", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "expected a password of 10-256 characters" in short.output
    assert authenticator(engine).accounts.repo.users() == []

    prompted = run(config, "users", "create-admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert authenticator(engine).login("admin", PASSWORD, "127.0.0.1").principal.name == "admin"


def test_patrol_users_need_grids(config: Path) -> None:
    refused = run(config, "users", "add", "p3", "--role", "patrol", "--password-stdin", stdin=PASSWORD + "\n")
    assert refused.exit_code == 2 and "at least one grid" in refused.output
    args = ("users", "add", "p3", "--role", "patrol", "--grid", "grid-3", "--password-stdin")
    assert run(config, *args, stdin=PASSWORD + "\n").exit_code == 0
    assert run(config, "users", "list").stdout.split() == ["p3", "patrol", "grid-3", "enabled"]


def test_keys_create_list_revoke(config: Path, engine: Engine) -> None:
    created = run(config, "keys", "create", "grid3-bot", "--role", "patrol", "--grid", "grid-3")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("swk_")

    auth = authenticator(engine)
    principal = auth.authenticate(key)
    assert principal is not None and principal.grids == frozenset({"grid-3"}) and principal.name == "key:grid3-bot"
    listed = json.loads(run(config, "keys", "list", "--json").stdout)
    assert listed == [{"id": principal.id, "name": "grid3-bot", "role": "patrol", "grids": ["grid-3"],
                       "revoked": False}]  # fmt: skip
    assert key.split("_", 2)[2] not in run(config, "keys", "list").output

    assert run(config, "keys", "revoke", principal.id).exit_code == 0
    assert auth.authenticate(key) is None
    assert run(config, "keys", "revoke", principal.id).exit_code == 2  # already revoked
