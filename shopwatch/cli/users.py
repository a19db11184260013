"""``shopwatch users`` (create-admin, add, list, disable, enable) and ``shopwatch keys`` (create, list, revoke).

They work on the database the service uses (found through the config or ``SHOPWATCH_DATABASE_URL``, migrated
first). Passwords are asked for without echo (twice) or read from standard input with ``--password-stdin``;
there is no default password and none is ever printed. A new API key is printed once. Every change is in the
audit log as done by ``cli:<login name>``."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from shopwatch.auth.audit import AuditTrail
from shopwatch.auth.secrets import new_hasher
from shopwatch.auth.users import Accounts, InvalidAccount, UnknownAccount
from shopwatch.cli.common import EXIT_INVALID, ConfigOption, migrated_database, settings_or_exit
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import Settings
from shopwatch.core.principal import Role
from shopwatch.store.accounts import AccountRepository, UsernameTaken
from shopwatch.store.audit import AuditRepository

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]
GridOption = Annotated[list[str] | None, typer.Option("--grid", help="A grid this account sees (repeat).")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON array instead of lines.")]


class _Tools:
    def __init__(self, accounts: Accounts, audit: AuditTrail) -> None:
        self.accounts = accounts
        self.audit = audit
        self.actor = f"cli:{getpass.getuser()}"

    def record(self, action: str, target: str, detail: dict[str, object]) -> None:
        self.audit.record_blocking(None, action, target, detail, "cli", actor=self.actor)


@contextmanager
def _tools(settings: Settings) -> Iterator[_Tools]:
    clock = SystemClock()
    with migrated_database(settings) as engine:
        try:
            accounts = Accounts(AccountRepository(engine), new_hasher(), clock, settings.auth.password_min_length)
            yield _Tools(accounts, AuditTrail(AuditRepository(engine), clock))
        except (InvalidAccount, UnknownAccount, UsernameTaken) as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(EXIT_INVALID) from None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            typer.echo("expected a password on standard input, found nothing", err=True)
            raise typer.Exit(EXIT_INVALID)
        return line
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat the password", hide_input=True) != first:
        typer.echo("the two passwords differ", err=True)
        raise typer.Exit(EXIT_INVALID)
    return str(first)


def _add(settings: Settings, username: str, role: Role, grids: list[str] | None, from_stdin: bool) -> None:
    password = _password(from_stdin)
    with _tools(settings) as tools:
        user = tools.accounts.create_user(username, password, role, tuple(grids) if grids else None)
        tools.record("user.create", user.username, {"role": user.role, "grids": grids})
    typer.echo(f"created {role.value} {username!r}")


def create_admin_cmd(
    username: Annotated[str, typer.Argument(help="The admin's user name.")] = "admin",
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
) -> None:
    """Create an admin user (the first one, or another). There is no default password."""
    _add(settings_or_exit(config), username, Role.ADMIN, None, password_stdin)


def add_cmd(
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[Role, typer.Option("--role", help="admin, operator, patrol or viewer.")],
    grid: GridOption = None,
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
) -> None:
    """Add a user; patrol users need at least one --grid."""
    _add(settings_or_exit(config), username, role, grid, password_stdin)


def list_cmd(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Every user with role, grids and whether enabled (never a password hash)."""
    with _tools(settings_or_exit(config)) as tools:
        users = tools.accounts.repo.users()
    rows = [
        {"username": u.username, "role": u.role, "grids": list(u.grids) if u.grids else None, "enabled": u.enabled}
        for u in users
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        grids = ",".join(row["grids"] or []) or "all grids"  # type: ignore[arg-type]
        typer.echo(f"{row['username']}\t{row['role']}\t{grids}\t{'enabled' if row['enabled'] else 'disabled'}")


def _set_enabled(config: ConfigOption, username: str, enabled: bool) -> None:
    with _tools(settings_or_exit(config)) as tools:
        tools.accounts.update_user(username, enabled=enabled)
        tools.record("user.update", username, {"enabled": enabled})
    typer.echo(f"{'enabled' if enabled else 'disabled'} {username!r}" + ("" if enabled else "; its tokens ended"))


def disable_cmd(username: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Disable a user: its tokens stop working at once."""
    _set_enabled(config, username, False)


def enable_cmd(username: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Enable a disabled user again (it must log in anew)."""
    _set_enabled(config, username, True)


def key_create_cmd(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. prometheus or grid3-bot.")],
    role: Annotated[Role, typer.Option("--role", help="admin, operator, patrol or viewer.")],
    grid: GridOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an API key and print it once (it is stored only as a hash)."""
    with _tools(settings_or_exit(config)) as tools:
        created = tools.accounts.create_key(name, role, tuple(grid) if grid else None, tools.actor)
        tools.record("key.create", created.record.id, {"name": name, "role": role.value, "grids": grid})
    typer.echo(f"key {created.record.id} ({name}, {role.value}); shown this once:", err=True)
    typer.echo(created.plaintext)


def key_list_cmd(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Every API key (never its secret)."""
    with _tools(settings_or_exit(config)) as tools:
        keys = tools.accounts.repo.keys()
    rows = [
        {"id": k.id, "name": k.name, "role": k.role, "grids": list(k.grids) if k.grids else None,
         "revoked": k.revoked_at is not None}
        for k in keys
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else "active"
        typer.echo(f"{row['id']}\t{row['name']}\t{row['role']}\t{','.join(row['grids'] or []) or 'all grids'}\t{state}")  # type: ignore[arg-type]


def key_revoke_cmd(key_id: Annotated[str, typer.Argument(help="The key's id (from keys list).")],
                   config: ConfigOption = None) -> None:  # fmt: skip
    """Revoke an API key: it stops working at once."""
    with _tools(settings_or_exit(config)) as tools:
        record = tools.accounts.revoke_key(key_id)
        tools.record("key.revoke", key_id, {"name": record.name})
    typer.echo(f"revoked key {key_id} ({record.name})")


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Operator accounts: create-admin, add, list, disable, enable.", no_args_is_help=True)
    users.command("create-admin")(create_admin_cmd)
    users.command("add")(add_cmd)
    users.command("list")(list_cmd)
    users.command("disable")(disable_cmd)
    users.command("enable")(enable_cmd)
    app.add_typer(users, name="users")
    keys = typer.Typer(help="API keys for integrations: create, list, revoke.", no_args_is_help=True)
    keys.command("create")(key_create_cmd)
    keys.command("list")(key_list_cmd)
    keys.command("revoke")(key_revoke_cmd)
    app.add_typer(keys, name="keys")
