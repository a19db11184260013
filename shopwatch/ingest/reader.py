"""``CameraReader``: one camera's RTSP stream, read by one daemon thread (PyAV blocks, so a thread per stream).

The thread loops: open (``connecting``), read until the stream ends or fails (``online``; ``stalled`` is
derived by ``health()`` when packets stop), then wait a backoff delay (``offline``, or ``auth_failed`` with the
slow delay) and try again. ``update_config`` and ``stop`` wake the wait at once; a thread blocked inside a
read leaves after the read timeout at the latest. Packets are handed on in small batches (``IDLE_BATCH_S``):
health counts, activity requests, then ``pipeline.StreamPipeline``, which decides what is decoded.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import av

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.config import Activity, CameraConfig, Ingest
from shopwatch.core.errors import PeerProtocolError, ShopwatchError, SnapshotUnavailable
from shopwatch.core.frame import Frame
from shopwatch.core.health import CameraHealth, CameraState, StreamInfo
from shopwatch.core.redact import with_credentials
from shopwatch.ingest.access_unit import AccessUnit, AccessUnitAssembler
from shopwatch.ingest.activity import ActivityGate
from shopwatch.ingest.backoff import ReconnectBackoff
from shopwatch.ingest.clip import ClipError, ClipInfo, StreamTemplate, cut_clip
from shopwatch.ingest.decode import AvDecoder, decoder_context
from shopwatch.ingest.failures import CAMERA_FAILURES, Failure, classify, stream_ended
from shopwatch.ingest.liveness import MediaClock
from shopwatch.ingest.pacing import OpenPacer
from shopwatch.ingest.pipeline import Activation, PipelineContext, StreamPipeline
from shopwatch.ingest.ring import PacketRing
from shopwatch.ingest.slot import LatestSlot
from shopwatch.ingest.snapshot import SnapshotStore
from shopwatch.ingest.stats import HealthTracker

log = logging.getLogger(__name__)

# A connection that delivered packets this long was healthy: its failure starts the backoff from the beginning.
STABLE_AFTER_S = 10.0
# Packets are handed to the pipeline in batches, at most this old. Per packet the reader only appends to a list:
# with ~100 reader threads, per-packet Python work runs on cold caches between blocking reads, and costs several
# times what it costs in a loop (measured at 100 idle streams: batches of ~6 packets cut the reader's overhead
# over bare demuxing by ~60 %; side by side in one run, idle cost 1.69x the floor with 0.25 s batches, 1.58x with
# 0.5 s, 1.41x with 1 s). Activation, snapshot and external requests wait at most this long; decoding starts from
# the keyframe before the trigger anyway, so no picture is lost.
IDLE_BATCH_S = 1.0
ACTIVE_BATCH_S = 0.25
LIVE_BATCH_S = 0.02  # while a live view watches (``LiveTap``): each picture reaches the ring at once
_NOT_SERVING = (CameraState.DISABLED, CameraState.OFFLINE, CameraState.AUTH_FAILED)


def default_frame_capacity(activity: Activity) -> int:
    """Room for the frames decoded at once at an activation (back to the keyframe before the trigger)."""
    return max(2, min(64, math.ceil(activity.detect_fps * 3)))


def open_options(settings: Ingest, camera: CameraConfig) -> dict[str, str]:
    """FFmpeg RTSP options (INGEST_FACTS: probing off cuts the open from ~1.1 s to ~0.05 s; ``stimeout`` is
    ignored by FFmpeg >= 5, ``timeout`` is the socket I/O timeout in microseconds)."""
    transport = camera.transport or settings.transport
    return {
        "rtsp_transport": transport.value,
        "timeout": str(int(settings.read_timeout_s * 1_000_000)),
        "analyzeduration": "0",
        "probesize": "32",
        "allowed_media_types": "video",  # do not SETUP the audio track: bandwidth we would throw away
    }


def stream_url(camera: CameraConfig) -> str | None:
    url = camera.streams.detect or camera.streams.record
    if url is None:
        return None
    return with_credentials(url, camera.credentials.username, camera.credentials.password.get_secret_value())


def stop_readers(readers: list[CameraReader], timeout_s: float) -> list[str]:
    """Stop many readers within one shared deadline; returns the ids of those still running after it.

    Call this before a process exits: a reader thread still inside PyAV while the interpreter shuts down can
    crash the process (seen here: exit status 139 about one exit in ten, none after joining)."""
    for reader in readers:
        reader.request_stop()
    deadline = time.monotonic() + timeout_s
    return [r.camera_id for r in readers if not r.join(deadline - time.monotonic())]


class _Liveness:
    """A connection's ``MediaClock`` fed with PyAV packets (their ``pts`` in the stream's ``time_base``)."""

    def __init__(self, clock: MediaClock, time_base: float) -> None:
        self._clock = clock
        self._time_base = time_base

    def heard(self, packet: Any, arrival: float) -> float:
        pts = packet.pts
        return self._clock.heard(arrival, None if pts is None or not self._time_base else pts * self._time_base)


class CameraReader:
    def __init__(
        self,
        camera: CameraConfig,
        settings: Ingest,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        frames: LatestSlot[Frame] | None = None,
        pacer: OpenPacer | None = None,
    ) -> None:
        """``pacer``: the worker's, shared by its readers (every open waits its turn); None: open at once."""
        self._settings = settings
        self._pacer = pacer
        self._clock = clock if clock is not None else SystemClock()
        self._camera = camera
        self._pending: CameraConfig | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._activity_requests: deque[str] = deque(maxlen=16)
        self._backoff = ReconnectBackoff(settings.backoff, rng)
        self.frames: LatestSlot[Frame] = (
            frames if frames is not None else LatestSlot(default_frame_capacity(settings.activity))
        )
        self.ring: PacketRing[AccessUnit[Any]] = PacketRing(settings.activity.preroll_s)
        self._health = HealthTracker(
            camera.id, self._clock, stall_after_s=settings.stall_after_s, secrets=camera.secrets()
        )
        self._snapshots = SnapshotStore()
        self._gate = ActivityGate(settings.activity.quiet_s)
        self._pipeline: StreamPipeline | None = None
        self._template: StreamTemplate | None = None  # of the current connection's stream, for clips
        self.watched = False  # set by the worker's ``LiveTap`` while a live view watches this camera
        self._thread: threading.Thread | None = None
        self._attempts = 0
        self._online_since: float | None = None  # when the current connection delivered its first packet
        if not camera.enabled:
            self._health.set_disabled()

    # public API (any thread) -------------------------------------------------------------------------------

    @property
    def camera_id(self) -> str:
        return self._camera.id

    @property
    def last_activation(self) -> Activation | None:
        pipeline = self._pipeline
        return None if pipeline is None else pipeline.last_activation

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"reader of camera {self._camera.id!r} already started")
        self._thread = threading.Thread(target=self._run, name=f"reader-{self._camera.id}", daemon=True)
        self._thread.start()

    def stop(self, join_timeout_s: float = 2.0) -> bool:
        """Ask the thread to end; True if it ended within ``join_timeout_s`` (a thread blocked in a read ends
        after ``read_timeout_s`` at the latest; it is a daemon, so it never holds up the process)."""
        self.request_stop()
        return self.join(join_timeout_s)

    def request_stop(self) -> None:
        """Ask the thread to end, without waiting (see ``stop_readers`` for many at once)."""
        self._stopping.set()
        self._wake.set()

    def join(self, timeout_s: float) -> bool:
        if self._thread is None:
            return True
        self._thread.join(max(0.0, timeout_s))
        return not self._thread.is_alive()

    def update_config(self, camera: CameraConfig) -> None:
        """Apply an edited configuration: reconnect now with the new URL/credentials, backoff reset."""
        if camera.id != self._camera.id:
            raise ValueError(f"expected a configuration of camera {self._camera.id!r}, found {camera.id!r}")
        with self._lock:
            self._pending = camera
        # Until the thread switches over, messages may still mention either password.
        self._health.set_secrets(self._camera.secrets() + camera.secrets())
        self._wake.set()

    def request_activity(self, reason: str) -> None:
        """External activity (ONVIF motion event, operator): switch to active at the next packet."""
        self._activity_requests.append(reason)

    def health(self) -> CameraHealth:
        return self._health.health(frames_dropped=self.frames.dropped)

    def snapshot_jpeg(self, timeout_s: float) -> bytes:
        """JPEG of the latest decoded picture if it is fresh, else of the next keyframe, decoded on demand."""
        picture = self._snapshots.latest()
        if picture is not None and self._clock.monotonic() - picture.time <= self._fresh_s():
            return self._snapshots.encode(picture)
        health = self._health.health()
        if health.state in _NOT_SERVING:
            why = f": {health.last_error}" if health.last_error else ""
            raise SnapshotUnavailable(f"camera {self._camera.id} is {health.state.value}{why}")
        generation = self._snapshots.request()
        picture = self._snapshots.wait_newer(generation, timeout_s)
        if picture is None:
            raise SnapshotUnavailable(
                f"expected a keyframe from camera {self._camera.id} within {timeout_s:g} s,"
                f" found none (state {self._health.health().state.value})"
            )
        return self._snapshots.encode(picture)

    @property
    def template(self) -> StreamTemplate | None:
        """The current connection's stream (a new object for each connection), None before the first."""
        return self._template

    def cut_clip(self, start: float, end: float, path: Path) -> ClipInfo:
        """An MP4 clip of the ring from the keyframe at or before ``start`` to ``end`` (wall times)."""
        template = self._template
        if template is None:
            raise ClipError(f"camera {self._camera.id} has not delivered a stream yet")
        offset = self._clock.monotonic() - self._clock.wall()  # wall time -> the ring's monotonic arrival times
        return cut_clip(self.ring, template, start + offset, end + offset, path)

    def _fresh_s(self) -> float:
        pipeline = self._pipeline
        gop = pipeline.gop_s if pipeline is not None and pipeline.gop_s else 0.0
        return 2 * max(gop, self._settings.activity.idle_keyframe_interval_s)

    # reader thread -----------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            camera = self._apply_pending()
            if self._stopping.is_set():
                break
            if not camera.enabled:
                self._health.set_disabled()
                self._wake.wait()  # until update_config or stop
                continue
            try:
                delay = self._connect_once(camera)
            except Exception as exc:  # task boundary: a bug of ours (camera failures are caught below), so its
                # traceback at ERROR, counted apart in health and metrics, and the camera retried with the backoff
                log.exception("camera %s: internal error in the reader (a bug, not a camera failure)", camera.id)
                self._health.on_internal_error()
                message = f"internal error in the reader ({type(exc).__name__}); its traceback is in the service log"
                delay = self._fail(Failure(CameraState.OFFLINE, message, False, ShopwatchError))
            if delay > 0:
                self._wake.wait(delay)
        self._pipeline = None

    def _apply_pending(self) -> CameraConfig:
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self._camera = pending
            self._backoff.reset()
            self._health.set_secrets(pending.secrets())
            if pending.enabled:
                self._health.set_connecting()
        return self._camera

    def _connect_once(self, camera: CameraConfig) -> float:
        """One connection attempt and its whole session; returns the delay before the next attempt."""
        url = stream_url(camera)
        if url is None:
            message = "no stream URL configured (streams.detect): set it or run ONVIF onboarding"
            return self._fail(Failure(CameraState.OFFLINE, message, True, PeerProtocolError))
        if self._pacer is not None and not self._pacer.start(self._stopping):
            return 0.0  # stopping
        self._health.begin_attempt(reconnect=self._attempts > 0)
        self._attempts += 1
        self._online_since = None
        self._activity_requests.clear()
        opened_at = self._clock.monotonic()
        try:
            # Reads are bounded by FFmpeg's own socket timeout (``timeout`` in open_options), not by PyAV's: PyAV
            # enforces its read timeout from FFmpeg's interrupt callback, which takes the GIL on every socket
            # read (several per packet). At 100 active streams that cost ~0.001 core per stream in GIL hand-offs.
            container = av.open(
                url, options=open_options(self._settings, camera), timeout=(self._settings.open_timeout_s, None)
            )
        except CAMERA_FAILURES as exc:
            return self._fail(self._open_failure(exc, camera, url, self._clock.monotonic() - opened_at))
        finally:
            if self._pacer is not None:
                self._pacer.finish()  # answered or failed: the next reader of the worker may open
        try:
            failure = self._read(container, camera, url)
        except CAMERA_FAILURES as exc:
            failure = classify(exc, url, camera.secrets(), during="read", timeout_s=self._settings.read_timeout_s)
        finally:
            try:
                container.close()
            except CAMERA_FAILURES:  # closing a broken connection may fail too; nothing left to clean up
                log.debug("camera %s: error while closing the stream", camera.id, exc_info=True)
        if failure is None:
            return 0.0
        if self._online_since is not None and self._clock.monotonic() - self._online_since >= STABLE_AFTER_S:
            self._backoff.reset()
        return self._fail(failure)

    def _open_failure(self, exc: BaseException, camera: CameraConfig, url: str, took_s: float) -> Failure:
        socket_timeout_s = self._settings.read_timeout_s  # FFmpeg's ``timeout``: how long it awaits any answer
        unanswered = took_s >= 0.9 * socket_timeout_s  # see failures._unanswered
        return classify(
            exc,
            url,
            camera.secrets(),
            during="open",
            timeout_s=self._settings.open_timeout_s,
            unanswered_after_s=socket_timeout_s if unanswered else None,
        )

    def _read(self, container: Any, camera: CameraConfig, url: str) -> Failure | None:
        """Read until the stream ends or fails (returns the failure) or the reader must stop or reconfigure."""
        stream = next((s for s in container.streams if s.type == "video"), None)
        if stream is None:
            kinds = sorted({s.type for s in container.streams}) or ["nothing"]
            raise PeerProtocolError(f"expected a video stream in the RTSP session, found {', '.join(kinds)}")
        codec = decoder_context(stream)
        info = StreamInfo(
            codec.name, codec.width, codec.height, float(stream.average_rate) if stream.average_rate else None
        )
        pipeline = self._start_pipeline(camera, AvDecoder(codec), info, StreamTemplate.of(stream))
        assembler: AccessUnitAssembler[Any] = AccessUnitAssembler()
        live = _Liveness(MediaClock(self._settings.stall_after_s), float(stream.time_base or 0.0))
        monotonic = self._clock.monotonic
        batch: list[tuple[Any, float]] = []  # (packet, arrival) read since the last flush
        idle_batch_s = self._idle_batch_s()
        flush_at = -math.inf
        for packet in container.demux(stream):
            # Per packet only this: the rest runs once per batch, on warm caches (see IDLE_BATCH_S).
            now = monotonic()
            batch.append((packet, now))
            if now < flush_at and not self.watched:  # a live view just began: hand on what waits at once
                continue
            if self._stopping.is_set() or self._pending is not None:
                return None
            if self._flush(batch, pipeline, assembler, live, now):
                log.info("camera %s online (%s %dx%d)", camera.id, info.codec, info.width, info.height)
            batch.clear()
            if self.watched:
                flush_at = now + LIVE_BATCH_S
            else:
                flush_at = now + (ACTIVE_BATCH_S if pipeline.active else idle_batch_s)
        return stream_ended(url, camera.secrets())

    def _start_pipeline(
        self, camera: CameraConfig, decoder: AvDecoder, info: StreamInfo, template: StreamTemplate
    ) -> StreamPipeline:
        """A new connection's stream is known: health and clips learn it, and its pipeline starts."""
        self._health.set_stream(info)
        self._template = template
        ctx = PipelineContext(
            camera.id,
            self._settings.activity,
            self._clock,
            self.ring,
            self.frames,
            self._health,
            self._snapshots,
            self._gate,
        )
        pipeline = self._pipeline = StreamPipeline(ctx, decoder, info)
        return pipeline

    def _idle_batch_s(self) -> float:
        return min(IDLE_BATCH_S, self._settings.stall_after_s / 2)  # health sees packets once per batch

    def _flush(
        self,
        batch: list[tuple[Any, float]],
        pipeline: StreamPipeline,
        assembler: AccessUnitAssembler[Any],
        live: _Liveness,
        now: float,
    ) -> bool:
        """Count a batch of packets, apply activity requests, then feed its access units to the pipeline; True
        when the batch brought the camera online."""
        sizes = [packet.size for packet, _ in batch]
        count = len(sizes) - sizes.count(0)  # an empty packet marks the end of a stream, not a picture
        # Health hears the batch when its last packet was live (a packet FFmpeg held back is late: liveness.py).
        online = count > 0 and self._health.on_packets(count, sum(sizes), batch[0][1], live.heard(*batch[-1]))
        if online:
            self._online_since = batch[0][1]
        while self._activity_requests:
            pipeline.signal(self._activity_requests.popleft())
        pictures = batch if count == len(batch) else [b for b, size in zip(batch, sizes, strict=True) if size]
        pipeline.on_units(assembler.push_all(pictures), now)
        return online

    def _fail(self, failure: Failure) -> float:
        if failure.slow_retry:
            delay = self._backoff.auth_delay()
        else:
            delay = self._backoff.next_delay()
        previous = self._health.health()
        self._health.on_failure(failure.state, failure.message, delay)
        level = logging.WARNING if previous.last_error != failure.message else logging.DEBUG
        log.log(
            level, "camera %s %s: %s; retrying in %.1f s", self._camera.id, failure.state.value, failure.message, delay
        )
        return delay
