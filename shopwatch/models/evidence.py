"""What a card-posting event shows an operator, and how sure it is.

Evidence: for each new patch, one picture of the spot as it was before the visit beside the spot now, both cut
around the patch with context and magnified with visible pixels (nearest neighbour), so a card of 8 pixels is
checked at a glance. Confidence: how far the patch stands above the noise that the same spot showed before the
visit (``strength``: the 75th percentile of its difference over its pixels' own thresholds), mapped through a
logistic calibrated on the labelled real clip (docs/DETECTION.md): 0.5 at the firing point, 0.95 at
``STRENGTH_95``."""

from __future__ import annotations

import math

import cv2
import numpy as np

from shopwatch.core.events import Box
from shopwatch.core.frame import Rgb
from shopwatch.models.rules.base import jpeg
from shopwatch.models.surface import MIN_STRENGTH, Image, PixelBox

STRENGTH_95 = 2.2  # patch strength where 95 % of the tuning set's patches were cards (docs/DETECTION.md)
MAX_CROPS = 4  # patches shown magnified (an event lists them all)
CONTEXT_PX = 24  # the least side of the cut around a patch, in pixels of the frame
SHOWN_PX = 192  # side of each magnified half
GAP_PX = 4


def confidence(strengths: tuple[float, ...]) -> float:
    """0-1: the strongest patch's strength through the calibrated logistic."""
    if not strengths:
        return 0.0
    scale = (STRENGTH_95 - MIN_STRENGTH) / math.log(19.0)
    return 1.0 / (1.0 + math.exp(-(max(strengths) - MIN_STRENGTH) / scale))


def patch_pictures(before: Image, region: PixelBox, image: Rgb, patches: tuple[Box, ...]) -> dict[str, bytes]:
    """``patch1`` ... : before (left) and now (right) around each patch, magnified. ``before`` covers ``region``
    of the frame ``image``."""
    h, w = image.shape[:2]
    pictures = {}
    for index, box in enumerate(patches[:MAX_CROPS], 1):
        p = PixelBox.of(box, w, h)
        side = max(CONTEXT_PX, 3 * max(p.x2 - p.x1, p.y2 - p.y1))
        cx, cy = (p.x1 + p.x2) // 2, (p.y1 + p.y2) // 2
        x1 = min(max(region.x1, cx - side // 2), max(region.x1, region.x2 - side))
        y1 = min(max(region.y1, cy - side // 2), max(region.y1, region.y2 - side))
        x2, y2 = min(region.x2, x1 + side), min(region.y2, y1 + side)
        was = np.clip(before[y1 - region.y1 : y2 - region.y1, x1 - region.x1 : x2 - region.x1], 0, 255)
        now = image[y1:y2, x1:x2]
        scale = SHOWN_PX / max(x2 - x1, y2 - y1)
        size = (max(1, round((x2 - x1) * scale)), max(1, round((y2 - y1) * scale)))
        halves = [
            cv2.resize(np.ascontiguousarray(a.astype(np.uint8)), size, interpolation=cv2.INTER_NEAREST)
            for a in (was, now)
        ]
        gap = np.full((size[1], GAP_PX, 3), 255, np.uint8)
        pictures[f"patch{index}"] = jpeg(np.hstack([halves[0], gap, halves[1]]))
    return pictures
