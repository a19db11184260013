"""A camera port that answers garbage, and one that is closed: PyAV must fail fast with a clear error."""

from __future__ import annotations

import socket
import time

import av
import pytest

from shopwatch.sim.faults import GarbageServer, closed_port

OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}


def test_garbage_answer_is_invalid_data_at_once() -> None:
    with GarbageServer() as garbage:
        started = time.monotonic()
        with pytest.raises(av.error.InvalidDataError):
            av.open(garbage.url(), options=OPTIONS, timeout=(10, 6))
        assert time.monotonic() - started < 2
        assert garbage.connections == 1


def test_garbage_server_answers_raw_sockets_and_closes() -> None:
    with GarbageServer(payload=b"\x00junk") as garbage:
        with socket.create_connection(("127.0.0.1", garbage.port), timeout=3) as conn:
            conn.sendall(b"OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n\r\n")
            received = b""
            while chunk := conn.recv(1024):  # ends with the server's FIN
                received += chunk
    assert received == b"\x00junk"


def test_stopped_garbage_server_frees_its_port() -> None:
    garbage = GarbageServer()
    garbage.start()
    port = garbage.port
    garbage.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=3)


def test_closed_port_refuses_at_once() -> None:
    port = closed_port()
    started = time.monotonic()
    with pytest.raises(av.error.ConnectionRefusedError):
        av.open(f"rtsp://127.0.0.1:{port}/cam-01", options=OPTIONS, timeout=(10, 6))
    assert time.monotonic() - started < 1
