"""The real uvicorn runner on a loopback port picked by the kernel."""

from __future__ import annotations

import asyncio
import io
import socket

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from shopwatch.api.server import ApiServer, serve_api

from .auth_fixtures import AuthKit


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def test_serves_the_app_on_the_bound_port_and_stops(app: FastAPI, auth_kit: AuthKit) -> None:
    server = ApiServer(app, "127.0.0.1", 0)
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    task = asyncio.create_task(server.serve())
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=5, headers=auth_kit.headers()) as client:
            health = await client.get("/healthz")
            snapshot = await client.get("/api/cameras/cam-0001/snapshot.jpg")
    finally:
        server.stop()
        await asyncio.wait_for(task, timeout=10)

    assert health.json() == {"status": "ok", "cameras": 7, "online": 2}
    assert snapshot.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(snapshot.content)).format == "JPEG"
    assert refused(server.port)


async def test_cancelling_the_task_closes_the_socket(app: FastAPI) -> None:
    server = ApiServer(app, "127.0.0.1", 0)
    task = asyncio.create_task(server.serve())
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        assert (await client.get("/healthz")).status_code == 200

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)
    assert refused(server.port)


async def test_port_in_use_is_an_os_error_naming_the_address(app: FastAPI) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]

        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            ApiServer(app, "127.0.0.1", port)


async def test_serve_api_reports_the_port_and_stops_when_told(app: FastAPI) -> None:
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(serve_api(app, "127.0.0.1", 0, bound_port=bound, stop=stop))
    port = await asyncio.wait_for(bound, timeout=5)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        assert (await client.get("/healthz")).status_code == 200

    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert refused(port)


async def test_serve_api_hands_a_bind_failure_to_the_waiting_caller(app: FastAPI) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        with pytest.raises(OSError, match="cannot listen"):
            await serve_api(app, "127.0.0.1", port, bound_port=bound)
        with pytest.raises(OSError, match="cannot listen"):
            await bound
