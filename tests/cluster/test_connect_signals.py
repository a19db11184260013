"""``serve --ray`` stops gracefully on SIGTERM: joining the cluster lets Ray's core worker install its own C-level
SIGTERM handler (a stack trace, then the process ends), and ``reclaim_signals`` puts Python's back.

A foreign C-level handler is installed here with libc's ``signal`` as Ray's core worker does (``SIG_IGN`` rather
than a killing one, so that a failure is an assertion, not a dead test process)."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Iterator
from types import FrameType

import pytest

from shopwatch.cluster.connect import reclaim_signals


@pytest.fixture
def python_sigterm_handler() -> Iterator[list[int]]:
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _foreign_c_handler() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    assert libc.signal(signal.SIGTERM, ctypes.c_void_p(1)) is not None  # SIG_IGN behind Python's back


def _deliver_sigterm(received: list[int], wait_s: float = 2.0) -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)  # Python runs the handler between bytecodes of the main thread


def test_a_foreign_c_handler_hides_sigterm_from_python(python_sigterm_handler: list[int]) -> None:
    _foreign_c_handler()
    _deliver_sigterm(python_sigterm_handler, wait_s=0.3)
    assert python_sigterm_handler == []  # what serve --ray suffered: its stop never ran


def test_reclaim_signals_gives_sigterm_back_to_the_python_handler(python_sigterm_handler: list[int]) -> None:
    _foreign_c_handler()
    reclaim_signals()
    _deliver_sigterm(python_sigterm_handler)
    assert python_sigterm_handler == [signal.SIGTERM]
