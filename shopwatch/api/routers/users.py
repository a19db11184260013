"""``/api/users`` and ``/api/keys``: admins manage operator accounts and integration keys. Every change is in
the audit log; disabling a user or changing its password, role or grids ends its tokens at once. A caller scoped
to grids sees and manages only the accounts inside its grids and grants no more than it holds (``auth.grants``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, status

from shopwatch.api.access.deps import AuditDep, LoginServiceDep, PrincipalDep, client_address
from shopwatch.api.account_schemas import KeyCreate, KeyCreated, KeyPublic, UserCreate, UserPublic, UserUpdate

users_router = APIRouter(prefix="/users", tags=["users"])
keys_router = APIRouter(prefix="/keys", tags=["users"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such user or key (or not in your grids)."}}
_GRANT: dict[int | str, dict[str, Any]] = {403: {"description": "More than the caller holds (role or grids)."}}


@users_router.get("", response_model=list[UserPublic], summary="Every user, by name")
async def list_users(principal: PrincipalDep, auth: LoginServiceDep) -> list[UserPublic]:
    return [UserPublic.of(u) for u in await asyncio.to_thread(lambda: auth.accounts.users(by=principal))]


@users_router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED, responses={409: {}, **_GRANT})
async def create_user(
    body: UserCreate, request: Request, principal: PrincipalDep, auth: LoginServiceDep, audit: AuditDep
) -> UserPublic:
    grids = None if body.grids is None else tuple(body.grids)
    user = await asyncio.to_thread(
        lambda: auth.accounts.create_user(body.username, body.password, body.role, grids, by=principal)
    )
    detail = {"role": user.role, "grids": body.grids}
    await audit.record(principal, "user.create", user.username, detail, client_address(request))
    return UserPublic.of(user)


@users_router.get("/{username}", response_model=UserPublic, responses=_NOT_FOUND)
async def get_user(username: str, principal: PrincipalDep, auth: LoginServiceDep) -> UserPublic:
    return UserPublic.of(await asyncio.to_thread(lambda: auth.accounts.user_named(username, by=principal)))


@users_router.patch("/{username}", response_model=UserPublic, responses={**_NOT_FOUND, **_GRANT})
async def update_user(
    username: str, body: UserUpdate, request: Request, principal: PrincipalDep, auth: LoginServiceDep,
    audit: AuditDep,
) -> UserPublic:  # fmt: skip
    grids = None if body.grids is None else tuple(body.grids)
    user = await asyncio.to_thread(
        lambda: auth.accounts.update_user(
            username, role=body.role, grids=grids, enabled=body.enabled, password=body.password, by=principal
        )
    )
    changed = body.model_dump(exclude_none=True, exclude={"password"})
    if body.password is not None:
        changed["password"] = "changed"  # that it changed, never the value
    await audit.record(principal, "user.update", username, changed, client_address(request))
    return UserPublic.of(user)


@keys_router.get("", response_model=list[KeyPublic], summary="Every API key (revoked ones too), by name")
async def list_keys(principal: PrincipalDep, auth: LoginServiceDep) -> list[KeyPublic]:
    return [KeyPublic.of(k) for k in await asyncio.to_thread(lambda: auth.accounts.keys(by=principal))]


@keys_router.post("", response_model=KeyCreated, status_code=status.HTTP_201_CREATED, responses=_GRANT)
async def create_key(
    body: KeyCreate, request: Request, principal: PrincipalDep, auth: LoginServiceDep, audit: AuditDep
) -> KeyCreated:
    grids = None if body.grids is None else tuple(body.grids)
    created = await asyncio.to_thread(
        lambda: auth.accounts.create_key(body.name, body.role, grids, principal.name, by=principal)
    )
    detail = {"name": body.name, "role": body.role.value, "grids": body.grids}
    await audit.record(principal, "key.create", created.record.id, detail, client_address(request))
    return KeyCreated(**KeyPublic.of(created.record).model_dump(), key=created.plaintext)


@keys_router.delete("/{key_id}", response_model=KeyPublic, responses=_NOT_FOUND, summary="Revoke a key at once")
async def revoke_key(
    key_id: str, request: Request, principal: PrincipalDep, auth: LoginServiceDep, audit: AuditDep
) -> KeyPublic:
    record = await asyncio.to_thread(lambda: auth.accounts.revoke_key(key_id, by=principal))
    await audit.record(principal, "key.revoke", key_id, {"name": record.name}, client_address(request))
    return KeyPublic.of(record)
