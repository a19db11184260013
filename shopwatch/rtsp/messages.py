"""RTSP/1.0 messages on the wire (RFC 2326), without I/O: requests to bytes, bytes to responses and
interleaved ``$`` frames.

``RtspReader`` is fed whatever the socket gave and hands out whole events, h11 style: ``receive_data(bytes)``
then ``next_event()`` until it says ``NEED_DATA``. Over interleaved TCP the server's RTP/RTCP (section 10.12:
``$``, channel, 16-bit length) arrives between responses; a server may also send requests of its own
(GStreamer answers nothing we need to), which are handed out so the caller can ignore or answer them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Final

from shopwatch.core.errors import PeerProtocolError

MAX_HEAD_BYTES = 16_384  # a response head longer than this is not an RTSP camera talking
MAX_BODY_BYTES = 1_000_000


class RtspProtocolError(PeerProtocolError):
    """The peer's bytes are not RTSP (garbage, oversized, malformed). Mapped to ``TalkbackProtocolError``."""


@dataclass(frozen=True)
class RtspRequest:
    method: str
    uri: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def __bytes__(self) -> bytes:
        lines = [f"{self.method} {self.uri} RTSP/1.0"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass(frozen=True)
class RtspResponse:
    status: int
    reason: str
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-case names, every value in order
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def cseq(self) -> int | None:
        value = self.header("cseq")
        return int(value) if value is not None and value.strip().isdigit() else None


@dataclass(frozen=True)
class ServerRequest:
    """A request the server sent us (RFC 2326 allows ANNOUNCE, GET_PARAMETER, SET_PARAMETER, REDIRECT); a
    server reading its clients with ``RtspReader`` gets their requests as these too."""

    method: str
    headers: dict[str, list[str]]
    uri: str = ""
    body: bytes = b""


@dataclass(frozen=True)
class InterleavedFrame:
    channel: int
    payload: bytes


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
Event = RtspResponse | ServerRequest | InterleavedFrame


def response_bytes(status: int, reason: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """A response on the wire (what a server sends; ``Content-Length`` is added for a body)."""
    lines = [f"RTSP/1.0 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def interleave(channel: int, payload: bytes) -> bytes:
    """``$``-frame one RTP/RTCP packet for the RTSP TCP connection."""
    if len(payload) > 0xFFFF:
        raise ValueError(f"expected an interleaved packet of at most 65535 bytes, found {len(payload)}")
    return struct.pack("!cBH", b"$", channel, len(payload)) + payload


class RtspReader:
    """Parses what the server sends, in order: responses, server requests and interleaved frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.closed = False

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes; ``b""`` means the server closed the connection."""
        if not data:
            self.closed = True
        self._buffer += data

    def next_event(self) -> Event | _NeedData:
        buf = self._buffer
        if not buf:
            return NEED_DATA
        if buf[0] == 0x24:  # '$'
            if len(buf) < 4:
                return NEED_DATA
            channel, length = buf[1], struct.unpack_from("!H", buf, 2)[0]
            if len(buf) < 4 + length:
                return NEED_DATA
            payload = bytes(buf[4 : 4 + length])
            del buf[: 4 + length]
            return InterleavedFrame(channel, payload)
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                raise RtspProtocolError(f"expected an RTSP message head within {MAX_HEAD_BYTES} bytes")
            if not buf.startswith(b"RTSP/"[: len(buf)]) and not buf[:1].isalpha():
                raise RtspProtocolError(f"expected an RTSP message, found {bytes(buf[:16])!r}")
            return NEED_DATA
        start_line, headers = _parse_head(bytes(buf[:end]))
        length = _content_length(headers)
        if len(buf) < end + 4 + length:
            return NEED_DATA
        body = bytes(buf[end + 4 : end + 4 + length])
        del buf[: end + 4 + length]
        if start_line.startswith("RTSP/"):
            return _response(start_line, headers, body)
        method, _, rest = start_line.partition(" ")
        if not rest.endswith("RTSP/1.0"):
            raise RtspProtocolError(f"expected an RTSP status line or request, found {start_line[:60]!r}")
        return ServerRequest(method, headers, rest.removesuffix("RTSP/1.0").strip(), body)


def _parse_head(head: bytes) -> tuple[str, dict[str, list[str]]]:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise RtspProtocolError(f"expected 'Name: value' header lines, found {line[:60]!r}")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], headers


def _content_length(headers: dict[str, list[str]]) -> int:
    raw = headers.get("content-length", ["0"])[0]
    if not raw.isdigit() or int(raw) > MAX_BODY_BYTES:
        raise RtspProtocolError(f"expected a Content-Length of 0-{MAX_BODY_BYTES}, found {raw!r}")
    return int(raw)


def _response(status_line: str, headers: dict[str, list[str]], body: bytes) -> RtspResponse:
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise RtspProtocolError(f"expected 'RTSP/1.0 <status> <reason>', found {status_line[:60]!r}")
    return RtspResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, body)
