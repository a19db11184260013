"""Writes talk attempts to the audit table off the talk's path, in order, with backpressure instead of loss.

A database write (milliseconds, more on a busy PostgreSQL) must not delay the first packet to a speaker, so
the service hands entries to one writer task. The queue is bounded; a producer waits when it is full rather
than dropping an audit entry. ``flush`` lets a reader see every entry submitted before it (the API's audit
query calls it first)."""

from __future__ import annotations

import asyncio
import logging

from shopwatch.core.talkback_records import TalkSession
from shopwatch.store.talkback import AuditQuery, TalkbackRepository

log = logging.getLogger(__name__)


class TalkAudit:
    def __init__(self, store: TalkbackRepository, *, max_pending: int = 1000) -> None:
        self._store = store
        self._queue: asyncio.Queue[TalkSession] = asyncio.Queue(max_pending)
        self._writer: asyncio.Task[None] | None = None
        self.written = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        """Entries submitted and not yet written."""
        return self._queue.qsize()

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_forever(), name="talkback-audit")

    async def submit(self, entry: TalkSession) -> None:
        """Queue ``entry`` (a new attempt, or a later state of one already submitted) for writing."""
        await self._queue.put(entry)

    async def flush(self) -> None:
        """Return once everything submitted so far is written (or failed and logged)."""
        await self._queue.join()

    async def query(self, query: AuditQuery) -> list[TalkSession]:
        await self.flush()
        return await asyncio.to_thread(self._store.audit, query)

    async def close(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._writer is None:
            return
        await self.flush()
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        self._writer = None

    async def _write_forever(self) -> None:
        while True:
            entry = await self._queue.get()
            try:
                await asyncio.to_thread(self._store.record, entry)
                self.written += 1
            except Exception:
                # Task boundary: a database outage must not stop later entries from being written.
                self.failed += 1
                log.exception("talkback audit: could not store session %s (%s)", entry.id, entry.outcome)
            finally:
                self._queue.task_done()
