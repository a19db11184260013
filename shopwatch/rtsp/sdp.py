"""The parts of an SDP description (RFC 4566) an RTSP client needs: media sections, their direction,
control URL, formats and format parameters (``a=fmtp``, e.g. H.264's ``sprop-parameter-sets``, RFC 6184)."""

from __future__ import annotations

from dataclasses import dataclass, field

# RFC 3551 static payload types a camera may list without an rtpmap line
_STATIC: dict[int, tuple[str, int]] = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}


@dataclass(frozen=True)
class Format:
    payload_type: int
    encoding: str  # upper case: PCMU, PCMA, G726-32, H264, MPEG4-GENERIC...
    clock_rate: int
    parameters: tuple[tuple[str, str], ...] = ()  # its ``a=fmtp`` line, name=value pairs in order

    def parameter(self, name: str) -> str | None:
        """A format parameter by name (case-insensitive, RFC 4566 section 6), None when absent."""
        wanted = name.lower()
        return next((value for key, value in self.parameters if key.lower() == wanted), None)


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


def parse_sdp(text: str) -> SessionDescription:
    """Parse media sections, their direction, control, formats and their parameters; anything else is skipped."""
    session_control: str | None = None
    session_direction = "sendrecv"
    media: list[MediaSection] = []
    rtpmaps: list[dict[int, tuple[str, int]]] = []
    fmtps: list[dict[int, tuple[tuple[str, str], ...]]] = []
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
            fmtps.append({})
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
        elif name == "fmtp" and current is not None:
            pt, _, spec = arg.strip().partition(" ")
            if pt.isdigit():
                fmtps[-1][int(pt)] = _fmtp_parameters(spec)
    for section, pts, maps, params in zip(media, payload_types, rtpmaps, fmtps, strict=True):
        for number in pts:
            name, clock = maps.get(number, _STATIC.get(number, ("", 0)))
            section.formats.append(Format(number, name, clock, params.get(number, ())))
    return SessionDescription(session_control, tuple(media))


def _fmtp_parameters(spec: str) -> tuple[tuple[str, str], ...]:
    """``packetization-mode=1; sprop-parameter-sets=Z0IA...,aM4...`` -> pairs (a value may hold ``=``: base64)."""
    pairs = []
    for item in spec.split(";"):
        key, sep, value = item.strip().partition("=")
        if sep and key:
            pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


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
