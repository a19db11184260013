"""Fixtures of the talkback route tests (``env``, ``sqlite_engine``), defined in ``talkback_env``."""

from .talkback_env import env, sqlite_engine  # noqa: F401
