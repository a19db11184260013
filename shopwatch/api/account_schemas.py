"""Request and answer bodies of login, users, API keys and the audit log. Password hashes and key secrets
never appear in an answer (a new key's plaintext once, in ``KeyCreated``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shopwatch.auth.users import MAX_GRIDS, MAX_PASSWORD
from shopwatch.core.audit_records import AuditRecord
from shopwatch.core.principal import Principal, PrincipalKind, Role
from shopwatch.store.accounts import ApiKeyRecord, UserRecord

Grids = list[str] | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Body):
    username: str = Field(min_length=1, max_length=64, description="User name.")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD, description="Password.")


class PrincipalPublic(BaseModel):
    kind: PrincipalKind
    id: str
    name: str
    role: Role
    grids: Grids = Field(description="The grids this caller sees; null: every grid.")

    @classmethod
    def of(cls, principal: Principal) -> PrincipalPublic:
        grids = None if principal.grids is None else sorted(principal.grids)
        return cls(kind=principal.kind, id=principal.id, name=principal.name, role=principal.role, grids=grids)


class LoginAnswer(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>' (also set as an HttpOnly cookie).")
    token_type: str = "bearer"
    expires_at: datetime
    principal: PrincipalPublic


class UserPublic(BaseModel):
    id: str
    username: str
    role: Role
    grids: Grids
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: UserRecord) -> UserPublic:
        return cls(
            id=user.id, username=user.username, role=Role(user.role),
            grids=None if user.grids is None else list(user.grids), enabled=user.enabled, created_at=user.created_at,
            updated_at=user.updated_at,
        )  # fmt: skip


class UserCreate(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    role: Role
    grids: Grids = Field(None, max_length=MAX_GRIDS, description="Required for patrol users.")


class UserUpdate(_Body):
    role: Role | None = None
    grids: Grids = Field(None, max_length=MAX_GRIDS)
    enabled: bool | None = Field(None, description="false: the user's tokens stop working at once.")
    password: str | None = Field(None, min_length=1, max_length=MAX_PASSWORD)


class KeyCreate(_Body):
    name: str = Field(min_length=1, max_length=64)
    role: Role
    grids: Grids = Field(None, max_length=MAX_GRIDS, description="Only these grids (required for patrol keys).")


class KeyPublic(BaseModel):
    id: str
    name: str
    role: Role
    grids: Grids
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKeyRecord) -> KeyPublic:
        return cls(
            id=key.id, name=key.name, role=Role(key.role), grids=None if key.grids is None else list(key.grids),
            created_at=key.created_at, created_by=key.created_by, revoked_at=key.revoked_at,
        )  # fmt: skip


class KeyCreated(KeyPublic):
    key: str = Field(description="The API key; shown this once, stored only as a hash.")


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_kind: str
    role: str | None
    action: str
    target: str | None
    detail: dict[str, Any]
    client: str | None

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntryPublic:
        assert record.id is not None
        return cls(
            id=record.id, at=record.at, actor=record.actor, actor_kind=record.actor_kind, role=record.role,
            action=record.action, target=record.target, detail=record.detail, client=record.client,
        )  # fmt: skip


class AuditPage(BaseModel):
    entries: list[AuditEntryPublic]
    next_before_id: int | None = Field(description="Pass as before_id for the next (older) page; null at the end.")
