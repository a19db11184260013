"""``PacketActivity``: the free activity signal from P-frame sizes (sans-IO: sizes in, decisions out).

P-frame sizes rise when something moves in a static scene, and they are known at demux cost. A window mean of
recent P-frame sizes is compared with a slowly adapting baseline of idle sizes; it must stand out by a ratio, by the
stream's own idle noise, and by a share of its keyframe size.
"""

from __future__ import annotations

import bisect
import statistics
from collections import deque
from dataclasses import dataclass

from shopwatch.core.config import Activity


@dataclass(frozen=True, slots=True)
class PacketTuning:
    """How ``PacketActivity`` learns what idle looks like. The defaults suit 5-30 fps streams with 1-4 s GOPs;
    ``pframe_ratio`` and ``pframe_window`` come from the configuration."""

    history: int = 12  # idle samples kept per GOP position: about 12 GOPs, ~25 s at a 2 s GOP
    warmup_gops: int = 2  # idle samples a position needs before it has a baseline
    max_positions: int = 32  # positions past this share one baseline (long GOPs settle by then)
    min_baseline_bytes: float = 64.0  # a near-empty stream (a black scene) does not fire on a few bytes
    spread_k: float = 6.0  # the window's excess must stand this many robust deviations above idle windows
    spread_history: int = 240  # idle windows the spread is measured over (~10 GOPs of 24 frames)
    min_spread_windows: int = 24  # idle windows needed before the spread is trusted
    keyframe_fraction: float = 0.03  # and the excess per P-frame must reach this share of a keyframe's bytes
    active_learn_every: int = 8  # while active, one sample in this many per position still teaches the baseline

    def __post_init__(self) -> None:
        if not 1 <= self.warmup_gops <= self.history:
            raise ValueError(f"expected 1 <= warmup_gops <= history, found {self.warmup_gops} and {self.history}")
        if not 1 <= self.min_spread_windows <= self.spread_history:
            raise ValueError(
                "expected 1 <= min_spread_windows <= spread_history,"
                f" found {self.min_spread_windows} and {self.spread_history}"
            )
        if self.max_positions < 1 or self.active_learn_every < 1 or self.spread_k < 0 or self.keyframe_fraction < 0:
            raise ValueError(
                "expected max_positions >= 1, active_learn_every >= 1, spread_k >= 0 and keyframe_fraction >= 0,"
                f" found {self.max_positions}, {self.active_learn_every}, {self.spread_k}, {self.keyframe_fraction}"
            )


# 1.4826 x the median absolute deviation estimates a standard deviation without being pulled by outliers.
_MAD_TO_SIGMA = 1.4826
_KEYFRAMES_KEPT = 5
_MAX_RISE_FRAMES = 1024


