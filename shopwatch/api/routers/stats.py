"""``/api/stats``: case analysis — events, confirmed events, false positives and incidents per grid, type,
local hour and weekday against the previous period of the same length; card-posting hot spots; detection
precision per camera; tips from people. ``/api/stats/export`` gives the same numbers as an XLSX workbook or a
zip of CSV files. A caller scoped to some grids counts only those grids."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response

from shopwatch.api.deps import SettingsDep
from shopwatch.api.incident_deps import ArchiveDep, Caller, CallerDep
from shopwatch.api.stats_files import XLSX_TYPE, ZIP_TYPE, csv_zip, xlsx
from shopwatch.api.stats_schemas import StatsPublic
from shopwatch.api.stats_tables import language, stats_tables
from shopwatch.core.config import Settings
from shopwatch.core.errors import Invalid
from shopwatch.incidents.archive import EventArchive
from shopwatch.store.event_stats import StatsQuery

router = APIRouter(prefix="/stats", tags=["stats"])

MAX_PERIOD = timedelta(days=366)

Since = Annotated[datetime, Query(alias="from", description="Start (ISO 8601 with zone), included.")]
Until = Annotated[datetime, Query(alias="to", description="End (ISO 8601 with zone), excluded.")]
Grids = Annotated[list[str] | None, Query(description="Only these grids (repeat for several).")]
Types = Annotated[list[str] | None, Query(description="Only these event (and tip) types.")]
BAD_PERIOD: dict[int | str, dict[str, Any]] = {
    422: {"description": "A bad or missing date, a date without zone, from not before to."}
}


async def _stats(
    archive: EventArchive, caller: Caller, settings: Settings, period: tuple[datetime, datetime],
    grid: list[str] | None, types: list[str] | None,
) -> StatsPublic:  # fmt: skip
    since, until = period
    for name, moment in (("from", since), ("to", until)):
        if moment.tzinfo is None:
            raise Invalid(f"'{name}': expected a time with a zone (Z or +08:00), found {moment.isoformat()}")
    if since >= until:
        raise Invalid(f"'from' ({since.isoformat()}) must be before 'to' ({until.isoformat()})")
    if until - since > MAX_PERIOD:
        raise Invalid(f"'from' to 'to' may span at most {MAX_PERIOD.days} days")
    zone = settings.api.timezone
    query = StatsQuery(since, until, zone, caller.scope(grid), frozenset(types or ()))
    stats = await archive.stats(query)
    return StatsPublic.of(stats, since.isoformat(), until.isoformat(), query.previous_since.isoformat(), zone)


@router.get(
    "",
    response_model=StatsPublic,
    response_model_by_alias=True,
    summary="Case analysis numbers for a period, with the change against the period before",
    responses=BAD_PERIOD,
)
async def get_stats(
    archive: ArchiveDep, caller: CallerDep, settings: SettingsDep, since: Since, until: Until,
    grid: Grids = None, type: Types = None,  # noqa: A002
) -> StatsPublic:  # fmt: skip
    return await _stats(archive, caller, settings, (since, until), grid, type)


@router.get(
    "/export",
    response_class=Response,
    summary="The case analysis numbers as an XLSX workbook or a zip of CSV files (one table each)",
    responses={
        200: {"content": {XLSX_TYPE: {}, ZIP_TYPE: {}}, "description": "The file, as an attachment."},
        **BAD_PERIOD,
    },
)
async def export_stats(
    archive: ArchiveDep, caller: CallerDep, settings: SettingsDep, since: Since, until: Until,
    grid: Grids = None, type: Types = None,  # noqa: A002
    file_format: Annotated[Literal["xlsx", "csv"], Query(alias="format", description="xlsx or csv (a zip).")] = "xlsx",
    lang: Annotated[str | None, Query(description="zh for Chinese headings; else Accept-Language decides.")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> Response:  # fmt: skip
    stats = await _stats(archive, caller, settings, (since, until), grid, type)
    tables = stats_tables(stats, language(lang, accept_language))
    if file_format == "xlsx":
        body, media_type, suffix = await asyncio.to_thread(xlsx, tables), XLSX_TYPE, "xlsx"
    else:
        body, media_type, suffix = await asyncio.to_thread(csv_zip, tables), ZIP_TYPE, "csv.zip"
    name = f"shopwatch-stats-{since:%Y%m%d}-{until:%Y%m%d}.{suffix}"
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})
