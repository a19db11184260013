"""PyAV decoding of access units, and the views of a decoded picture the pipeline needs (luma, RGB, time)."""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import av
import av.error
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from shopwatch.core.errors import UnsupportedCodec
from shopwatch.ingest.access_unit import AccessUnit

# Formats whose first plane is full-resolution 8-bit luma (what cameras send, decoded by FFmpeg's software
# decoders); anything else goes through swscale to grey.
_Y_FIRST_FORMATS = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"})


def decoder_context(stream: Any) -> Any:
    """The stream's codec context, checked decodable and set up for one decoding thread."""
    codec = stream.codec_context
    name = str(getattr(codec, "name", None))
    try:
        av.Codec(name, "r")
    except Exception:
        raise UnsupportedCodec(
            f"expected a video codec FFmpeg can decode (H.264, H.265, MJPEG), found {name!r}"
        ) from None
    # One decoding thread per stream: a worker hosts ~100 streams, and frame threads would add latency.
    codec.thread_count = 1
    return codec


def merge_packets(packets: tuple[av.Packet, ...]) -> av.Packet:
    """One packet holding several packets of one picture (Annex B start codes keep the NAL units apart)."""
    if len(packets) == 1:
        return packets[0]
    merged = av.Packet(b"".join(bytes(p) for p in packets))
    merged.pts = next((p.pts for p in packets if p.pts is not None), None)
    merged.dts = next((p.dts for p in packets if p.dts is not None), None)
    merged.time_base = packets[0].time_base
    merged.is_keyframe = packets[0].is_keyframe
    return merged


class _CodecOf(NamedTuple):
    """What ``AvDecoder`` reads of a codec context."""

    name: str
    extradata: bytes | None


class AvDecoder:
    """Decodes access units (owned by the reader thread) with a codec context of its own, made from the stream's
    (codec and extradata: the SPS/PPS of the SDP), so that ``release`` can free it.

    An idle camera decodes one keyframe every few seconds; between those, a decoder holds ~1 MB of picture
    buffers and tables at 640x360 (``benchmarks/reader_memory.py``: 3.55 MB RSS per camera with a kept decoder,
    2.34 released, 1.64 released with ``core.process_tuning.tune_malloc``). A fresh context costs 0.1-0.25 ms more
    CPU per keyframe (4.1-4.4 ms to decode one)."""

    def __init__(self, codec_context: Any) -> None:
        self._name = str(codec_context.name)
        self._extradata: bytes | None = codec_context.extradata or None
        self._codec: Any = None  # made at the first decode after a release
        self.errors = 0  # packets the decoder refused (corrupt data); decoding goes on, as players do
        self.last_error: str | None = None

    @classmethod
    def for_codec(cls, name: str, extradata: bytes | None) -> AvDecoder:
        """A decoder of a stream read without FFmpeg's demuxer (``native_reader.py``): codec name and SPS/PPS."""
        return cls(_CodecOf(name, extradata))

    def decode(self, unit: AccessUnit[av.Packet]) -> list[av.VideoFrame]:
        codec = self._codec
        if codec is None:
            codec = self._codec = av.CodecContext.create(self._name, "r")
            if self._extradata:
                codec.extradata = self._extradata
            codec.thread_count = 1  # see decoder_context
        return self._decoded(codec, merge_packets(unit.packets))

    def decode_alone(self, unit: AccessUnit[av.Packet]) -> list[av.VideoFrame]:
        """Decode one keyframe with a fresh decoder, drained (a stream with B-frames holds a picture back until
        the next packet), then ``release``."""
        self.release()
        frames = self.decode(unit)
        if not frames:
            frames = self._decoded(self._codec, None)
        self.release()
        return frames

    def _decoded(self, codec: Any, packet: av.Packet | None) -> list[av.VideoFrame]:
        try:
            frames: list[av.VideoFrame] = codec.decode(packet)
        except av.error.FFmpegError as exc:
            self.errors += 1
            self.last_error = f"decoder refused a packet: {exc.strerror}"
            return []
        return frames

    def release(self) -> None:
        """Free the codec context and the buffers it pools (frames already decoded stay valid: each holds its
        own reference). The next ``decode`` starts a fresh context, so it must be given a keyframe."""
        self._codec = None

    @staticmethod
    def luma(frame: av.VideoFrame, scale: int = 1) -> npt.NDArray[np.uint8]:
        """The Y plane as an H×W array (a view of the decoder's buffer, no conversion), or its means over
        ``scale``×``scale`` blocks, made by swscale in one call (area averaging; within one grey level of the
        exact block mean)."""
        if scale > 1:
            frame = _reformatter().reformat(
                frame,
                width=max(1, frame.width // scale),
                height=max(1, frame.height // scale),
                format=frame.format.name if frame.format.name in _Y_FIRST_FORMATS else "gray",  # no range change
                interpolation="AREA",
                threads=1,
            )
        if frame.format.name not in _Y_FIRST_FORMATS and frame.format.name != "gray":
            return np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(frame.height, plane.line_size)
        return rows[:, : frame.width]

    @staticmethod
    def picture(frame: av.VideoFrame) -> AvPicture:
        return AvPicture(frame)

    @staticmethod
    def pts_s(frame: av.VideoFrame) -> float | None:
        t = frame.time
        return None if t is None else float(t)


# One swscale context per converting thread. ``VideoFrame.to_ndarray`` builds a new one for every frame it is
# called on (0.43 ms for 640x360 -> RGB, measured here) where a reused one converts in 0.11 ms; a context must
# not be used by two threads at once, hence one per thread. A cache, not configuration: safe to build at import.
# swscale's own threads (its default: one per core) cost 0.35 ms of CPU per conversion against 0.07 ms with one.
_converters = threading.local()


def _reformatter() -> VideoReformatter:
    reformatter: VideoReformatter | None = getattr(_converters, "reformatter", None)
    if reformatter is None:
        reformatter = _converters.reformatter = VideoReformatter()
    return reformatter


class AvPicture:
    """A decoded ``av.VideoFrame`` as a ``core.frame.RgbSource``: converted to RGB only when someone asks,
    in the asking thread. The frame holds its own reference to the decoder's buffers, so it stays valid after
    the decoder moved on."""

    __slots__ = ("_frame",)

    def __init__(self, frame: av.VideoFrame) -> None:
        self._frame = frame

    @property
    def width(self) -> int:
        return int(self._frame.width)

    @property
    def height(self) -> int:
        return int(self._frame.height)

    def to_rgb(self, width: int, height: int) -> npt.NDArray[np.uint8]:
        """Scale and convert in one swscale pass (bilinear when the size changes)."""
        rgb = _reformatter().reformat(self._frame, width=width, height=height, format="rgb24", threads=1)
        return np.asarray(rgb.to_ndarray(), dtype=np.uint8)
