"""The demo's sign-in: an admin called ``demo`` with a fresh random password on every ``shopwatch demo`` run.

Every route of the service needs a login and there is no default account; the demo is the one place that makes
one, on the demo's own database, so whoever runs ``make demo`` can open the console at once. The password is
new on each run (the previous one and its tokens stop working) and is only printed, never stored in clear."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from shopwatch.auth.audit import AuditTrail
from shopwatch.auth.secrets import new_hasher
from shopwatch.auth.users import Accounts
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import Settings
from shopwatch.core.principal import Role
from shopwatch.store.accounts import AccountRepository
from shopwatch.store.audit import AuditRepository
from shopwatch.store.db import engine_for_settings, migrate

USERNAME = "demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str

    def banner(self, url: str) -> str:
        return (
            f"  console              {url}/console/\n"
            f"  sign in as           {self.username} / {self.password}  (an admin; a new password each run)"
        )


def demo_login(settings: Settings) -> DemoLogin:
    """Create the demo admin, or give it a new password: what the next ``demo`` banner prints."""
    password = secrets.token_urlsafe(12)
    engine = engine_for_settings(settings, os.environ)
    clock = SystemClock()
    try:
        migrate(engine)
        accounts = Accounts(AccountRepository(engine), new_hasher(), clock, settings.auth.password_min_length)
        audit = AuditTrail(AuditRepository(engine), clock)
        if accounts.repo.user_named(USERNAME) is None:
            accounts.create_user(USERNAME, password, Role.ADMIN)
            action = "user.create"
        else:
            accounts.update_user(USERNAME, role=Role.ADMIN, enabled=True, password=password)
            action = "user.update"
        audit.record_blocking(None, action, USERNAME, {"role": Role.ADMIN.value}, "cli", actor="cli:shopwatch-demo")
    finally:
        engine.dispose()
    return DemoLogin(USERNAME, password)
