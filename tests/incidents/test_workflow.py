"""The workflow table: the chain, false positives from any open status, closed events stay closed."""

from __future__ import annotations

import pytest

from shopwatch.incidents.workflow import IllegalTransition, Status, check

S = Status


@pytest.mark.parametrize(
    ("current", "wanted", "allowed"),
    [
        (S.NEW, S.ACKNOWLEDGED, True),
        (S.ACKNOWLEDGED, S.DISPATCHED, True),
        (S.DISPATCHED, S.RESOLVED, True),
        (S.ACKNOWLEDGED, S.RESOLVED, True),
        (S.NEW, S.FALSE_POSITIVE, True),
        (S.DISPATCHED, S.FALSE_POSITIVE, True),
        (S.NEW, S.DISPATCHED, False),
        (S.NEW, S.RESOLVED, False),
        (S.NEW, S.NEW, False),
        (S.ACKNOWLEDGED, S.NEW, False),
        (S.RESOLVED, S.ACKNOWLEDGED, False),
        (S.FALSE_POSITIVE, S.RESOLVED, False),
    ],
)
def test_transitions(current: Status, wanted: Status, allowed: bool) -> None:
    if allowed:
        check("e1", current, wanted)
        return
    with pytest.raises(IllegalTransition) as info:
        check("e1", current, wanted)
    assert f"is {current.value}: cannot go to {wanted.value}" in str(info.value)
