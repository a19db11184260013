"""Managing users and API keys: the rules every door (CLI, admin API) applies the same way.

User names are short and plain; passwords have a minimum length and are stored only as argon2id hashes; a patrol
user or key must name its grids (a patrol that sees every grid would defeat the scoping); the last enabled admin
cannot be disabled or demoted, so the service can always be administered without touching the database."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from argon2 import PasswordHasher

from shopwatch.auth.grants import check_grant, covers
from shopwatch.auth.secrets import hash_password, new_key
from shopwatch.core.clock import Clock
from shopwatch.core.errors import Invalid, NotFound
from shopwatch.core.principal import Principal, PrincipalKind, Role
from shopwatch.store.accounts import AccountRepository, ApiKeyRecord, UserRecord

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
GRID_RE = re.compile(r"^\S.{0,63}$")
MAX_PASSWORD = 256  # argon2 takes any length; a cap keeps a login request from being a hashing workload
MAX_GRIDS = 64


class InvalidAccount(Invalid):
    """A user or key that breaks the rules above; the message says which and what was expected."""


class UnknownAccount(NotFound):
    """No user or key with that name or id."""


@dataclass(frozen=True, slots=True)
class CreatedKey:
    record: ApiKeyRecord
    plaintext: str  # shown once


def now_utc(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.wall(), UTC)


def check_grids(role: Role, grids: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if grids is not None:
        grids = tuple(sorted(set(grids)))
        if len(grids) > MAX_GRIDS or not all(GRID_RE.match(g) for g in grids):
            raise InvalidAccount(f"expected at most {MAX_GRIDS} grid names of 1-64 characters, found {list(grids)}")
    if role is Role.PATROL and not grids:
        raise InvalidAccount("expected at least one grid for a patrol user or key (patrol sees only its grids)")
    return grids or None


def principal_of_user(user: UserRecord) -> Principal:
    return _principal(PrincipalKind.USER, user.id, user.username, Role(user.role), user.grids)


def principal_of_key(key: ApiKeyRecord) -> Principal:
    return _principal(PrincipalKind.KEY, key.id, f"key:{key.name}", Role(key.role), key.grids)


def _principal(kind: PrincipalKind, pid: str, name: str, role: Role, grids: tuple[str, ...] | None) -> Principal:
    # A patrol row without grids (never written by this module) sees nothing rather than everything.
    scope = frozenset(grids) if grids is not None else (frozenset() if role is Role.PATROL else None)
    return Principal(kind=kind, id=pid, name=name, role=role, grids=scope)


class Accounts:
    """Users and API keys over the repository (blocking: call from a thread in async code)."""

    def __init__(self, repo: AccountRepository, hasher: PasswordHasher, clock: Clock, password_min_length: int) -> None:
        self.repo = repo
        self._hasher = hasher
        self._clock = clock
        self._min_password = password_min_length

    def check_password(self, password: str) -> None:
        if not self._min_password <= len(password) <= MAX_PASSWORD:
            raise InvalidAccount(
                f"expected a password of {self._min_password}-{MAX_PASSWORD} characters, found {len(password)}"
            )

    def create_user(
        self, username: str, password: str, role: Role, grids: tuple[str, ...] | None = None, *,
        by: Principal | None = None,
    ) -> UserRecord:  # fmt: skip
        """A new enabled user; ``by`` (None: the CLI) must hold the role and grids it grants (``GrantRefused``)."""
        if not USERNAME_RE.match(username):
            raise InvalidAccount(
                "expected a user name of 1-64 letters, digits, '.', '_', '@' or '-' starting with a letter or digit"
            )
        self.check_password(password)
        grids = check_grids(role, grids)
        check_grant(by, role, grids)
        now = now_utc(self._clock)
        user = UserRecord(
            id=uuid.uuid4().hex, username=username, role=role.value, grids=grids,
            password_hash=hash_password(self._hasher, password), enabled=True, created_at=now, updated_at=now,
        )  # fmt: skip
        self.repo.add_user(user)
        return user

    def user_named(self, username: str, *, by: Principal | None = None) -> UserRecord:
        """The user, if ``by`` (None: the CLI) may see it: a scoped caller sees accounts inside its grids only."""
        user = self.repo.user_named(username)
        if user is None or not covers(by, user.grids):
            raise UnknownAccount(f"no user named {username!r}")
        return user

    def users(self, *, by: Principal | None = None) -> list[UserRecord]:
        return [u for u in self.repo.users() if covers(by, u.grids)]

    def keys(self, *, by: Principal | None = None) -> list[ApiKeyRecord]:
        return [k for k in self.repo.keys() if covers(by, k.grids)]

    def update_user(
        self,
        username: str,
        *,
        role: Role | None = None,
        grids: tuple[str, ...] | None = None,
        enabled: bool | None = None,
        password: str | None = None,
        by: Principal | None = None,
    ) -> UserRecord:
        """Change what is given. Disabling, a new password or a new role or scope ends the user's tokens.
        ``by`` (None: the CLI) must see the user and hold the role and grids it leaves it with."""
        user = self.user_named(username, by=by)
        new_role = role or Role(user.role)
        new_grids = check_grids(new_role, grids if grids is not None else user.grids)
        check_grant(by, new_role, new_grids)
        changes: dict[str, object] = {"role": new_role.value, "grids": new_grids}
        if enabled is not None:
            changes["enabled"] = enabled
        if password is not None:
            self.check_password(password)
            changes["password_hash"] = hash_password(self._hasher, password)
        updated = replace(user, **changes, updated_at=now_utc(self._clock))  # type: ignore[arg-type]
        losing_admin = user.role == Role.ADMIN and user.enabled and (new_role is not Role.ADMIN or not updated.enabled)
        if losing_admin and self.repo.count_admins() <= 1:
            raise InvalidAccount(f"{username!r} is the last enabled admin: create another admin first")
        narrowed = (
            not updated.enabled or password is not None or updated.role != user.role or updated.grids != user.grids
        )
        self.repo.update_user(updated, revoke_tokens=narrowed)
        return updated

    def create_key(
        self, name: str, role: Role, grids: tuple[str, ...] | None, created_by: str, *, by: Principal | None = None
    ) -> CreatedKey:
        """A new key; ``by`` (None: the CLI) must hold the role and grids it grants (``GrantRefused``)."""
        if not USERNAME_RE.match(name):
            raise InvalidAccount("expected a key name of 1-64 letters, digits, '.', '_', '@' or '-'")
        grids = check_grids(role, grids)
        check_grant(by, role, grids)
        key = new_key()
        record = ApiKeyRecord(
            id=key.id, name=name, role=role.value, grids=grids, secret_hash=key.secret_hash,
            created_at=now_utc(self._clock), created_by=created_by,
        )  # fmt: skip
        self.repo.add_key(record)
        return CreatedKey(record, key.plaintext)

    def revoke_key(self, key_id: str, *, by: Principal | None = None) -> ApiKeyRecord:
        """Revoke a key ``by`` (None: the CLI) may see; one outside its grids is unknown to it."""
        seen = self.repo.key(key_id)
        if seen is None or not covers(by, seen.grids) or not self.repo.revoke_key(key_id, now_utc(self._clock)):
            raise UnknownAccount(f"no active API key {key_id!r}")
        record = self.repo.key(key_id)
        assert record is not None
        return record
