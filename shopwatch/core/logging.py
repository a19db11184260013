"""Process-wide logging set-up: one line per record, passwords masked in every message and traceback."""

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


def configure_logging(level: str = "info", process_name: str = "main") -> RedactingFilter:
    """Install a stderr handler with a redacting filter on the root logger and return the filter, so the
    caller can register secret values (camera passwords) it must also mask."""
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
    root.setLevel(level.upper())
    return redactor
