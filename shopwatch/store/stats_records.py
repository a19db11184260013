"""What the case-analysis numbers are (store/event_stats.py counts them from the events, store/stats_rollup.py
from the summary tables): counts for a period and the one before it, per key; hot spots; per-camera verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shopwatch.store.stats_query import every as every_key
from shopwatch.store.stats_tables import CONFIRMED, FALSE_POSITIVE, verdict  # noqa: F401  (re-exported)
from shopwatch.store.tip_stats import TipStats, no_tips

CARD_POSTING = "card_posting"
HOT_SPOT_MIN = 2  # card postings in the period that make a hot spot
HOT_SPOTS_MAX = 50


@dataclass(frozen=True, slots=True)
class Counts:
    events: int = 0
    confirmed: int = 0
    false_positives: int = 0
    incidents: int = 0


@dataclass(frozen=True, slots=True)
class Compared:
    key: str | int
    current: Counts
    previous: Counts


@dataclass(frozen=True, slots=True)
class HotSpot:
    camera_id: str
    grid: str
    zone: str
    card_postings: int


@dataclass(frozen=True, slots=True)
class CameraVerdicts:
    camera_id: str
    grid: str
    events: int
    confirmed: int
    false_positives: int


@dataclass(frozen=True, slots=True)
class EventStats:
    total: Compared
    by_grid: list[Compared]
    by_type: list[Compared]
    by_hour: list[Compared]  # 0..23, every hour present
    by_weekday: list[Compared]  # 1 (Monday) .. 7 (Sunday), every day present
    hot_spots: list[HotSpot]
    cameras: list[CameraVerdicts]
    tips: TipStats = field(default_factory=no_tips)  # the tips seen in the two periods (store/tip_stats.py)


def compared(key: str | int, row: Sequence[Any]) -> Compared:
    """``row``: events, confirmed, false positives, incidents of the period, then the same of the one before."""
    numbers = [int(n or 0) for n in row]
    return Compared(key, Counts(*numbers[0:4]), Counts(*numbers[4:8]))


def every(found: list[Compared], keys: range) -> list[Compared]:
    return every_key(found, keys, lambda k: Compared(k, Counts(), Counts()))


def hot_spots(postings: dict[tuple[str, str, str], int]) -> list[HotSpot]:
    """From card postings per (camera, grid, zone) in the period: the hot spots, most first."""
    hot = sorted(((-n, c, z, g) for (c, g, z), n in postings.items() if n >= HOT_SPOT_MIN))[:HOT_SPOTS_MAX]
    return [HotSpot(c, g, z, -n) for n, c, z, g in hot]
