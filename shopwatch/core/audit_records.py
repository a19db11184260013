"""The audit entry: one sensitive action — who (user or key, and role), when, what (action, target, detail) and
from where (client address).

The single definition: the audit trail (``auth.audit``) writes them, the store (``store.audit``) maps
``audit_log`` rows to them, the API builds its schema from them. Secrets never go in ``detail``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    actor_kind: str
    action: str
    role: str | None = None
    target: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    client: str | None = None
    id: int | None = None  # given by the database
