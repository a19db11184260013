"""``KeyframeSizeWatch``: which idle keyframes are worth decoding (sans-IO: sizes and times in, decisions out).

Decoding a keyframe is what an idle camera costs above demuxing: ~2.7 ms for a 640×360 keyframe here, as much as
demuxing the whole stream for 3 s. A keyframe codes the whole picture, so a changed scene (someone standing in
front of the shop, a parked car, a new poster) changes how many bytes it takes, while in an unchanged scene
successive keyframes differ only by the sensor noise (measured on the simulator's shop fronts: 0.3-1 % apart,
rarely 3 %; a figure in view: 12-22 %). A due keyframe whose size is within the stream's own keyframe noise of
the last decoded one is skipped, up to ``max_interval_s``, after which one is decoded anyway (slow changes, a
fresh snapshot). The P-frame sizes stay the primary activity signal; this only spares decoding pictures that
would be compared with an identical reference.
"""

from __future__ import annotations

import statistics
from collections import deque

# Keyframes whose sizes give the stream's keyframe-to-keyframe noise (~16 s at a 2 s GOP).
_HISTORY = 9
# The size change that counts is at least this many times the median change between successive keyframes.
_NOISE_K = 3.0


class KeyframeSizeWatch:
    def __init__(self, min_change: float, max_interval_s: float) -> None:
        if not 0 < min_change <= 1 or max_interval_s <= 0:
            raise ValueError(
                f"expected 0 < min_change <= 1 and max_interval_s > 0, found {min_change} and {max_interval_s}"
            )
        self._min_change = min_change
        self._max_interval_s = max_interval_s
        self._sizes: deque[int] = deque(maxlen=_HISTORY)
        self._reference: int | None = None  # size of the keyframe the motion reference was decoded from
        self._reference_time: float | None = None

    def observe(self, size: int) -> None:
        """Every keyframe of the stream, decoded or not (the noise is measured between successive ones)."""
        if size > 0:
            self._sizes.append(size)

    def threshold(self) -> float:
        """The relative size change that means the scene may have changed."""
        sizes = self._sizes
        if len(sizes) < 3:
            return self._min_change
        changes = [abs(b - a) / a for a, b in zip(sizes, list(sizes)[1:], strict=False)]
        return max(self._min_change, _NOISE_K * statistics.median(changes))

    def worth_decoding(self, size: int, now: float) -> bool:
        """Whether a due keyframe of ``size`` bytes, arriving at ``now``, may show something new."""
        if self._reference is None or self._reference_time is None:
            return True
        if now - self._reference_time >= self._max_interval_s:
            return True
        return abs(size - self._reference) > self.threshold() * self._reference

    def decoded(self, size: int, now: float) -> None:
        """The keyframe of ``size`` bytes became the motion reference at ``now``."""
        self._reference = size if size > 0 else None
        self._reference_time = now
