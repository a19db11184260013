"""An open ONVIF session with one device: onvif-zeep-async for Device, Media and Events, our own requests for
the unauthenticated clock probe and for Media2 (no WSDL for it ships with the library).

Every call is bounded by ``timeout_s`` (the library's own limits are 90 s). Failures come out as the errors of
``shopwatch.onvif.errors`` and ``shopwatch.core.errors``, never a library exception; none carries a password.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import httpx
from lxml import etree

from shopwatch.core.errors import AuthRefused, DeviceUnreachable, PeerProtocolError
from shopwatch.onvif import media2
from shopwatch.onvif.device_urls import check_device_url
from shopwatch.onvif.errors import ClockSkewRefused, NotOnvif, OnvifOperationFailed
from shopwatch.onvif.profiles import MediaProfile, from_media1
from shopwatch.onvif.soap import (
    NSMAP,
    TDS,
    TEV,
    TR2,
    Envelope,
    SoapParseError,
    element,
    envelope,
    parse_envelope,
    security_header,
)

if TYPE_CHECKING:
    from onvif import ONVIFCamera

log = logging.getLogger(__name__)
T = TypeVar("T")
DEVICE_PATH = "/onvif/device_service"


@dataclass(frozen=True)
class OnvifTarget:
    """Where a device is and how to log in. ``password`` is the plain secret: never log this object."""

    host: str
    port: int = 80
    username: str = ""
    password: str = field(default="", repr=False)
    allowed_hosts: tuple[str, ...] = ()  # besides ``host``, where its reported URLs may point (onvif.allowed_hosts)

    @property
    def device_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{DEVICE_PATH}"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class DeviceInfo:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware: str


def _fault_refuses(fault: Any) -> bool:
    subcodes = [str(getattr(s, "localname", s)) for s in (getattr(fault, "subcodes", None) or [])]
    # ipycam answers an s:Receiver fault without subcode whose reason says "Sender not authorized".
    reason = str(getattr(fault, "message", "") or "").lower().replace(" ", "")
    return any(s.endswith("NotAuthorized") for s in subcodes) or "notauthorized" in reason


def classify(exc: BaseException, target: OnvifTarget) -> Exception:
    """The shopwatch error for an exception raised by onvif-zeep-async, zeep, aiohttp or httpx."""
    import zeep.exceptions
    from onvif.exceptions import ONVIFAuthError, ONVIFError

    inner = exc
    while isinstance(inner, ONVIFError) and inner.__cause__ is not None and inner is not inner.__cause__:
        inner = inner.__cause__
    if isinstance(inner, ONVIFAuthError):
        return AuthRefused(f"{target}: the device refused the login")
    if isinstance(inner, zeep.exceptions.Fault):
        if _fault_refuses(inner):
            return AuthRefused(f"{target}: the device refused the login ({inner.message})")
        return OnvifOperationFailed(f"{target}: the device answered with a fault: {inner.message}")
    if isinstance(inner, zeep.exceptions.TransportError):
        if inner.status_code in (401, 403):
            return AuthRefused(f"{target}: HTTP {inner.status_code}")
        return NotOnvif(f"{target}: expected a SOAP answer, found HTTP {inner.status_code}")
    if isinstance(inner, zeep.exceptions.XMLSyntaxError | zeep.exceptions.XMLParseError):
        return PeerProtocolError(f"{target}: the device answered malformed XML ({inner})")
    if isinstance(inner, TimeoutError | aiohttp.ClientConnectionError | httpx.TransportError | OSError):
        return DeviceUnreachable(f"{target}: {type(inner).__name__}: {inner}".rstrip(": "))
    return PeerProtocolError(f"{target}: {type(inner).__name__}: {inner}")


def _datetime_of(holder: etree._Element | None) -> datetime | None:
    if holder is None:
        return None
    parts = ("Date/tt:Year", "Date/tt:Month", "Date/tt:Day", "Time/tt:Hour", "Time/tt:Minute", "Time/tt:Second")
    try:
        year, month, day, hour, minute, second = (
            int(holder.findtext(f"tt:{p}", namespaces=NSMAP) or "") for p in parts
        )
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def parse_device_time(env: Envelope) -> datetime | None:
    """The device's UTC clock from a GetSystemDateAndTimeResponse; None when it reports no UTC time."""
    if env.operation != etree.QName(TDS, "GetSystemDateAndTimeResponse"):
        raise SoapParseError(f"expected GetSystemDateAndTimeResponse, found {env.operation.localname!r}")
    return _datetime_of(env.body.find("tds:SystemDateAndTime/tt:UTCDateTime", NSMAP))


