"""A tip's photo: its EXIF GPS position read, every piece of metadata stripped before it is stored; too big
answers TooLarge (413), anything but a JPEG/PNG/WebP picture UnsupportedMedia (415)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shopwatch.core.errors import TooLarge, UnsupportedMedia
from shopwatch.incidents.tip_photos import clean_photo
from tests.incidents.tip_pictures import phone_jpeg


def test_gps_read_and_metadata_stripped() -> None:
    original = phone_jpeg(39.9001, -116.4)
    assert b"PhoneCo" in original and b"SN-8842" in original
    photo = clean_photo(original, 1 << 20, "p.jpg")
    assert photo.gps is not None
    assert photo.gps[0] == pytest.approx(39.9001, abs=1e-6) and photo.gps[1] == pytest.approx(-116.4, abs=1e-6)
    assert photo.suffix == "jpg"
    assert b"PhoneCo" not in photo.data and b"SN-8842" not in photo.data and b"Exif" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.size == (64, 48) and not image.getexif()


def test_photo_without_gps_has_no_position() -> None:
    assert clean_photo(phone_jpeg(None, None), 1 << 20, "p.jpg").gps is None


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (phone_jpeg(), TooLarge, "at most 100 bytes"),
        (b"hello, this is not a picture", UnsupportedMedia, "JPEG, PNG or WebP"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 50, UnsupportedMedia, "JPEG, PNG or WebP"),  # a JPEG header, no picture
    ],
)
def test_bad_photos_refused(data: bytes, error: type[Exception], words: str) -> None:
    gif = io.BytesIO()
    Image.new("P", (4, 4)).save(gif, format="GIF")
    with pytest.raises(error, match=words):
        clean_photo(data, 100 if error is TooLarge else 1 << 20, "x")
    with pytest.raises(UnsupportedMedia, match="found GIF"):
        clean_photo(gif.getvalue(), 1 << 20, "x.gif")
