"""The data directory holds camera credentials, alert pictures and the audit log: only the service's own user
may read it. ``private_data_dir`` makes it 0700 and sets the process umask to 077, so every file the service
and its worker processes create afterwards (the SQLite database and its WAL, event pictures, clips) is 0600 and
every directory 0700, whatever the login shell's umask was."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_data_dir(path: Path) -> None:
    os.umask(PRIVATE_UMASK)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)  # an existing directory is tightened too


def private_file(path: Path) -> None:
    """Make an existing file 0600 (the database: SQLite gives its WAL and shared-memory files the same mode)."""
    if path.exists() and path.stat().st_mode & 0o077:
        os.chmod(path, FILE_MODE)
