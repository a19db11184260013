"""Route dependencies for authentication and roles.

``authenticate`` runs once per request (FastAPI caches a dependency within a request), reads a bearer token or
API key from ``Authorization``, else the login cookie, and asks the authenticator (in a thread: it reads the
database) for the principal. No credential, or one that is unknown, expired, revoked or belongs to a disabled
user: 401 with ``WWW-Authenticate: Bearer``. The same works for WebSockets, where the 401 is the handshake's
denial response."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, status
from starlette.requests import HTTPConnection

from shopwatch.api.access.targets import target_grid
from shopwatch.api.client_address import client_of
from shopwatch.api.deps import ContextDep, get_context
from shopwatch.auth.audit import AuditTrail
from shopwatch.auth.login import LoginService
from shopwatch.core.principal import Permission, Principal

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_CREDENTIAL = 512  # ours are ~50 characters; a huge header is refused before any lookup
UNAUTHORIZED = {"description": "No valid token or API key (or the user is disabled)."}
FORBIDDEN = {"description": "The caller's role does not allow this."}


def get_login_service(context: ContextDep) -> LoginService:
    auth = context.services.auth
    if auth is None:  # fail closed: an app without authentication serves nothing behind it
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="authentication is not set up")
    return auth


def get_audit(context: ContextDep) -> AuditTrail:
    audit = context.services.audit
    if audit is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="the audit log is not set up")
    return audit


LoginServiceDep = Annotated[LoginService, Depends(get_login_service)]
AuditDep = Annotated[AuditTrail, Depends(get_audit)]


def client_address(conn: HTTPConnection) -> str:
    """Where the request came from: the peer, or behind a trusted proxy what it forwarded (``client_address``)."""
    proxies = get_context(conn).settings.api.security.trusted_proxies
    peer = conn.client.host if conn.client is not None else None
    return client_of(peer, conn.headers.getlist("x-forwarded-for"), proxies)


def presented_credential(conn: HTTPConnection, cookie_name: str) -> str | None:
    header = conn.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    return conn.cookies.get(cookie_name) or None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(conn: HTTPConnection, auth: LoginServiceDep) -> Principal:
    credential = presented_credential(conn, auth.settings.cookie_name)
    if credential is None:
        raise _unauthorized("authentication required: a bearer token or API key, or the login cookie")
    if len(credential) > MAX_CREDENTIAL or not credential.isascii():
        raise _unauthorized("invalid or expired credentials")
    principal = await asyncio.to_thread(auth.authenticate, credential)
    if principal is None:
        raise _unauthorized("invalid or expired credentials")
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def _forbidden(principal: Principal, permission: Permission) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN, detail=f"role {principal.role.value!r} may not do this (needs {permission.value!r})"
    )


def require(permission: Permission) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that answers 403 unless the caller's role has ``permission``; gives the principal."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.has(permission):
            raise _forbidden(principal, permission)
        return principal

    return check


class Access:
    """A router-wide rule: reads (GET, HEAD) need ``read``, everything else (and WebSockets, which talk or
    stream) needs ``write``. Routes may add a stricter ``require`` of their own."""

    def __init__(self, read: Permission, write: Permission) -> None:
        self.read = read
        self.write = write

    async def __call__(self, conn: HTTPConnection, principal: PrincipalDep) -> Principal:
        method = conn.scope.get("method")
        needed = self.read if conn.scope["type"] == "http" and method in READ_METHODS else self.write
        if not principal.has(needed):
            raise _forbidden(principal, needed)
        return principal


class AuditWrites:
    """A router-wide audit: every write (not GET/HEAD) and every WebSocket is recorded as
    ``<subject>.<route name>`` with the path's ids as target and their grid in the detail, before the route
    runs (its outcome is the route's own record, e.g. the talkback audit). Put it after ``Access`` so refused
    callers are not recorded as acting."""

    def __init__(self, subject: str) -> None:
        self.subject = subject

    async def __call__(
        self, conn: HTTPConnection, principal: PrincipalDep, audit: AuditDep, context: ContextDep
    ) -> None:
        method = conn.scope.get("method")
        if conn.scope["type"] == "http" and method in READ_METHODS:
            return
        name = getattr(conn.scope.get("route"), "name", None) or "request"
        target = "/".join(str(v) for v in conn.path_params.values()) or None
        detail = {"method": method or "WEBSOCKET", "path": conn.url.path}
        grid = await target_grid(context.services, conn.path_params)
        if grid is not None:
            detail["grid"] = grid
        await audit.record(principal, f"{self.subject}.{name}", target, detail, client_address(conn))
