"""A calibration's noise grid as an array, and the one a surface starts from (``surface.SurfaceBackground``).

A calibration (``core.learnt.ZoneCalibration``) keeps one zone's per-pixel temporal noise as a coarse grid (the
largest value of each ``CELL_PX`` cell, uint8 in steps of 1/``NOISE_STEP`` grey level, zlib, base64): small enough
to travel with the camera's config to its worker. A surface picks the calibration of the band (day, night) whose
luma is nearest its first frame's and stretches the grid over its region."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from shopwatch.core.learnt import CELL_PX, NOISE_STEP, ZoneCalibration

Noise = npt.NDArray[np.float32]
MIN_NOISE = 0.5  # grey levels: a calibrated pixel never starts quieter than this


def encode_grid(noise: Noise) -> tuple[int, int, str]:
    """Per-pixel noise (grey levels) of a zone's box -> (rows, cols, text) of its coarse grid."""
    h, w = noise.shape
    rows, cols = -(-h // CELL_PX), -(-w // CELL_PX)
    padded = np.zeros((rows * CELL_PX, cols * CELL_PX), np.float32)
    padded[:h, :w] = noise
    grid = padded.reshape(rows, CELL_PX, cols, CELL_PX).max(axis=(1, 3))
    quantized = np.clip(np.ceil(grid * NOISE_STEP), 0, 255).astype(np.uint8)
    return rows, cols, base64.b64encode(zlib.compress(quantized.tobytes(), 9)).decode("ascii")


def decode_grid(cal: ZoneCalibration) -> Noise:
    raw = zlib.decompress(base64.b64decode(cal.noise))
    if len(raw) != cal.rows * cal.cols:
        raise ValueError(f"calibration of zone {cal.zone!r}: expected {cal.rows}x{cal.cols} cells, found {len(raw)}")
    return np.frombuffer(raw, np.uint8).reshape(cal.rows, cal.cols).astype(np.float32) / np.float32(NOISE_STEP)


def pick(calibrations: Sequence[ZoneCalibration], luma: float) -> ZoneCalibration | None:
    """The calibration measured nearest this luma (a night picture starts from the night calibration)."""
    return min(calibrations, key=lambda c: abs(c.luma - luma), default=None)


def prior_noise(cal: ZoneCalibration, shape: tuple[int, int]) -> Noise:
    """The calibration's noise stretched over a region of ``shape`` (rows, cols) pixels."""
    grid = decode_grid(cal)
    stretched = cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return np.maximum(np.asarray(stretched, np.float32), np.float32(MIN_NOISE))
