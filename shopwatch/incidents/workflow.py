"""The operator workflow of an event, as a table: ``new → acknowledged → dispatched → resolved``, or
``false_positive`` from any open status. Pure values, no I/O: the store applies a checked transition
atomically (the status it read must still be there when it writes)."""

from __future__ import annotations

from enum import StrEnum

from shopwatch.core.errors import Conflict


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.FALSE_POSITIVE}),
    # A patrol that handled it on the spot resolves without a separate dispatch.
    Status.ACKNOWLEDGED: frozenset({Status.DISPATCHED, Status.RESOLVED, Status.FALSE_POSITIVE}),
    Status.DISPATCHED: frozenset({Status.RESOLVED, Status.FALSE_POSITIVE}),
    Status.RESOLVED: frozenset(),
    Status.FALSE_POSITIVE: frozenset(),
}
OPEN = frozenset(s for s, nexts in ALLOWED.items() if nexts)


class IllegalTransition(Conflict):
    """The event is not in a status from which the asked one can be reached (the API answers 409)."""

    def __init__(self, event_id: str, current: Status, wanted: Status) -> None:
        allowed = ", ".join(sorted(ALLOWED[current])) or "none (it is closed)"
        super().__init__(f"event {event_id} is {current.value}: cannot go to {wanted.value} (allowed: {allowed})")
        self.current = current
        self.wanted = wanted


def check(event_id: str, current: Status, wanted: Status) -> None:
    """Raise ``IllegalTransition`` unless ``current -> wanted`` is in the table."""
    if wanted not in ALLOWED[current]:
        raise IllegalTransition(event_id, current, wanted)
