"""JPEG encoding of decoded pictures, done by whoever asks for a snapshot, never by the reader thread."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image

from shopwatch.core.frame import RgbSource

DEFAULT_QUALITY = 80


def encode_jpeg(image: npt.NDArray[np.uint8] | RgbSource, quality: int = DEFAULT_QUALITY) -> bytes:
    """JPEG bytes of an H×W×3 RGB array or of a decoded picture (converted to RGB here, at its full size)."""
    if not 1 <= quality <= 95:
        raise ValueError(f"JPEG quality must be 1-95, found {quality}")
    rgb = image if isinstance(image, np.ndarray) else image.to_rgb(image.width, image.height)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an H x W x 3 uint8 RGB array, found {rgb.shape} {rgb.dtype}")
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)  # H x W x 3 uint8 is RGB
    return out.getvalue()
