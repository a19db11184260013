"""Zone geometry in normalized coordinates, separate from any drawing (after supervision's PolygonZone).

A zone is rasterized once onto a small grid; "how much of this box lies in the zone" is then two lookups in
an integral image, whatever the polygon's shape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from shopwatch.core.detect_config import Zone, ZoneKind

GRID_W, GRID_H = 256, 256  # rasterization grid of a zone; ~0.4 % of the frame per cell


def polygon_mask(polygons: Sequence[Sequence[tuple[float, float]]], width: int, height: int) -> npt.NDArray[np.bool_]:
    """A width x height mask that is True inside any of the normalized polygons."""
    mask = np.zeros((height, width), np.uint8)
    for polygon in polygons:
        pts = np.array([[x * width, y * height] for x, y in polygon], np.float64)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(bool)


def points_in_polygon(points: npt.NDArray[np.float32], polygon: Sequence[tuple[float, float]]) -> npt.NDArray[np.bool_]:
    """Even-odd rule for N x 2 normalized points (exact, vectorized)."""
    inside = np.zeros(len(points), bool)
    px, py = points[:, 0], points[:, 1]
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_at)
    return inside


@dataclass(frozen=True, eq=False)
class ZoneShape:
    name: str
    kind: ZoneKind
    polygon: tuple[tuple[float, float], ...]
    _integral: npt.NDArray[np.int64]
    bbox: tuple[float, float, float, float]  # normalized bounding box of the polygon
    foot_y: float | None = None  # surface zones: where the ground meets it (actors stand near this line)

    @classmethod
    def of(cls, zone: Zone) -> ZoneShape:
        polygon = tuple((float(x), float(y)) for x, y in zone.polygon)
        mask = polygon_mask([polygon], GRID_W, GRID_H).astype(np.int64)
        integral = np.zeros((GRID_H + 1, GRID_W + 1), np.int64)
        integral[1:, 1:] = mask.cumsum(0).cumsum(1)
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        return cls(zone.name, zone.kind, polygon, integral, (min(xs), min(ys), max(xs), max(ys)), zone.foot_y)

    def box_overlap(self, boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Fraction (0-1) of each normalized box's area that lies inside the zone."""
        if len(boxes) == 0:
            return np.zeros(0, np.float32)
        x1 = np.clip(np.floor(boxes[:, 0] * GRID_W), 0, GRID_W).astype(np.intp)
        y1 = np.clip(np.floor(boxes[:, 1] * GRID_H), 0, GRID_H).astype(np.intp)
        x2 = np.clip(np.ceil(boxes[:, 2] * GRID_W), 0, GRID_W).astype(np.intp)
        y2 = np.clip(np.ceil(boxes[:, 3] * GRID_H), 0, GRID_H).astype(np.intp)
        s = self._integral
        inside = s[y2, x2] - s[y1, x2] - s[y2, x1] + s[y1, x1]
        area = np.maximum((x2 - x1) * (y2 - y1), 1)
        return (inside / area).astype(np.float32)

    def covered(self, boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Fraction (0-1) of the zone's area that lies inside each normalized box (someone standing in front of
        a small surface hides most of it while little of their box is on it)."""
        if len(boxes) == 0:
            return np.zeros(0, np.float32)
        area = (np.ceil(boxes[:, 2] * GRID_W) - np.floor(boxes[:, 0] * GRID_W)).clip(1) * (
            np.ceil(boxes[:, 3] * GRID_H) - np.floor(boxes[:, 1] * GRID_H)
        ).clip(1)
        return (self.box_overlap(boxes) * area / max(int(self._integral[-1, -1]), 1)).astype(np.float32)

    def contains(self, points: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
        return points_in_polygon(points, self.polygon)

    def mask(self, width: int, height: int) -> npt.NDArray[np.bool_]:
        return polygon_mask([self.polygon], width, height)


def zone_shapes(zones: Sequence[Zone]) -> dict[str, ZoneShape]:
    return {zone.name: ZoneShape.of(zone) for zone in zones}
