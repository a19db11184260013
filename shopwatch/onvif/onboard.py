"""Onboard one device: reach it, check its clock, log in, read what it is and which streams it offers, and
say in one word how it went (``OnboardOutcome``) with the details an operator needs. Never raises for a device's
failure: a bulk onboarding of hundreds of hosts reports each one."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum

from shopwatch.core.errors import AuthRefused, DeviceUnreachable, PeerProtocolError, ShopwatchError
from shopwatch.core.redact import redact_text, strip_credentials
from shopwatch.onvif.device import DeviceInfo, OnvifDevice, OnvifTarget
from shopwatch.onvif.device_urls import check_device_url
from shopwatch.onvif.errors import ClockSkewRefused, NotOnvif
from shopwatch.onvif.profiles import MediaProfile, StreamChoice, select_streams
from shopwatch.talkback.speakers.rtsp.probe import BackchannelOffer, probe_backchannel

log = logging.getLogger(__name__)


class OnboardOutcome(StrEnum):
    OK = "ok"
    UNREACHABLE = "unreachable"
    AUTH_REFUSED = "auth refused"
    CLOCK_SKEW = "clock skew"
    NOT_ONVIF = "not ONVIF"
    NO_USABLE_STREAM = "no usable stream"
    PROTOCOL_ERROR = "protocol error"


@dataclass(frozen=True)
class Findings:
    """What a device that answered said about itself."""

    info: DeviceInfo
    media: str  # "media2" or "media"
    profiles: tuple[MediaProfile, ...]
    choice: StreamChoice
    detect_url: str
    record_url: str
    snapshot_url: str | None
    audio_outputs: int
    events: bool
    rtsp_backchannel: BackchannelOffer = BackchannelOffer(None)  # what a DESCRIBE of the record stream said

    @property
    def backchannel(self) -> bool:
        """The stream offers an audio backchannel: the RTSP answer when there was one (it is what talkback
        uses), else whether a media profile carries an audio output."""
        if self.rtsp_backchannel.offered is not None:
            return self.rtsp_backchannel.offered
        return any(p.audio_output for p in self.profiles)


@dataclass(frozen=True)
class OnboardReport:
    target: str  # host:port
    outcome: OnboardOutcome
    detail: str = ""  # redacted; why it failed, or notes (H.265 chosen, clock corrected)
    findings: Findings | None = None
    skew_s: float | None = None
    offset_applied: bool = False
    notes: tuple[str, ...] = field(default=())


def _outcome_of(exc: ShopwatchError) -> OnboardOutcome:
    if isinstance(exc, ClockSkewRefused):
        return OnboardOutcome.CLOCK_SKEW
    if isinstance(exc, AuthRefused):
        return OnboardOutcome.AUTH_REFUSED
    if isinstance(exc, DeviceUnreachable):
        return OnboardOutcome.UNREACHABLE
    if isinstance(exc, NotOnvif):
        return OnboardOutcome.NOT_ONVIF
    return OnboardOutcome.PROTOCOL_ERROR


async def onboard(target: OnvifTarget, *, timeout_s: float, clock_tolerance_s: float) -> OnboardReport:
    secrets = (target.password,) if target.password else ()
    skew: float | None = None
    try:
        async with await OnvifDevice.open(target, timeout_s=timeout_s, clock_tolerance_s=clock_tolerance_s) as device:
            skew = device.skew_s
            findings, notes = await _read(device, timeout_s)
            if findings is None:
                return OnboardReport(str(target), OnboardOutcome.NO_USABLE_STREAM, "; ".join(notes), None, skew)
            clock = _clock_note(skew, device.offset_applied, clock_tolerance_s)
            all_notes = (*findings.choice.notes, *notes, *((clock,) if clock else ()))
            detail = redact_text("; ".join(all_notes), secrets)
            offset = device.offset_applied
            return OnboardReport(str(target), OnboardOutcome.OK, detail, findings, skew, offset, all_notes)
    except ClockSkewRefused as exc:
        return OnboardReport(str(target), OnboardOutcome.CLOCK_SKEW, redact_text(str(exc), secrets), None, exc.skew_s)
    except ShopwatchError as exc:
        return OnboardReport(str(target), _outcome_of(exc), redact_text(str(exc), secrets), None, skew)


def _clock_note(skew: float | None, applied: bool, tolerance_s: float) -> str:
    if skew is None or abs(skew) <= tolerance_s:
        return ""
    fixed = "logged in with its offset" if applied else "its login accepted our time anyway"
    return f"device clock {skew:+.0f} s off ({fixed}; set its clock: NTP)"


async def _read(device: OnvifDevice, timeout_s: float) -> tuple[Findings | None, list[str]]:
    info = await device.device_information()
    media, profiles = await device.profiles()
    choice = select_streams(profiles)
    if choice is None:
        found = ", ".join(f"{p.token} {p.encoding} {p.width}x{p.height}" for p in profiles) or "no video profile"
        return None, [f"no H.264/H.265 stream (found {found})"]
    detect_url = strip_credentials(await device.stream_uri(choice.detect.token))
    record_url = (
        detect_url
        if choice.record == choice.detect
        else strip_credentials(await device.stream_uri(choice.record.token))
    )
    for url in (detect_url, record_url):
        if not url.startswith(("rtsp://", "rtsps://")):
            raise PeerProtocolError(f"{device.target}: expected an rtsp:// stream URI, found {url!r}")
        # before the backchannel probe below sends the camera's credentials to it
        check_device_url(url, device.target.host, device.target.allowed_hosts, what="stream URI")
    snapshot = await device.snapshot_uri(choice.detect.token)
    if snapshot is not None:
        check_device_url(snapshot, device.target.host, device.target.allowed_hosts, what="snapshot URI")
    # The talk target of an ONVIF camera is its record stream (talkback.target): ask that one.
    target = device.target
    backchannel = await probe_backchannel(record_url, target.username, target.password, timeout_s=timeout_s)
    findings = Findings(
        info=info,
        media=media,
        profiles=tuple(profiles),
        choice=choice,
        detect_url=detect_url,
        record_url=record_url,
        snapshot_url=None if snapshot is None else strip_credentials(snapshot),
        audio_outputs=await device.audio_outputs(),
        events=device.has_events,
        rtsp_backchannel=backchannel,
    )
    profile_says = any(p.audio_output for p in profiles)
    if backchannel.offered is None and not profile_says or backchannel.offered == profile_says:
        return findings, []
    return findings, [f"audio backchannel: {backchannel.detail}"]  # the profiles and the stream disagree
