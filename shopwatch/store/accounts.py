"""Users, their login tokens and API keys.

Secrets are never stored: a user's password as its argon2id hash, a token and an API key's secret as their
SHA-256 (both are 256-bit random values, so a fast hash is enough: there is nothing to guess). A token row ties
the token to its user and its expiry; every request reads the row joined with its user, so disabling a user or
revoking a key takes effect on the next request, in every process sharing the database."""

from __future__ import annotations

import builtins
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Engine,
    ForeignKey,
    RowMapping,
    String,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from shopwatch.core.errors import Conflict
from shopwatch.store.base import Base, UtcDateTime
from shopwatch.store.db import write_transaction


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    grids: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))  # null: every grid
    password_hash: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TokenRow(Base):
    __tablename__ = "auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # public part of the key
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    grids: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    username: str
    role: str
    grids: tuple[str, ...] | None
    password_hash: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    name: str
    role: str
    grids: tuple[str, ...] | None
    secret_hash: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None


def _grids(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(g) for g in value)


def _user(row: RowMapping) -> UserRecord:
    return UserRecord(
        id=row["id"], username=row["username"], role=row["role"], grids=_grids(row["grids"]),
        password_hash=row["password_hash"], enabled=bool(row["enabled"]), created_at=row["created_at"],
        updated_at=row["updated_at"],
    )  # fmt: skip


def _key(row: RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"], name=row["name"], role=row["role"], grids=_grids(row["grids"]), secret_hash=row["secret_hash"],
        created_at=row["created_at"], created_by=row["created_by"], revoked_at=row["revoked_at"],
    )  # fmt: skip


def _values(record: UserRecord | ApiKeyRecord) -> dict[str, Any]:
    values = asdict(record)
    values["grids"] = None if record.grids is None else list(record.grids)
    return values


class UsernameTaken(Conflict):
    """A user with that name exists already."""


class AccountRepository:
    """Blocking database access (call it from a thread in async code)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    # -- users ---------------------------------------------------------------------------------------------

    def add_user(self, user: UserRecord) -> None:
        with self._write() as conn:
            taken = conn.execute(select(UserRow.id).where(UserRow.username == user.username)).first()
            if taken is not None:
                raise UsernameTaken(f"a user named {user.username!r} exists already")
            conn.execute(insert(UserRow).values(**_values(user)))

    def user(self, user_id: str) -> UserRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(UserRow.__table__).where(UserRow.id == user_id)).mappings().first()
        return None if row is None else _user(row)

    def user_named(self, username: str) -> UserRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(UserRow.__table__).where(UserRow.username == username)).mappings().first()
        return None if row is None else _user(row)

    def users(self) -> builtins.list[UserRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(UserRow.__table__).order_by(UserRow.username)).mappings()
            return [_user(r) for r in rows]

    def count_admins(self) -> int:
        with self._engine.connect() as conn:
            rows = conn.execute(select(UserRow.id).where(UserRow.role == "admin", UserRow.enabled.is_(True)))
            return len(rows.all())

    def update_user(self, user: UserRecord, *, revoke_tokens: bool) -> None:
        """Store ``user`` as given; with ``revoke_tokens`` its login tokens end in the same transaction."""
        with self._write() as conn:
            conn.execute(update(UserRow).where(UserRow.id == user.id).values(**_values(user)))
            if revoke_tokens:
                conn.execute(delete(TokenRow).where(TokenRow.user_id == user.id))

    # -- tokens --------------------------------------------------------------------------------------------

    def add_token(self, token_hash: str, user_id: str, created_at: datetime, expires_at: datetime) -> None:
        with self._write() as conn:
            values = {"token_hash": token_hash, "user_id": user_id, "created_at": created_at, "expires_at": expires_at}
            conn.execute(insert(TokenRow).values(**values))

    def token_user(self, token_hash: str, now: datetime) -> UserRecord | None:
        """The enabled user holding this unexpired token; None otherwise."""
        stmt = (
            select(UserRow.__table__)
            .join(TokenRow, TokenRow.user_id == UserRow.id)
            .where(TokenRow.token_hash == token_hash, TokenRow.expires_at > now, UserRow.enabled.is_(True))
        )
        with self._engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else _user(row)

    def delete_token(self, token_hash: str) -> bool:
        with self._write() as conn:
            return conn.execute(delete(TokenRow).where(TokenRow.token_hash == token_hash)).rowcount > 0

    def delete_expired_tokens(self, now: datetime) -> int:
        with self._write() as conn:
            return int(conn.execute(delete(TokenRow).where(TokenRow.expires_at <= now)).rowcount)

    # -- API keys ------------------------------------------------------------------------------------------

    def add_key(self, key: ApiKeyRecord) -> None:
        with self._write() as conn:
            conn.execute(insert(ApiKeyRow).values(**_values(key)))

    def key(self, key_id: str) -> ApiKeyRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(ApiKeyRow.__table__).where(ApiKeyRow.id == key_id)).mappings().first()
        return None if row is None else _key(row)

    def keys(self) -> builtins.list[ApiKeyRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(ApiKeyRow.__table__).order_by(ApiKeyRow.name, ApiKeyRow.id)).mappings()
            return [_key(r) for r in rows]

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """False when there is no such key or it was revoked before."""
        with self._write() as conn:
            stmt = update(ApiKeyRow).where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None)).values(revoked_at=at)
            return conn.execute(stmt).rowcount > 0
