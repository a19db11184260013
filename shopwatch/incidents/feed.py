"""Wake-ups for live consoles (SSE). Nothing is queued per console: a console that wakes reads everything
after the last feed number it sent from the database, so a slow console never holds memory and a burst
costs it one read, not one per event."""

from __future__ import annotations

import asyncio


class LiveFeed:
    def __init__(self) -> None:
        self._listeners: set[asyncio.Event] = set()
        self.last_seq = 0

    def publish(self, seq: int) -> None:
        """New feed entries up to ``seq`` were committed (call on the event loop)."""
        self.last_seq = max(self.last_seq, seq)
        for listener in self._listeners:
            listener.set()

    def listen(self) -> asyncio.Event:
        listener = asyncio.Event()
        self._listeners.add(listener)
        return listener

    def stop_listening(self, listener: asyncio.Event) -> None:
        self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)
