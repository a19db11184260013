"""The audit log service: one call, ``record(principal, action, target, detail, client)``, for every sensitive
action (logins, failed ones too; talkback; snapshot and live view access; event transitions; camera, user and
config changes). Who, when, what, from where.

Action names are dotted, the first part the subject: ``login``, ``login.failed``, ``login.limited``, ``logout``,
``talkback.start``, ``camera.snapshot``, ``user.create``, ``user.update``, ``key.create``, ``key.revoke``,
``event.transition``, ``config.change``. ``detail`` is a small JSON object; never put a secret in it."""

from __future__ import annotations

import asyncio
from typing import Any

from shopwatch.core.audit_records import AuditRecord
from shopwatch.core.clock import Clock
from shopwatch.core.principal import Principal
from shopwatch.store.audit import AuditFilter, AuditRepository

from .users import now_utc

ANONYMOUS = "anonymous"
SYSTEM = "system"


class AuditTrail:
    def __init__(self, repo: AuditRepository, clock: Clock) -> None:
        self._repo = repo
        self._clock = clock

    def entry(
        self,
        principal: Principal | None,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        client: str | None = None,
        *,
        actor: str | None = None,
    ) -> AuditRecord:
        """The record for an action; ``actor`` names the caller when there is no principal (a failed login's
        user name, or ``"system"`` for the service's own actions such as auto-deterrence)."""
        if principal is not None:
            who, kind, role = principal.name, principal.kind.value, principal.role.value
        else:
            who, kind, role = actor or ANONYMOUS, SYSTEM if actor == SYSTEM else ANONYMOUS, None
        return AuditRecord(
            at=now_utc(self._clock), actor=who, actor_kind=kind, role=role, action=action, target=target,
            detail=dict(detail or {}), client=client,
        )  # fmt: skip

    async def record(
        self,
        principal: Principal | None,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        client: str | None = None,
        *,
        actor: str | None = None,
    ) -> int:
        """Append one entry (from async code: the write runs in a thread). Returns its id."""
        record = self.entry(principal, action, target, detail, client, actor=actor)
        return await asyncio.to_thread(self._repo.append, record)

    def record_blocking(
        self,
        principal: Principal | None,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        client: str | None = None,
        *,
        actor: str | None = None,
    ) -> int:
        """The same from blocking code (CLI commands, worker threads)."""
        return self._repo.append(self.entry(principal, action, target, detail, client, actor=actor))

    async def query(self, where: AuditFilter) -> list[AuditRecord]:
        return await asyncio.to_thread(self._repo.query, where)
