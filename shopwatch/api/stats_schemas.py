"""The response of ``GET /api/stats``: counts for a period with their change against the period before."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shopwatch.store.event_stats import CameraVerdicts, Compared, Counts, EventStats, HotSpot
from shopwatch.store.tip_stats import TipCompared, TipCounts, TipStats


class Change(BaseModel):
    count: int = Field(description="This period minus the previous one.")
    percent: float | None = Field(description="The change in percent of the previous period; null when it was 0.")

    @classmethod
    def of(cls, now: int, before: int) -> Change:
        return cls(count=now - before, percent=None if before == 0 else round((now - before) * 100 / before, 1))


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
        change = Change.of
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


class TipCountsPublic(BaseModel):
    filed: int = Field(description="Tips seen in the period (by when the tipster saw it).")
    confirmed: int = Field(description="Those an operator confirmed as an incident or merged into one.")
    led_to_case: int = Field(description="Those an operator marked as having led to a case.")


class TipCountsChange(BaseModel):
    filed: Change
    confirmed: Change
    led_to_case: Change


class TipStatsRow(BaseModel):
    key: str | int | None = Field(
        description="The grid (null: the tip's place was not resolved), tip type, local hour or ISO weekday."
    )
    current: TipCountsPublic
    previous: TipCountsPublic
    change: TipCountsChange

    @classmethod
    def of(cls, row: TipCompared) -> TipStatsRow:
        now, before = row.current, row.previous
        return cls(
            key=row.key,
            current=_tip_counts(now),
            previous=_tip_counts(before),
            change=TipCountsChange(
                filed=Change.of(now.filed, before.filed),
                confirmed=Change.of(now.confirmed, before.confirmed),
                led_to_case=Change.of(now.led_to_case, before.led_to_case),
            ),
        )


def _tip_counts(c: TipCounts) -> TipCountsPublic:
    return TipCountsPublic(filed=c.filed, confirmed=c.confirmed, led_to_case=c.led_to_case)


class TipsPublic(BaseModel):
    total: TipStatsRow
    by_grid: list[TipStatsRow]
    by_type: list[TipStatsRow] = Field(description="By tip type (card_posting, suspicious_person, hazard, other).")
    by_hour: list[TipStatsRow] = Field(description="Every local hour 0-23.")
    by_weekday: list[TipStatsRow] = Field(description="Every ISO weekday 1 (Monday) - 7 (Sunday).")

    @classmethod
    def of(cls, tips: TipStats) -> TipsPublic:
        return cls(
            total=TipStatsRow.of(tips.total),
            by_grid=[TipStatsRow.of(r) for r in tips.by_grid],
            by_type=[TipStatsRow.of(r) for r in tips.by_type],
            by_hour=[TipStatsRow.of(r) for r in tips.by_hour],
            by_weekday=[TipStatsRow.of(r) for r in tips.by_weekday],
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
    tips: TipsPublic = Field(description="Tips from people seen in the two periods, counted the same way.")

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
            tips=TipsPublic.of(stats.tips),
        )
