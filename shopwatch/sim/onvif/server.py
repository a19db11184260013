"""The ONVIF device simulator: one HTTP port per device (ONVIF clients find the device service at the fixed
path ``/onvif/device_service`` of a host:port), all served by aiohttp on one event loop in a background thread.

Requests are dispatched on the body element's qualified name, the way the WSDL bindings define operations;
a request without a valid WS-Security UsernameToken gets the ``env:Sender/ter:NotAuthorized`` fault, except the
operations ONVIF allows before authentication (Core Specification §5.9.4.3, access class PRE_AUTH).
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from types import TracebackType
from typing import TypeVar

from aiohttp import web
from lxml import etree
from PIL import Image, ImageDraw

from shopwatch.core.clock import Clock
from shopwatch.onvif.discovery import PORT
from shopwatch.onvif.soap import (
    SOAP_ENV,
    TDS,
    TER,
    TEV,
    TR2,
    TRT,
    WSNT,
    SoapParseError,
    envelope,
    parse_envelope,
    username_token,
)
from shopwatch.sim.onvif import pullpoint, responses
from shopwatch.sim.onvif.device import DeviceSpec, SimDevice, SimProfile
from shopwatch.sim.onvif.discovery import DiscoveryResponder, responder_socket
from shopwatch.sim.onvif.http_auth import REALM, DigestChallenge, basic_allows

log = logging.getLogger(__name__)
T = TypeVar("T")
CALL_TIMEOUT_S = 10.0
PRE_AUTH = frozenset({"GetSystemDateAndTime", "GetServices", "GetCapabilities", "GetServiceCapabilities", "GetWsdlUrl"})
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

Handler = Callable[[SimDevice, etree._Element], etree._Element]


def fault(code: str, subcode: str, reason: str) -> etree._Element:
    el = etree.Element(
        f"{{{SOAP_ENV}}}Fault", nsmap={"s": SOAP_ENV, "ter": TER, "wsrf-rw": "http://docs.oasis-open.org/wsrf/rw-2"}
    )
    code_el = etree.SubElement(el, f"{{{SOAP_ENV}}}Code")
    etree.SubElement(code_el, f"{{{SOAP_ENV}}}Value").text = code
    subcode_el = etree.SubElement(code_el, f"{{{SOAP_ENV}}}Subcode")
    etree.SubElement(subcode_el, f"{{{SOAP_ENV}}}Value").text = subcode
    reason_el = etree.SubElement(el, f"{{{SOAP_ENV}}}Reason")
    text = etree.SubElement(reason_el, f"{{{SOAP_ENV}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    return el


def _profile(device: SimDevice, request: etree._Element, ns: str) -> SimProfile:
    token = (request.findtext(f"{{{ns}}}ProfileToken") or "").strip()
    for profile in device.spec.profiles:
        if profile.token == token:
            return profile
    raise LookupError(f"no profile {token!r}")


def _media2_profiles(device: SimDevice, _request: etree._Element) -> etree._Element:
    return responses.media2_profiles(device)


# (namespace, operation) -> handler; the media handlers look the profile up in the request.
_SYNC: dict[tuple[str, str], Handler] = {
    (TDS, "GetSystemDateAndTime"): lambda d, _r: responses.system_date_and_time(d),
    (TDS, "GetDeviceInformation"): lambda d, _r: responses.device_information(d),
    (TDS, "GetServices"): lambda d, _r: responses.services(d),
    (TDS, "GetCapabilities"): lambda d, _r: responses.capabilities(d),
    (TDS, "GetScopes"): lambda d, _r: responses.scopes(d),
    (TRT, "GetProfiles"): lambda d, _r: responses.media_profiles(d),
    (TRT, "GetStreamUri"): lambda d, r: responses.stream_uri(_profile(d, r, TRT), media1=True),
    (TRT, "GetSnapshotUri"): lambda d, r: responses.snapshot_uri(d, _profile(d, r, TRT), media1=True),
    (TRT, "GetAudioOutputs"): lambda d, _r: responses.audio_outputs(d),
    (TR2, "GetProfiles"): _media2_profiles,
    (TR2, "GetStreamUri"): lambda d, r: responses.stream_uri(_profile(d, r, TR2), media1=False),
    (TR2, "GetSnapshotUri"): lambda d, r: responses.snapshot_uri(d, _profile(d, r, TR2), media1=False),
    (TEV, "CreatePullPointSubscription"): pullpoint.create_pull_point,
}
_SERVICE_OF_PATH = {path: ns for ns, path in responses.SERVICE_PATHS.items()}


def snapshot_jpeg(spec: DeviceSpec) -> bytes:
    """A small JPEG naming the device, so a test can tell the device's snapshot from a decoded frame."""
    image = Image.new("RGB", (320, 180), (40, 90, 140))
    ImageDraw.Draw(image).text((10, 80), f"ONVIF snapshot: {spec.name}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


class _DeviceApp:
    """The aiohttp handlers of one device."""

    def __init__(self, device: SimDevice) -> None:
        self.device = device
        self.digest = DigestChallenge(device.spec.username, device.spec.password)
        self.jpeg = snapshot_jpeg(device.spec)
        self.soap_requests = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/onvif/{service}", self.soap)
        app.router.add_post(pullpoint.SUBSCRIPTION_PATH + "{sid}", self.soap)
        app.router.add_get("/snapshot/{token}.jpg", self.snapshot)
        return app

    async def soap(self, request: web.Request) -> web.Response:
        self.soap_requests += 1
        try:
            env = parse_envelope(await request.read())
        except SoapParseError as exc:
            return self._fault(400, "s:Sender", "ter:WellFormed", str(exc))
        op = env.operation
        if op.localname not in PRE_AUTH and not self.device.authorized(username_token(env.header)):
            return self._fault(400, "s:Sender", "ter:NotAuthorized", "Sender not Authorized")
        try:
            body = await self._dispatch(request, op, env.body)
        except pullpoint.SubscriptionUnknown as exc:
            return self._fault(400, "s:Sender", "wsrf-rw:ResourceUnknownFault", str(exc))
        except (LookupError, ValueError) as exc:
            return self._fault(400, "s:Sender", "ter:InvalidArgVal", str(exc))
        headers = pullpoint.response_action(pullpoint.request_action(env.header))
        return web.Response(body=envelope(body, headers), content_type="application/soap+xml", charset="utf-8")

    async def _dispatch(self, request: web.Request, op: etree.QName, body: etree._Element) -> etree._Element:
        sid_text = request.match_info.get("sid")
        if sid_text is not None:
            sid = int(sid_text) if sid_text.isdigit() else -1
            if (op.namespace, op.localname) == (TEV, "PullMessages"):
                return await pullpoint.pull_messages(self.device, sid, body)
            if (op.namespace, op.localname) == (WSNT, "Renew"):
                return pullpoint.renew(self.device, sid, body)
            if (op.namespace, op.localname) == (WSNT, "Unsubscribe"):
                return pullpoint.unsubscribe(self.device, sid)
            if (op.namespace, op.localname) == (TEV, "SetSynchronizationPoint"):
                return pullpoint.synchronization_point(self.device, sid)
            raise LookupError(f"operation {op.localname} is not offered by a subscription")
        service = _SERVICE_OF_PATH.get(request.path)
        handler = _SYNC.get((op.namespace or "", op.localname))
        spec = self.device.spec
        offered = (service != TR2 or spec.media2) and (service != TEV or spec.events)
        if handler is None or op.namespace != service or not offered:
            raise LookupError(f"operation {op.localname} is not offered at {request.path}")
        return handler(self.device, body)

    def _fault(self, status: int, code: str, subcode: str, reason: str) -> web.Response:
        body = envelope(fault(code, subcode, reason))
        return web.Response(status=status, body=body, content_type="application/soap+xml", charset="utf-8")

    async def snapshot(self, request: web.Request) -> web.Response:
        spec = self.device.spec
        if request.match_info["token"] not in {p.token for p in spec.profiles}:
            return web.Response(status=404, text="no such profile")
        authorization = request.headers.get("Authorization")
        if spec.username and spec.snapshot_auth == "digest":
            if not self.digest.allows(request.method, authorization):
                return web.Response(status=401, headers={"WWW-Authenticate": self.digest.header()})
        elif spec.username and spec.snapshot_auth == "basic":
            if not basic_allows(authorization, spec.username, spec.password):
                return web.Response(status=401, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'})
        return web.Response(body=self.jpeg, content_type="image/jpeg")


class OnvifSimServer:
    """Simulated ONVIF devices on ``host``, each on its own port. Use as a context manager, or start/stop."""

    def __init__(self, host: str = "127.0.0.1", clock: Clock | None = None) -> None:
        self.host = host
        self.clock = clock
        self.devices: list[SimDevice] = []
        self._apps: dict[int, _DeviceApp] = {}
        self._runners: list[web.AppRunner] = []
        self._closers: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="onvif-sim", daemon=True)
        self._thread.start()
        ready.wait(CALL_TIMEOUT_S)
        self._loop = loop

    def stop(self) -> None:
        if self._loop is None:
            return

        async def cleanup() -> None:
            for close in self._closers:
                close()
            for runner in self._runners:
                await runner.cleanup()

        self._run(cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(CALL_TIMEOUT_S)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> OnvifSimServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self, coro: Awaitable[T]) -> T:
        assert self._loop is not None, "start() first"
        future: Future[T] = asyncio.run_coroutine_threadsafe(_wrap(coro), self._loop)
        return future.result(CALL_TIMEOUT_S)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (device state lives there) and return its result."""

        async def wrapped() -> T:
            return fn()

        return self._run(wrapped())

    def add_device(self, spec: DeviceSpec, port: int = 0) -> SimDevice:
        """Serve a new device on ``port`` (0: any free port); its ``base_url`` says where."""
        device = SimDevice(spec, self.clock)
        handlers = _DeviceApp(device)

        async def bind() -> int:
            runner = web.AppRunner(handlers.app(), access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, self.host, port)
            await site.start()
            self._runners.append(runner)
            server = site._server  # aiohttp keeps the bound socket here; no public accessor for port 0
            sockets = getattr(server, "sockets", None)
            assert sockets, "the site did not bind"
            return int(sockets[0].getsockname()[1])

        bound = self._run(bind())
        device.base_url = f"http://{self.host}:{bound}"
        self.devices.append(device)
        self._apps[id(device)] = handlers
        return device

    def start_discovery(self, interface: str, port: int = PORT) -> None:
        """Answer WS-Discovery probes for every device, on ``interface`` only (see ``discovery``)."""

        async def listen() -> None:
            sock = responder_socket(interface, port)
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: DiscoveryResponder(lambda: self.devices), sock=sock
            )
            self._closers.append(transport.close)

        self._run(listen())

    def motion(self, device: SimDevice, state: bool = True, topic: str = "RuleEngine/CellMotionDetector/Motion") -> int:
        """Raise (or clear) a motion or tamper event on ``device``; returns the subscriptions it reached."""
        return self.call(lambda: device.emit(topic, state))

    def drop_subscriptions(self, device: SimDevice) -> None:
        self.call(device.drop_subscriptions)

    def live_subscriptions(self, device: SimDevice) -> int:
        return self.call(lambda: sum(1 for sid in list(device.subscriptions) if device.subscription(sid)))


async def _wrap(coro: Awaitable[T]) -> T:
    return await coro
