"""Streams held open now, per caller: the counting half of ``api.streams`` (no I/O, no FastAPI)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shopwatch.core.errors import RateLimited

RETRY_AFTER_S = 5  # a stream of the caller's may well have ended by then


class TooManyStreams(RateLimited):
    """The caller holds as many streams as it may (429 with ``Retry-After``)."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"expected at most {cap} open streams per caller; close one first", RETRY_AFTER_S)


@dataclass
class StreamLease:
    """One held slot; giving it back twice is harmless (a stream's end and its garbage collection both do)."""

    slots: StreamSlots
    who: str
    held: bool = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.slots.give_back(self.who)


@dataclass
class StreamSlots:
    """Streams held now, per caller (``kind:id``). One per app; touched from the event loop only."""

    held: dict[str, int] = field(default_factory=dict)

    def take(self, who: str, cap: int) -> StreamLease:
        if self.held.get(who, 0) >= cap:
            raise TooManyStreams(cap)
        self.held[who] = self.held.get(who, 0) + 1
        return StreamLease(self, who)

    def give_back(self, who: str) -> None:
        left = self.held.get(who, 0) - 1
        if left > 0:
            self.held[who] = left
        else:
            self.held.pop(who, None)
