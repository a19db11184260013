"""Activity signals and the idle/active gate of one camera (sans-IO: values in, decisions out).

Idle cameras must cost about as much as demuxing (INGEST_FACTS: demux 0.0008 core/stream, full decode 0.0065).
Two cheap signals decide when full decoding is worth it:

- ``PacketActivity``: P-frame sizes rise when something moves in a static scene, and they are known at demux
  cost. A window mean of recent P-frame sizes is compared with a slowly adapting baseline of idle sizes.
- ``KeyframeMotion``: pixel change between successive decoded keyframes on downscaled luma, for scenes where
  P-frame sizes say little (noisy night footage, small distant movement).

``ActivityGate`` turns signals (these two, ONVIF motion events, operator requests) into the idle/active mode.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shopwatch.core.config import Activity
from shopwatch.core.health import ActivityMode

Luma = npt.NDArray[np.uint8]


class PacketActivity:
    """Activity from P-frame sizes.

    Encoders do not spend bytes evenly over a GOP: the P-frames right after a keyframe come out ~2x the size of
    later ones in a static scene (x264's QP ramp; cameras do the same). So the baseline is kept per position in
    the GOP (1st P-frame after a keyframe, 2nd, ..., positions past ``max_positions`` share one): the median of
    the last ``history`` idle sizes at that position (about ``history`` GOPs, ~25 s at a 2 s GOP, so it follows
    slow changes such as dusk). The window of the last ``pframe_window`` P-frames fires when its bytes exceed
    ``pframe_ratio`` × the bytes the baseline expects for the same positions. The baseline is frozen while the
    camera is active, so a long activity does not become the new normal, and never drops below
    ``min_baseline_bytes``, so a near-empty stream (a black scene) does not fire on a few bytes of noise.
    Warm-up: it cannot fire until every position in the window has ``warmup_gops`` idle samples.
    """

    def __init__(
        self,
        settings: Activity,
        *,
        history: int = 12,
        warmup_gops: int = 2,
        max_positions: int = 32,
        min_baseline_bytes: float = 64.0,
    ) -> None:
        if warmup_gops < 1 or history < warmup_gops:
            raise ValueError(f"expected 1 <= warmup_gops <= history, found {warmup_gops} and {history}")
        self._ratio = settings.pframe_ratio
        # (size, expected size at its position when it arrived, or None during warm-up), with running sums
        self._window: deque[tuple[int, float | None]] = deque(maxlen=settings.pframe_window)
        self._window_bytes = 0
        self._window_expected = 0.0
        self._window_unknown = 0
        self._history = history
        self._warmup = warmup_gops
        self._max_positions = max_positions
        self._min_baseline = min_baseline_bytes
        self._samples: dict[int, deque[int]] = {}
        self._baseline: dict[int, float] = {}
        self._position: int | None = None  # P-frames since the last keyframe; None before the first keyframe

    def baseline(self, position: int) -> float | None:
        """Expected bytes of an idle P-frame at ``position`` (1 = right after a keyframe); None during warm-up."""
        samples = self._samples.get(min(position, self._max_positions))
        if samples is None or len(samples) < self._warmup:
            return None
        return max(self._baseline[min(position, self._max_positions)], self._min_baseline)

    @property
    def warmed_up(self) -> bool:
        return self.ratio() is not None

    def ratio(self) -> float | None:
        """Bytes of the current window over the bytes the baseline expects; None if it cannot tell yet."""
        if len(self._window) < (self._window.maxlen or 1) or self._window_unknown or self._window_expected <= 0:
            return None
        return self._window_bytes / self._window_expected

    def update(self, size: int, keyframe: bool, *, active: bool) -> bool:
        """Feed one video packet; True when the recent P-frames are ``pframe_ratio`` × above the baseline.

        Keyframes only restart the GOP position (their size says nothing about motion). ``active`` freezes the
        baseline."""
        if keyframe:
            self._position = 0
            return False
        if self._position is None:  # joined mid-GOP: positions are unknown until the first keyframe
            return False
        self._position += 1
        position = min(self._position, self._max_positions)
        self._push(size, self.baseline(position))
        ratio = self.ratio()
        firing = ratio is not None and ratio > self._ratio
        if not active and not firing:
            # Only calm samples teach the baseline: a burst that has not yet fired must not raise it either.
            self._learn(size, position)
        return firing

    def _push(self, size: int, expected: float | None) -> None:
        if len(self._window) == self._window.maxlen:
            old_size, old_expected = self._window[0]
            self._window_bytes -= old_size
            if old_expected is None:
                self._window_unknown -= 1
            else:
                self._window_expected -= old_expected
        self._window.append((size, expected))
        self._window_bytes += size
        if expected is None:
            self._window_unknown += 1
        else:
            self._window_expected += expected

    def _learn(self, size: int, position: int) -> None:
        samples = self._samples.get(position)
        if samples is None:
            samples = self._samples[position] = deque(maxlen=self._history)
        samples.append(size)
        # A median of ~12 values costs ~2 µs: cheap enough per P-frame for 100 cameras in one process.
        self._baseline[position] = float(statistics.median(samples))

    def reset(self) -> None:
        """Start over (new connection, new stream parameters)."""
        self._window.clear()
        self._window_bytes = 0
        self._window_expected = 0.0
        self._window_unknown = 0
        self._samples.clear()
        self._baseline.clear()
        self._position = None


@dataclass(frozen=True, slots=True)
class MotionResult:
    changed_fraction: float  # fraction of downscaled pixels that changed beyond the noise threshold
    motion: bool
    recalibrated: bool  # most of the frame changed: lighting, not movement; the new frame is the reference


def downscale_luma(luma: Luma, factor: int) -> Luma:
    """Block-mean downscale (averaging ``factor``×``factor`` blocks also averages away sensor noise)."""
    if factor <= 1:
        return luma
    h = luma.shape[0] - luma.shape[0] % factor
    w = luma.shape[1] - luma.shape[1] % factor
    blocks = luma[:h, :w].reshape(h // factor, factor, w // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32).astype(np.uint8)


class KeyframeMotion:
    """Pixel motion between successive frames (keyframes while idle, handed-on frames while active).

    Per-pixel absolute difference on luma downscaled by ``scale``, after removing the median difference (a global
    brightness shift such as auto-exposure is not motion); a pixel counts as changed above ``pixel_delta`` grey
    levels; motion is a changed fraction above ``motion_threshold``. When more than ``recalibrate_fraction`` of
    the frame changed anyway (lights switched on, IR cut filter, camera moved) the frame becomes the new
    reference and no motion is reported: someone walking in front of a shop changes a few percent of it.
    """

    def __init__(
        self,
        motion_threshold: float,
        *,
        scale: int = 4,
        pixel_delta: int = 18,
        recalibrate_fraction: float = 0.5,
    ) -> None:
        if not 0 < motion_threshold < recalibrate_fraction <= 1:
            raise ValueError(
                f"expected 0 < motion_threshold < recalibrate_fraction <= 1,"
                f" found {motion_threshold} and {recalibrate_fraction}"
            )
        self._threshold = motion_threshold
        self._scale = scale
        self._pixel_delta = pixel_delta
        self._recalibrate = recalibrate_fraction
        self._reference: Luma | None = None

    @property
    def has_reference(self) -> bool:
        return self._reference is not None

    def update(self, luma: Luma) -> MotionResult:
        """Compare ``luma`` (H×W uint8, the Y plane) with the previous frame; it becomes the new reference."""
        small = downscale_luma(luma, self._scale)
        previous, self._reference = self._reference, small
        if previous is None or previous.shape != small.shape:
            return MotionResult(0.0, motion=False, recalibrated=True)
        diff = small.astype(np.int16) - previous.astype(np.int16)
        shift = int(np.median(diff))
        changed = float(np.count_nonzero(np.abs(diff - shift) > self._pixel_delta)) / diff.size
        if changed > self._recalibrate:
            return MotionResult(changed, motion=False, recalibrated=True)
        return MotionResult(changed, motion=changed > self._threshold, recalibrated=False)

    def reset(self) -> None:
        self._reference = None


class ActivityGate:
    """The idle/active mode of one camera. ``on_signal`` switches to active (or extends it); ``poll`` returns
    to idle after ``quiet_s`` without a signal. Times are monotonic seconds from the injected clock."""

    def __init__(self, quiet_s: float) -> None:
        self._quiet_s = quiet_s
        self._mode = ActivityMode.IDLE
        self._last_signal: float | None = None
        self.activations = 0
        self.last_reason: str | None = None

    @property
    def mode(self) -> ActivityMode:
        return self._mode

    @property
    def active(self) -> bool:
        return self._mode is ActivityMode.ACTIVE

    def on_signal(self, now: float, reason: str) -> bool:
        """Record activity; True when this switched the camera from idle to active."""
        self._last_signal = now if self._last_signal is None else max(self._last_signal, now)
        self.last_reason = reason
        if self._mode is ActivityMode.ACTIVE:
            return False
        self._mode = ActivityMode.ACTIVE
        self.activations += 1
        return True

    def poll(self, now: float) -> ActivityMode:
        """The mode at ``now``; leaves active once ``quiet_s`` passed since the last signal."""
        if (
            self._mode is ActivityMode.ACTIVE
            and self._last_signal is not None
            and now - self._last_signal >= self._quiet_s
        ):
            self._mode = ActivityMode.IDLE
        return self._mode

    def reset(self) -> None:
        """Back to idle (disconnect); the activation count is kept."""
        self._mode = ActivityMode.IDLE
        self._last_signal = None


class FrameSelector:
    """Picks frames evenly at ``fps`` out of a faster stream, by presentation time.

    The first frame after ``reset()`` is always taken (after an activation: the keyframe before the trigger).
    A timestamp that jumps back (stream restarted) or far ahead (gap) re-anchors the grid there."""

    def __init__(self, fps: float, tolerance_s: float = 0.005) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, found {fps}")
        self._interval = 1.0 / fps
        self._tolerance = tolerance_s
        self._next: float | None = None

    def reset(self) -> None:
        self._next = None

    def select(self, pts_s: float) -> bool:
        due = self._next
        if due is None or pts_s < due - 2 * self._interval:
            self._next = pts_s + self._interval
            return True
        if pts_s + self._tolerance < due:
            return False
        due += self._interval
        self._next = due if pts_s < due else pts_s + self._interval
        return True
