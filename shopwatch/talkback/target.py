"""Where a talk goes: a speaker protocol and its URL, parsed from a URL or derived from a camera's config.

URL forms (credentials in the userinfo, percent-encoded):
- ``rtsp://user:pass@host:554/path`` — ONVIF audio backchannel (RTSP with ``Require: www.onvif.org/ver20/backchannel``).
- ``isapi://user:pass@host:80/?channel=1`` — Hikvision ISAPI two-way audio over HTTP.
- ``dahua://user:pass@host:80/?channel=1&httptype=singlepart`` — Dahua ``audio.cgi?action=postAudio``.

A ``TalkTarget`` may carry a password: show it with ``str(target)`` (masked), never ``target.url``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

from shopwatch.core.config import CameraConfig, Vendor
from shopwatch.core.redact import redact_url, with_credentials
from shopwatch.core.talkback_config import DEFAULT_DRAIN_MS, RtpProfile

Protocol = Literal["rtsp", "isapi", "dahua"]
TalkTransport = Literal["tcp", "udp"]
_SCHEMES: dict[str, Protocol] = {"rtsp": "rtsp", "isapi": "isapi", "dahua": "dahua"}
# Vendors whose cameras are known to offer the ONVIF backchannel on their RTSP server; ISAPI is Hikvision's
# own and more widely supported by its firmware than its ONVIF audio output (TALKBACK_PROTOCOLS.md).
_ONVIF_FIRST = {Vendor.DAHUA, Vendor.ONVIF, Vendor.UNIVIEW, Vendor.AXIS, Vendor.GENERIC}


@dataclass(frozen=True)
class TalkTarget:
    """One speaker endpoint. ``url`` may carry credentials: never log it; ``str()`` masks the password."""

    protocol: Protocol
    url: str
    transport: TalkTransport = "tcp"
    rtp: RtpProfile = field(default_factory=RtpProfile)  # the RTP shape (rtsp:// only)
    drain_s: float = DEFAULT_DRAIN_MS / 1000  # wait after the last frame before closing: the device's buffer
    backchannel_only: bool = True  # rtsp://: SETUP the backchannel alone (every track if PLAY insists)

    def __str__(self) -> str:
        return redact_url(self.url) + (" (udp)" if self.transport == "udp" else "")

    def __repr__(self) -> str:
        return f"TalkTarget({self.protocol!r}, {redact_url(self.url)!r}, {self.transport!r})"


def parse_target(url: str, transport: TalkTransport = "tcp") -> TalkTarget:
    """``rtsp://``, ``isapi://`` or ``dahua://`` URL -> target; ``ValueError`` (redacted) for anything else."""
    parts = urlsplit(url.strip())
    protocol = _SCHEMES.get(parts.scheme.lower())
    if protocol is None:
        raise ValueError(f"expected an rtsp://, isapi:// or dahua:// URL, found {redact_url(url)!r}")
    if not parts.hostname:
        raise ValueError(f"expected a host in the talkback URL, found {redact_url(url)!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise ValueError(f"expected a port number 1-65535 in {redact_url(url)!r}") from None
    if transport not in ("tcp", "udp"):
        raise ValueError(f"expected transport 'tcp' or 'udp', found {transport!r}")
    if transport == "udp" and protocol != "rtsp":
        raise ValueError(f"UDP is for rtsp:// targets only; {protocol}:// runs over HTTP (TCP)")
    return TalkTarget(protocol, url.strip(), transport)


def target_for_camera(camera: CameraConfig) -> TalkTarget | None:
    """The camera's talkback target, or None when it has no speaker or nothing to derive a target from.

    ``talkback.url`` wins (the camera's credentials are added when it carries none). Otherwise: the ONVIF
    backchannel on the camera's RTSP server for vendors that offer it (Dahua on its ``proto=Onvif`` path,
    others on the configured stream), Hikvision ISAPI on the camera's HTTP port.
    """
    target = _endpoint(camera)
    if target is None:
        return None
    talkback = camera.talkback
    return replace(
        target, rtp=talkback.rtp, drain_s=talkback.drain_ms / 1000, backchannel_only=talkback.backchannel_only
    )


def _endpoint(camera: CameraConfig) -> TalkTarget | None:
    if not camera.talkback.capable:
        return None
    user = camera.credentials.username
    password = camera.credentials.password.get_secret_value()
    transport: TalkTransport = "udp" if camera.transport is not None and camera.transport.value == "udp" else "tcp"
    if camera.talkback.url:
        url = with_credentials(camera.talkback.url, user, password)
        return parse_target(url, transport if url.startswith("rtsp") else "tcp")
    host = f"[{camera.host}]" if ":" in camera.host else camera.host
    if camera.vendor == Vendor.HIKVISION:
        return parse_target(with_credentials(f"isapi://{host}:{camera.onvif_port}/?channel=1", user, password))
    if camera.vendor == Vendor.DAHUA:
        # Dahua's RTSP server offers the backchannel only on the ONVIF flavour of its path.
        path = "/cam/realmonitor?channel=1&subtype=1&unicast=true&proto=Onvif"
        return parse_target(with_credentials(f"rtsp://{host}:{camera.port}{path}", user, password), transport)
    stream = camera.streams.record or camera.streams.detect
    if camera.vendor in _ONVIF_FIRST and stream:
        # A separate RTSP session on the stream URL: the backchannel is never requested on ingest's session.
        return parse_target(with_credentials(stream, user, password), transport)
    return None
