"""The native reader (``ingest.reader: native``): every camera of a worker served by one thread, no FFmpeg demuxer.

``CameraReader`` gives each camera a thread blocked in PyAV, and FFmpeg's RTSP reads wake every such thread ten
times a second whatever the frame rate (its interrupt-callback polling), on top of a thread switch per packet:
profiled at 100 idle cameras, ~38 % of a worker's CPU was the kernel. Here one ``NativeLoop`` thread per worker
holds every camera's socket in one selector and wakes only when data arrived or a timer is due; the RTSP
session and the H.264 depacketizer are the sans-IO ``shopwatch.rtsp.play.RtspPlayer``. Each picture becomes one
``av.Packet`` (Annex B, RTP timestamp, keyframe flag) and goes through the same batches, ``StreamPipeline``,
ring, clips, snapshots, live views and health as the FFmpeg reader's (``NativeCameraReader`` is a
``CameraReader`` with another transport). Failures are classified by ``failures.classify`` like the FFmpeg
reader's, the backoff and the worker's open pacing (``PaceCore``) are the same.

Interleaved TCP only (the native reader is chosen for a camera only when its transport is TCP) and H.264 only
(another codec fails with a sentence that names ``ingest.reader: ffmpeg``). A frozen camera goes ``stalled``
after ``stall_after_s`` and ``offline`` after ``read_timeout_s`` without data: no packet is held back, so no
liveness correction is needed (``liveness.py`` still checks every batch).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum
from fractions import Fraction
from typing import Any
from urllib.parse import unquote, urlsplit

import av

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.errors import PeerProtocolError, ShopwatchError
from shopwatch.core.frame import Frame
from shopwatch.core.health import CameraState, StreamInfo
from shopwatch.core.redact import strip_credentials
from shopwatch.ingest.access_unit import AccessUnitAssembler
from shopwatch.ingest.clip import StreamTemplate
from shopwatch.ingest.decode import AvDecoder
from shopwatch.ingest.failures import CAMERA_FAILURES, Failure, classify, stream_ended
from shopwatch.ingest.liveness import MediaClock
from shopwatch.ingest.pacing import PaceCore
from shopwatch.ingest.reader import ACTIVE_BATCH_S, LIVE_BATCH_S, STABLE_AFTER_S, CameraReader, _Liveness
from shopwatch.ingest.slot import LatestSlot
from shopwatch.rtsp.h264 import H264Unit, sps_dimensions
from shopwatch.rtsp.play import PlayState, RtspPlayer

log = logging.getLogger(__name__)

RECV_BYTES = 262_144
# The loop sleeps at least this long between two rounds of reads, so that one wake serves many cameras (at 100
# cameras x 12 fps a wake per picture would be 1,200 a second). Pictures are batched for the pipeline anyway
# (``IDLE_BATCH_S``); a live view's pictures wait at most this long.
MIN_ROUND_S = 0.02


class _Phase(Enum):
    IDLE = "idle"  # not started, disabled, or stopped
    WAITING_TURN = "waiting_turn"  # for the worker's open pacing
    CONNECTING = "connecting"  # TCP connect in progress
    HANDSHAKE = "handshake"  # OPTIONS .. PLAY
    PLAYING = "playing"
    BACKOFF = "backoff"


class NativeLoop:
    """A selector and a heap of timers shared by a worker's native readers, run by one daemon thread.

    Everything a reader does with its connection runs in this thread; other threads reach it via ``call_soon``."""

    def __init__(self, pace: PaceCore, clock: Clock | None = None, name: str = "native-loop") -> None:
        self.clock = clock if clock is not None else SystemClock()
        self._pace = pace
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._calls: deque[Callable[[], None]] = deque()
        self._timers: list[tuple[float, int, NativeCameraReader]] = []
        self._order = itertools.count()
        self._waiting: deque[NativeCameraReader] = deque()  # readers waiting for their turn to open
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the loop's thread (any thread may call this)."""
        self._calls.append(fn)
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):  # the wake pipe is full (a wake is pending anyway) or closed
            pass

    def stop(self, timeout_s: float = 2.0) -> bool:
        self._stopping.set()
        self.call_soon(lambda: None)
        self._thread.join(timeout_s)
        alive = self._thread.is_alive()
        if not alive:
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()
        return not alive

    # used by readers, in the loop's thread -----------------------------------------------------------------

    def at(self, when: float, reader: NativeCameraReader) -> None:
        """Call ``reader.on_timer()`` at ``when`` (monotonic); replaces the reader's earlier timer."""
        reader.timer_at = when
        heapq.heappush(self._timers, (when, next(self._order), reader))

    def watch(self, sock: socket.socket, events: int, reader: NativeCameraReader) -> None:
        try:
            self._selector.modify(sock, events, reader)
        except KeyError:
            self._selector.register(sock, events, reader)

    def forget(self, sock: socket.socket) -> None:
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def wait_turn(self, reader: NativeCameraReader) -> None:
        self._waiting.append(reader)

    def leave_turn(self, reader: NativeCameraReader) -> None:
        try:
            self._waiting.remove(reader)
        except ValueError:
            pass

    def finish_turn(self) -> None:
        self._pace.finish()

    # the thread --------------------------------------------------------------------------------------------

    def _run(self) -> None:
        monotonic = self.clock.monotonic
        while not self._stopping.is_set():
            round_start = monotonic()
            wait = self._grant_turns(round_start)
            if self._timers:
                wait = min(wait, self._timers[0][0] - round_start)
            events = self._selector.select(None if math.isinf(wait) else max(0.0, wait))
            for key, _ in events:
                reader = key.data
                if reader is None:
                    self._drain_wake()
                else:
                    reader.on_io()
            while self._calls:
                self._calls.popleft()()
            now = monotonic()
            timers = self._timers
            while timers and timers[0][0] <= now:
                when, _, reader = heapq.heappop(timers)
                if reader.timer_at == when:
                    reader.timer_at = None
                    reader.on_timer()
            spare = MIN_ROUND_S - (monotonic() - round_start)
            if spare > 0 and events:
                time.sleep(spare)  # let more data gather: the next round serves it in one wake

    def _grant_turns(self, now: float) -> float:
        """Start the opens whose turn came; how long until the next one may start (``inf``: none waiting)."""
        while self._waiting:
            wait = self._pace.try_start(now)
            if wait > 0:
                return wait
            self._waiting.popleft().on_turn()
        return math.inf

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass


