"""Why a camera is not online, as a kind a console can translate (``why_kind``) beside the worker's English
sentence (``last_error`` / ``why``), so the Chinese page does not show an English reason.

The kinds follow the sentences ``shopwatch.ingest.failures`` writes for each failure (its ``classify`` and
``stream_ended``) and the supervisor's for a worker that exited; tests/api/test_health_reason.py feeds real
exceptions through ``classify`` so a reworded sentence fails there, not on the wall. A sentence none matches is
``other`` (the console then shows the sentence itself)."""

from __future__ import annotations

import re

KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("login_refused", re.compile(r"refused the credentials")),
    ("no_stream", re.compile(r"has no stream at")),
    ("refused", re.compile(r"connection refused")),
    ("no_answer", re.compile(r"no answer to the RTSP request|no data from .* in time")),
    ("not_rtsp", re.compile(r"expected an RTSP answer")),
    ("unreachable", re.compile(r"cannot reach")),
    ("closed", re.compile(r"closed the stream")),
    ("worker_restart", re.compile(r"^worker \d+ exited")),
)
WHY_KINDS = tuple(kind for kind, _ in KINDS) + ("other",)


def why_kind(message: str | None) -> str | None:
    """The kind of a failure sentence; None for none."""
    if not message:
        return None
    return next((kind for kind, pattern in KINDS if pattern.search(message)), "other")
