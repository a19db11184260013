"""Decoded pictures handed on as ``Frame``s: converted to RGB only when asked, at the size asked, in any thread."""

import threading
from fractions import Fraction

import av
import numpy as np
import pytest

from shopwatch.core.frame import Frame
from shopwatch.ingest.access_unit import AccessUnit
from shopwatch.ingest.activity import downscale_luma
from shopwatch.ingest.decode import AvDecoder, AvPicture


def yuv_frame(width: int = 64, height: int = 48, rgb: tuple[int, int, int] = (200, 40, 90)) -> av.VideoFrame:
    """A decoder-like picture: YUV 4:2:0, a left half in ``rgb`` and a grey right half."""
    image = np.full((height, width, 3), 128, dtype=np.uint8)
    image[:, : width // 2] = rgb
    return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")


def test_a_picture_converts_to_rgb_at_full_size_and_at_the_size_a_detector_asks_for() -> None:
    picture = AvPicture(yuv_frame())
    assert (picture.width, picture.height) == (64, 48)
    full = picture.to_rgb(64, 48)
    assert full.shape == (48, 64, 3) and full.dtype == np.uint8
    assert np.abs(full[24, 8].astype(int) - [200, 40, 90]).max() <= 6  # YUV 4:2:0 round trip
    small = picture.to_rgb(32, 16)
    assert small.shape == (16, 32, 3)
    assert np.abs(small[8, 4].astype(int) - [200, 40, 90]).max() <= 6


def test_a_frame_converts_once_on_first_use_and_keeps_the_result() -> None:
    calls: list[tuple[int, int]] = []

    class Counting(AvPicture):
        __slots__ = ()

        def to_rgb(self, width: int, height: int) -> np.ndarray:
            calls.append((width, height))
            return super().to_rgb(width, height)

    frame = Frame("cam", Counting(yuv_frame()), pts_s=1.0, wall_time=2.0, keyframe=True, seq=1)
    assert (frame.width, frame.height) == (64, 48) and calls == []  # nothing converted yet
    assert frame.image is frame.image and calls == [(64, 48)]
    assert frame.to_rgb() is frame.image  # full size: the cached picture
    assert frame.to_rgb(32, 24).shape == (24, 32, 3) and calls[-1] == (32, 24)


def test_a_frame_is_immutable_and_can_wrap_a_plain_rgb_array() -> None:
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[:, 3:] = 255
    frame = Frame("cam", image, pts_s=0.0, wall_time=0.0, keyframe=False, seq=3)
    assert frame.image is image and (frame.width, frame.height) == (6, 4)
    assert frame.to_rgb(3, 2).tolist() == [[[0, 0, 0], [0, 0, 0], [255, 255, 255]]] * 2  # nearest neighbours
    with pytest.raises(AttributeError, match="immutable"):
        frame.seq = 4
    with pytest.raises(ValueError, match="H x W x 3"):
        Frame("cam", np.zeros((4, 6), dtype=np.uint8), pts_s=0.0, wall_time=0.0, keyframe=False, seq=0)


def test_pictures_convert_in_several_threads_at_once() -> None:
    pictures = [AvPicture(yuv_frame(rgb=(10 * i, 100, 200 - 10 * i))) for i in range(8)]
    results: dict[int, np.ndarray] = {}

    def convert(i: int) -> None:
        for _ in range(20):
            results[i] = pictures[i].to_rgb(64, 48)

    threads = [threading.Thread(target=convert, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10.0)
    for i in range(8):
        assert np.abs(results[i][24, 8].astype(int) - [10 * i, 100, 200 - 10 * i]).max() <= 6


@pytest.mark.parametrize("source", ["yuv420p", "yuvj420p", "rgb24"])
def test_luma_downscaled_by_the_decoder_is_the_block_mean_within_one_grey_level(source: str) -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(20, 230, size=(96, 160), dtype=np.uint8)
    grey[40:60, 50:90] = 10  # a dark figure
    yuv = av.VideoFrame.from_ndarray(np.repeat(grey[:, :, None], 3, axis=2), format="rgb24").reformat(format="yuv420p")
    frame = yuv if source == "yuv420p" else yuv.reformat(format=source)
    full = AvDecoder.luma(frame)
    assert full.shape == (96, 160)
    small = AvDecoder.luma(frame, 4)
    assert small.shape == (24, 40)
    assert np.abs(small.astype(int) - downscale_luma(full, 4)).max() <= 1


def encoded(b_frames: int, count: int = 8) -> list[av.Packet]:
    """H.264 packets of a short moving picture, IDR first; with B-frames the decoder holds pictures back."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = 64, 48, "yuv420p"
    codec.time_base = Fraction(1, 12)
    codec.max_b_frames = b_frames
    codec.options = {"bf": str(b_frames), "g": "4"}
    packets: list[av.Packet] = []
    for i in range(count):
        frame = yuv_frame(rgb=(20 * i, 40, 90))
        frame.pts = i
        packets += codec.encode(frame)
    packets += codec.encode(None)
    return packets


@pytest.mark.parametrize("b_frames", [0, 2])
def test_a_keyframe_decoded_alone_gives_its_picture_with_no_decoder_kept(b_frames: int) -> None:
    packets = encoded(b_frames)
    source = av.CodecContext.create("h264", "r")  # what the stream's context gives: codec name and extradata
    source.extradata = None
    decoder = AvDecoder(source)
    key = AccessUnit.of((packets[0],), 0.0)
    assert packets[0].is_keyframe
    frames = decoder.decode_alone(key)
    assert [(f.width, f.height) for f in frames] == [(64, 48)]  # drained: held back no more with B-frames
    assert decoder._codec is None  # released: its buffers are gone, the frame keeps its own
    assert np.abs(AvPicture(frames[0]).to_rgb(64, 48)[24, 8].astype(int) - [0, 40, 90]).max() <= 8
    # Then, e.g. once active, a fresh decoder goes on from a keyframe through the rest of the GOP.
    decoded = [f for p in packets for f in decoder.decode(AccessUnit.of((p,), 0.0))]
    decoder.release()
    assert len(decoded) >= len(packets) - b_frames and decoder.errors == 0
