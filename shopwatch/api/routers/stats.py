"""``/api/stats``: case analysis — events, confirmed events, false positives and incidents per grid, type,
local hour and weekday against the previous period of the same length; card-posting hot spots; detection
precision per camera. A caller scoped to some grids counts only those grids."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from shopwatch.api.deps import SettingsDep
from shopwatch.api.incident_deps import ArchiveDep, CallerDep
from shopwatch.api.stats_schemas import StatsPublic
from shopwatch.core.errors import Invalid
from shopwatch.store.event_stats import StatsQuery

router = APIRouter(prefix="/stats", tags=["stats"])

MAX_PERIOD = timedelta(days=366)


@router.get(
    "",
    response_model=StatsPublic,
    response_model_by_alias=True,
    summary="Case analysis numbers for a period, with the change against the period before",
    responses={422: {"description": "A bad or missing date, a date without zone, from not before to."}},
)
async def get_stats(
    archive: ArchiveDep,
    caller: CallerDep,
    settings: SettingsDep,
    since: Annotated[datetime, Query(alias="from", description="Start (ISO 8601 with zone), included.")],
    until: Annotated[datetime, Query(alias="to", description="End (ISO 8601 with zone), excluded.")],
    grid: Annotated[list[str] | None, Query(description="Only these grids (repeat for several).")] = None,
    type: Annotated[list[str] | None, Query(description="Only these event types.")] = None,  # noqa: A002
) -> StatsPublic:
    for name, moment in (("from", since), ("to", until)):
        if moment.tzinfo is None:
            raise Invalid(f"'{name}': expected a time with a zone (Z or +08:00), found {moment.isoformat()}")
    if since >= until:
        raise Invalid(f"'from' ({since.isoformat()}) must be before 'to' ({until.isoformat()})")
    if until - since > MAX_PERIOD:
        raise Invalid(f"'from' to 'to' may span at most {MAX_PERIOD.days} days")
    zone = settings.api.timezone
    query = StatsQuery(since, until, zone, caller.scope(grid), frozenset(type or ()))
    stats = await archive.stats(query)
    return StatsPublic.of(stats, since.isoformat(), until.isoformat(), query.previous_since.isoformat(), zone)
