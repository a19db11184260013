"""Run the app with uvicorn as one task of an asyncio program (ingest supervisor, outbox, ... run beside it).

The socket is bound here, before uvicorn starts, so the bound port is known at once (port 0 picks a free one) and a
port in use is an ``OSError`` to the caller instead of uvicorn's ``sys.exit``. Signals stay with the program.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from shopwatch.api.tls import check_tls
from shopwatch.core.api_limits_config import RequestLimits
from shopwatch.core.api_security_config import ApiTls
from shopwatch.core.errors import ShopwatchError

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The host program owns SIGINT/SIGTERM and stops us with ApiServer.stop() or by cancelling the task.
        yield


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot resolve API address {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock


class ApiServer:
    """An HTTP server for one ASGI app, bound on construction.

    ``serve()`` runs until ``stop()`` is called or the task is cancelled; either way the socket is closed and
    open connections are given ``shutdown_timeout_s`` to finish.
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str,
        port: int,
        *,
        shutdown_timeout_s: int = 5,
        limits: RequestLimits | None = None,
        tls: ApiTls | None = None,
    ) -> None:
        limits = limits or RequestLimits()
        check_tls(tls)  # a bad pair is a sentence naming the file, before the port is taken
        self.scheme = "https" if tls is not None else "http"
        self._socket = _bind(host, port)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,  # the program's logging (with its redacting filter) applies
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=shutdown_timeout_s,
            # The protocol's own bounds, before the app's middleware sees anything: a WebSocket frame or an
            # unfinished request head past these is never assembled.
            ws_max_size=limits.ws_message_bytes,
            h11_max_incomplete_event_size=limits.header_bytes,
            ssl_certfile=tls.cert if tls is not None else None,
            ssl_keyfile=tls.key if tls is not None else None,
        )
        self._server = _EmbeddedServer(config)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    async def serve(self) -> None:
        log.info("API listening on %s", self.url)
        try:
            await self._server.serve(sockets=[self._socket])
        except asyncio.CancelledError:
            self._server.should_exit = True
            if self._server.started:
                await self._server.shutdown(sockets=[self._socket])
            raise
        finally:
            self._socket.close()

    def stop(self) -> None:
        self._server.should_exit = True


async def serve_api(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    bound_port: asyncio.Future[int] | None = None,
    stop: asyncio.Event | None = None,
    limits: RequestLimits | None = None,
    tls: ApiTls | None = None,
) -> None:
    """Serve until ``stop`` is set or the task is cancelled. ``bound_port`` gets the listening port (useful with
    port 0) once bound, or the ``OSError`` when the address cannot be bound."""
    try:
        server = ApiServer(app, host, port, limits=limits, tls=tls)
    except (OSError, ShopwatchError) as exc:
        if bound_port is not None and not bound_port.done():
            bound_port.set_exception(exc)
        raise
    if bound_port is not None and not bound_port.done():
        bound_port.set_result(server.port)
    watcher = asyncio.create_task(_stop_when_set(stop, server)) if stop is not None else None
    try:
        await server.serve()
    finally:
        if watcher is not None:
            watcher.cancel()


async def _stop_when_set(stop: asyncio.Event, server: ApiServer) -> None:
    await stop.wait()
    server.stop()
