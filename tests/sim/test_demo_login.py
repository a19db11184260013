"""``shopwatch demo`` makes its own admin with a fresh password on every run, so the console it points to can be
signed in to at once; the previous run's password and tokens stop working."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopwatch.auth.login import LoginRefused, LoginService
from shopwatch.core.clock import ManualClock
from shopwatch.core.config import Settings
from shopwatch.core.principal import Role
from shopwatch.sim.demo_login import demo_login
from shopwatch.store.accounts import AccountRepository
from shopwatch.store.db import create_engine_for, database_url


def test_each_demo_run_gives_the_demo_admin_a_new_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPWATCH_DATABASE_URL", raising=False)
    settings = Settings.model_validate({"service": {"data_dir": str(tmp_path)}})
    first = demo_login(settings)
    engine = create_engine_for(database_url(settings, {}))
    auth = LoginService(AccountRepository(engine), settings.auth, ManualClock())
    token = auth.login(first.username, first.password, "127.0.0.1").token
    assert (auth.authenticate(token) or pytest.fail("no principal")).role is Role.ADMIN

    second = demo_login(settings)
    assert second.password != first.password and len(second.password) >= 16
    with pytest.raises(LoginRefused):
        auth.login(first.username, first.password, "127.0.0.1")
    assert auth.authenticate(token) is None  # the earlier run's sign-in ended
    assert auth.login(second.username, second.password, "127.0.0.1").principal.role is Role.ADMIN
    assert second.password in second.banner("http://127.0.0.1:8080")
    engine.dispose()