async def probe_clock(client: httpx.AsyncClient, target: OnvifTarget) -> datetime | None:
    """Ask the device service for its clock without logging in (allowed before authentication, ONVIF Core
    §5.9.4.3). Tells an unreachable host from a port that is not ONVIF from a device; None when the device
    answers but will not say its time without a login."""
    request = envelope(element(TDS, "GetSystemDateAndTime"))
    try:
        response = await client.post(
            target.device_url, content=request, headers=_soap_headers(TDS, "GetSystemDateAndTime")
        )
    except httpx.TransportError as exc:
        raise classify(exc, target) from None
    try:
        env = parse_envelope(response.content)
    except SoapParseError as exc:
        raise NotOnvif(f"{target}: HTTP {response.status_code}, {exc}") from None
    fault = env.fault()
    if fault is not None:
        if fault.not_authorized or response.status_code in (401, 403):
            return None
        raise NotOnvif(f"{target}: GetSystemDateAndTime answered with a fault: {fault.reason}")
    return parse_device_time(env)


def _soap_headers(ns: str, operation: str) -> dict[str, str]:
    action = f"{ns}/{operation}"
    return {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}


class OnvifDevice:
    """A logged-in session. Open with ``OnvifDevice.open``; use as an async context manager."""

    def __init__(self, target: OnvifTarget, camera: ONVIFCamera, http: httpx.AsyncClient, timeout_s: float) -> None:
        self.target = target
        self.camera = camera
        self.http = http
        self.timeout_s = timeout_s
        self.skew_s: float | None = None  # device clock minus ours, when the device told its time
        self.offset_applied = False  # WS-Security timestamps are shifted by the device's offset

    # -- opening ---------------------------------------------------------------------------------------
    @classmethod
    async def open(cls, target: OnvifTarget, *, timeout_s: float, clock_tolerance_s: float) -> OnvifDevice:
        """Reach the device, measure its clock, log in; with a refused login and a clock further off than
        ``clock_tolerance_s``, log in again with timestamps shifted by the device's offset."""
        http = httpx.AsyncClient(timeout=timeout_s)
        try:
            device_time = await probe_clock(http, target)
        except BaseException:
            await http.aclose()
            raise
        skew = None if device_time is None else (device_time - datetime.now(UTC)).total_seconds()
        device = await cls._login(target, http, timeout_s, adjust_time=False)
        device.skew_s = skew
        try:
            await device.device_information()
            return device
        except AuthRefused:
            await device.camera.close()
            if skew is None or abs(skew) <= clock_tolerance_s:
                await http.aclose()
                raise
        log.info("%s: login refused with the device clock %+.0f s off; retrying with its offset", target, skew)
        device = await cls._login(target, http, timeout_s, adjust_time=True)
        device.skew_s, device.offset_applied = skew, True
        try:
            await device.device_information()
        except AuthRefused:
            await device.close()
            raise ClockSkewRefused(
                f"{target}: login refused; the device clock is {skew:+.0f} s off ours and the login was refused"
                " with timestamps corrected too (wrong password, or set the device clock: NTP)",
                skew,
            ) from None
        return device

    @classmethod
    async def _login(
        cls, target: OnvifTarget, http: httpx.AsyncClient, timeout_s: float, adjust_time: bool
    ) -> OnvifDevice:
        from onvif import ONVIFCamera

        # onvif-zeep-async fails on user=None: an anonymous device gets empty strings.
        camera = ONVIFCamera(
            target.host, target.port, target.username or "", target.password or "", adjust_time=adjust_time
        )
        device = cls(target, camera, http, timeout_s)
        try:
            await device.call(camera.update_xaddrs)
        except BaseException:
            await camera.close()
            raise
        return device

    async def close(self) -> None:
        await self.camera.close()
        await self.http.aclose()

    async def __aenter__(self) -> OnvifDevice:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- calls -----------------------------------------------------------------------------------------
    async def call(self, fn: Callable[[], Awaitable[T]], timeout_s: float | None = None) -> T:
        """Run one library call bounded by ``timeout_s`` (default: the session's), its failure classified."""
        try:
            async with asyncio.timeout(self.timeout_s if timeout_s is None else timeout_s):
                return await fn()
        except Exception as exc:
            raise classify(exc, self.target) from None

    def offers(self, namespace: str) -> bool:
        return bool(self.camera.xaddrs.get(namespace))

    @property
    def has_events(self) -> bool:
        return self.offers(TEV)

    async def device_information(self) -> DeviceInfo:
        service = await self.call(self.camera.create_devicemgmt_service)
        info = await self.call(service.GetDeviceInformation)
        return DeviceInfo(
            manufacturer=str(info.Manufacturer or ""),
            model=str(info.Model or ""),
            firmware=str(info.FirmwareVersion or ""),
            serial=str(info.SerialNumber or ""),
            hardware=str(info.HardwareId or ""),
        )

    async def profiles(self) -> tuple[str, list[MediaProfile]]:
        """("media2" or "media", the video profiles): Media2 where offered, else Media."""
        if self.offers(TR2):
            request, action = media2.get_profiles_request()
            return "media2", media2.parse_profiles(await self._media2(request, action))
        service = await self.call(self.camera.create_media_service)
        raw = await self.call(service.GetProfiles)
        found = (from_media1(self.camera.to_dict(p)) for p in raw or [])
        return "media", [p for p in found if p is not None]

    async def stream_uri(self, token: str) -> str:
        if self.offers(TR2):
            request, action = media2.get_stream_uri_request(token)
            return media2.parse_uri(await self._media2(request, action), "GetStreamUriResponse")
        service = await self.call(self.camera.create_media_service)
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        answer = await self.call(lambda: service.GetStreamUri({"StreamSetup": setup, "ProfileToken": token}))
        return str(answer.Uri)

    async def snapshot_uri(self, token: str) -> str | None:
        """The profile's snapshot URL, or None when the device has none (a fault is taken as "none")."""
        try:
            if self.offers(TR2):
                request, action = media2.get_snapshot_uri_request(token)
                return media2.parse_uri(await self._media2(request, action), "GetSnapshotUriResponse")
            service = await self.call(self.camera.create_media_service)
            answer = await self.call(lambda: service.GetSnapshotUri({"ProfileToken": token}))
        except (OnvifOperationFailed, ValueError):
            return None
        return str(answer.Uri) if answer is not None and answer.Uri else None

    async def audio_outputs(self) -> int:
        """How many audio outputs (speakers) the device has; 0 when it does not implement the question."""
        service = await self.call(self.camera.create_media_service)
        try:
            outputs = await self.call(service.GetAudioOutputs)
        except OnvifOperationFailed:
            return 0
        return len(outputs or [])

    async def _media2(self, body: etree._Element, action: str) -> Envelope:
        offset = timedelta(seconds=self.skew_s or 0.0) if self.offset_applied else timedelta()
        headers: tuple[etree._Element, ...] = ()
        if self.target.username:
            headers = (security_header(self.target.username, self.target.password, datetime.now(UTC) + offset),)
        url = check_device_url(
            self.camera.xaddrs[TR2], self.target.host, self.target.allowed_hosts, what="Media2 address"
        )
        content_type = f'application/soap+xml; charset=utf-8; action="{action}"'
        try:
            response = await self.http.post(
                url, content=envelope(body, headers), headers={"Content-Type": content_type}
            )
            env = parse_envelope(response.content)
        except httpx.TransportError as exc:
            raise classify(exc, self.target) from None
        except SoapParseError as exc:
            raise PeerProtocolError(f"{self.target}: Media2 answered HTTP {response.status_code}: {exc}") from None
        fault = env.fault()
        if fault is not None:
            if fault.not_authorized or response.status_code in (401, 403):
                raise AuthRefused(f"{self.target}: the device refused the login ({fault.reason})")
            raise OnvifOperationFailed(f"{self.target}: Media2 {etree.QName(body).localname}: {fault.reason}")
        return env
