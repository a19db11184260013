"""Events from a shard to the database, exactly once, while the database comes and goes.

``submit`` (any thread, never blocks) puts an event on a bounded queue in memory (full: the oldest is dropped
and counted). One writer thread moves what is queued to the local spool file (``store.spool``: fsynced, so from
then on a crash or restart loses nothing) and replays the spool into the database in order, a batch per
transaction through the idempotent insert (``store.event_once``), deleting from the spool what the database
took. Write-ahead on purpose: while the database is up an event stays in the spool for one commit; while it is
away the spool holds everything, bounded (full: the oldest is dropped and counted); when it is back the replay
resumes where it stopped, after a restart too.

What happens to a batch the database did not take:
- it could not be reached, or refused for a reason of its own (a connection lost, a timeout, a lock, a failover
  in progress: every error but the two below): the spool keeps it and the replay is tried again after a backoff
  (``retry_min_s`` doubling up to ``retry_max_s``, jittered), so a database that is away costs nothing but the
  retries;
- it refused an event's data (``IntegrityError``, ``DataError``): that event alone is taken out of the spool,
  logged and counted as ``refused``; the others are stored.
A replayed event that had been stored before (its commit reached the database but the answer was lost) is
recognised by its key and counted as a duplicate: stored once, alerted once.

A connection attempt to a database that does not answer at all blocks the writer thread for the driver's
connect timeout: give the URL one (PostgreSQL: ``?connect_timeout=5``). Events keep queueing meanwhile."""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from shopwatch.core.clock import Clock
from shopwatch.core.incident_records import NewEvent
from shopwatch.store.events import Added, EventRepository
from shopwatch.store.spool import EventSpool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SinkLimits:
    queue_size: int = 1_000  # events in memory waiting for the spool file
    batch: int = 64  # events replayed per transaction
    retry_min_s: float = 0.5
    retry_max_s: float = 30.0


@dataclass(frozen=True, slots=True)
class SinkHealth:
    """What the shard reports: is the database taking events, how much waits, and what was lost or refused."""

    database_up: bool
    queued: int  # in memory, not yet in the spool file
    spooled: int  # in the spool file, not yet in the database
    dropped: int  # lost to full bounds (memory queue and spool file), ever
    stored: int  # stored by this writer since it started
    duplicates: int  # replays or other readers' reports of events stored already: nothing written
    refused: int  # events the database refused for good (their data), taken out of the spool
    last_error: str | None  # why the database did not take the last batch (no secrets: the driver's message)


