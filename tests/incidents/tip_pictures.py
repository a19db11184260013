"""Pictures for the tip tests: a phone JPEG with EXIF (make, serial, GPS), made with Pillow."""

from __future__ import annotations

import io

from PIL import Image

MAKE, SERIAL = 0x010F, 0xA431  # EXIF: Make, BodySerialNumber
GPS_IFD = 0x8825


def phone_jpeg(lat: float | None = 39.9001, lon: float | None = 116.4, *, make: str = "PhoneCo") -> bytes:
    """A 64×48 JPEG as a phone writes it: maker, serial number and (when given) where it was taken."""
    exif = Image.Exif()
    exif[MAKE] = make
    exif[SERIAL] = "SN-8842-XYZ"
    if lat is not None and lon is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps.update({1: "N" if lat >= 0 else "S", 2: _dms(abs(lat)), 3: "E" if lon >= 0 else "W", 4: _dms(abs(lon))})
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return (float(d), float(m), round((value - d - m / 60) * 3600, 4))
