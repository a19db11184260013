"""Rolling rates and the health record of one camera reader.

``HealthTracker`` is written by the reader thread (a few attribute updates per packet) and read by anyone
(``health()`` takes a lock and builds a frozen ``CameraHealth``). ``stalled`` is not an event the reader sees
(it is blocked in a read): it is derived when health is asked for, from the age of the last packet.
"""

from __future__ import annotations

import threading
from collections import deque

from shopwatch.core.clock import Clock
from shopwatch.core.health import ActivityMode, CameraHealth, CameraState, StreamInfo
from shopwatch.core.redact import redact_text


class RollingRate:
    """Events (and amounts) per second over the last ``window_s``, in ``buckets`` time buckets.

    Cost is O(1) per ``add``; a rate asked for before a full window has passed is averaged over the time since
    ``start`` (so a camera that just came online does not show a fifth of its real rate)."""

    def __init__(self, now: float, window_s: float = 5.0, buckets: int = 10) -> None:
        self._bucket_s = window_s / buckets
        self._window_s = window_s
        self._buckets: deque[tuple[int, float]] = deque()  # (bucket index, amount)
        self._start = now

    def restart(self, now: float) -> None:
        self._buckets.clear()
        self._start = now

    def add(self, now: float, amount: float = 1.0) -> None:
        index = int(now // self._bucket_s)
        if self._buckets and self._buckets[-1][0] == index:
            last = self._buckets[-1]
            self._buckets[-1] = (index, last[1] + amount)
        else:
            self._buckets.append((index, amount))
        self._expire(index)

    def _oldest_index(self, index: int) -> int:
        return index - int(round(self._window_s / self._bucket_s)) + 1

    def _expire(self, index: int) -> None:
        oldest = self._oldest_index(index)
        while self._buckets and self._buckets[0][0] < oldest:
            self._buckets.popleft()

    def rate(self, now: float) -> float:
        index = int(now // self._bucket_s)
        self._expire(index)
        # The buckets cover from the start of the oldest one to now (the newest is still filling).
        covered_from = max(self._oldest_index(index) * self._bucket_s, self._start)
        span = max(now - covered_from, self._bucket_s)
        return sum(amount for _, amount in self._buckets) / span


class HealthTracker:
    """State, counters and rates of one camera; thread-safe."""

    def __init__(
        self,
        camera_id: str,
        clock: Clock,
        *,
        stall_after_s: float,
        secrets: tuple[str, ...] = (),
        rate_window_s: float = 5.0,
    ) -> None:
        self._id = camera_id
        self._clock = clock
        self._stall_after_s = stall_after_s
        self._secrets = secrets
        self._lock = threading.Lock()
        now = clock.monotonic()
        self._state = CameraState.CONNECTING
        self._since = clock.wall()
        self._mode = ActivityMode.IDLE
        self._reconnects = 0
        self._last_error: str | None = None
        self._stream: StreamInfo | None = None
        self._attempt_start: float | None = None
        self._first_packet_s: float | None = None
        self._next_retry_at: float | None = None
        self._last_packet: float | None = None
        self._packets = RollingRate(now, rate_window_s)
        self._bytes = RollingRate(now, rate_window_s)
        self._frames = RollingRate(now, rate_window_s)
        self._packets_total = 0
        self._frames_total = 0
        self._keyframes_total = 0
        self._activations = 0
        self._internal_errors = 0
        self.worker: int | None = None

    @property
    def state(self) -> CameraState:
        """The state the reader set (without the derived ``stalled``)."""
        with self._lock:
            return self._state

    def set_secrets(self, secrets: tuple[str, ...]) -> None:
        with self._lock:
            self._secrets = secrets

    def _enter(self, state: CameraState) -> None:
        if state is not self._state:
            self._state = state
            self._since = self._clock.wall()

    def begin_attempt(self, *, reconnect: bool) -> None:
        """A connection attempt starts. A camera already failing keeps its failure state (and ``since``)
        during retries, so operators see how long it has been down, not when the last attempt started."""
        with self._lock:
            now = self._clock.monotonic()
            self._attempt_start = now
            self._first_packet_s = None
            self._next_retry_at = None
            self._last_packet = None
            if reconnect:
                self._reconnects += 1
            if self._state not in (CameraState.OFFLINE, CameraState.AUTH_FAILED):
                self._enter(CameraState.CONNECTING)
            for rate in (self._packets, self._bytes, self._frames):
                rate.restart(now)

    def set_connecting(self) -> None:
        """Explicitly back to ``connecting`` (a new configuration starts a fresh attempt)."""
        with self._lock:
            self._next_retry_at = None
            self._enter(CameraState.CONNECTING)

    def on_failure(self, state: CameraState, error: str | None, retry_in_s: float | None) -> None:
        with self._lock:
            self._enter(state)
            if error is not None:
                self._last_error = redact_text(error, self._secrets)
            self._next_retry_at = None if retry_in_s is None else self._clock.monotonic() + retry_in_s
            self._mode = ActivityMode.IDLE

    def on_internal_error(self) -> None:
        """The reader met an error of its own (a bug, logged with its traceback): counted apart from failures."""
        with self._lock:
            self._internal_errors += 1

    def set_disabled(self) -> None:
        with self._lock:
            self._enter(CameraState.DISABLED)
            self._next_retry_at = None
            self._last_packet = None
            self._mode = ActivityMode.IDLE

    def set_stream(self, stream: StreamInfo | None) -> None:
        with self._lock:
            self._stream = stream

    def on_packet(self, size: int) -> bool:
        """Count one video packet; True when it is the connection's first (the camera just came online)."""
        now = self._clock.monotonic()
        return self.on_packets(1, size, now, now)

    def on_packets(self, count: int, nbytes: int, first: float, last: float) -> bool:
        """Count ``count`` video packets of ``nbytes`` that arrived from ``first`` to ``last`` (monotonic), read
        as one batch; True when they are the connection's first (the camera just came online). ``last`` is when
        the last one was live, which for a packet delivered late is before it arrived (``liveness.MediaClock``):
        such a packet is counted but does not make a stalled camera fresh."""
        with self._lock:
            if self._last_packet is None or last > self._last_packet:
                self._last_packet = last
            last = self._last_packet
            self._packets_total += count
            self._packets.add(last, count)
            self._bytes.add(last, nbytes)
            if self._state is CameraState.ONLINE:
                return False
            self._enter(CameraState.ONLINE)
            self._first_packet_s = None if self._attempt_start is None else first - self._attempt_start
            return True

    def on_keyframe(self) -> None:
        """Count one keyframe (a picture, which may have come in several packets)."""
        with self._lock:
            self._keyframes_total += 1

    def on_decoded(self, frames: int = 1) -> None:
        with self._lock:
            self._frames_total += frames
            self._frames.add(self._clock.monotonic(), frames)

    def set_mode(self, mode: ActivityMode, activations: int) -> None:
        with self._lock:
            self._mode = mode
            self._activations = activations

    def last_packet_age(self) -> float | None:
        with self._lock:
            return None if self._last_packet is None else self._clock.monotonic() - self._last_packet

    def health(self, frames_dropped: int = 0) -> CameraHealth:
        with self._lock:
            now = self._clock.monotonic()
            wall = self._clock.wall()
            age = None if self._last_packet is None else now - self._last_packet
            state, since = self._state, self._since
            if state is CameraState.ONLINE and age is not None and age > self._stall_after_s:
                state, since = CameraState.STALLED, wall - (age - self._stall_after_s)
            online = state in (CameraState.ONLINE, CameraState.STALLED)
            retry = None if self._next_retry_at is None else max(0.0, self._next_retry_at - now)
            return CameraHealth(
                camera_id=self._id,
                state=state,
                since=since,
                mode=self._mode,
                last_packet_age_s=age,
                packets_per_s=self._packets.rate(now) if online else 0.0,
                frames_per_s=self._frames.rate(now) if online else 0.0,
                kbit_per_s=self._bytes.rate(now) * 8 / 1000 if online else 0.0,
                reconnects=self._reconnects,
                last_error=self._last_error,
                stream=self._stream,
                time_to_first_packet_s=self._first_packet_s,
                next_retry_in_s=retry,
                packets_total=self._packets_total,
                frames_total=self._frames_total,
                keyframes_total=self._keyframes_total,
                frames_dropped=frames_dropped,
                activations=self._activations,
                internal_errors=self._internal_errors,
                worker=self.worker,
            )
