"""Bounded requests (``api.limits``): 413 on a declared body past the limit before reading a byte, 413 while a
chunked body passes it, the upload route's own limit, 431 on huge headers, 1009 on a huge WebSocket message; and
a real ``shopwatch serve`` in a subprocess, sent 300 MB bodies, answers 413 with its peak memory grown < 20 MB."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Send

from shopwatch.api.limits import WS_MESSAGE_TOO_BIG, BoundedRequests
from shopwatch.core.api_limits_config import RequestLimits

MB = 1024 * 1024
LOGIN = "/api/auth/login"


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_declared_body_past_the_limit_is_413_before_the_app_reads_anything() -> None:
    reached: list[str] = []

    async def app(scope: dict, _receive: object, _send: object) -> None:
        reached.append(scope["path"])

    sent: list[Message] = []

    async def never_receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": LOGIN, "headers": [(b"content-length", b"314572800")]}
    await BoundedRequests(app, RequestLimits())(scope, never_receive, send)
    assert reached == [] and sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b"at most 262144 bytes" in sent[1]["body"]


async def test_a_chunked_body_is_refused_as_it_passes_the_limit(app: FastAPI) -> None:
    chunks_sent = 0

    async def body() -> object:
        nonlocal chunks_sent
        for _ in range(1000):  # 64 MB if it were all read
            chunks_sent += 1
            yield b"x" * 65536

    async with client_of(app) as client:
        response = await client.post(LOGIN, content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert "at most 262144 bytes" in response.json()["detail"]
    assert chunks_sent < 10  # refused at the fifth 64 KiB chunk, not at the end


async def test_the_clip_upload_has_its_own_limit_and_small_json_passes(app: FastAPI) -> None:
    async with client_of(app) as client:
        big = await client.post("/api/talkback/clips?name=x", content=b"\0" * (2 * MB))
        assert big.status_code != 413  # past the JSON limit, inside the clip limit (then 401: no credentials)
        assert (await client.post(LOGIN, json={"username": "u", "password": "p"})).status_code == 401
        toobig = await client.post("/api/talkback/clips?name=x", content=b"\0" * (21 * MB))
        assert toobig.status_code == 413


async def test_headers_past_the_limit_are_431(app: FastAPI) -> None:
    async with client_of(app) as client:
        response = await client.get("/healthz", headers={f"x-pad-{i}": "y" * 1000 for i in range(20)})
    assert response.status_code == 431
    async with client_of(app) as client:
        assert (await client.get("/healthz", headers={"x-pad": "y" * 1000})).status_code == 200


@pytest.mark.parametrize(("length", "status"), [(b"12, 12", 400), (b"-1", 400), (b"abc", 400), (b"10", 200)])
async def test_a_content_length_that_is_not_one_number_is_400(length: bytes, status: int) -> None:
    sent: list[Message] = []

    async def app(_scope: dict, _receive: object, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": LOGIN, "headers": [(b"content-length", length)]}
    await BoundedRequests(app, RequestLimits())(scope, receive, send)
    assert sent[0]["status"] == status


async def test_a_websocket_message_past_the_limit_closes_with_1009() -> None:
    got: list[Message] = []
    sent: list[Message] = []
    incoming = [{"type": "websocket.receive", "bytes": b"a" * 100}, {"type": "websocket.receive", "bytes": b"b" * 2048}]

    async def app(_scope: dict, receive: Receive, _send: object) -> None:
        for _ in incoming:
            got.append(await receive())

    async def receive() -> Message:
        return incoming[len(got)]

    async def send(message: Message) -> None:
        sent.append(message)

    await BoundedRequests(app, RequestLimits(ws_message_kib=1))({"type": "websocket", "path": "/ws"}, receive, send)
    assert got[0]["bytes"] == b"a" * 100
    assert got[1] == {"type": "websocket.disconnect", "code": WS_MESSAGE_TOO_BIG}
    assert sent == [{"type": "websocket.close", "code": WS_MESSAGE_TOO_BIG, "reason": "message too big"}]


# --- a real server in its own process --------------------------------------------------------------------------


def peak_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


@pytest.fixture(name="served")
def served_fixture(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """``shopwatch serve`` with no cameras on a free port: (its pid, its URL)."""
    config = tmp_path / "shopwatch.yaml"
    config.write_text(f"service: {{data_dir: {tmp_path / 'data'}, log_level: warning}}\napi: {{port: 0}}\n")
    code = "from shopwatch.cli.main import build_cli; build_cli()()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"shopwatch serve exited: {proc.poll()}"
            found = re.search(r"is up: (http://\S+)", line)
            url = found.group(1) if found else None
        assert url is not None
        yield proc.pid, url
    finally:
        proc.terminate()
        proc.wait(20)


def send_body(url: str, *, chunked: bool, total: int) -> bytes:
    """POST ``total`` bytes to the login route over a raw socket (stopping when the server closes); the answer."""
    host, port = url.removeprefix("http://").split(":")
    head = f"POST {LOGIN} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
    chunk = b"x" * MB
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(head.encode())
        sent = 0
        try:
            while sent < total:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what we want
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_300_mb_body_to_a_real_server_is_413_and_costs_it_under_20_mb(
    served: tuple[int, str], chunked: bool
) -> None:
    pid, url = served
    before = peak_rss_kib(pid)
    answer = await asyncio.to_thread(send_body, url, chunked=chunked, total=300 * MB)
    grown_mib = (peak_rss_kib(pid) - before) / 1024
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert grown_mib < 20, f"peak memory grew {grown_mib:.1f} MiB"
    async with httpx.AsyncClient(base_url=url) as client:  # and it still serves
        assert (await client.get("/healthz")).status_code == 200
