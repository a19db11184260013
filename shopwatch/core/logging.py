"""Process-wide logging set-up: one line per record, passwords masked in every message and traceback.

shopwatch's own loggers (``shopwatch.*``) log at the configured level; every other library's (httpx logs each
ONVIF request at INFO, and zeep, httpcore, urllib3, uvicorn, PyAV's ``libav`` do their own) at ``libraries``,
WARNING unless asked for (``service.library_log_level``), so the start-up banner is not buried under them."""

from __future__ import annotations

import logging
import sys

from shopwatch.core.redact import RedactingFilter


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream it was created with: a closed
    stream (a test runner's capture, a redirected console) would make logging print its own error report, which
    shows the record's unformatted arguments, unredacted."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


LIBRARY_LOG_LEVEL = "warning"


def configure_logging(
    level: str = "info", process_name: str = "main", libraries: str = LIBRARY_LOG_LEVEL
) -> RedactingFilter:
    """Install a stderr handler with a redacting filter on the root logger and return the filter, so the
    caller can register secret values (camera passwords) it must also mask. ``level`` applies to shopwatch's
    loggers, ``libraries`` to everyone else's."""
    redactor = RedactingFilter()
    handler = _StderrHandler()
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)-7s {process_name} %(name)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(libraries.upper())  # third-party loggers inherit the root's level
    logging.getLogger("shopwatch").setLevel(level.upper())
    return redactor
