"""JPEG encoding of decoded pictures, done by whoever asks for a snapshot, never by the reader thread."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

DEFAULT_QUALITY = 80


def encode_jpeg(image: npt.NDArray[np.uint8] | Any, quality: int = DEFAULT_QUALITY) -> bytes:
    """JPEG bytes of an H×W×3 RGB array or of an ``av.VideoFrame`` (converted to RGB here)."""
    if not 1 <= quality <= 95:
        raise ValueError(f"JPEG quality must be 1-95, found {quality}")
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an H x W x 3 uint8 RGB array, found {image.shape} {image.dtype}")
        picture = Image.fromarray(image)  # H x W x 3 uint8 is RGB
    else:
        picture = image.to_image()  # av.VideoFrame: YUV -> RGB by swscale
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return out.getvalue()