class PacketActivity:
    """Activity from P-frame sizes.

    Encoders do not spend bytes evenly over a GOP: the P-frames right after a keyframe come out bigger than
    later ones in a static scene (x264's QP ramp; cameras do the same). So the baseline is kept per position in
    the GOP (1st P-frame after a keyframe, 2nd, ...): the median of the last ``history`` idle sizes at that
    position, so it follows slow changes such as dusk or a camera's bitrate drift.

    The window of the last ``pframe_window`` P-frames fires when the bytes it carries above the baseline (its
    *excess*, per P-frame) pass all three of:

    - ``pframe_ratio``: the window holds ``pframe_ratio`` x the bytes the baseline expects for its positions;
    - the noise of this stream: the excess stands ``spread_k`` robust deviations above the excess of recent
      idle windows (a ratio of tiny, noisy P-frames, 90-140 bytes, is noise);
    - the scale of this stream: the excess is at least ``keyframe_fraction`` of a keyframe's bytes (a figure
      walking in adds several percent of a keyframe to every P-frame; a few bytes of a near-empty stream do not).

    Only calm samples (idle, not firing) teach the baseline and the idle spread, so an activity does not become
    the new normal; but while active one sample in ``active_learn_every`` per position still does, so a change
    that lasts (night mode, rain, a screen in the shop window) becomes normal after a few minutes instead of
    keeping the camera active for ever. ``rise_frames`` tells where the current rise began (a cumulative sum
    of the excess, reset at zero), so decoding can start from the keyframe before the first moving picture.
    """

    def __init__(self, settings: Activity, tuning: PacketTuning | None = None) -> None:
        self._ratio = settings.pframe_ratio
        self._tuning = t = tuning if tuning is not None else PacketTuning()
        # (size, expected size at its position when it arrived, or None during warm-up), with running sums
        self._window: deque[tuple[int, float | None]] = deque(maxlen=settings.pframe_window)
        self._window_len = settings.pframe_window
        self._window_bytes = 0
        self._window_expected = 0.0
        self._window_unknown = 0
        self._samples: dict[int, deque[int]] = {}  # per position, in arrival order
        self._ordered: dict[int, list[int]] = {}  # the same samples, sorted: the median is an index away
        self._expected: dict[int, float] = {}  # baseline(position), for the positions past warm-up
        # Tuning values read for every picture, kept as plain attributes.
        self._max_positions, self._warmup, self._min_baseline = t.max_positions, t.warmup_gops, t.min_baseline_bytes
        self._active_seen: dict[int, int] = {}  # samples seen per position while active (for slow learning)
        self._idle_excess: deque[float] = deque(maxlen=t.spread_history)
        self._spread: tuple[float, float] | None = None  # (median, robust deviation) of idle window excess
        self._new_excess = 0  # idle windows added since the spread was measured
        self._keyframes: deque[int] = deque(maxlen=_KEYFRAMES_KEPT)
        self._keyframe_bytes: float | None = None
        # The two terms of needed_excess that do not depend on the baseline, kept up to date (hot path).
        self._spread_floor = 0.0
        self._keyframe_floor = 0.0
        self._position: int | None = None  # P-frames since the last keyframe; None before the first keyframe
        self._cusum = 0.0
        self.rise_frames = 0  # P-frames since the current rise in sizes began (0: calm)

    def baseline(self, position: int) -> float | None:
        """Expected bytes of an idle P-frame at ``position`` (1 = right after a keyframe); None during warm-up."""
        return self._expected.get(min(position, self._tuning.max_positions))

    @property
    def warmed_up(self) -> bool:
        return self.ratio() is not None and self._spread is not None and self._keyframe_bytes is not None

    def ratio(self) -> float | None:
        """Bytes of the current window over the bytes the baseline expects; None if it cannot tell yet."""
        if len(self._window) < self._window_len or self._window_unknown or self._window_expected <= 0:
            return None
        return self._window_bytes / self._window_expected

    def needed_excess(self, expected: float) -> float | None:
        """Bytes per P-frame above ``expected`` (a P-frame's or a window's mean baseline) that count as activity;
        None until the idle spread and the keyframe size are known."""
        if self._spread is None or self._keyframe_bytes is None:
            return None
        return max((self._ratio - 1.0) * expected, self._spread_floor, self._keyframe_floor)

    def update(self, size: int, keyframe: bool, *, active: bool) -> bool:
        """Feed one video packet; True when the recent P-frames stand out from idle (see the class notes).

        Keyframes restart the GOP position and give the stream's scale (their size says nothing about motion).
        ``active`` (the camera is being decoded anyway) stops the baseline from learning, all but slowly.
        Runs for every picture of every camera: written for speed (~3 µs)."""
        if keyframe:
            self._on_keyframe(size)
            return False
        position = self._position
        if position is None:  # joined mid-GOP: positions are unknown until the first keyframe
            return False
        self._position = position = position + 1
        if position > self._max_positions:
            position = self._max_positions
        expected = self._expected.get(position)
        self._push(size, expected)
        firing = self._judge(size, expected)
        if active or firing:
            # Only calm samples teach the baseline: a burst that has not yet fired must not raise it either.
            if self._slow_turn(position):
                self._learn(size, position)
            return firing
        if self._window_expected > 0 and not self._window_unknown and len(self._window) == self._window_len:
            self._idle_excess.append((self._window_bytes - self._window_expected) / self._window_len)
            self._new_excess += 1
            if self._spread is None and len(self._idle_excess) >= self._tuning.min_spread_windows:
                self._measure_spread()
        self._learn(size, position)
        return False

    def _judge(self, size: int, expected: float | None) -> bool:
        """Whether the window fires; also follows the rise that this P-frame continues or ends."""
        if expected is None or self._spread is None or self._keyframe_bytes is None:
            self._cusum, self.rise_frames = 0.0, 0
            return False
        floor = max(self._spread_floor, self._keyframe_floor)
        excess_factor = self._ratio - 1.0
        # Page's CUSUM with half the needed excess as slack: it leaves zero where the rise began.
        cusum = self._cusum + size - expected - max(excess_factor * expected, floor) / 2
        if cusum > 0:
            self._cusum, self.rise_frames = cusum, min(self.rise_frames + 1, _MAX_RISE_FRAMES)
        else:
            self._cusum, self.rise_frames = 0.0, 0
        window_expected, count = self._window_expected, len(self._window)
        if count < self._window_len or self._window_unknown or window_expected <= 0:
            return False
        if self._window_bytes / window_expected <= self._ratio:
            return False
        return (self._window_bytes - window_expected) / count > max(excess_factor * (window_expected / count), floor)

    def _on_keyframe(self, size: int) -> None:
        self._position = 0
        self._keyframes.append(size)
        self._keyframe_bytes = float(statistics.median(self._keyframes))
        self._keyframe_floor = self._tuning.keyframe_fraction * self._keyframe_bytes
        # Measured again once a quarter of the idle windows are new (every ~2.5 GOPs when settled: a median
        # of 240 windows costs ~16 µs, ~1 µs per picture if done every GOP).
        excess = len(self._idle_excess)
        if excess >= self._tuning.min_spread_windows and self._new_excess * 4 >= excess:
            self._measure_spread()

    def _measure_spread(self) -> None:
        ordered = sorted(self._idle_excess)
        median = _median_of_sorted(ordered)
        deviation = _median_of_sorted(sorted([abs(x - median) for x in ordered]))
        self._spread = (median, _MAD_TO_SIGMA * deviation)
        self._new_excess = 0
        self._spread_floor = median + self._tuning.spread_k * self._spread[1]

    def _slow_turn(self, position: int) -> bool:
        seen = self._active_seen.get(position, 0) + 1
        self._active_seen[position] = seen
        return seen % self._tuning.active_learn_every == 0

    def _push(self, size: int, expected: float | None) -> None:
        window = self._window
        if len(window) == self._window_len:
            old_size, old_expected = window[0]
            self._window_bytes -= old_size
            if old_expected is None:
                self._window_unknown -= 1
            else:
                self._window_expected -= old_expected
        window.append((size, expected))
        self._window_bytes += size
        if expected is None:
            self._window_unknown += 1
        else:
            self._window_expected += expected

    def _learn(self, size: int, position: int) -> None:
        samples = self._samples.get(position)
        if samples is None:
            samples = self._samples[position] = deque(maxlen=self._tuning.history)
            ordered = self._ordered[position] = []
        else:
            ordered = self._ordered[position]
            if len(samples) == samples.maxlen:
                del ordered[bisect.bisect_left(ordered, samples[0])]  # the sample about to leave
        samples.append(size)
        bisect.insort(ordered, size)
        n = len(ordered)
        if n >= self._warmup:
            half = n // 2
            baseline = ordered[half] if n % 2 else (ordered[half - 1] + ordered[half]) / 2
            self._expected[position] = max(float(baseline), self._min_baseline)

    def reset(self) -> None:
        """Start over (new connection, new stream parameters)."""
        self._window.clear()
        self._window_bytes = 0
        self._window_expected = 0.0
        self._window_unknown = 0
        for table in (self._samples, self._ordered, self._expected, self._active_seen):
            table.clear()
        self._idle_excess.clear()
        self._spread = None
        self._new_excess = 0
        self._keyframes.clear()
        self._keyframe_bytes = None
        self._spread_floor = self._keyframe_floor = 0.0
        self._position = None
        self._cusum = 0.0
        self.rise_frames = 0


def _median_of_sorted(values: list[int] | list[float]) -> float:
    n = len(values)
    half = n // 2
    return float(values[half]) if n % 2 else (values[half - 1] + values[half]) / 2
