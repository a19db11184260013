"""``/api/auth``: login (the one open route besides /healthz), logout and who am I.

A login answers the token in the body (for ``Authorization: Bearer``) and as an HttpOnly cookie (for the
browser console, which then needs no script access to the token). Every login, failed and refused ones too, is
in the audit log with the client's address."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response, status

from shopwatch.api.access.deps import AuditDep, LoginServiceDep, PrincipalDep, client_address, presented_credential
from shopwatch.api.account_schemas import LoginAnswer, LoginRequest, PrincipalPublic
from shopwatch.auth.login import LoginLimited, LoginRefused

public_router = APIRouter(prefix="/api/auth", tags=["auth"])
router = APIRouter(prefix="/auth", tags=["auth"])


@public_router.post(
    "/login",
    response_model=LoginAnswer,
    summary="Sign in with user name and password",
    responses={401: {"description": "Wrong user name or password."}, 429: {"description": "Too many attempts."}},
)
async def login(
    body: LoginRequest, request: Request, response: Response, auth: LoginServiceDep, audit: AuditDep
) -> LoginAnswer:
    client = client_address(request)
    try:
        result = await asyncio.to_thread(auth.login, body.username, body.password, client)
    except LoginLimited as exc:
        await audit.record(None, "login.limited", body.username, {"scope": exc.scope}, client, actor=body.username)
        raise  # 429 with Retry-After (api.errors)
    except LoginRefused:
        await audit.record(None, "login.failed", body.username, {}, client, actor=body.username)
        raise  # 401 with WWW-Authenticate (api.errors)
    await audit.record(result.principal, "login", result.principal.name, {}, client)
    settings = auth.settings
    response.set_cookie(
        settings.cookie_name,
        result.token,
        max_age=int(settings.token_ttl_s),
        httponly=True,
        secure=settings.cookie_secure,
        samesite=settings.cookie_samesite,
        path="/",
    )
    response.headers["Cache-Control"] = "no-store"
    return LoginAnswer(token=result.token, expires_at=result.expires_at, principal=PrincipalPublic.of(result.principal))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this login token")
async def logout(request: Request, principal: PrincipalDep, auth: LoginServiceDep, audit: AuditDep) -> Response:
    credential = presented_credential(request, auth.settings.cookie_name)
    if credential is not None:
        await asyncio.to_thread(auth.logout, credential)
    await audit.record(principal, "logout", principal.name, {}, client_address(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(auth.settings.cookie_name, path="/")
    return response


@router.get("/me", response_model=PrincipalPublic, summary="Who the credentials belong to")
async def me(principal: PrincipalDep) -> PrincipalPublic:
    return PrincipalPublic.of(principal)
