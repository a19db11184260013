"""Per-mount credentials for the simulated RTSP server: HTTP Basic (RFC 7617) on chosen mounts only.

GstRtspServer's own ``RTSPAuth`` maps credentials to roles server-wide and answers a refused mount with
404 unless every anonymous client is refused with 401 everywhere. A camera answers 401 on its own stream
only, so ``MountAuth`` overrides the factory-access check: open mounts pass, protected mounts compare the
request's ``Authorization`` header with their own pair and answer 401 with a ``WWW-Authenticate`` challenge.

Only Basic is offered; FFmpeg (and so PyAV) answers it. The policy (``MountCredentials``) is plain Python
and tested without GStreamer.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading

import gi

gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GstRtsp, GstRtspServer  # noqa: E402

REALM = "shopwatch-sim"
# The checks GstRtspServer runs when a request names a mount (GST_RTSP_AUTH_CHECK_MEDIA_FACTORY_*).
_FACTORY_CHECKS = ("auth.check.media.factory.access", "auth.check.media.factory.construct")


class MountCredentials:
    """Which mounts need which username/password. Thread-safe: read from the server's client threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._required: dict[str, tuple[str, str]] = {}

    def set(self, mount: str, username: str | None, password: str | None) -> None:
        """Require ``username``/``password`` on ``mount``; no username makes the mount open."""
        with self._lock:
            if username:
                self._required[mount] = (username, password or "")
            else:
                self._required.pop(mount, None)

    def is_protected(self, mount: str) -> bool:
        with self._lock:
            return mount in self._required

    def allows(self, mount: str, authorization: str | None) -> bool:
        """Whether a request for ``mount`` with this ``Authorization`` header value may proceed."""
        with self._lock:
            required = self._required.get(mount)
        if required is None:
            return True
        given = parse_basic(authorization)
        if given is None:
            return False
        # compare_digest on both parts: no timing hint about which part was wrong
        user_ok = hmac.compare_digest(given[0].encode(), required[0].encode())
        pass_ok = hmac.compare_digest(given[1].encode(), required[1].encode())
        return user_ok and pass_ok


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """``Basic dXNlcjpwYXNz`` -> ``("user", "pass")``; None when absent, not Basic, or malformed."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def mount_of(abspath: str | None) -> str:
    """The mount (camera id) a request path names: ``/cam-01/stream=0`` -> ``cam-01``."""
    return (abspath or "").strip("/").split("/", 1)[0]


class MountAuth(GstRtspServer.RTSPAuth):
    """An ``RTSPAuth`` that applies ``MountCredentials`` to the requests naming a mount."""

    def __init__(self, credentials: MountCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    def do_check(self, ctx: GstRtspServer.RTSPContext, check: str) -> bool:
        if check not in _FACTORY_CHECKS:
            return True
        mount = mount_of(ctx.uri.abspath if ctx.uri is not None else None)
        if not self.credentials.is_protected(mount):
            return True
        result, authorization = ctx.request.get_header(GstRtsp.RTSPHeaderField.AUTHORIZATION, 0)
        if self.credentials.allows(mount, authorization if result == GstRtsp.RTSPResult.OK else None):
            return True
        self._send_unauthorized(ctx)
        return False

    def _send_unauthorized(self, ctx: GstRtspServer.RTSPContext) -> None:
        status = GstRtsp.RTSPStatusCode.UNAUTHORIZED
        _, response = GstRtsp.rtsp_message_new_response(status, "Unauthorized", ctx.request)
        response.add_header(GstRtsp.RTSPHeaderField.WWW_AUTHENTICATE, f'Basic realm="{REALM}"')
        ctx.client.send_message(ctx.session, response)
