"""Process-wide logging set-up: one line per record, passwords masked in every message and traceback."""

from __future__ import annotations

import logging
import sys

from shopwatch.core.redact import RedactingFilter


def configure_logging(level: str = "info", process_name: str = "main") -> RedactingFilter:
    """Install a stderr handler with a redacting filter on the root logger and return the filter, so the
    caller can register secret values (camera passwords) it must also mask."""
    redactor = RedactingFilter()
    handler = logging.StreamHandler(sys.stderr)
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
