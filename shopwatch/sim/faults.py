"""Network faults that are not a misbehaving RTSP server: a port that answers garbage, a port that is closed."""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from types import TracebackType

log = logging.getLogger(__name__)

# What a wrong service on the camera's port might send: not "RTSP/1.0 ..." and not even text.
GARBAGE = b"\x00\xff\xfe garbage, not RTSP \x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 8


class GarbageServer:
    """A loopback TCP listener that answers every connection with non-RTSP bytes and closes it.

    It reads what the client sends first (briefly, bounded) so the close is a clean FIN the client sees after
    the garbage, not a reset that hides it.
    """

    def __init__(self, host: str = "127.0.0.1", payload: bytes = GARBAGE, read_timeout_s: float = 0.5) -> None:
        self._host, self._payload, self._read_timeout_s = host, payload, read_timeout_s
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.connections = 0  # answered so far; for tests

    def start(self) -> None:
        if self._listener is not None:
            raise RuntimeError("GarbageServer already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, 0))
        listener.listen(16)
        listener.setblocking(False)
        self._listener = listener
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="sim-garbage", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._listener is not None:
            self._listener.close()
        self._thread = self._listener = None

    def __enter__(self) -> GarbageServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("GarbageServer is not started")
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "garbage") -> str:
        return f"rtsp://{self._host}:{self.port}/{path}"

    def _serve(self) -> None:
        assert self._listener is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if not selector.select(timeout=0.1):
                    continue
                try:
                    conn, _addr = self._listener.accept()
                except BlockingIOError:
                    continue
                try:
                    self._answer(conn)
                except OSError as exc:  # the client went away first: nothing to answer
                    log.debug("garbage server: client gone: %s", exc)
                finally:
                    conn.close()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(self._read_timeout_s)
        try:
            conn.recv(4096)
        except TimeoutError:
            pass  # a client that sends nothing gets the garbage anyway
        conn.sendall(self._payload)
        conn.shutdown(socket.SHUT_WR)
        self.connections += 1


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on (connecting gets 'connection refused').

    Found by binding port 0 and closing: another process could take it meanwhile, which is unlikely within
    a test's lifetime.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
