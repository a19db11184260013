"""The kind of a camera's failure (``why_kind``): the sentences the ingest really writes (real exceptions through
``shopwatch.ingest.failures.classify``, a closed stream, a worker that exited) each get the kind the console
translates, so a reworded sentence fails here instead of showing English on the Chinese wall; the API carries it
beside the sentence, and a sentence nobody knows is ``other``."""

from __future__ import annotations

import errno

import av
import httpx
import pytest

from shopwatch.api.health_reason import why_kind
from shopwatch.ingest.failures import classify, stream_ended

URL = "rtsp://admin:Secret-1@10.0.0.9:554/live"


def ffmpeg(kind: type[av.error.FFmpegError], code: int) -> BaseException:
    return kind(code, "ffmpeg says so")


@pytest.mark.parametrize(
    ("exc", "during", "kind"),
    [
        (ffmpeg(av.error.HTTPUnauthorizedError, -errno.EPERM), "open", "login_refused"),
        (ffmpeg(av.error.HTTPNotFoundError, -errno.ENOENT), "open", "no_stream"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "open", "refused"),
        (TimeoutError(), "open", "no_answer"),
        (TimeoutError(), "read", "no_answer"),
        (ffmpeg(av.error.InvalidDataError, -errno.EINVAL), "open", "not_rtsp"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "open", "unreachable"),
    ],
)
def test_each_failure_the_ingest_writes_has_its_kind(exc: BaseException, during: str, kind: str) -> None:
    failure = classify(exc, URL, ("Secret-1",), during=during, timeout_s=6.0)
    assert why_kind(failure.message) == kind, failure.message


def test_a_closed_stream_a_restarting_worker_and_an_unknown_sentence() -> None:
    assert why_kind(stream_ended(URL, ("Secret-1",)).message) == "closed"
    assert why_kind("worker 2 exited (code -9); restarting") == "worker_restart"
    assert why_kind("the moon is in the way") == "other"
    assert why_kind(None) is None and why_kind("") is None


async def test_the_api_gives_the_kind_beside_the_sentence(client: httpx.AsyncClient) -> None:
    cameras = {c["id"]: c for c in (await client.get("/api/cameras")).json()["cameras"]}
    offline = cameras["cam-0003"]["health"]  # the small fleet's: "connection refused: rtsp://admin:…"
    assert offline["why_kind"] == "refused" and "connection refused" in offline["last_error"]
    assert cameras["cam-0001"]["health"]["why_kind"] is None  # online
