import errno

import av.error
import pytest

from shopwatch.core.errors import AuthRefused, DeviceUnreachable, PeerProtocolError, StreamTimeout, UnsupportedCodec
from shopwatch.core.health import CameraState
from shopwatch.ingest.failures import classify, stream_ended

PASSWORD = "Tr0ub4dor&3"
URL = f"rtsp://admin:{PASSWORD}@10.1.2.3:8554/Streaming/Channels/102"


def ff(cls: type[Exception], code: int, message: str) -> Exception:
    # PyAV errors carry the URL FFmpeg tried, credentials included.
    return cls(code, message, URL)


@pytest.mark.parametrize(
    ("exc", "during", "state", "slow", "kind", "says"),
    [
        (ff(av.error.HTTPUnauthorizedError, 1, "Server returned 401 Unauthorized"), "open",
         CameraState.AUTH_FAILED, True, AuthRefused, "RTSP 401"),
        (ff(av.error.HTTPForbiddenError, 1, "Server returned 403 Forbidden"), "open",
         CameraState.AUTH_FAILED, True, AuthRefused, "RTSP 403"),
        (ff(av.error.ConnectionRefusedError, errno.ECONNREFUSED, "Connection refused"), "open",
         CameraState.OFFLINE, False, DeviceUnreachable, "connection refused by 10.1.2.3:8554"),
        (ff(av.error.HTTPNotFoundError, 1, "Server returned 404 Not Found"), "open",
         CameraState.OFFLINE, False, PeerProtocolError, "RTSP 404"),
        (ff(av.error.InvalidDataError, errno.EINVAL, "Invalid data found when processing input"), "open",
         CameraState.OFFLINE, False, PeerProtocolError, "expected an RTSP answer from 10.1.2.3:8554"),
        (ff(av.error.ExitError, 1, "Immediate exit requested"), "read",
         CameraState.OFFLINE, False, StreamTimeout, "/Channels/102 in time (waited 6 s)"),
        (ff(av.error.TimeoutError, errno.ETIMEDOUT, "Connection timed out"), "open",
         CameraState.OFFLINE, False, StreamTimeout, "no answer to the RTSP request"),
        (ff(av.error.OSError, errno.EHOSTUNREACH, "No route to host"), "open",
         CameraState.OFFLINE, False, DeviceUnreachable, "No route to host"),
        (UnsupportedCodec("expected a video codec FFmpeg can decode, found 'none'"), "read",
         CameraState.OFFLINE, True, UnsupportedCodec, "found 'none'"),
        (RuntimeError(f"weird {URL}"), "read", CameraState.OFFLINE, False, PeerProtocolError, "could not read"),
    ],
)  # fmt: skip
def test_failures_are_classified_and_never_carry_the_password(
    exc: Exception, during: str, state: CameraState, slow: bool, kind: type[Exception], says: str
) -> None:
    failure = classify(exc, URL, (PASSWORD,), during=during, timeout_s=6.0)
    assert (failure.state, failure.slow_retry, failure.kind) == (state, slow, kind)
    assert says in failure.message
    assert PASSWORD not in failure.message
    assert "10.1.2.3" in failure.message  # still says which camera


def test_a_password_only_in_the_secrets_is_masked_too() -> None:
    failure = classify(RuntimeError(f"boom {PASSWORD}"), "rtsp://10.1.2.3/x", (PASSWORD,), during="read")
    assert PASSWORD not in failure.message


def test_the_end_of_the_stream_is_a_disconnect() -> None:
    failure = stream_ended(URL, (PASSWORD,))
    assert failure.state is CameraState.OFFLINE and not failure.slow_retry
    assert "closed the stream" in failure.message and PASSWORD not in failure.message


@pytest.mark.parametrize(
    "exc",
    [
        ff(av.error.InvalidDataError, errno.EINVAL, "Invalid data found when processing input"),  # OPTIONS..SETUP
        ff(av.error.PermissionError, errno.EPERM, "Operation not permitted"),  # PLAY: FFmpeg's -1
    ],
)
def test_an_open_unanswered_for_the_socket_timeout_is_a_timeout_not_garbage(exc: Exception) -> None:
    failure = classify(exc, URL, (PASSWORD,), during="open", timeout_s=10.0, unanswered_after_s=6.0)
    assert failure.kind is StreamTimeout and failure.state is CameraState.OFFLINE
    assert "no answer to the RTSP request" in failure.message and "within 6 s" in failure.message
    assert PASSWORD not in failure.message and "10.1.2.3" in failure.message
    # The same error at once is what it says: a peer that answered something else.
    quick = classify(exc, URL, (PASSWORD,), during="open", timeout_s=10.0)
    assert quick.kind is not StreamTimeout