class DurableEventSink:
    def __init__(
        self,
        events: EventRepository,
        spool: EventSpool,
        clock: Clock,
        limits: SinkLimits | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._events = events
        self._spool = spool
        self._clock = clock
        self.limits = limits or SinkLimits()
        self._jitter = jitter
        self._queue: deque[NewEvent] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._retry_at: float | None = None  # monotonic time of the next replay after a failure
        self.database_up = True
        self.dropped = 0  # from the memory queue (the spool counts its own)
        self.stored = 0
        self.duplicates = 0
        self.refused = 0
        self.last_error: str | None = None

    # -- in ------------------------------------------------------------------------------------------------

    def submit(self, item: NewEvent) -> bool:
        """Queue an event for the spool without blocking; False when the oldest queued one had to make room."""
        with self._lock:
            full = len(self._queue) >= self.limits.queue_size
            if full:
                lost = self._queue.popleft()
                self.dropped += 1
                log.error("event queue full (%d): event %s dropped", self.limits.queue_size, lost.event.id)
            self._queue.append(item)
        self._wake.set()
        return not full

    # -- the writer's steps (blocking; the thread runs them, tests call them with a manual clock) -------------

    def step(self) -> None:
        """Spool what is queued, then replay the spool while the database takes it (unless backing off)."""
        self.spool_queued()
        if self._retry_at is not None and self._clock.monotonic() < self._retry_at:
            return
        while self.replay_batch():
            pass

    def spool_queued(self) -> int:
        """Move the queued events to the spool file (one fsynced transaction); returns how many."""
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
        if not items:
            return 0
        try:
            lost = self._spool.append(items)
        except BaseException:
            with self._lock:  # back in front, so they are spooled in order at the next step (a disk full)
                self._queue.extendleft(reversed(items))
                while len(self._queue) > self.limits.queue_size:
                    self._queue.popleft()
                    self.dropped += 1
            raise
        if lost:
            log.error("spool %s full (%d): the %d oldest events dropped", self._spool.path, self._spool.capacity, lost)
        return len(items)

    def replay_batch(self) -> bool:
        """Store the oldest spooled batch; True when it went (and more may follow), False when the spool is empty
        or the database did not take it (then a retry is scheduled)."""
        batch = self._spool.head(self.limits.batch)
        if not batch:
            return len(self._spool) > 0  # rows that did not read back were dropped: the next ones may

        try:
            added = self._events.add_many([item for _, item in batch])
        except (IntegrityError, DataError):
            return self._one_by_one(batch)
        except SQLAlchemyError as exc:
            self._failed(exc)
            return False
        self._spool.remove([seq for seq, _ in batch])
        self._took(added, len(batch))
        return True

    def _one_by_one(self, batch: list[tuple[int, NewEvent]]) -> bool:
        """A batch the database refused: each event alone, those it refuses for good taken out."""
        for seq, item in batch:
            try:
                added = self._events.add_many([item])
            except (IntegrityError, DataError) as exc:
                self.refused += 1
                why = _first_line(exc)
                log.error("the database refused event %s on %s for good: %s", item.event.id, item.event.camera_id, why)
                self._spool.remove([seq])
                continue
            except SQLAlchemyError as exc:
                self._failed(exc)
                return False
            self._spool.remove([seq])
            self._took(added, 1)
        return True

    def _took(self, added: Added, count: int) -> None:
        if not self.database_up:
            log.warning("the database is back: replaying the spool (%d events left)", len(self._spool))
        self.database_up = True
        self._failures = 0
        self._retry_at = None
        self.duplicates += len(added.duplicates)
        self.stored += count - len(added.duplicates)

    def _failed(self, exc: SQLAlchemyError) -> None:
        self._failures += 1
        delay = min(self.limits.retry_max_s, self.limits.retry_min_s * 2 ** (self._failures - 1))
        delay *= 0.5 + 0.5 * self._jitter()  # writers of many shards do not come back in step
        self._retry_at = self._clock.monotonic() + delay
        self.last_error = _first_line(exc)
        if self.database_up:
            log.warning("the database did not take events (%s): spooling to %s", self.last_error, self._spool.path)
        self.database_up = False

    def next_retry_in(self) -> float | None:
        """Seconds until the next replay after a failure; None when none is waiting."""
        if self._retry_at is None:
            return None
        return max(0.0, self._retry_at - self._clock.monotonic())

    def health(self) -> SinkHealth:
        with self._lock:
            queued = len(self._queue)
        return SinkHealth(
            database_up=self.database_up,
            queued=queued,
            spooled=len(self._spool),
            dropped=self.dropped + self._spool.dropped,
            stored=self.stored,
            duplicates=self.duplicates,
            refused=self.refused,
            last_error=self.last_error,
        )

    # -- the thread ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer; what an earlier run left in the spool is replayed first."""
        self._stop.clear()
        self._wake.set()
        self._thread = threading.Thread(target=self._run, name="event-spool-writer", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the writer; what is still queued goes to the spool file (replayed at the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.spool_queued()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.next_retry_in())
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.step()
            except Exception:  # a task boundary: the writer must outlive one bad step (a full disk)
                log.exception("the event spool writer failed a step; retrying")
                self._failed_step()

    def _failed_step(self) -> None:
        self._failures += 1
        self._retry_at = self._clock.monotonic() + self.limits.retry_max_s


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]
