"""The device's own snapshot, for ``GET /api/cameras/{id}/snapshot.jpg`` when the camera's stream is down but
its web server still answers (a stalled encoder, an RTSP session limit reached, a wrong RTSP path).

The snapshot URL comes from onboarding (``onvif.snapshot_url``), or is asked of the device (Media
GetSnapshotUri of the detect profile) and remembered. Cameras protect it with HTTP Digest (most) or Basic
(older firmware): whichever the 401 challenge names is answered."""

from __future__ import annotations

import httpx

from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import ShopwatchError, SnapshotUnavailable
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.core.redact import redact_text
from shopwatch.onvif.device import OnvifDevice
from shopwatch.onvif.subscriptions import target_of

JPEG_MAGIC = b"\xff\xd8"
MAX_SNAPSHOT_BYTES = 10 * 1024 * 1024


async def fetch_jpeg(url: str, username: str, password: str, timeout_s: float) -> bytes:
    """GET a snapshot URL answering a Digest or Basic challenge; ``SnapshotUnavailable`` saying why not."""
    secrets = (password,) if password else ()
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            auth: httpx.Auth | None = httpx.DigestAuth(username, password) if username else None
            response = await client.get(url, auth=auth)
            challenge = response.headers.get("WWW-Authenticate", "")
            if response.status_code == 401 and username and challenge.lower().startswith("basic"):
                response = await client.get(url, auth=httpx.BasicAuth(username, password))
    except httpx.HTTPError as exc:
        raise SnapshotUnavailable(redact_text(f"device snapshot: {type(exc).__name__}: {exc}", secrets)) from None
    if response.status_code in (401, 403):
        raise SnapshotUnavailable(f"device snapshot: HTTP {response.status_code} (login refused)")
    if response.status_code != 200:
        raise SnapshotUnavailable(f"device snapshot: HTTP {response.status_code}")
    body = response.content
    if not body.startswith(JPEG_MAGIC) or len(body) > MAX_SNAPSHOT_BYTES:
        kind = response.headers.get("Content-Type", "unknown")
        raise SnapshotUnavailable(f"device snapshot: expected a JPEG, found {kind} ({len(body)} bytes)")
    return body


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
        return await fetch_jpeg(url, camera.credentials.username, password, timeout_s)

    async def _ask(self, camera: CameraConfig, timeout_s: float) -> str:
        assert camera.onvif is not None and camera.onvif.detect_profile is not None
        timeout = min(timeout_s, self._settings.timeout_s)
        try:
            device = await OnvifDevice.open(
                target_of(camera), timeout_s=timeout, clock_tolerance_s=self._settings.clock_tolerance_s
            )
            async with device:
                url = await device.snapshot_uri(camera.onvif.detect_profile)
        except ShopwatchError as exc:
            raise SnapshotUnavailable(redact_text(f"device snapshot URL: {exc}", camera.secrets())) from None
        if url is None:
            raise SnapshotUnavailable(f"camera {camera.id!r} offers no snapshot URL")
        self._urls[camera.id] = url
        return url
