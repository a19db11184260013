"""The second cue of card-posting: a faint card (a dark card on a dark, noisy door at night) judged against the
noise of the *averaged* after-picture, and only when it has the shape of a card.

The first cue (``surface.find_patches``) judges each pixel against its single-frame noise (4 sigma, at least
``diff_threshold``): a card 1.5 sigma darker than a night door never passes it. But the after-picture is a mean of
up to ``LONG_FRAMES`` frames and the "before" a running background of about ``2 / alpha`` frames, so the noise of
their difference is ``sigma * sqrt(1 / n_after + 1 / n_before)``, about a third of sigma (benchmarks/noise_of_mean.py).
Against that, a faint card stands out; so do real but harmless changes that the first cue also sees weakly: a
sheet moved on a table, a corner turned, printed text and edges whose compression flicker does not average away.
What those are not is a card's shape, which this cue demands of every patch it adds:

* filled and compact: at least ``FILL`` of its box changed, sides at most ``ASPECT`` to one;
* one change: at least ``SAME_SIGN`` of its pixels changed the same way in colour (towards the patch's mean
  change), as a card over a surface does; a moved edge makes one side lighter and the other darker;
* a closed outline: on every side of the patch (at least ``MIN_SIDES`` of the four in view), the surface just
  outside did *not* change (a shadow, a light patch, a moved object's change runs on);
* it was not there before: the spot looked like the surface around it in the "before" picture (printed text, an
  edge, a sign's lettering did not), and it is still there in the latest frame.

Its patches carry the first cue's strength (below the firing point), so their confidence stays below 0.5: a faint
card raises an event for an operator, never an automatic warning (``incidents.deterrence`` needs 0.95)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from shopwatch.core.events import Box
from shopwatch.models.surface import Image, PatchFinding, PatchSpec, difference, thresholds

LONG_FRAMES = 18  # frames averaged (at most) into the long after-picture (3 s at 6 fps)
FAINT_SIGMAS = 4.0  # a pixel changed when its difference exceeds this many times the noise of the mean
FAINT_FLOOR = 1 / 3  # of ``diff_threshold``: never less (8 grey levels by default; a quiet surface's noise of the
# mean is near 0)
FAINT_MIN = 1.4  # a patch's strength against the noise of the mean (75th percentile) to start a hold
FAINT_HOLD = 1.2  # and to go on holding it (noise makes it waver, as the first cue's)
FILL = 0.6  # of the patch's box that changed
ASPECT = 3.0  # longest side over shortest
SAME_SIGN = 0.85  # of the patch's pixels changed the same way (towards the patch's mean colour change)
GAP_PX = 2  # the strips start this far outside the patch (its edge is blurred over a pixel or two)
RING_PX = 2  # width of each side's strip outside the patch
MIN_SIDES = 3  # sides of the outline that must be in view (a card at the edge of the view shows three)
OUTLINE = 0.5  # just outside the patch, on every side, the change is at most this much of the patch's
WAS_PLAIN = 0.5  # before, the spot differed from the surface around it by at most this much of its change now
STILL_THERE = 0.5  # the latest frame, averaged over the patch, keeps at least this much of the averaged change


@dataclass(frozen=True, slots=True)
class LongPictures:
    """The touched part as it was, averaged over up to ``LONG_FRAMES`` frames since, and in the latest frame."""

    before: Image
    after: Image
    current: Image
    visible: npt.NDArray[np.bool_]
    noise: npt.NDArray[np.float32]  # per pixel single-frame noise (grey levels), as the first cue uses
    after_frames: npt.NDArray[np.float32]  # per pixel: frames in the after-picture
    before_frames: float  # frames the running background averages (``SurfaceBackground.mean_frames``)


def noise_of_mean(p: LongPictures) -> npt.NDArray[np.float32]:
    """Per pixel: the noise of (after-picture - background), both means of independent frames."""
    spread = np.sqrt(1.0 / np.maximum(p.after_frames, 1.0) + 1.0 / max(p.before_frames, 1.0))
    return np.asarray(p.noise * spread, np.float32)


def faint_patches(
    p: LongPictures, spec: PatchSpec, found: PatchFinding, held: bool, place: tuple[tuple[int, int], tuple[int, int]]
) -> PatchFinding:
    """``found`` (the first cue's finding) with the card-shaped faint patches added. ``place``: the region's top
    left corner in the frame and the frame's width and height, to report normalized boxes."""
    if found.too_large or p.visible.sum() < 16:
        return found
    limit = np.maximum(np.float32(FAINT_FLOOR * spec.diff_threshold), FAINT_SIGMAS * noise_of_mean(p))
    diff = difference(p.before, p.after, p.visible)
    above = (diff > limit).astype(np.uint8)
    closed = cv2.morphologyEx(above, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    changed = cv2.morphologyEx(closed, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    (ox, oy), (fw, fh) = place
    taken = [_pixels(b, ox, oy, fw, fh) for b in found.patches]
    patches, strengths = list(found.patches), list(found.strengths)
    first_limit = thresholds(p.noise, spec.diff_threshold)
    gain = _gain(p)
    for k in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[k])
        if not spec.min_side <= max(w, h) <= spec.max_side or any(_meets((x, y, w, h), t) for t in taken):
            continue
        if area < FILL * w * h or max(w, h) > ASPECT * min(w, h):
            continue
        window = (slice(y, y + h), slice(x, x + w))
        mine = labels[window] == k
        strength = float(np.percentile(diff[window][mine] / limit[window][mine], 75))
        if strength < (FAINT_HOLD if held else FAINT_MIN):
            continue
        if shape_fault(p, (x, y, w, h), mine, diff, gain, above[window] > 0) is not None:
            continue
        patches.append(((ox + x) / fw, (oy + y) / fh, (ox + x + w) / fw, (oy + y + h) / fh))
        strengths.append(float(np.percentile(diff[window][mine] / first_limit[window][mine], 75)))
    order = sorted(range(len(patches)), key=lambda i: patches[i])
    return PatchFinding(tuple(patches[i] for i in order), False, tuple(strengths[i] for i in order))


def shape_fault(
    p: LongPictures,
    rect: tuple[int, int, int, int],
    mine: npt.NDArray[np.bool_],
    diff: npt.NDArray[np.float32],
    gain: npt.NDArray[np.float32],
    strong: npt.NDArray[np.bool_],
) -> str | None:
    """Why this changed patch is not shaped like a card, or None: one change of one sign, with a closed outline
    around a spot that was plain before, and still there now."""
    x, y, w, h = rect
    window = (slice(y, y + h), slice(x, x + w))
    # per pixel of the patch that changed beyond the limit (a printed card's lines may not): its colour change
    change_rgb = (p.after[window] * gain - p.before[window])[mine & strong]
    if len(change_rgb) == 0:
        return "no pixel of it changed beyond the limit"
    along = change_rgb @ change_rgb.mean(axis=0)  # > 0 where a pixel changed the way the patch did on average
    if float((along > 0).mean()) < SAME_SIGN:
        return "changed one way in part, the other way in part"
    change = float(np.median(diff[window][mine]))
    mean_change = change_rgb.mean(axis=0)
    now = (p.current[window] * gain - p.before[window])[mine].mean(axis=0)  # one frame, averaged over the patch
    if float(now @ mean_change) < STILL_THERE * float(mean_change @ mean_change):
        return "gone from the latest frame"
    rows, cols, g = *p.visible.shape, GAP_PX
    strips = (
        (slice(y - g - RING_PX, y - g), slice(x, x + w)),
        (slice(y + h + g, y + h + g + RING_PX), slice(x, x + w)),
        (slice(y, y + h), slice(x - g - RING_PX, x - g)),
        (slice(y, y + h), slice(x + w + g, x + w + g + RING_PX)),
    )
    ring: list[npt.NDArray[np.float32]] = []
    for ys, xs in strips:
        if ys.start < 0 or xs.start < 0 or ys.stop > rows or xs.stop > cols:
            continue
        seen = p.visible[ys, xs]
        if seen.mean() < 0.5:
            continue
        if float(np.median(diff[ys, xs][seen])) > OUTLINE * change:
            return "the change goes on past its outline"
        ring.append(p.before[ys, xs][seen])
    if len(ring) < MIN_SIDES:
        return "too little of its outline in view"
    was = np.abs(np.median(p.before[window][mine], axis=0) - np.median(np.concatenate(ring), axis=0)).max()
    if float(was) > WAS_PLAIN * change:
        return "the spot stood out from the surface before"
    return None


def _gain(p: LongPictures) -> npt.NDArray[np.float32]:
    """The global gain (lights, auto-exposure) from after to before, as ``surface.difference`` undoes it."""
    pick = p.visible.copy()
    pick[:, 1::2] = False
    pick[1::2] = False
    if not pick.any():
        pick = p.visible
    gain = np.median(p.before[pick], axis=0) / np.maximum(np.median(p.after[pick], axis=0), 1.0)
    return np.asarray(gain, np.float32)


def _pixels(box: Box, ox: int, oy: int, fw: int, fh: int) -> tuple[int, int, int, int]:
    x1, y1 = int(box[0] * fw) - ox, int(box[1] * fh) - oy
    return x1, y1, math.ceil(box[2] * fw) - ox - x1, math.ceil(box[3] * fh) - oy - y1


def _meets(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
