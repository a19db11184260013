"""The parts of an SDP description (RFC 4566) a backchannel client needs, and the choice of its track.

The ONVIF backchannel is a media section marked ``a=sendonly`` (the client sends, ONVIF Streaming Spec
"Back channel connection"); ``recvonly`` sections are the camera's own media. Servers lay codecs out two
ways, both handled: one sendonly section per codec, or one section listing several payload types with
``rtpmap`` lines. Some (Zycoo) split codecs across sections sharing one control URI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shopwatch.talkback.g711 import Codec

# RFC 3551 static payload types a camera may list without an rtpmap line
_STATIC: dict[int, tuple[str, int]] = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}


@dataclass(frozen=True)
class Format:
    payload_type: int
    encoding: str  # upper case: PCMU, PCMA, G726-32, MPEG4-GENERIC...
    clock_rate: int


@dataclass
class MediaSection:
    kind: str  # audio, video, application
    direction: str  # sendrecv (the default), sendonly, recvonly, inactive
    control: str | None
    formats: list[Format] = field(default_factory=list)


@dataclass(frozen=True)
class SessionDescription:
    control: str | None  # session-level a=control
    media: tuple[MediaSection, ...]


@dataclass(frozen=True)
class BackchannelChoice:
    section: int  # index into SessionDescription.media
    codec: Codec
    payload_type: int


def parse_sdp(text: str) -> SessionDescription:
    """Parse media sections, their direction, control and formats; anything else is skipped."""
    session_control: str | None = None
    session_direction = "sendrecv"
    media: list[MediaSection] = []
    rtpmaps: list[dict[int, tuple[str, int]]] = []
    payload_types: list[list[int]] = []
    for raw in text.splitlines():
        line = raw.strip()
        kind, sep, value = line.partition("=")
        if not sep or len(kind) != 1:
            continue
        if kind == "m":
            fields = value.split()
            media.append(MediaSection(fields[0] if fields else "", session_direction, None))
            payload_types.append([int(pt) for pt in fields[3:] if pt.isdigit()])
            rtpmaps.append({})
            continue
        if kind != "a":
            continue
        name, _, arg = value.partition(":")
        current = media[-1] if media else None
        if name in ("sendonly", "recvonly", "sendrecv", "inactive"):
            if current is None:
                session_direction = name
            else:
                current.direction = name
        elif name == "control":
            if current is None:
                session_control = arg.strip()
            else:
                current.control = arg.strip()
        elif name == "rtpmap" and current is not None:
            pt, _, spec = arg.strip().partition(" ")
            encoding, _, rest = spec.partition("/")
            rate = rest.split("/")[0]
            if pt.isdigit() and rate.isdigit():
                rtpmaps[-1][int(pt)] = (encoding.upper(), int(rate))
    for section, pts, maps in zip(media, payload_types, rtpmaps, strict=True):
        for number in pts:
            name, clock = maps.get(number, _STATIC.get(number, ("", 0)))
            section.formats.append(Format(number, name, clock))
    return SessionDescription(session_control, tuple(media))


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


def control_url(base: str, control: str | None) -> str:
    """Resolve a track's ``a=control`` against the Content-Base (RFC 2326 C.1.1): absolute URLs win, ``*`` or
    none means the base itself, relative ones are appended after a '/'.

    Appended as text, as FFmpeg does, not with ``urljoin``: Dahua's base carries a query
    (``.../realmonitor?channel=1&...&proto=Onvif/``) that a URL join would drop.
    """
    if not control or control == "*":
        return base
    if "://" in control:
        return control
    return base + control if base.endswith("/") else f"{base}/{control}"