class NativeCameraReader(CameraReader):
    """A camera read by a ``NativeLoop``: the public API of ``CameraReader``, without a thread of its own."""

    def __init__(
        self,
        camera: CameraConfig,
        settings: Ingest,
        loop: NativeLoop,
        *,
        frames: LatestSlot[Frame] | None = None,
    ) -> None:
        super().__init__(camera, settings, clock=loop.clock, frames=frames)
        self._loop = loop
        self.timer_at: float | None = None  # set by the loop
        self._phase = _Phase.IDLE
        self._closed = threading.Event()
        self._sock: socket.socket | None = None
        self._player: RtspPlayer | None = None
        self._url = ""
        self._deadline = 0.0  # open: when the attempt times out
        self._last_data = 0.0
        self._keepalive_at = math.inf
        self._batch: list[tuple[Any, float]] = []
        self._flush_at = -math.inf
        self._assembler: AccessUnitAssembler[Any] = AccessUnitAssembler()
        self._live: _Liveness | None = None
        self._time_base = Fraction(1, 90_000)

    # public API (any thread) -------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop.call_soon(self._begin)

    def request_stop(self) -> None:
        self._stopping.set()
        self._loop.call_soon(self._shut)

    def join(self, timeout_s: float) -> bool:
        return self._closed.wait(max(0.0, timeout_s))

    def update_config(self, camera: CameraConfig) -> None:
        super().update_config(camera)
        self._loop.call_soon(self._reconfigure)

    # in the loop's thread ----------------------------------------------------------------------------------

    def _shut(self) -> None:
        self._close_connection()
        self._loop.leave_turn(self)
        self._phase = _Phase.IDLE
        self._pipeline = None
        self._closed.set()

    def _reconfigure(self) -> None:
        if self._stopping.is_set():
            return
        self._close_connection()
        self._loop.leave_turn(self)
        self._begin()

    def _begin(self) -> None:
        """What ``CameraReader._run`` does before each attempt: apply an edit, then wait for a turn to open."""
        if self._stopping.is_set():
            self._shut()
            return
        camera = self._apply_pending()
        if not camera.enabled:
            self._health.set_disabled()
            self._phase = _Phase.IDLE  # until update_config
            return
        url = camera.streams.detect or camera.streams.record
        if url is None:
            message = "no stream URL configured (streams.detect): set it or run ONVIF onboarding"
            self._backoff_after(Failure(CameraState.OFFLINE, message, True, PeerProtocolError))
            return
        self._url = url
        self._phase = _Phase.WAITING_TURN
        self._loop.wait_turn(self)

    def on_turn(self) -> None:
        """The worker's pacing lets this reader open now."""
        camera = self._camera
        self._health.begin_attempt(reconnect=self._attempts > 0)
        self._attempts += 1
        self._online_since = None
        self._activity_requests.clear()
        self._phase = _Phase.CONNECTING
        self._deadline = self._clock.monotonic() + self._settings.open_timeout_s
        self._loop.at(self._deadline, self)
        self._guarded(self._connect, camera)

    def _connect(self, camera: CameraConfig) -> None:
        parts = urlsplit(self._url)
        if parts.scheme != "rtsp" or not parts.hostname:
            raise PeerProtocolError(f"expected an rtsp:// URL with a host, found {strip_credentials(self._url)!r}")
        username = unquote(parts.username) if parts.username else camera.credentials.username
        password = unquote(parts.password) if parts.password else camera.credentials.password.get_secret_value()
        self._player = RtspPlayer(strip_credentials(self._url), username or None, password or None)
        family = socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET
        sock = self._sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A host name is resolved here, blocking the loop: cameras are configured by address (a name would be
        # resolved once per attempt; a slow resolver delays every camera of the worker).
        err = sock.connect_ex((parts.hostname, parts.port or 554))
        if err not in (0, 115, 36):  # EINPROGRESS (Linux), EINPROGRESS (macOS)
            raise OSError(err, os.strerror(err))
        self._loop.watch(sock, selectors.EVENT_WRITE, self)

    def on_io(self) -> None:
        """The socket is writable (connected) or readable."""
        self._guarded(self._io)

    def _io(self) -> None:
        sock, player = self._sock, self._player
        if sock is None or player is None:
            return
        if self._phase is _Phase.CONNECTING:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, os.strerror(err))
            self._phase = _Phase.HANDSHAKE
            sock.sendall(player.start())
            self._loop.watch(sock, selectors.EVENT_READ, self)
            return
        try:
            data = sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        now = self._clock.monotonic()
        self._last_data = now
        if not data:
            if self._phase is _Phase.PLAYING:
                self._backoff_after(stream_ended(self._url, self._camera.secrets()))
                return
            raise PeerProtocolError("expected an RTSP answer, found the connection closed")
        out, pictures = player.receive(data)
        if out:
            sock.sendall(out)  # a request or an answer of a few hundred bytes: the send buffer has room
        if self._phase is _Phase.HANDSHAKE and player.state is PlayState.PLAYING:
            self._playing(now)
        if pictures and self._phase is _Phase.PLAYING:
            self._take(pictures, now)

    def _playing(self, now: float) -> None:
        player = self._player
        assert player is not None and player.track is not None
        self._loop.finish_turn()
        self._phase = _Phase.PLAYING
        track = player.track
        self._time_base = Fraction(1, track.clock_rate)
        width, height = track.width, track.height
        info = StreamInfo(track.codec, width, height, None)
        template = StreamTemplate(track.codec, width, height, track.extradata or None, self._time_base)
        self._start_pipeline(self._camera, AvDecoder.for_codec(track.codec, track.extradata), info, template)
        self._assembler = AccessUnitAssembler()
        self._live = _Liveness(MediaClock(self._settings.stall_after_s), float(self._time_base))
        self._batch = []
        self._flush_at = -math.inf
        self._keepalive_at = now + player.keepalive_interval_s
        self._schedule()

    def _take(self, pictures: list[H264Unit], now: float) -> None:
        batch, time_base = self._batch, self._time_base
        for unit in pictures:
            packet = av.Packet(unit.data)
            packet.pts = packet.dts = unit.timestamp
            packet.time_base = time_base
            packet.is_keyframe = unit.keyframe
            batch.append((packet, now))
            if unit.keyframe and not self._template_known():
                self._learn_size()
        if now < self._flush_at and not self.watched:
            return
        pipeline, live = self._pipeline, self._live
        if self._stopping.is_set() or pipeline is None or live is None:
            return
        if self._flush(batch, pipeline, self._assembler, live, now):
            info = self._health.health().stream
            size = f"{info.width}x{info.height}" if info is not None else "?"
            log.info("camera %s online (native reader, h264 %s)", self._camera.id, size)
        batch.clear()
        if self.watched:
            self._flush_at = now + LIVE_BATCH_S
        else:
            self._flush_at = now + (ACTIVE_BATCH_S if pipeline.active else self._idle_batch_s())

    def _template_known(self) -> bool:
        template = self._template
        return template is not None and template.width > 0

    def _learn_size(self) -> None:
        """No SPS in the SDP: the picture size comes from the first keyframe's in-band SPS."""
        player = self._player
        if player is None or not player.sps or self._template is None:
            return
        sps = player.sps
        try:
            width, height = sps_dimensions(sps)
        except ValueError:
            return
        template = self._template
        self._template = StreamTemplate(template.codec, width, height, player.extradata or None, template.time_base)
        self._health.set_stream(StreamInfo(template.codec, width, height, None))

    def on_timer(self) -> None:
        self._guarded(self._timer)

    def _timer(self) -> None:
        now = self._clock.monotonic()
        phase = self._phase
        if phase is _Phase.BACKOFF:
            self._begin()
        elif phase in (_Phase.CONNECTING, _Phase.HANDSHAKE):
            if now >= self._deadline:
                raise TimeoutError(f"waited {self._settings.open_timeout_s:g} s")
            self._loop.at(self._deadline, self)
        elif phase is _Phase.PLAYING:
            if now - self._last_data >= self._settings.read_timeout_s:
                raise TimeoutError(f"waited {self._settings.read_timeout_s:g} s")
            player, sock = self._player, self._sock
            if now >= self._keepalive_at and player is not None and sock is not None:
                sock.sendall(player.keepalive())
                self._keepalive_at = now + player.keepalive_interval_s
            self._schedule()

    def _schedule(self) -> None:
        self._loop.at(min(self._last_data + self._settings.read_timeout_s, self._keepalive_at), self)

    def _guarded(self, step: Callable[..., None], *args: Any) -> None:
        """Run one step of the connection; a camera's failure ends the attempt with the backoff, a bug too."""
        try:
            step(*args)
        except CAMERA_FAILURES as exc:
            during = "read" if self._phase is _Phase.PLAYING else "open"
            timeout = self._settings.read_timeout_s if during == "read" else self._settings.open_timeout_s
            self._backoff_after(classify(exc, self._url, self._camera.secrets(), during=during, timeout_s=timeout))
        except Exception as exc:  # task boundary (as in CameraReader._run): a bug of ours, with its traceback
            log.exception("camera %s: internal error in the native reader (a bug, not a camera failure)",
                          self.camera_id)  # fmt: skip
            self._health.on_internal_error()
            message = f"internal error in the reader ({type(exc).__name__}); its traceback is in the service log"
            self._backoff_after(Failure(CameraState.OFFLINE, message, False, ShopwatchError))

    def _backoff_after(self, failure: Failure) -> None:
        stable = self._online_since is not None and self._clock.monotonic() - self._online_since >= STABLE_AFTER_S
        self._close_connection()
        if stable:
            self._backoff.reset()
        delay = self._fail(failure)
        if self._stopping.is_set():
            self._shut()
            return
        self._phase = _Phase.BACKOFF
        self._loop.at(self._clock.monotonic() + delay, self)

    def _close_connection(self) -> None:
        if self._phase in (_Phase.CONNECTING, _Phase.HANDSHAKE):
            self._loop.finish_turn()  # answered or failed: the next reader of the worker may open
        sock, self._sock = self._sock, None
        if sock is not None:
            self._loop.forget(sock)
            player = self._player
            teardown = player.teardown() if player is not None and self._phase is _Phase.PLAYING else None
            try:
                if teardown:
                    sock.send(teardown)
            except OSError:
                pass  # the connection is gone already: nothing to end politely
            sock.close()
        self._player = None
        self._batch = []
        self.timer_at = None
        self._phase = _Phase.IDLE
