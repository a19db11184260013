"""What the monthly report says, as values: the month's numbers beside the month before's (each taken from its
own calendar month, not from "the period of the same length" that ``event_stats`` compares with), the same
month a year earlier for 案发率, and the card-posting hot spots with what to do about each.

The numbers come from ``store.event_stats.event_stats`` (the function behind ``GET /api/stats``), one call per
month; nothing here counts events."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shopwatch.core.config import CameraConfig
from shopwatch.core.events import EventType
from shopwatch.core.incidents_config import Deterrence
from shopwatch.report.month import Month
from shopwatch.store.event_stats import CameraVerdicts, Compared, Counts, EventStats, HotSpot, StatsQuery
from shopwatch.store.tip_stats import TipCompared, TipCounts

StatsFn = Callable[[StatsQuery], EventStats]
CARD_HOURS = 3  # the busiest card-posting hours named for the patrol


class Advice(StrEnum):
    PATROL = "patrol"  # every hot spot: send the patrol there at the hours cards go up
    DETER = "deter"  # often enough, a speaker that may play, no warning rule there yet: add one
    DETERRED = "deterred"  # a card-posting warning rule already plays there
    NO_SPEAKER = "no_speaker"  # often enough, but the camera has no speaker or the merchant did not consent


@dataclass(frozen=True, slots=True)
class CameraLabel:
    name: str
    shop: str
    address: str


@dataclass(frozen=True, slots=True)
class Spot:
    spot: HotSpot
    camera: CameraLabel | None  # None: a camera no longer configured
    advice: tuple[Advice, ...]


@dataclass(frozen=True, slots=True)
class Precision:
    verdicts: CameraVerdicts
    camera: CameraLabel | None

    @property
    def judged(self) -> int:
        return self.verdicts.confirmed + self.verdicts.false_positives

    @property
    def ratio(self) -> float | None:
        """confirmed / (confirmed + false positives), as ``GET /api/stats`` gives it; None without verdicts."""
        return self.verdicts.confirmed / self.judged if self.judged else None


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    month: Month
    zone: str
    station: str
    made_at: datetime
    grids: frozenset[str] | None  # the grids counted; None: every grid
    total: Compared  # this month against the month before
    year_ago: Counts  # the same month a year earlier (案发率 year on year)
    by_grid: list[Compared]
    by_type: list[Compared]
    by_hour: list[Compared]  # 0..23
    by_weekday: list[Compared]  # 1 (Monday) .. 7
    hot_spots: list[Spot]
    card_hours: list[tuple[int, int]]  # (local hour, card postings) of the busiest hours, most first
    cameras: list[Precision]  # the least precise first, at most ``precision_rows``
    cameras_with_events: int  # all of them, listed or not
    tips: TipCompared  # tips from people: this month against the month before
    tips_by_grid: list[TipCompared]  # key None: tips whose place was not resolved
    tips_by_type: list[TipCompared]

    @property
    def empty(self) -> bool:
        return self.total.current.events == 0 and self.tips.current.filed == 0


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """What the report needs besides the numbers: the station, its zone, its cameras and warning rules."""

    station: str
    zone: str
    cameras: Mapping[str, CameraConfig]
    deterrence: Sequence[Deterrence]
    deterrence_from: int  # card postings on one spot in the month from which warnings are suggested
    grids: frozenset[str] | None = None  # None: every grid
    precision_rows: int = 50  # cameras in the precision table, the least precise first


def paired(current: Sequence[Compared], previous: Sequence[Compared]) -> list[Compared]:
    """Rows of both months by key (sorted): this month's counts beside the month before's, zeros where absent."""
    now = {row.key: row.current for row in current}
    before = {row.key: row.current for row in previous}
    keys = sorted(set(now) | set(before), key=lambda k: (isinstance(k, str), k))
    return [Compared(k, now.get(k, Counts()), before.get(k, Counts())) for k in keys]


def least_precise(cameras: Sequence[Precision]) -> list[Precision]:
    """The least precise first; on a tie the one with more verdicts; cameras without verdicts last; then by id."""
    return sorted(cameras, key=lambda p: (p.ratio is None, p.ratio or 0.0, -p.judged, p.verdicts.camera_id))


def paired_tips(current: Sequence[TipCompared], previous: Sequence[TipCompared]) -> list[TipCompared]:
    """As ``paired``, for tips; the tips without a resolved place (key None) last."""
    now = {row.key: row.current for row in current}
    before = {row.key: row.current for row in previous}
    keys = sorted(set(now) | set(before), key=lambda k: (k is None, str(k)))
    return [TipCompared(k, now.get(k, TipCounts()), before.get(k, TipCounts())) for k in keys]


def build_report(stats: StatsFn, month: Month, inputs: ReportInputs, made_at: datetime) -> MonthlyReport:
    def of(m: Month, types: frozenset[str] = frozenset()) -> EventStats:
        return stats(StatsQuery(m.start(inputs.zone), m.end(inputs.zone), inputs.zone, inputs.grids, types))

    now, before, year_ago = of(month), of(month.previous()), of(month.year_ago())
    cards = of(month, frozenset({EventType.CARD_POSTING.value}))  # when cards go up: when to patrol
    labels = {cam_id: _label(cam) for cam_id, cam in inputs.cameras.items()}
    return MonthlyReport(
        month=month,
        zone=inputs.zone,
        station=inputs.station,
        made_at=made_at,
        grids=inputs.grids,
        total=Compared("all", now.total.current, before.total.current),
        year_ago=year_ago.total.current,
        by_grid=paired(now.by_grid, before.by_grid),
        by_type=paired(now.by_type, before.by_type),
        by_hour=paired(now.by_hour, before.by_hour),
        by_weekday=paired(now.by_weekday, before.by_weekday),
        hot_spots=[Spot(s, labels.get(s.camera_id), advice(s, inputs)) for s in now.hot_spots],
        card_hours=busiest_hours(cards.by_hour),
        cameras=least_precise([Precision(c, labels.get(c.camera_id)) for c in now.cameras])[: inputs.precision_rows],
        cameras_with_events=len(now.cameras),
        tips=TipCompared("all", now.tips.total.current, before.tips.total.current),
        tips_by_grid=paired_tips(now.tips.by_grid, before.tips.by_grid),
        tips_by_type=paired_tips(now.tips.by_type, before.tips.by_type),
    )


def busiest_hours(by_hour: Sequence[Compared], most: int = CARD_HOURS) -> list[tuple[int, int]]:
    """Up to ``most`` (hour, events) of this period with events, most first (the earlier hour on a tie)."""
    found = [(int(row.key), row.current.events) for row in by_hour if row.current.events]
    return sorted(found, key=lambda hour_count: (-hour_count[1], hour_count[0]))[:most]


def advice(spot: HotSpot, inputs: ReportInputs) -> tuple[Advice, ...]:
    """Patrol for every hot spot; from ``deterrence_from`` postings, automatic warnings too where they can play."""
    camera = inputs.cameras.get(spot.camera_id)
    if camera is not None and _deterred(camera.id, inputs.deterrence):
        return (Advice.PATROL, Advice.DETERRED)
    if spot.card_postings < inputs.deterrence_from:
        return (Advice.PATROL,)
    if camera is None or not (camera.talkback.capable and camera.talkback.allowed):
        return (Advice.PATROL, Advice.NO_SPEAKER)
    return (Advice.PATROL, Advice.DETER)


def _deterred(camera_id: str, rules: Sequence[Deterrence]) -> bool:
    return any(
        r.type == EventType.CARD_POSTING and not r.dry_run and (not r.cameras or camera_id in r.cameras) for r in rules
    )


def _label(camera: CameraConfig) -> CameraLabel:
    return CameraLabel(camera.name, camera.merchant.name, camera.address)
