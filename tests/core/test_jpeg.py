import io

import av
import numpy as np
import pytest
from PIL import Image

from shopwatch.core.jpeg import encode_jpeg
from shopwatch.ingest.decode import AvPicture


def test_an_rgb_array_becomes_a_jpeg_of_the_same_size_and_colour() -> None:
    image = np.zeros((36, 64, 3), dtype=np.uint8)
    image[..., 0] = 200
    decoded = Image.open(io.BytesIO(encode_jpeg(image)))
    assert decoded.format == "JPEG" and decoded.size == (64, 36)
    assert abs(int(np.asarray(decoded)[..., 0].mean()) - 200) <= 3


def test_a_decoded_yuv_frame_is_converted_here() -> None:
    frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 90, dtype=np.uint8), format="rgb24").reformat(
        format="yuv420p"
    )
    decoded = Image.open(io.BytesIO(encode_jpeg(AvPicture(frame))))
    assert decoded.size == (64, 48)
    assert abs(int(np.asarray(decoded).mean()) - 90) <= 3


@pytest.mark.parametrize(
    ("image", "quality", "message"),
    [
        (np.zeros((4, 4), dtype=np.uint8), 80, "H x W x 3"),
        (np.zeros((4, 4, 3), dtype=np.float32), 80, "H x W x 3"),
        (np.zeros((4, 4, 3), dtype=np.uint8), 0, "quality"),
    ],
)
def test_bad_input_is_refused(image: np.ndarray, quality: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_jpeg(image, quality)
