"""Why a connection failed, in words an operator can act on, and what the reader does about it.

FFmpeg's messages carry the URL it tried, credentials included, so every message is built from the URL without
credentials and then redacted again with the camera's secrets (belt and braces).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import av.error

from shopwatch.core.errors import (
    AuthRefused,
    DeviceUnreachable,
    PeerProtocolError,
    ShopwatchError,
    StreamTimeout,
    UnsupportedCodec,
)
from shopwatch.core.health import CameraState
from shopwatch.core.redact import redact_text, strip_credentials
from shopwatch.rtsp.messages import RtspProtocolError
from shopwatch.rtsp.play import RtspRefused

# What a camera can do to a reader or a probe: media errors (PyAV/FFmpeg), the OS's (sockets, timeouts) and ours
# (a stream with no video, an unsupported codec, the native reader's RTSP refusals: ``rtsp/play.py``). Each
# becomes a ``Failure`` the operator can act on; anything else is a bug, and the reader logs it with its
# traceback (``CameraReader._run``).
CAMERA_FAILURES = (av.error.FFmpegError, OSError, ShopwatchError)


@dataclass(frozen=True, slots=True)
class Failure:
    state: CameraState  # OFFLINE or AUTH_FAILED
    message: str  # redacted
    slow_retry: bool  # retry after auth_retry_s instead of the ordinary backoff
    kind: type[ShopwatchError]


def _where(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port or 554}"


def classify(
    exc: BaseException,
    url: str,
    secrets: tuple[str, ...],
    *,
    during: str,
    timeout_s: float | None = None,
    unanswered_after_s: float | None = None,
) -> Failure:
    """Map an exception from opening (``during="open"``) or reading (``"read"``) a stream to a ``Failure``;
    ``timeout_s`` is the open or read timeout that applied, for the message. ``unanswered_after_s``: FFmpeg's
    socket timeout, when the open took at least that long (see ``_unanswered``)."""
    safe = strip_credentials(url)
    if during == "open" and unanswered_after_s is not None and _unanswered(exc):
        message = (
            f"no answer to the RTSP request from {safe} within {unanswered_after_s:g} s: the camera accepted the"
            " connection but did not answer (overloaded or hung)"
        )
        return Failure(CameraState.OFFLINE, redact_text(message, secrets), False, StreamTimeout)
    if isinstance(exc, av.error.ExitError):
        # PyAV's timeout interrupts FFmpeg, which then says "Immediate exit requested": not helpful.
        reason = f"waited {timeout_s:g} s" if timeout_s is not None else "timed out"
    else:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    failure = _classify(exc, safe, reason, during)
    return replace_message(failure, redact_text(failure.message, secrets))


def _unanswered(exc: BaseException) -> bool:
    """FFmpeg's RTSP client ignores a failed read of the answer to OPTIONS, DESCRIBE or SETUP and then finds
    status 0, which it reports as "Invalid data found"; for PLAY as -1, which PyAV raises as EPERM ("Operation
    not permitted"). Measured here: a burst of opens against a loaded server got both, each after exactly the
    socket timeout, with FFmpeg logging "Failed reading RTSP data: Connection timed out" first. A real answer
    that is not RTSP, or a connection the OS refuses, comes at once."""
    return isinstance(exc, av.error.InvalidDataError | PermissionError)


def replace_message(failure: Failure, message: str) -> Failure:
    return Failure(failure.state, message, failure.slow_retry, failure.kind)


def _classify(exc: BaseException, safe: str, reason: str, during: str) -> Failure:
    offline = CameraState.OFFLINE
    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        code = 401 if isinstance(exc, av.error.HTTPUnauthorizedError) else 403
        return Failure(
            CameraState.AUTH_FAILED,
            f"the camera refused the credentials for {safe} (RTSP {code}): check the user name and password",
            True,
            AuthRefused,
        )
    if isinstance(exc, AuthRefused):  # the native reader's RTSP client (``rtsp/play.py``) says which status
        return Failure(CameraState.AUTH_FAILED, f"{exc}: check the user name and password", True, AuthRefused)
    if isinstance(exc, RtspRefused) and exc.status == 404:
        message = f"the camera has no stream at {safe} (RTSP 404 to {exc.method}): check streams.detect"
        return Failure(offline, message, False, PeerProtocolError)
    if isinstance(exc, RtspProtocolError):  # the native reader's: the peer's bytes are not RTSP
        message = f"expected an RTSP answer from {_where(safe)}, found something else ({reason})"
        return Failure(offline, message, False, PeerProtocolError)
    if isinstance(exc, ShopwatchError):  # raised by the reader itself, message already says what it found
        message = str(exc) if safe in str(exc) else f"{safe}: {exc}"
        return Failure(offline, message, isinstance(exc, UnsupportedCodec), type(exc))
    if isinstance(exc, av.error.HTTPNotFoundError):
        message = f"the camera has no stream at {safe} (RTSP 404): check streams.detect"
        return Failure(offline, message, False, PeerProtocolError)
    if isinstance(exc, ConnectionRefusedError):
        message = f"connection refused by {_where(safe)}: expected an RTSP server on that port"
        return Failure(offline, message, False, DeviceUnreachable)
    if isinstance(exc, TimeoutError | av.error.ExitError):
        what = "no answer to the RTSP request" if during == "open" else "no data"
        return Failure(offline, f"{what} from {safe} in time ({reason})", False, StreamTimeout)
    if isinstance(exc, av.error.InvalidDataError | av.error.HTTPError | av.error.HTTPClientError):
        message = f"expected an RTSP answer from {_where(safe)}, found something else ({reason})"
        return Failure(offline, message, False, PeerProtocolError)
    if isinstance(exc, OSError | EOFError):
        return Failure(offline, f"cannot reach {_where(safe)}: {reason}", False, DeviceUnreachable)
    return Failure(offline, f"could not {during} {safe}: {reason}", False, PeerProtocolError)


def stream_ended(url: str, secrets: tuple[str, ...]) -> Failure:
    """The demux iterator ended: the camera (or a proxy) closed the stream; FFmpeg raises nothing."""
    message = f"the camera closed the stream {strip_credentials(url)}"
    return Failure(CameraState.OFFLINE, redact_text(message, secrets), False, DeviceUnreachable)
