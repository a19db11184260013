"""``/api/audit``: the audit log for admins, newest first, with filters and ``before_id`` paging.

An admin key scoped to grids does not see entries about another grid's cameras (a camera as target, or a grid
in the detail); ``next_before_id`` still pages through every entry, so a short page is not the end."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from shopwatch.api.access.deps import AuditDep
from shopwatch.api.account_schemas import AuditEntryPublic, AuditPage
from shopwatch.api.scope import Scope, ScopeDep
from shopwatch.core.audit_records import AuditRecord
from shopwatch.store.audit import AuditFilter

router = APIRouter(prefix="/audit", tags=["audit"])

MAX_PAGE = 500


def _visible(scope: Scope, record: AuditRecord) -> bool:
    grid = record.detail.get("grid")
    if isinstance(grid, str) and not scope.sees_grid(grid):
        return False
    target = record.target
    return target is None or scope.fleet.camera(target) is None or scope.sees_camera(target)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("", response_model=AuditPage, summary="Sensitive actions: who, when, what, from where")
async def audit_log(
    audit: AuditDep,
    scope: ScopeDep,
    actor: Annotated[str | None, Query(max_length=128, description="Only this user (or 'key:<name>').")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="Only this action; a prefix ending in '.' matches a family.")
    ] = None,
    target: Annotated[str | None, Query(max_length=200, description="Only this target (camera, user, key).")] = None,
    since: Annotated[datetime | None, Query(description="From this time (UTC when no zone is given).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62, description="Entries older than this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> AuditPage:
    where = AuditFilter(actor, action, target, _aware(since), _aware(until), before_id, limit)
    records = await audit.query(where)
    next_before = records[-1].id if len(records) == limit else None
    shown = [r for r in records if not scope.limited or _visible(scope, r)]
    return AuditPage(entries=[AuditEntryPublic.of(r) for r in shown], next_before_id=next_before)
