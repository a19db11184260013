"""A tip's photo: checked (size, a real JPEG/PNG/WebP picture), its EXIF GPS position read, and re-encoded
without any metadata (EXIF carries the phone's make, serial and the tipster's position; only the position is
kept, on the tip, and only when the tipster gave no other place). Pure: bytes in, bytes and values out."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, JpegImagePlugin, PngImagePlugin, UnidentifiedImageError, WebPImagePlugin

from shopwatch.core.errors import TooLarge, UnsupportedMedia

FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
GPS_IFD = 0x8825  # EXIF 2.32 §4.6.6: the GPS Info IFD pointer
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4
MAX_PIXELS = 64_000_000  # a "photo" past this is a decompression bomb, not a phone picture


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    data: bytes  # re-encoded, no metadata
    suffix: str  # jpg | png | webp
    gps: tuple[float, float] | None  # (lat, lon) from EXIF, WGS84 degrees


def _degrees(value: Any) -> float:
    d, m, s = (float(part) for part in value)
    return d + m / 60 + s / 3600


def exif_gps(image: Image.Image) -> tuple[float, float] | None:
    gps = image.getexif().get_ifd(GPS_IFD)
    try:
        lat, lon = _degrees(gps[GPS_LAT]), _degrees(gps[GPS_LON])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if gps.get(GPS_LAT_REF, "N") == "S":
        lat = -lat
    if gps.get(GPS_LON_REF, "E") == "W":
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat, lon) == (0.0, 0.0):
        return None
    return lat, lon


def _opener(data: bytes) -> Callable[[io.BytesIO], Image.Image] | None:
    """The one decoder the file's signature names. Not ``Image.open``: ultralytics (loaded in the same process
    in tests and tools) patches it to try installing a HEIF plugin when a file is not a known picture."""
    if data[:3] == b"\xff\xd8\xff":
        return JpegImagePlugin.JpegImageFile
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PngImagePlugin.PngImageFile
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WebPImagePlugin.WebPImageFile
    return None


def _kind(data: bytes) -> str:
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return "something else"


def clean_photo(data: bytes, max_bytes: int, name: str) -> CleanPhoto:
    """The photo without metadata; ``TooLarge`` (413) past ``max_bytes``, ``UnsupportedMedia`` (415) for
    anything that is not a JPEG, PNG or WebP picture."""
    if len(data) > max_bytes:
        raise TooLarge(f"photo {name!r}: expected at most {max_bytes} bytes, found {len(data)}")
    opener = _opener(data)
    if opener is None:
        raise UnsupportedMedia(f"photo {name!r}: expected a JPEG, PNG or WebP picture, found {_kind(data)}")
    try:
        with opener(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise TooLarge(f"photo {name!r}: expected at most {MAX_PIXELS} pixels")
            gps = exif_gps(image)
            fmt = str(image.format)
            upright = ImageOps.exif_transpose(image)  # keep it the way the phone showed it, then drop the tag
            out = io.BytesIO()
            if fmt == "JPEG":
                upright.convert("RGB").save(out, format="JPEG", quality=90)
            else:
                upright.save(out, format=fmt)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise UnsupportedMedia(f"photo {name!r}: expected a JPEG, PNG or WebP picture, found something else") from None
    return CleanPhoto(out.getvalue(), FORMATS[fmt], gps)
