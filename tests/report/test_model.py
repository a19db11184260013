"""What the report suggests for a hot spot, and how two months' rows are put side by side."""

from __future__ import annotations

import pytest

from shopwatch.core.config import CameraConfig, Talkback
from shopwatch.core.incidents_config import Deterrence
from shopwatch.report.model import Advice, Precision, ReportInputs, advice, busiest_hours, least_precise, paired
from shopwatch.store.event_stats import CameraVerdicts, Compared, Counts, HotSpot

SPEAKER = Talkback(capable=True, allowed=True)


def _inputs(talkback: Talkback, rules: list[Deterrence]) -> ReportInputs:
    camera = CameraConfig(id="cam-a", name="A", grid="north", host="10.0.0.1", talkback=talkback)
    return ReportInputs("", "Asia/Shanghai", {"cam-a": camera}, rules, deterrence_from=4)


def _rule(**more: object) -> Deterrence:
    return Deterrence(type="card_posting", clip="warn", min_confidence=0.95, **more)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("postings", "talkback", "rules", "expected"),
    [
        (3, SPEAKER, [], (Advice.PATROL,)),
        (4, SPEAKER, [], (Advice.PATROL, Advice.DETER)),
        (4, Talkback(capable=True, allowed=False), [], (Advice.PATROL, Advice.NO_SPEAKER)),
        (9, Talkback(), [], (Advice.PATROL, Advice.NO_SPEAKER)),
        (2, SPEAKER, [_rule()], (Advice.PATROL, Advice.DETERRED)),
        (5, SPEAKER, [_rule(cameras=["cam-z"])], (Advice.PATROL, Advice.DETER)),  # the rule warns elsewhere
        (5, SPEAKER, [_rule(dry_run=True)], (Advice.PATROL, Advice.DETER)),  # a dry run plays nothing
        (5, SPEAKER, [_rule(cameras=["cam-a"])], (Advice.PATROL, Advice.DETERRED)),
    ],
)
def test_advice(postings: int, talkback: Talkback, rules: list[Deterrence], expected: tuple[Advice, ...]) -> None:
    assert advice(HotSpot("cam-a", "north", "wall", postings), _inputs(talkback, rules)) == expected


def test_a_camera_no_longer_configured_gets_patrol_only() -> None:
    spot = HotSpot("gone", "north", "wall", 7)
    assert advice(spot, _inputs(SPEAKER, [])) == (Advice.PATROL, Advice.NO_SPEAKER)


def test_paired_takes_each_months_own_counts() -> None:
    now = [Compared("north", Counts(5, 1, 0, 1), Counts(99, 9, 9, 9))]  # previous: another period, ignored
    before = [Compared("south", Counts(2, 0, 1, 0), Counts(7, 7, 7, 7))]
    assert paired(now, before) == [
        Compared("north", Counts(5, 1, 0, 1), Counts()),
        Compared("south", Counts(), Counts(2, 0, 1, 0)),
    ]


def test_busiest_hours_most_first_earlier_on_a_tie_only_hours_with_events() -> None:
    counts = {0: 1, 3: 2, 22: 4, 23: 2}
    by_hour = [Compared(h, Counts(counts.get(h, 0)), Counts(9)) for h in range(24)]
    assert busiest_hours(by_hour) == [(22, 4), (3, 2), (23, 2)]
    assert busiest_hours([Compared(h, Counts(), Counts(5)) for h in range(24)]) == []


def test_least_precise_first_more_verdicts_first_on_a_tie_no_verdicts_last() -> None:
    cameras = [
        Precision(CameraVerdicts("a", "g", 9, 0, 0), None),  # no verdict
        Precision(CameraVerdicts("b", "g", 4, 1, 1), None),  # 50 %, 2 verdicts
        Precision(CameraVerdicts("c", "g", 9, 4, 4), None),  # 50 %, 8 verdicts
        Precision(CameraVerdicts("d", "g", 3, 3, 0), None),  # 100 %
        Precision(CameraVerdicts("e", "g", 2, 0, 2), None),  # 0 %
    ]
    assert [p.verdicts.camera_id for p in least_precise(cameras)] == ["e", "c", "b", "d", "a"]
