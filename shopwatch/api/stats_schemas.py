"""The response of ``GET /api/stats``: counts for a period with their change against the period before."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shopwatch.store.event_stats import CameraVerdicts, Compared, Counts, EventStats, HotSpot


class Change(BaseModel):
    count: int = Field(description="This period minus the previous one.")
    percent: float | None = Field(description="The change in percent of the previous period; null when it was 0.")


class CountsPublic(BaseModel):
    events: int
    confirmed: int = Field(description="Events an operator dispatched or resolved.")
    false_positives: int = Field(description="Events an operator marked false positive.")
    incidents: int = Field(description="Distinct incidents these events belong to.")


class CountsChange(BaseModel):
    events: Change
    confirmed: Change
    false_positives: Change
    incidents: Change


class StatsRow(BaseModel):
    key: str | int = Field(description="The grid, event type, local hour (0-23) or ISO weekday (1 Monday - 7 Sunday).")
    current: CountsPublic
    previous: CountsPublic
    change: CountsChange

    @classmethod
    def of(cls, row: Compared) -> StatsRow:
        def change(now: int, before: int) -> Change:
            percent = None if before == 0 else round((now - before) * 100 / before, 1)
            return Change(count=now - before, percent=percent)

        now, before = row.current, row.previous
        return cls(
            key=row.key,
            current=_counts(now),
            previous=_counts(before),
            change=CountsChange(
                events=change(now.events, before.events),
                confirmed=change(now.confirmed, before.confirmed),
                false_positives=change(now.false_positives, before.false_positives),
                incidents=change(now.incidents, before.incidents),
            ),
        )


def _counts(c: Counts) -> CountsPublic:
    return CountsPublic(
        events=c.events, confirmed=c.confirmed, false_positives=c.false_positives, incidents=c.incidents
    )


class HotSpotPublic(BaseModel):
    camera_id: str
    grid: str
    zone: str = Field(description="The camera's zone (surface) the card postings were on.")
    card_postings: int

    @classmethod
    def of(cls, spot: HotSpot) -> HotSpotPublic:
        return cls(camera_id=spot.camera_id, grid=spot.grid, zone=spot.zone, card_postings=spot.card_postings)


class CameraPrecision(BaseModel):
    camera_id: str
    grid: str
    events: int
    confirmed: int
    false_positives: int
    precision: float | None = Field(description="confirmed / (confirmed + false_positives); null without verdicts.")

    @classmethod
    def of(cls, c: CameraVerdicts) -> CameraPrecision:
        judged = c.confirmed + c.false_positives
        return cls(
            camera_id=c.camera_id,
            grid=c.grid,
            events=c.events,
            confirmed=c.confirmed,
            false_positives=c.false_positives,
            precision=round(c.confirmed / judged, 4) if judged else None,
        )


class StatsPublic(BaseModel):
    from_: str = Field(alias="from", description="The period's start (ISO 8601).")
    to: str = Field(description="The period's end, excluded.")
    previous_from: str = Field(description="The previous period of the same length: from here to ``from``.")
    timezone: str = Field(description="The station's zone the hours and weekdays are in.")
    total: StatsRow
    by_grid: list[StatsRow]
    by_type: list[StatsRow]
    by_hour: list[StatsRow] = Field(description="Every local hour 0-23.")
    by_weekday: list[StatsRow] = Field(description="Every ISO weekday 1 (Monday) - 7 (Sunday).")
    hot_spots: list[HotSpotPublic] = Field(description="Camera zones with 2 or more card postings, most first.")
    cameras: list[CameraPrecision] = Field(description="Detection precision of each camera with events, by id.")

    model_config = {"populate_by_name": True}

    @classmethod
    def of(cls, stats: EventStats, since: str, until: str, previous: str, zone: str) -> StatsPublic:
        return cls(
            from_=since,
            to=until,
            previous_from=previous,
            timezone=zone,
            total=StatsRow.of(stats.total),
            by_grid=[StatsRow.of(r) for r in stats.by_grid],
            by_type=[StatsRow.of(r) for r in stats.by_type],
            by_hour=[StatsRow.of(r) for r in stats.by_hour],
            by_weekday=[StatsRow.of(r) for r in stats.by_weekday],
            hot_spots=[HotSpotPublic.of(s) for s in stats.hot_spots],
            cameras=[CameraPrecision.of(c) for c in stats.cameras],
        )
