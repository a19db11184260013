"""What happens to each access unit of one connection: ring, activity signals, and decoding only when needed.

Idle (the cost target: about demux only): every unit goes into the ring and its size into ``PacketActivity``;
a keyframe is decoded only when one is due (at most one per ``idle_keyframe_interval_s``, and only if its size
says the scene may have changed, see ``KeyframeSizeWatch``; at least one per ``idle_keyframe_max_interval_s``) or
a snapshot asks for it, and its luma is compared with the previous decoded keyframe. Measured at 100 idle streams
here, each such keyframe costs ~2.9 ms (decode 2.6, downscale and compare 0.3): what idle costs above demuxing.

Active: decoding starts again from the ring's keyframe before the trigger (for packet sizes: before the P-frame
where the sizes began to rise), so the moment that triggered it is not lost, and then covers every unit;
frames are handed on at ``detect_fps`` as decoded (the consumer converts the ones it takes). Back to idle after
``quiet_s`` without a signal. The decoder is behind a small protocol so this logic is tested with fakes, without
PyAV.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from shopwatch.core.clock import Clock
from shopwatch.core.config import Activity
from shopwatch.core.frame import Frame, RgbSource
from shopwatch.core.health import StreamInfo
from shopwatch.ingest.access_unit import AccessUnit
from shopwatch.ingest.activity import ActivityGate, FrameSelector, KeyframeMotion, PacketActivity
from shopwatch.ingest.keyframe_sizes import KeyframeSizeWatch
from shopwatch.ingest.ring import PacketRing, RingEntry
from shopwatch.ingest.slot import LatestSlot
from shopwatch.ingest.snapshot import SnapshotStore
from shopwatch.ingest.stats import HealthTracker

# Keyframes a little early still count as due: a 3 s interval over a 1.5 s GOP must not skip to 4.5 s.
_DUE_SLACK_S = 0.05
# Active: handed-on frames are compared for pixel motion (which keeps the camera active) at most this often. A
# signal only has to come once per quiet_s, and frames a second apart show a walker's displacement better than
# frames 1/6 s apart. Measured at 100 active streams: comparing every handed-on frame (6 fps) cost ~0.004 core per
# stream, twice a second still ~0.002 (each numpy pass releases and retakes the GIL: context switches).
_FRAME_MOTION_EVERY_S = 1.0
# Motion is compared on luma averaged over blocks of this size (it also averages away sensor noise).
_MOTION_SCALE = 4
# P-frames whose arrival times are kept to date the start of a rise in sizes (~10 s at 12 fps; the ring's
# preroll bounds how far back decoding can restart anyway).
_RISE_LOOKBACK = 128


class Decoder(Protocol):
    def decode(self, unit: AccessUnit[Any]) -> list[Any]: ...

    def decode_alone(self, unit: AccessUnit[Any]) -> list[Any]: ...  # a keyframe, by a fresh decoder, then release

    def luma(self, frame: Any, scale: int) -> npt.NDArray[np.uint8]: ...  # Y plane, block means of scale x scale

    def picture(self, frame: Any) -> RgbSource: ...

    def pts_s(self, frame: Any) -> float | None: ...

    def release(self) -> None: ...  # free the decoder's state; the next unit decoded is a keyframe


@dataclass(frozen=True, slots=True)
class Activation:
    reason: str  # "packet sizes", "keyframe motion", or the reason given to request_activity
    time: float  # monotonic time of the switch
    trigger_time: float  # monotonic arrival time of the evidence (decoding restarted at the keyframe before it)
    pts_s: float | None  # presentation time of the newest picture when it switched
    first_pts_s: float | None  # presentation time of the first frame decoded for it (the keyframe)


@dataclass(frozen=True, slots=True)
class PipelineContext:
    """What outlives one connection: the reader owns these and hands them to each new pipeline."""

    camera_id: str
    activity: Activity
    clock: Clock
    ring: PacketRing[AccessUnit[Any]]
    frames: LatestSlot[Frame]
    health: HealthTracker
    snapshots: SnapshotStore
    gate: ActivityGate


class StreamPipeline:
    """One connection's processing; used by the reader thread only."""

    def __init__(self, ctx: PipelineContext, decoder: Decoder, stream: StreamInfo | None = None) -> None:
        a = ctx.activity
        self._ctx = ctx
        self._decoder = decoder
        self._stream = stream
        self._packet_activity = PacketActivity(a)
        # The decoder downscales the luma (one swscale call, no numpy passes over the full picture).
        self._key_motion = KeyframeMotion(a.motion_threshold, scale=1)
        self._frame_motion = KeyframeMotion(a.motion_threshold, scale=1)
        self._frame_motion_every_s = min(_FRAME_MOTION_EVERY_S, a.quiet_s / 4)
        self._key_sizes = KeyframeSizeWatch(a.keyframe_size_change, a.idle_keyframe_max_interval_s)
        self._last_keyframe: Any = None  # the newest keyframe decoded while active
        self._last_keyframe_size = 0
        self._selector = FrameSelector(a.detect_fps)
        # Arrival times of recent P-frames: where a rise in sizes began, up to a few GOPs back.
        self._pframe_arrivals: deque[float] = deque(maxlen=max(a.pframe_window, _RISE_LOOKBACK))
        self._keyframe_arrivals: deque[float] = deque(maxlen=5)
        self._recent_pts: deque[int] = deque(maxlen=25)  # timestamps of the latest pictures, in time base units
        self._last_idle_decode: float | None = None
        self._next_frame_motion: float | None = None  # stream time of the next frame-motion comparison
        self._last_decoded_seq: int | None = None  # ring seq of the last unit fed to the decoder
        self._seq = 0  # frames decoded on this connection
        self._time_base: tuple[int, int] | None = None  # of the stream's timestamps, from its first packets
        self.last_activation: Activation | None = None
        self.gop_s: float | None = None
        ctx.ring.clear()
        ctx.ring.set_preroll(a.preroll_s)
        ctx.gate.reset()
        ctx.health.set_mode(ctx.gate.mode, ctx.gate.activations)

    @property
    def frames_decoded(self) -> int:
        return self._seq

    @property
    def active(self) -> bool:
        return self._ctx.gate.active

    def on_unit(self, unit: AccessUnit[Any], now: float | None = None) -> None:
        """Process one access unit; ``now`` (default: the clock) is when it is processed, after its arrival."""
        self.on_units([unit], self._ctx.clock.monotonic() if now is None else now)

    def on_units(self, units: list[AccessUnit[Any]], now: float) -> None:
        """Process access units in arrival order (the reader hands a batch). This runs for every picture of
        every camera, so the idle path is one loop over locals: ring, timestamps, packet sizes, and a keyframe
        decode now and then."""
        ctx = self._ctx
        gate, packets = ctx.gate, self._packet_activity
        recent_pts, pframe_arrivals = self._recent_pts, self._pframe_arrivals
        for entry in ctx.ring.extend([(u, u.size, u.keyframe, u.arrival) for u in units]):
            unit, keyframe = entry.packet, entry.keyframe
            if unit.pts is not None:
                recent_pts.append(unit.pts)
            if keyframe:
                self._measure(entry)
            else:
                pframe_arrivals.append(entry.time)
            if gate.active:
                self._poll_gate(now)
            if packets.update(entry.size, keyframe, active=gate.active):
                # The evidence starts where the sizes began to rise (at least the window's P-frames back), so
                # decoding restarts from the keyframe before the first moving picture.
                back = min(len(pframe_arrivals), max(packets.rise_frames, ctx.activity.pframe_window))
                if self.signal("packet sizes", since=pframe_arrivals[-back]):
                    continue  # the activation decoded everything in the ring, this unit included
            if gate.active:
                self._decode_active(entry, now)
            elif keyframe and self._keyframe_due(entry, now):
                self._decode_idle_keyframe(entry, now)

    def signal(self, reason: str, since: float | None = None) -> bool:
        """Activity seen (``since``: when its evidence arrived); True if this switched idle -> active."""
        ctx = self._ctx
        now = ctx.clock.monotonic()
        switched = ctx.gate.on_signal(now, reason)
        if switched:
            ctx.health.set_mode(ctx.gate.mode, ctx.gate.activations)  # before the first frame is handed on
            self._activate(reason, now, now if since is None else since)
        return switched

    def _poll_gate(self, now: float) -> None:
        gate = self._ctx.gate
        was_active = gate.active
        gate.poll(now)
        if was_active and not gate.active:
            self._last_idle_decode = now  # everything was just decoded: the next keyframe is not due yet
            if self._last_keyframe is not None:  # idle compares keyframes: start from the newest one
                self._key_motion.reset()
                self._key_motion.update(self._decoder.luma(self._last_keyframe, _MOTION_SCALE))
                self._key_sizes.decoded(self._last_keyframe_size, now)
                self._last_keyframe = None
            self._decoder.release()  # back to keyframes only, each decoded by a fresh decoder
            self._ctx.ring.set_preroll(self._ctx.activity.preroll_s)
            self._ctx.health.set_mode(gate.mode, gate.activations)

    def _keyframe_due(self, entry: RingEntry[AccessUnit[Any]], now: float) -> bool:
        """Idle: a snapshot asked for it, or the interval passed and its size says the scene may have changed."""
        if self._ctx.snapshots.wanted or self._last_idle_decode is None:
            return True
        if now - self._last_idle_decode < self._ctx.activity.idle_keyframe_interval_s - _DUE_SLACK_S:
            return False
        return self._key_sizes.worth_decoding(entry.size, now)

    def _decode_idle_keyframe(self, entry: RingEntry[AccessUnit[Any]], now: float) -> None:
        self._last_idle_decode = now
        frames = self._decoder.decode_alone(entry.packet)  # idle keeps no decoder between keyframes (~1 MB)
        self._last_decoded_seq = entry.seq
        if not frames:
            return
        self._seq += len(frames)
        self._ctx.health.on_decoded(len(frames))
        frame = frames[-1]
        self._ctx.snapshots.publish(self._decoder.picture(frame), now)
        self._key_sizes.decoded(entry.size, now)
        motion = self._key_motion.update(self._decoder.luma(frame, _MOTION_SCALE))
        if motion.motion:
            # The keyframe already shows it: restart from the keyframe before this one.
            self.signal("keyframe motion", since=entry.time - 1e-6)

    def _activate(self, reason: str, now: float, since: float) -> None:
        a = self._ctx.activity
        self._ctx.ring.set_preroll(a.preroll_s + a.clip_history_s)  # clips of events reach back to their start
        self._selector.reset()
        self._frame_motion.reset()
        self._next_frame_motion = None
        self._last_decoded_seq = None
        entries = self._ctx.ring.from_keyframe_before(since)
        newest = self._seconds(self._recent_pts[-1]) if self._recent_pts else None
        first = self._pts_s(entries[0].packet) if entries else None
        # Published before any frame is handed on, so a consumer that sees a frame also sees why.
        self.last_activation = Activation(reason, now, since, newest, first)
        for entry in entries:
            self._decode_active(entry, now)

    def _decode_active(self, entry: RingEntry[AccessUnit[Any]], now: float) -> None:
        last = self._last_decoded_seq
        if last is not None and entry.seq <= last:
            return  # decoded already (an activation decodes the ring up to the newest unit of its batch)
        if not entry.keyframe and last != entry.seq - 1:
            return  # a unit was missed (idle, or joined mid-GOP): wait for the next keyframe
        frames = self._decoder.decode(entry.packet)
        self._last_decoded_seq = entry.seq
        if frames:
            self._ctx.health.on_decoded(len(frames))
        for frame in frames:
            self._on_decoded(frame, entry, now)

    def _on_decoded(self, frame: Any, entry: RingEntry[AccessUnit[Any]], now: float) -> None:
        ctx = self._ctx
        self._seq += 1
        pts = self._decoder.pts_s(frame)
        pts_s = entry.time if pts is None else pts
        if entry.keyframe:  # the idle reference when going back to idle (see _poll_gate)
            self._last_keyframe, self._last_keyframe_size = frame, entry.size
        if not self._selector.select(pts_s):
            if ctx.snapshots.wanted:
                ctx.snapshots.publish(self._decoder.picture(frame), now)
            return
        wall = ctx.clock.wall() - (now - entry.time)  # when it arrived: an activation decodes a burst at once
        handed = Frame(ctx.camera_id, self._decoder.picture(frame), pts_s, wall, entry.keyframe, self._seq)
        ctx.frames.put(handed)
        ctx.snapshots.publish(handed, now)  # a snapshot of it reuses the consumer's conversion, if it made one
        if self._frame_motion_due(pts_s):
            if self._frame_motion.update(self._decoder.luma(frame, _MOTION_SCALE)).motion:
                ctx.gate.on_signal(now, "frame motion")

    def _frame_motion_due(self, pts_s: float) -> bool:
        """Handed-on frames are compared for motion at most every ``_FRAME_MOTION_EVERY_S`` of stream time (or
        a quarter of ``quiet_s``, if shorter: a camera in motion must not fall back to idle between checks)."""
        every = self._frame_motion_every_s
        due = self._next_frame_motion
        if due is not None and due - 2 * every <= pts_s < due:
            return False
        self._next_frame_motion = pts_s + every  # also re-anchors after a jump in timestamps
        return True

    def _measure(self, entry: RingEntry[AccessUnit[Any]]) -> None:
        """At each keyframe: keyframe interval and frame rate, from arrival times and timestamps."""
        self._ctx.health.on_keyframe()
        self._key_sizes.observe(entry.size)
        self._keyframe_arrivals.append(entry.time)
        if len(self._keyframe_arrivals) >= 2:
            arrivals = list(self._keyframe_arrivals)
            self.gop_s = statistics.median(b - a for a, b in zip(arrivals, arrivals[1:], strict=False))
        if self._stream is not None and len(self._recent_pts) >= 2:
            first, last = self._seconds(self._recent_pts[0], entry.packet), self._seconds(self._recent_pts[-1])
            span = None if first is None or last is None else last - first
            fps = (len(self._recent_pts) - 1) / span if span is not None and span > 0 else None
            self._stream = replace(self._stream, fps=None if fps is None else round(fps, 2))
            self._ctx.health.set_stream(self._stream)

    def _pts_s(self, unit: AccessUnit[Any]) -> float | None:
        return None if unit.pts is None else self._seconds(unit.pts, unit)

    def _seconds(self, pts: int, unit: AccessUnit[Any] | None = None) -> float | None:
        """A timestamp of this stream in seconds (the time base is read from ``unit`` the first time)."""
        time_base = self._time_base
        if time_base is None:  # read once a connection: ``packet.time_base`` builds a new Fraction each time
            fraction = None if unit is None else getattr(unit.packets[0], "time_base", None)
            if fraction is None:
                return None
            time_base = self._time_base = (fraction.numerator, fraction.denominator)
        return pts * time_base[0] / time_base[1]  # Fraction arithmetic is ~10x slower
