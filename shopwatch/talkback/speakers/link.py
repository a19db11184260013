"""The one small interface every speaker protocol implements (ONVIF RTSP backchannel, ISAPI, Dahua).

``session.talk`` drives a ``SpeakerLink``: ``open`` connects and negotiates the codec, ``send`` carries one
20 ms G.711 frame already paced to real time, ``close`` ends the device session (RTSP TEARDOWN, ISAPI close)
and is always called, also after errors and cancellation. Links raise ``errors.TalkbackError`` subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shopwatch.talkback.g711 import Codec


@dataclass(frozen=True)
class EncodedFrame:
    """One 20 ms frame in the device's codec.

    ``timestamp`` counts samples since the first frame of the talk (RTP adds its random base); it jumps
    over gaps when a live source paused. ``marker`` starts a talkspurt (first frame, or after a gap:
    RFC 3551 section 4.1).
    """

    payload: bytes
    timestamp: int
    marker: bool


class SpeakerLink(Protocol):
    protocol: str

    async def open(self, codecs: tuple[Codec, ...]) -> Codec:
        """Connect, start the device's talk session and return the codec chosen from ``codecs`` (preference
        order) among those the device offers."""
        ...

    async def send(self, frame: EncodedFrame) -> None:
        """Send one frame now (the caller paces). Raises when the device went away."""
        ...

    async def flush(self) -> None:
        """The source has ended: send whatever the link holds back (a part-filled RTP packet)."""
        ...

    async def close(self) -> None:
        """End the device session and the connection; idempotent, bounded in time, never raises."""
        ...
