"""The one frame model handed from ingest to detection: one decoded picture of one camera.

A frame carries the picture as the decoder made it (YUV, in the decoder's buffers). RGB is made on first use, in
the consumer's thread: ``image`` (full size, cached) or ``to_rgb(width, height)`` (the size a detector feeds its
model, in one scale-and-convert step). Frames a slow consumer never takes cost nothing beyond the decode: at
6 fps per active camera the eager conversion was ~0.5 ms a frame in the reader thread. Core stays free of PyAV:
ingest hands any ``RgbSource``; tests and tools can hand a plain RGB array.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Rgb = npt.NDArray[np.uint8]  # H x W x 3, RGB


class RgbSource(Protocol):
    """A decoded picture that converts itself to RGB. ``to_rgb`` must be safe to call from any thread."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def to_rgb(self, width: int, height: int) -> Rgb: ...


class Frame:
    """Immutable; ``image`` is computed once (two threads asking at once may both convert; both get the same
    picture)."""

    __slots__ = ("camera_id", "pts_s", "wall_time", "keyframe", "seq", "_source", "_image")

    camera_id: str
    pts_s: float  # presentation time in the stream, seconds
    wall_time: float  # wall clock when the picture arrived (capture time, less the network)
    keyframe: bool
    seq: int  # decoded frame counter of this camera's current connection
    _source: RgbSource | None
    _image: Rgb | None

    def __init__(
        self, camera_id: str, image: Rgb | RgbSource, pts_s: float, wall_time: float, keyframe: bool, seq: int
    ) -> None:
        source: RgbSource | None = None
        rgb: Rgb | None = None
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValueError(f"expected an H x W x 3 uint8 RGB array, found {image.shape} {image.dtype}")
            rgb = image
        else:
            source = image
        for name, value in (
            ("camera_id", camera_id),
            ("pts_s", pts_s),
            ("wall_time", wall_time),
            ("keyframe", keyframe),
            ("seq", seq),
            ("_source", source),
            ("_image", rgb),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Frame is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Frame is immutable: cannot delete {name!r}")

    def __repr__(self) -> str:
        return (
            f"Frame(camera_id={self.camera_id!r}, {self.width}x{self.height}, pts_s={self.pts_s:.3f},"
            f" keyframe={self.keyframe}, seq={self.seq})"
        )

    @property
    def width(self) -> int:
        return int(self._image.shape[1]) if self._image is not None else self._source_of().width

    @property
    def height(self) -> int:
        return int(self._image.shape[0]) if self._image is not None else self._source_of().height

    @property
    def image(self) -> Rgb:
        """The picture at full size, H x W x 3 RGB; converted on first access, then cached."""
        image = self._image
        if image is None:
            source = self._source_of()
            image = source.to_rgb(source.width, source.height)
            object.__setattr__(self, "_image", image)
        return image

    def to_rgb(self, width: int | None = None, height: int | None = None) -> Rgb:
        """The picture scaled to ``width`` x ``height`` (default: full size) as RGB, in one conversion.

        Full size is the cached ``image``; other sizes are made on each call and not kept. A frame built from
        an array is resampled to nearest neighbours (good enough for tests and tools)."""
        w = self.width if width is None else width
        h = self.height if height is None else height
        if w < 1 or h < 1:
            raise ValueError(f"expected a positive width and height, found {w} x {h}")
        if (w, h) == (self.width, self.height):
            return self.image
        if self._source is not None:
            return self._source.to_rgb(w, h)
        image = self.image
        rows = np.arange(h) * image.shape[0] // h
        cols = np.arange(w) * image.shape[1] // w
        return image[rows[:, None], cols[None, :]]

    def _source_of(self) -> RgbSource:
        if self._source is None:  # only reachable if neither was set, which __init__ prevents
            raise RuntimeError("frame holds neither a picture nor an image")
        return self._source
