"""Media profiles as one model whether they came from Media2 or Media, and the choice of streams.

Detection wants the cheapest stream that still shows a person: the smallest resolution at least 320 pixels
wide, H.264 preferred (cheapest to decode) and H.265 accepted (and reported, it costs about twice as much to
decode). Recording wants the main stream: the largest resolution, same codec preference."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from shopwatch.onvif.soap import NSMAP

MIN_DETECT_WIDTH = 320
READABLE = ("H264", "H265")  # in order of preference
_ENCODING_ALIASES = {"H.264": "H264", "AVC": "H264", "H.265": "H265", "HEVC": "H265"}


@dataclass(frozen=True)
class MediaProfile:
    token: str
    name: str
    encoding: str  # H264, H265, JPEG, MPEG4, ... upper case, as the device names it
    width: int
    height: int
    fps: float | None
    audio_output: bool  # AudioOutput and AudioDecoder configurations: the profile carries a backchannel

    @property
    def readable(self) -> bool:
        return self.encoding in READABLE


def normalise_encoding(value: object) -> str:
    text = str(value or "").strip().upper()
    return _ENCODING_ALIASES.get(text, text)


def _number(value: object) -> float | None:
    try:
        return None if value is None else float(str(value))
    except ValueError:
        return None


def from_media1(doc: Mapping[str, Any]) -> MediaProfile | None:
    """A Media (ver10) ``tt:Profile`` as zeep serialises it (``zeep.helpers.serialize_object``); None for a
    profile without a video encoder (audio or metadata only)."""
    vec = doc.get("VideoEncoderConfiguration")
    if not vec:
        return None
    resolution = vec.get("Resolution") or {}
    rate = vec.get("RateControl") or {}
    extension = doc.get("Extension") or {}
    # ProfileExtension starts with <xs:any namespace="##other">: zeep puts the tt: audio configurations it
    # should have matched into that wildcard (_value_1) instead of their own fields. Look in both.
    loose = [item for item in (extension.get("_value_1") or []) if isinstance(item, Mapping)]
    output = extension.get("AudioOutputConfiguration") or any("OutputToken" in item for item in loose)
    decoder = extension.get("AudioDecoderConfiguration") or any(
        "OutputToken" not in item and "UseCount" in item for item in loose
    )
    return MediaProfile(
        token=str(doc.get("token") or ""),
        name=str(doc.get("Name") or ""),
        encoding=normalise_encoding(vec.get("Encoding")),
        width=int(resolution.get("Width") or 0),
        height=int(resolution.get("Height") or 0),
        fps=_number(rate.get("FrameRateLimit")),
        audio_output=bool(output and decoder),
    )


def from_media2(profile: etree._Element) -> MediaProfile | None:
    """A Media2 (ver20) ``tr2:Profiles`` element; None without a video encoder configuration."""
    vec = profile.find("tr2:Configurations/tr2:VideoEncoder", NSMAP)
    if vec is None:
        return None
    configs = profile.find("tr2:Configurations", NSMAP)
    has = lambda name: configs is not None and configs.find(f"tr2:{name}", NSMAP) is not None  # noqa: E731
    return MediaProfile(
        token=profile.get("token", ""),
        name=profile.findtext("tr2:Name", default="", namespaces=NSMAP),
        encoding=normalise_encoding(vec.findtext("tt:Encoding", namespaces=NSMAP)),
        width=int(vec.findtext("tt:Resolution/tt:Width", default="0", namespaces=NSMAP)),
        height=int(vec.findtext("tt:Resolution/tt:Height", default="0", namespaces=NSMAP)),
        fps=_number(vec.findtext("tt:RateControl/tt:FrameRateLimit", namespaces=NSMAP)),
        audio_output=has("AudioOutput") and has("AudioDecoder"),
    )


@dataclass(frozen=True)
class StreamChoice:
    detect: MediaProfile
    record: MediaProfile
    notes: tuple[str, ...]  # what an operator should know: H.265 picked, nothing ≥ 320 wide, ...


def _codec_rank(profile: MediaProfile) -> int:
    return READABLE.index(profile.encoding)


def select_streams(profiles: Iterable[MediaProfile]) -> StreamChoice | None:
    """The detection and recording profiles, or None when no profile has a readable video stream."""
    readable: Sequence[MediaProfile] = [p for p in profiles if p.readable and p.width > 0]
    if not readable:
        return None
    notes: list[str] = []
    wide_enough = [p for p in readable if p.width >= MIN_DETECT_WIDTH]
    if wide_enough:
        detect = min(wide_enough, key=lambda p: (_codec_rank(p), p.width * p.height, p.token))
    else:
        detect = max(readable, key=lambda p: (p.width * p.height, -_codec_rank(p)))
        notes.append(f"no stream is {MIN_DETECT_WIDTH} pixels wide; detection uses {detect.width}x{detect.height}")
    record = max(readable, key=lambda p: (p.width * p.height, -_codec_rank(p), p.fps or 0.0))
    for role, chosen in (("detection", detect), ("recording", record)):
        if chosen.encoding == "H265":
            notes.append(f"{role} stream is H.265 ({chosen.token}): about twice the decode cost of H.264")
    return StreamChoice(detect, record, tuple(notes))
