"""One-shot probe of a camera: open, read a few seconds, report what it delivers (``shopwatch cameras check``).

Blocking and self-contained (its own connection, no shared state), so many probes run in parallel threads.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import av

from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.errors import PeerProtocolError
from shopwatch.core.health import CameraState
from shopwatch.ingest.access_unit import AccessUnit, AccessUnitAssembler
from shopwatch.ingest.decode import AvDecoder, decoder_context
from shopwatch.ingest.failures import CAMERA_FAILURES, classify
from shopwatch.ingest.reader import open_options, stream_url


@dataclass(frozen=True, slots=True)
class ProbeResult:
    state: CameraState  # ONLINE when video arrived; otherwise why not
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None  # measured from packet timestamps
    kbit_per_s: float | None = None
    time_to_first_frame_s: float | None = None  # from the start of the open to the first decoded picture
    error: str | None = None  # redacted

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["state"] = self.state.value
        return out


@dataclass
class _Measure:
    started: float
    first_packet: float | None = None
    first_frame_s: float | None = None
    width: int | None = None
    height: int | None = None
    bytes: int = 0
    first_pts: float | None = None
    last_pts: float | None = None
    pictures: int = 0

    def on_unit(self, unit: AccessUnit[Any]) -> None:
        pts, time_base = unit.pts, unit.packets[0].time_base
        if pts is not None and time_base is not None:  # the very first picture often comes without one
            t = float(pts * time_base)
            self.first_pts = t if self.first_pts is None else self.first_pts
            self.last_pts = t
            self.pictures += 1  # pictures with a timestamp: the frame rate is counted over those

    def fps(self) -> float | None:
        if self.first_pts is None or self.last_pts is None or self.last_pts <= self.first_pts:
            return None
        return (self.pictures - 1) / (self.last_pts - self.first_pts)

    def kbit_per_s(self, now: float) -> float | None:
        fps = self.fps()
        if fps is not None and self.first_pts is not None and self.last_pts is not None:
            span = self.last_pts - self.first_pts + 1.0 / fps  # the last picture lasts one frame too
        elif self.first_packet is not None:
            span = now - self.first_packet
        else:
            return None
        return self.bytes * 8 / 1000 / span if span > 0 else None


def probe_camera(camera: CameraConfig, settings: Ingest, seconds: float = 3.0) -> ProbeResult:
    """Read ``camera`` for ``seconds`` after its first packet. Never raises for camera trouble: the result
    carries the state and a redacted error. Bounded by open timeout + ``seconds`` + read timeout."""
    if not camera.enabled:
        return ProbeResult(CameraState.DISABLED, error="the camera is disabled in the configuration")
    url = stream_url(camera)
    if url is None:
        return ProbeResult(CameraState.OFFLINE, error="no stream URL configured (streams.detect)")
    started = time.monotonic()
    try:
        container = av.open(
            url, options=open_options(settings, camera), timeout=(settings.open_timeout_s, settings.read_timeout_s)
        )
    except CAMERA_FAILURES as exc:
        failure = classify(exc, url, camera.secrets(), during="open", timeout_s=settings.open_timeout_s)
        return ProbeResult(failure.state, error=failure.message)
    codec_name: str | None = None
    measure = _Measure(started)
    try:
        stream = next((s for s in container.streams if s.type == "video"), None)
        if stream is None:
            raise PeerProtocolError("expected a video stream in the RTSP session, found none")
        codec = decoder_context(stream)
        codec_name = codec.name
        _read(container, stream, AvDecoder(codec), measure, seconds)
    except CAMERA_FAILURES as exc:
        failure = classify(exc, url, camera.secrets(), during="read", timeout_s=settings.read_timeout_s)
        return ProbeResult(failure.state, codec=codec_name, error=failure.message)
    finally:
        container.close()
    return ProbeResult(
        CameraState.ONLINE,
        codec=codec_name,
        width=measure.width,
        height=measure.height,
        fps=None if measure.fps() is None else round(measure.fps() or 0.0, 2),
        kbit_per_s=measure.kbit_per_s(time.monotonic()),
        time_to_first_frame_s=measure.first_frame_s,
    )


def _read(container: Any, stream: Any, decoder: AvDecoder, measure: _Measure, seconds: float) -> None:
    assembler: AccessUnitAssembler[Any] = AccessUnitAssembler()
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        now = time.monotonic()
        if measure.first_packet is None:
            measure.first_packet = now
        measure.bytes += packet.size
        unit = assembler.push(packet, now)
        if unit is not None:
            measure.on_unit(unit)
            if measure.first_frame_s is None and unit.keyframe:
                frames = decoder.decode(unit)
                if frames:
                    measure.first_frame_s = time.monotonic() - measure.started
                    measure.width, measure.height = frames[-1].width, frames[-1].height
        if now - measure.first_packet >= seconds and measure.first_frame_s is not None:
            return
        if now - measure.first_packet >= seconds + 10.0:  # a stream without keyframes
            raise PeerProtocolError(f"expected a keyframe within {seconds + 10.0:g} s of video, found none")
    raise PeerProtocolError("the camera closed the stream while it was being probed")
