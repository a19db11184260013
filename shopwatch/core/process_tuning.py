"""Settings a long-running process of ours applies to itself at start: its name, and glibc's malloc behaviour.

- ``set_process_name``: every worker and the node's detector are started the same way (``python -c "from
  multiprocessing.spawn ..."``); a name (``/proc/PID/comm``, what ``ps`` and ``top`` show) tells them apart.
- ``tune_malloc``: a worker hosts ~100 reader threads that decode now and then. By default glibc gives threads
  up to 8 arenas per core and raises its mmap threshold as large blocks are freed, so decoders' picture buffers
  (230 KB per 640x360 luma plane) end up in arenas that keep their memory after the decoder is gone. Two arenas
  and a fixed 128 KB mmap threshold (large blocks mapped, and returned to the system when freed) hold 0.6-0.7 MB
  less per camera (``benchmarks/reader_memory.py``, 60 cameras in one process; docs/FLEET.md).

Both are Linux/glibc only and do nothing elsewhere (they return False)."""

from __future__ import annotations

import ctypes
import sys

_PR_SET_NAME = 15
_NAME_MAX_BYTES = 15  # the kernel keeps 16 bytes, NUL included
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's initial default, held fixed


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True)  # the interpreter's own symbols, libc's among them


def set_process_name(name: str) -> bool:
    """Set the calling thread's name, which for the main thread is the process's ``comm``; True if it took.
    Longer names are cut to 15 bytes."""
    libc = _libc()
    if libc is None:
        return False
    raw = name.encode("ascii", "replace")[:_NAME_MAX_BYTES]
    return int(libc.prctl(_PR_SET_NAME, ctypes.c_char_p(raw), 0, 0, 0)) == 0


def tune_malloc(arenas: int = MALLOC_ARENAS, mmap_threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Cap malloc arenas and fix the mmap threshold (see the module's doc); call it before starting threads.
    True if glibc took both (another C library has no ``mallopt`` with these meanings: False, nothing done)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas)) and bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold))
