"""What a speaker offers and how shopwatch would talk to it, found without playing anything (``talk --probe``).

RTSP: one DESCRIBE with the backchannel tag (``speakers.rtsp.probe``): the sendonly track's codecs. ISAPI: the
two-way audio channel list (no ``open``). Dahua: ``getDeviceType`` proves the login; its CGI lists no codecs,
so the answer is the codec the upload would use. Each answer names the codec shopwatch would pick, the RTP
profile it would send with (RTSP) and the drain after the last frame."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from shopwatch.talkback.errors import TalkbackError
from shopwatch.talkback.player import PREFERRED_CODECS
from shopwatch.talkback.target import TalkTarget

PROBE_TIMEOUT_S = 5.0
_ISAPI_CODECS = {"G.711ulaw": "PCMU", "G.711alaw": "PCMA"}


@dataclass(frozen=True, slots=True)
class SpeakerOffer:
    """``talks``: True when shopwatch can talk to it, False when it cannot, None when it could not tell."""

    target: str  # redacted
    talks: bool | None
    offers: tuple[str, ...]  # what the device lists, in its words
    codec: str | None  # what shopwatch would send
    transport: str  # how the audio would travel
    drain_s: float
    detail: str = ""

    def lines(self) -> list[str]:
        verdict = {True: "can talk", False: "cannot talk", None: "could not tell"}[self.talks]
        out = [f"{self.target}: {verdict}"]
        out.append(f"  offers:    {', '.join(self.offers) or 'nothing usable'}")
        out.append(f"  codec:     {self.codec or '-'}")
        out.append(f"  transport: {self.transport}")
        out.append(f"  drain:     {self.drain_s:g} s after the last frame")
        if self.detail:
            out.append(f"  detail:    {self.detail}")
        return out


async def probe_speaker(target: TalkTarget) -> SpeakerOffer:
    """Ask the device; its failures come back in ``detail`` (redacted), never as an exception."""
    if target.protocol == "rtsp":
        return await _probe_rtsp(target)
    try:
        if target.protocol == "isapi":
            return await _probe_isapi(target)
        return await _probe_dahua(target)
    except TalkbackError as exc:
        return _offer(target, None, (), None, _http_transport(target), f"{type(exc).__name__}: {exc}")


async def _probe_rtsp(target: TalkTarget) -> SpeakerOffer:
    from shopwatch.talkback.speakers.rtsp.probe import probe_backchannel

    answer = await probe_backchannel(target.url, "", "", timeout_s=PROBE_TIMEOUT_S)
    codec = _pick(tuple(c.split("/")[0].upper() for c in answer.codecs))
    talks = None if answer.offered is None else answer.offered and codec is not None
    setup = "backchannel alone (every track if PLAY insists)" if target.backchannel_only else "every track"
    transport = f"RTP over {target.transport.upper()}, {target.rtp.describe()}\n  setup:     {setup}"
    return _offer(target, talks, answer.codecs, codec, transport, answer.detail)


async def _probe_isapi(target: TalkTarget) -> SpeakerOffer:
    from shopwatch.talkback.speakers.isapi import IsapiLink

    channels = await IsapiLink(target).channels()
    wanted = parse_qs(urlsplit(target.url).query).get("channel", [""])[0] or (channels[0][0] if channels else "")
    offers = tuple(f"channel {cid}: {codec}" for cid, codec in channels)
    codec = _pick((_ISAPI_CODECS.get(dict(channels).get(wanted, ""), ""),))
    detail = "" if wanted in dict(channels) else f"no two-way audio channel {wanted!r}"
    return _offer(target, codec is not None, offers, codec, _http_transport(target), detail)


async def _probe_dahua(target: TalkTarget) -> SpeakerOffer:
    from shopwatch.talkback.speakers.dahua import DahuaLink

    link = DahuaLink(target)
    device = await link.device_type()
    codec = link.choose(PREFERRED_CODECS)
    detail = f"device type {device}; the CGI lists no codecs: A-law unless the URL says codec=PCMU"
    return _offer(target, True, (), codec, _http_transport(target), detail)


def _pick(offered: tuple[str, ...]) -> str | None:
    return next((c for c in PREFERRED_CODECS if c in offered), None)


def _http_transport(target: TalkTarget) -> str:
    how = {"isapi": "ISAPI PUT audioData", "dahua": "Dahua POST audio.cgi"}.get(target.protocol, target.protocol)
    return f"{how}: raw G.711 over HTTP (no RTP profile)"


def _offer(
    target: TalkTarget, talks: bool | None, offers: tuple[str, ...], codec: str | None, transport: str, detail: str
) -> SpeakerOffer:
    return SpeakerOffer(str(target), talks, offers, codec, transport, target.drain_s, detail)
