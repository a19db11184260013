"""A TCP server on 127.0.0.1 with its own asyncio loop in a daemon thread: the body of every fake device.

Tests drive the service's asyncio code in their own loop; a fake device on a loop of its own answers however busy
that loop is, and a test can use it from synchronous code as a context manager.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Self

CALL_TIMEOUT_S = 5.0


class LoopbackServer:
    """Subclasses implement ``_serve(reader, writer)``, one call per connection; ``port`` is known once entered."""

    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(CALL_TIMEOUT_S) or not self.port:
            raise RuntimeError(f"{type(self).__name__} did not start within {CALL_TIMEOUT_S} s")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(CALL_TIMEOUT_S)

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            # connections still open are ended here, on a running loop: left to the garbage collector they
            # would close their sockets on a closed loop
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
