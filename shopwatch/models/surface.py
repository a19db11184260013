"""The picture side of card-posting: a background of each surface zone, and the new patches a visit left.

The background is learnt at full resolution (a card on a 640x360 substream is a few pixels) and only where no
actor stands, so at the start of a visit it shows the surface as it was. Beside it, each pixel's temporal noise
(how far the frames stray from the background while nobody is there) is learnt the same way: printed text and
high-contrast edges flicker under H.264 and need a larger change than a plain wall; a night picture is noisier
than a day one. After the actor left, the touched part is compared with that "before" picture: per-channel gain
first (lights, auto-exposure), then a colour difference per pixel against that pixel's own threshold
(``NOISE_SIGMAS`` times its noise, at least ``diff_threshold``), a small opening, and connected components sized
against the actor's height. A component above the card size range (a poster, a sign, a parked object, a lighting
patch) spoils the visit, and so does a change spread over the surface around the touched part (light, shadow)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from shopwatch.core.events import Box
from shopwatch.core.frame import Rgb
from shopwatch.core.learnt import ZoneCalibration
from shopwatch.models.noise_prior import pick, prior_noise
from shopwatch.models.zones import ZoneShape

Image = npt.NDArray[np.float32]  # H x W x 3 float RGB
ACTOR_MARGIN = 0.12  # of the actor's height around its box that the background does not learn (arms, shadow)
LEARN_S = 3.0  # time constant of the surface background
KNOWN_FRAMES = 6  # a pixel seen free in this many frames is part of the "before" picture (1 s at 6 fps)
SEEN_CAP = 1_000.0
NOISE_PRIOR = 3.0  # grey levels: a pixel's noise before it was measured
MIN_STRENGTH = 1.6  # a patch's difference over its pixels' thresholds (75th percentile) below this is noise
HOLD_STRENGTH = 1.5  # once a visit's patches passed MIN_STRENGTH, they are held while above this (hysteresis)
NOISE_CAP = 3.0  # a deviation beyond this many sigmas updates the noise as if it were this large
NOISE_SIGMAS = 4.0  # a pixel changed when its difference exceeds this many times its (neighbourhood's) noise
LUMA_TO_RGB = 2.0  # largest-channel noise over luma noise (H.264 4:2:0, measured on the real clip's table: 1.75-2.2)
GAIN_STRIDE = 2  # the gain is taken from every 2nd row and column (a quarter of the pixels)
GHOST_MOVED = 0.1  # a motion blob over less of pixels that moved in the last second is no one standing there
GHOST_FLOOR = 12.0  # grey levels: the least difference from one frame to the next that counts as moved
STILL_FRAMES = 6  # frames (1 s at 6 fps) a pixel must stay unchanged to count as still


@dataclass(frozen=True, slots=True)
class PixelBox:
    x1: int
    y1: int
    x2: int
    y2: int

    @classmethod
    def of(cls, box: Box, width: int, height: int) -> PixelBox:
        x1, y1 = int(max(0.0, box[0]) * width), int(max(0.0, box[1]) * height)
        x2 = max(x1 + 1, math.ceil(min(1.0, box[2]) * width))
        y2 = max(y1 + 1, math.ceil(min(1.0, box[3]) * height))
        return cls(x1, y1, x2, y2)


@dataclass(frozen=True, slots=True)
class PatchFinding:
    patches: tuple[Box, ...]  # normalized boxes of the new card-sized patches
    too_large: bool  # something beyond the card size range changed: not a card-posting visit
    strengths: tuple[float, ...] = ()  # per patch: its mean difference over its pixels' own thresholds


@dataclass(frozen=True, slots=True)
class Before:
    """The surface zone as it was: the background, and which of its pixels were seen often enough to trust."""

    image: Image
    known: npt.NDArray[np.bool_]
    noise: npt.NDArray[np.float32]  # per pixel: the largest temporal noise (grey levels) in its 3x3 neighbourhood


class SurfaceBackground:
    """Running background of one surface zone's bounding box, learnt where no actor is.

    Each pixel is a plain mean of the frames it was seen free in until that mean is as steady as the running
    background (then an exponential average with time constant ``LEARN_S``): a pixel seen for the first time,
    because someone stood in front of it since the camera started, is learnt at once when they leave, and the
    first frames' noise (rain, grain) is averaged away instead of lingering for seconds. A pixel seen free in
    fewer than ``KNOWN_FRAMES`` frames is not known: nothing is compared there."""

    def __init__(self, zone: ZoneShape, calibrations: Sequence[ZoneCalibration] = ()) -> None:
        self.zone = zone
        self._calibrations = tuple(calibrations)  # this zone's (day, night): the noise it starts from
        self.calibration: ZoneCalibration | None = None  # the one started from; None: NOISE_PRIOR
        self._region: PixelBox | None = None
        self._frame_size: tuple[int, int] = (0, 0)
        self._background: Image | None = None
        self._seen: npt.NDArray[np.float32] | None = None  # per pixel: free frames learnt, capped
        self._var: npt.NDArray[np.float32] | None = None  # per pixel: running mean of the squared deviation
        self._prev: npt.NDArray[np.uint8] | None = None  # the last frame's region, luma
        self._still: npt.NDArray[np.uint8] | None = None  # per pixel: frames without change, up to STILL_FRAMES
        self._last_t: float | None = None
        self._alpha = 0.0  # the last frame's learning rate

    @property
    def mean_frames(self) -> float:
        """About how many frames the running background averages (an exponential average of rate alpha has the
        noise of a plain mean of 2 / alpha - 1 frames): the "before" picture's share of the noise of a difference."""
        return 2.0 / self._alpha - 1.0 if self._alpha > 0 else 1.0

    @property
    def region(self) -> PixelBox | None:
        return self._region

    def update(
        self, image: Rgb, actor_boxes: npt.NDArray[np.float32], t: float, blobs: npt.NDArray[np.float32] | None = None
    ) -> None:
        """Learn the free pixels of this frame: not under an actor's box, nor under a motion blob over pixels that
        moved in the last second (a blob over a still surface is the motion stage's ghost of someone who left)."""
        h, w = image.shape[:2]
        if self._region is None or self._frame_size != (w, h):
            self._region, self._frame_size = PixelBox.of(self.zone.bbox, w, h), (w, h)
            self._background, self._seen, self._last_t = None, None, None
        r = self._region
        region = image[r.y1 : r.y2, r.x1 : r.x2]
        if self._background is None or self._seen is None or self._last_t is None or self._var is None:
            self._background, self._last_t = region.astype(np.float32), t
            self._seen = np.zeros(region.shape[:2], np.float32)
            self._var = self._initial_var(region)
        dt = max(0.0, t - self._last_t)
        self._last_t = t
        alpha = 1.0 - math.exp(-dt / LEARN_S)
        self._alpha = alpha if alpha > 0 else self._alpha
        step = self._step(region)
        free = ~self._actor_mask(actor_boxes)
        for blob in blobs if blobs is not None else ():
            under = self._actor_mask(blob[None, :])
            if under.any() and self.moved()[under].mean() >= GHOST_MOVED:
                free &= ~under
        self._seen += free
        np.minimum(self._seen, SEEN_CAP, out=self._seen)
        if alpha > 0:
            # Noise from frame to frame (std of a difference of two frames is sqrt(2) sigma), winsorized: a
            # surface that changed once (a moved object, someone leaving) is not noise; real noise rising (dusk,
            # rain) still gets through within seconds.
            sigma = np.sqrt(self._var)
            capped = np.minimum(step / math.sqrt(2.0), np.maximum(NOISE_CAP * sigma, NOISE_PRIOR * NOISE_CAP))
            cv2.accumulateWeighted(capped * capped, self._var, alpha, mask=free.view(np.uint8))
        if alpha > 0 and not np.any(free & (self._seen < 1.0 / alpha)):
            # Every free pixel is past its plain mean: one masked running average (OpenCV, in place).
            cv2.accumulateWeighted(np.ascontiguousarray(region), self._background, alpha, mask=free.view(np.uint8))
            return
        rate = np.where(free, np.maximum(alpha, 1.0 / np.maximum(self._seen, 1.0)), 0.0).astype(np.float32)
        self._background += rate[..., None] * (region.astype(np.float32) - self._background)

    def _initial_var(self, region: Rgb) -> npt.NDArray[np.float32]:
        """Squared noise to start from: the camera's calibration nearest this picture's luma, else the prior."""
        luma = float(cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_RGB2GRAY).mean())
        self.calibration = pick(self._calibrations, luma)
        if self.calibration is None:
            return np.full(region.shape[:2], NOISE_PRIOR**2, np.float32)
        return np.square(prior_noise(self.calibration, region.shape[:2]))

    def _step(self, region: Rgb) -> npt.NDArray[np.float32]:
        """Change since the last frame, and the count of frames each pixel has stayed still. Measured on luma
        (one cheap channel) and scaled to the largest-channel difference the patches are judged on."""
        gray = np.asarray(cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_RGB2GRAY), np.uint8)
        if self._prev is None or self._still is None or self._var is None or self._prev.shape != gray.shape:
            self._prev, self._still = gray, np.zeros(gray.shape, np.uint8)
            return np.zeros(gray.shape, np.float32)
        step = cv2.absdiff(gray, self._prev).astype(np.float32) * np.float32(LUMA_TO_RGB)
        self._prev = gray
        moved = step > thresholds(np.sqrt(self._var), GHOST_FLOOR)
        self._still = np.where(moved, 0, np.minimum(self._still + 1, STILL_FRAMES)).astype(np.uint8)
        return step

    def moved(self) -> npt.NDArray[np.bool_]:
        """Pixels of the region that changed from one frame to the next within the last second."""
        assert self._still is not None
        return self._still < STILL_FRAMES

    def snapshot(self) -> Before | None:
        """The background now, or None before any pixel is known (the camera's first frames)."""
        if self._background is None or self._seen is None:
            return None
        known = self._seen >= KNOWN_FRAMES
        if not known.any() or self._var is None:
            return None
        noise = cv2.dilate(np.sqrt(self._var), np.ones((3, 3), np.uint8))  # H.264 noise spreads over its block
        return Before(self._background.copy(), known, np.asarray(noise, np.float32))

    def _actor_mask(self, boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
        assert self._region is not None
        r, (w, h) = self._region, self._frame_size
        mask = np.zeros((r.y2 - r.y1, r.x2 - r.x1), bool)
        for x1, y1, x2, y2 in boxes:
            m = ACTOR_MARGIN * (y2 - y1)
            p = PixelBox.of((x1 - m, y1 - m, x2 + m, y2 + m), w, h)
            mask[max(0, p.y1 - r.y1) : max(0, p.y2 - r.y1), max(0, p.x1 - r.x1) : max(0, p.x2 - r.x1)] = True
        return mask


@dataclass(frozen=True, slots=True)
class PatchSpec:
    """What counts as a card, in pixels of this visit (from the actor's height and the rule's config)."""

    min_side: float
    max_side: float
    diff_threshold: int
    min_strength: float = MIN_STRENGTH  # HOLD_STRENGTH while a hold is under way: noise makes strengths waver


def difference(before: Image, after: Image, valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Largest per-channel difference after undoing the global gain (lights, auto-exposure); 0 where not valid."""
    if not valid.any():
        return np.zeros(valid.shape, np.float32)
    pick = valid.copy()
    pick[:, 1::GAIN_STRIDE] = False  # the gain from a sample of the pixels: a median is the costly part
    pick[1::GAIN_STRIDE] = False
    if not pick.any():
        pick = valid
    gain = np.median(before[pick], axis=0) / np.maximum(np.median(after[pick], axis=0), 1.0)
    diff = np.abs(after * gain.astype(np.float32) - before).max(axis=2)
    return np.where(valid, diff, 0.0).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Pictures:
    """One region (the touched part of a surface) as it was, as it is averaged now, and in the latest frame."""

    before: Image
    after: Image  # a mean of the last frames each pixel was in view
    current: Image
    visible: npt.NDArray[np.bool_]  # pixels nobody stands in front of and the "before" picture knows
    noise: npt.NDArray[np.float32]  # per pixel temporal noise (grey levels) measured before the visit


def thresholds(noise: npt.NDArray[np.float32], floor: float) -> npt.NDArray[np.float32]:
    """Per pixel: the difference that is a change there (its own noise, never below ``floor``)."""
    return np.maximum(np.float32(floor), NOISE_SIGMAS * noise)


def find_patches(
    pictures: Pictures, spec: PatchSpec, origin: tuple[int, int], frame_size: tuple[int, int]
) -> PatchFinding:
    """New card-sized patches in ``after`` compared with ``before``, still there in ``current``, among the
    ``visible`` pixels. ``origin`` is the region's top left corner in the frame, ``frame_size`` the frame's width
    and height, to report normalized boxes."""
    p = pictures
    if p.visible.sum() < 16:
        return PatchFinding((), False)
    # No spatial blur: a card in a wide view is 5 x 3 pixels. "before" is a running background and "after" a mean
    # of several frames, so sensor noise is already averaged down; the opening removes what is left.
    limit = thresholds(p.noise, spec.diff_threshold)
    diff = difference(p.before, p.after, p.visible)
    above = (diff > limit).astype(np.uint8)
    closed = cv2.morphologyEx(above, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))  # a card's outline: its inside
    changed = cv2.morphologyEx(closed, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    now = difference(p.before, p.current, p.visible)
    (ox, oy), (fw, fh) = origin, frame_size
    patches: list[Box] = []
    strengths: list[float] = []
    for x, y, w, h, _area in stats[1:count]:
        side = max(w, h)
        if side > spec.max_side:
            return PatchFinding((), True)
        window = (slice(y, y + h), slice(x, x + w))
        gone = (now[window] / limit[window]).mean() < 0.5  # taken away: only the mean remembers it
        strength = float(np.percentile(diff[window] / limit[window], 75))
        if side >= spec.min_side and not gone and strength >= spec.min_strength:
            patches.append(((ox + x) / fw, (oy + y) / fh, (ox + x + w) / fw, (oy + y + h) / fh))
            strengths.append(strength)
    order = sorted(range(len(patches)), key=lambda k: patches[k])
    return PatchFinding(tuple(patches[k] for k in order), False, tuple(strengths[k] for k in order))
