"""Frames of one camera for a while, in the calling thread (``shopwatch cameras calibrate``).

The service's own reading path, without its worker: the same stream URL and open options (``reader``), the same
access-unit assembly and decoder (``decode``), frames at the detection rate. A camera that cannot be opened or
read raises the error of its kind (``DeviceUnreachable``, ``AuthRefused``, ``StreamTimeout``...) with the
reader's redacted message: the caller says which camera and why."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import av

from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.errors import DeviceUnreachable, PeerProtocolError
from shopwatch.core.frame import Frame
from shopwatch.ingest.access_unit import AccessUnitAssembler
from shopwatch.ingest.decode import AvDecoder, AvPicture, decoder_context
from shopwatch.ingest.failures import CAMERA_FAILURES, classify
from shopwatch.ingest.reader import open_options, stream_url


def sample_frames(camera: CameraConfig, settings: Ingest, seconds: float, fps: float) -> Iterator[Frame]:
    """Decoded frames of ``camera`` at no more than ``fps`` for ``seconds`` after the first one."""
    if not camera.enabled:
        raise DeviceUnreachable(f"camera {camera.id!r} is disabled in the configuration")
    url = stream_url(camera)
    if url is None:
        raise DeviceUnreachable(f"camera {camera.id!r} has no stream URL (streams.detect)")
    timeouts = (settings.open_timeout_s, settings.read_timeout_s)
    try:
        container = av.open(url, options=open_options(settings, camera), timeout=timeouts)
    except CAMERA_FAILURES as exc:
        failure = classify(exc, url, camera.secrets(), during="open", timeout_s=settings.open_timeout_s)
        raise failure.kind(failure.message) from None
    try:
        yield from _frames(container, camera, seconds, fps)
    except CAMERA_FAILURES as exc:
        failure = classify(exc, url, camera.secrets(), during="read", timeout_s=settings.read_timeout_s)
        raise failure.kind(failure.message) from None
    finally:
        container.close()


def _frames(container: Any, camera: CameraConfig, seconds: float, fps: float) -> Iterator[Frame]:
    stream = next((s for s in container.streams if s.type == "video"), None)
    if stream is None:
        raise PeerProtocolError(f"camera {camera.id!r}: expected a video stream, found none")
    decoder = AvDecoder(decoder_context(stream))
    assembler: AccessUnitAssembler[Any] = AccessUnitAssembler()
    first: float | None = None
    next_t = 0.0
    seq = 0
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        unit = assembler.push(packet, time.monotonic())
        if unit is None:
            continue
        for picture in decoder.decode(unit):
            now = time.time()
            first = now if first is None else first
            if now - first > seconds:
                return
            if now - first + 1e-6 < next_t:
                continue
            next_t = now - first + 1.0 / fps
            yield Frame(camera.id, AvPicture(picture), float(picture.time or 0.0), now, bool(unit.keyframe), seq)
            seq += 1
    raise PeerProtocolError(f"camera {camera.id!r} closed the stream after {seq} frames")
