"""What happens to each access unit of one connection: ring, activity signals, and decoding only when needed.

Idle (the cost target: about demux only): every unit goes into the ring and its size into ``PacketActivity``;
a keyframe is decoded only when one is due (at most one per ``idle_keyframe_interval_s``) or a snapshot asks
for it, and its luma is compared with the previous decoded keyframe.

Active: decoding starts again from the ring's keyframe before the trigger (for packet sizes: before the P-frame
where the sizes began to rise), so the moment that triggered it is not lost, and then covers every unit;
frames are handed on at ``detect_fps``, converted to RGB only then. Back to idle after ``quiet_s`` without a
signal. The decoder is behind a small protocol so this logic is tested with fakes, without PyAV.
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
from shopwatch.core.frame import Frame
from shopwatch.core.health import StreamInfo
from shopwatch.ingest.access_unit import AccessUnit
from shopwatch.ingest.activity import ActivityGate, FrameSelector, KeyframeMotion, PacketActivity
from shopwatch.ingest.ring import PacketRing, RingEntry
from shopwatch.ingest.slot import LatestSlot
from shopwatch.ingest.snapshot import SnapshotStore
from shopwatch.ingest.stats import HealthTracker

# Keyframes a little early still count as due: a 3 s interval over a 1.5 s GOP must not skip to 4.5 s.
_DUE_SLACK_S = 0.05
# P-frames whose arrival times are kept to date the start of a rise in sizes (~10 s at 12 fps; the ring's
# preroll bounds how far back decoding can restart anyway).
_RISE_LOOKBACK = 128


class Decoder(Protocol):
    def decode(self, unit: AccessUnit[Any]) -> list[Any]: ...

    def luma(self, frame: Any) -> npt.NDArray[np.uint8]: ...

    def rgb(self, frame: Any) -> npt.NDArray[np.uint8]: ...

    def pts_s(self, frame: Any) -> float | None: ...


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
        self._key_motion = KeyframeMotion(a.motion_threshold)
        self._frame_motion = KeyframeMotion(a.motion_threshold)
        self._selector = FrameSelector(a.detect_fps)
        # Arrival times of recent P-frames: where a rise in sizes began, up to a few GOPs back.
        self._pframe_arrivals: deque[float] = deque(maxlen=max(a.pframe_window, _RISE_LOOKBACK))
        self._keyframe_arrivals: deque[float] = deque(maxlen=5)
        self._recent_pts: deque[float] = deque(maxlen=25)
        self._last_idle_decode: float | None = None
        self._last_decoded_seq: int | None = None  # ring seq of the last unit fed to the decoder
        self._seq = 0  # frames decoded on this connection
        self.last_activation: Activation | None = None
        self.gop_s: float | None = None
        ctx.ring.clear()
        ctx.gate.reset()
        ctx.health.set_mode(ctx.gate.mode, ctx.gate.activations)

    @property
    def frames_decoded(self) -> int:
        return self._seq

    def on_unit(self, unit: AccessUnit[Any]) -> None:
        now = self._ctx.clock.monotonic()
        entry = self._ctx.ring.append(unit, size=unit.size, keyframe=unit.keyframe, time=unit.arrival)
        self._measure(entry)
        self._poll_gate(now)
        if not unit.keyframe:
            self._pframe_arrivals.append(unit.arrival)
        packets = self._packet_activity
        if packets.update(unit.size, unit.keyframe, active=self._ctx.gate.active):
            # The evidence starts where the sizes began to rise (at least the window's P-frames back), so
            # decoding restarts from the keyframe before the first moving picture.
            back = min(len(self._pframe_arrivals), max(packets.rise_frames, self._ctx.activity.pframe_window))
            if self.signal("packet sizes", since=self._pframe_arrivals[-back]):
                return  # the activation decoded everything up to and including this unit
        if self._ctx.gate.active:
            self._decode_active(entry, now)
        elif unit.keyframe and self._keyframe_due(now):
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
            self._ctx.health.set_mode(gate.mode, gate.activations)

    def _keyframe_due(self, now: float) -> bool:
        if self._ctx.snapshots.wanted or self._last_idle_decode is None:
            return True
        return now - self._last_idle_decode >= self._ctx.activity.idle_keyframe_interval_s - _DUE_SLACK_S

    def _decode_idle_keyframe(self, entry: RingEntry[AccessUnit[Any]], now: float) -> None:
        self._last_idle_decode = now
        frames = self._decoder.decode(entry.packet)
        self._last_decoded_seq = entry.seq
        if not frames:
            return
        self._seq += len(frames)
        self._ctx.health.on_decoded(len(frames))
        frame = frames[-1]
        self._ctx.snapshots.publish(frame, now)
        motion = self._key_motion.update(self._decoder.luma(frame))
        if motion.motion:
            # The keyframe already shows it: restart from the keyframe before this one.
            self.signal("keyframe motion", since=entry.time - 1e-6)

    def _activate(self, reason: str, now: float, since: float) -> None:
        self._selector.reset()
        self._frame_motion.reset()
        self._last_decoded_seq = None
        entries = self._ctx.ring.from_keyframe_before(since)
        newest = self._recent_pts[-1] if self._recent_pts else None
        first = _pts_s(entries[0].packet) if entries else None
        # Published before any frame is handed on, so a consumer that sees a frame also sees why.
        self.last_activation = Activation(reason, now, since, newest, first)
        for entry in entries:
            self._decode_active(entry, now)

    def _decode_active(self, entry: RingEntry[AccessUnit[Any]], now: float) -> None:
        if not entry.keyframe and self._last_decoded_seq != entry.seq - 1:
            return  # a unit was missed (idle, or joined mid-GOP): wait for the next keyframe
        frames = self._decoder.decode(entry.packet)
        self._last_decoded_seq = entry.seq
        for frame in frames:
            self._on_decoded(frame, entry, now)

    def _on_decoded(self, frame: Any, entry: RingEntry[AccessUnit[Any]], now: float) -> None:
        ctx = self._ctx
        self._seq += 1
        ctx.health.on_decoded()
        pts = self._decoder.pts_s(frame)
        pts_s = entry.time if pts is None else pts
        luma: npt.NDArray[np.uint8] | None = None
        if entry.keyframe:  # keep the idle reference fresh, so going back to idle compares like with like
            luma = self._decoder.luma(frame)
            if self._key_motion.update(luma).motion:
                ctx.gate.on_signal(now, "keyframe motion")
        if not self._selector.select(pts_s):
            ctx.snapshots.publish(frame, now)
            return
        rgb = self._decoder.rgb(frame)
        ctx.frames.put(Frame(ctx.camera_id, rgb, pts_s, ctx.clock.wall(), entry.keyframe, self._seq))
        ctx.snapshots.publish(frame, now, rgb)
        if self._frame_motion.update(luma if luma is not None else self._decoder.luma(frame)).motion:
            ctx.gate.on_signal(now, "frame motion")

    def _measure(self, entry: RingEntry[AccessUnit[Any]]) -> None:
        """Keyframe interval and frame rate, from arrival times and timestamps."""
        unit = entry.packet
        pts = _pts_s(unit)
        if pts is not None:
            self._recent_pts.append(pts)
        if not unit.keyframe:
            return
        self._ctx.health.on_keyframe()
        self._keyframe_arrivals.append(entry.time)
        if len(self._keyframe_arrivals) >= 2:
            arrivals = list(self._keyframe_arrivals)
            self.gop_s = statistics.median(b - a for a, b in zip(arrivals, arrivals[1:], strict=False))
        if self._stream is not None and len(self._recent_pts) >= 2:
            span = self._recent_pts[-1] - self._recent_pts[0]
            fps = (len(self._recent_pts) - 1) / span if span > 0 else None
            self._stream = replace(self._stream, fps=None if fps is None else round(fps, 2))
            self._ctx.health.set_stream(self._stream)


def _pts_s(unit: AccessUnit[Any]) -> float | None:
    pts = unit.pts
    time_base = getattr(unit.packets[0], "time_base", None)
    if pts is None or time_base is None:
        return None
    return pts * time_base.numerator / time_base.denominator  # Fraction arithmetic is ~10x slower
