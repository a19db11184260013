"""The device's own snapshot, for ``GET /api/cameras/{id}/snapshot.jpg`` when the camera's stream is down but
its web server still answers (a stalled encoder, an RTSP session limit reached, a wrong RTSP path).

The snapshot URL comes from onboarding (``onvif.snapshot_url``), or is asked of the device (Media
GetSnapshotUri of the detect profile) and remembered. Cameras protect it with HTTP Digest (most) or Basic
(older firmware). The URL must point at the camera's own host (``device_urls``); Digest is answered, Basic only
with ``onvif.allow_basic_auth``; the body is read in chunks and dropped past ``MAX_SNAPSHOT_BYTES``; errors say
what happened at the camera, not how a connection failed (no port scanner for whoever reads them)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import ShopwatchError, SnapshotUnavailable
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.core.redact import redact_text
from shopwatch.onvif.device import OnvifDevice
from shopwatch.onvif.device_urls import DeviceUrlRefused, check_device_url
from shopwatch.onvif.subscriptions import target_of

JPEG_MAGIC = b"\xff\xd8"
MAX_SNAPSHOT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DevicePolicy:
    """Where a camera's URLs may point and how we log in there."""

    host: str  # the camera's own host
    allowed_hosts: tuple[str, ...] = ()
    allow_basic: bool = False


async def fetch_jpeg(url: str, username: str, password: str, timeout_s: float, policy: DevicePolicy) -> bytes:
    """GET a camera's snapshot URL (on its own host) answering a Digest challenge (Basic where allowed);
    ``SnapshotUnavailable`` saying why not."""
    try:
        check_device_url(url, policy.host, policy.allowed_hosts, "snapshot URL")
    except DeviceUrlRefused as exc:
        raise SnapshotUnavailable(f"device snapshot: {exc}") from None
    try:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            auth: httpx.Auth | None = httpx.DigestAuth(username, password) if username else None
            status, kind, body = await _get_capped(client, url, auth)
            if status == 401 and username and kind.startswith("basic"):
                if not policy.allow_basic:
                    raise SnapshotUnavailable("device snapshot: the camera asks for Basic login, not allowed")
                status, kind, body = await _get_capped(client, url, httpx.BasicAuth(username, password))
    except httpx.TimeoutException:
        raise SnapshotUnavailable("device snapshot: the camera did not answer in time") from None
    except httpx.HTTPError:
        raise SnapshotUnavailable("device snapshot: the camera's web server could not be reached") from None
    if status in (401, 403):
        raise SnapshotUnavailable(f"device snapshot: HTTP {status} (login refused)")
    if status != 200:
        raise SnapshotUnavailable(f"device snapshot: HTTP {status}")
    if body is None or not body.startswith(JPEG_MAGIC):
        size = "over 10 MiB" if body is None else f"{len(body)} bytes"
        raise SnapshotUnavailable(f"device snapshot: expected a JPEG, found {kind or 'unknown'} ({size})")
    return body


async def _get_capped(
    client: httpx.AsyncClient, url: str, auth: httpx.Auth | None
) -> tuple[int, str, bytes | None]:
    """(status, the challenge or content type, the body or None when it passed the cap) without holding more
    than ``MAX_SNAPSHOT_BYTES`` of it."""
    async with client.stream("GET", url, auth=auth) as response:
        if response.status_code == 401:
            return 401, response.headers.get("WWW-Authenticate", "").lower(), b""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_SNAPSHOT_BYTES:
                return response.status_code, response.headers.get("Content-Type", ""), None
            chunks.append(chunk)
        return response.status_code, response.headers.get("Content-Type", ""), b"".join(chunks)


class OnvifSnapshots:
    """Device snapshots of ONVIF-onboarded cameras; the URL asked of a device is remembered per camera."""

    def __init__(self, settings: OnvifSettings) -> None:
        self._settings = settings
        self._urls: dict[str, str] = {}

    @staticmethod
    def covers(camera: CameraConfig) -> bool:
        return camera.onvif is not None and bool(camera.onvif.snapshot_url or camera.onvif.detect_profile)

    async def jpeg(self, camera: CameraConfig, timeout_s: float) -> bytes:
        if camera.onvif is None:
            raise SnapshotUnavailable(f"camera {camera.id!r} was not onboarded over ONVIF")
        url = camera.onvif.snapshot_url or self._urls.get(camera.id) or await self._ask(camera, timeout_s)
        password = camera.credentials.password.get_secret_value()
        policy = DevicePolicy(camera.host, tuple(self._settings.allowed_hosts), self._settings.allow_basic_auth)
        return await fetch_jpeg(url, camera.credentials.username, password, timeout_s, policy)

    async def _ask(self, camera: CameraConfig, timeout_s: float) -> str:
        assert camera.onvif is not None and camera.onvif.detect_profile is not None
        timeout = min(timeout_s, self._settings.timeout_s)
        try:
            device = await OnvifDevice.open(
                target_of(camera, self._settings.allowed_hosts),
                timeout_s=timeout,
                clock_tolerance_s=self._settings.clock_tolerance_s,
            )
            async with device:
                url = await device.snapshot_uri(camera.onvif.detect_profile)
        except ShopwatchError as exc:
            raise SnapshotUnavailable(redact_text(f"device snapshot URL: {exc}", camera.secrets())) from None
        if url is None:
            raise SnapshotUnavailable(f"camera {camera.id!r} offers no snapshot URL")
        self._urls[camera.id] = url
        return url
