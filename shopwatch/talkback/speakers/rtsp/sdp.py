"""The choice of an ONVIF backchannel track in an SDP description (parsed by ``shopwatch.rtsp.sdp``).

The ONVIF backchannel is a media section marked ``a=sendonly`` (the client sends, ONVIF Streaming Spec
"Back channel connection"); ``recvonly`` sections are the camera's own media. Servers lay codecs out two
ways, both handled: one sendonly section per codec, or one section listing several payload types with
``rtpmap`` lines. Some (Zycoo) split codecs across sections sharing one control URI.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopwatch.rtsp.sdp import SessionDescription
from shopwatch.talkback.g711 import Codec


@dataclass(frozen=True)
class BackchannelChoice:
    section: int  # index into SessionDescription.media
    codec: Codec
    payload_type: int


def select_backchannel(sdp: SessionDescription, preference: tuple[Codec, ...]) -> BackchannelChoice | None:
    """The sendonly audio track and G.711 codec to use, by ``preference``; None when there is no sendonly
    audio track at all. A track offering only other codecs gives a choice with no G.711 (see ``offered``)."""
    for codec in preference:
        for index, section in enumerate(sdp.media):
            if section.kind != "audio" or section.direction != "sendonly":
                continue
            for fmt in section.formats:
                if fmt.encoding == codec and fmt.clock_rate == 8000:
                    return BackchannelChoice(index, codec, fmt.payload_type)
    return None


def offered(sdp: SessionDescription) -> list[str]:
    """Every encoding on sendonly audio tracks, for error messages."""
    return [
        f"{fmt.encoding or 'PT' + str(fmt.payload_type)}/{fmt.clock_rate}"
        for section in sdp.media
        if section.kind == "audio" and section.direction == "sendonly"
        for fmt in section.formats
    ]
