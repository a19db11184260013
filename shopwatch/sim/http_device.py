"""A small HTTP/1.1 device for tests: Digest auth, a request log, and streamed uploads with arrival times.

Written on raw asyncio streams, not a web framework, because camera audio uploads are not ordinary bodies
(a PUT answered first and then fed raw bytes, a POST with a fake Content-Length). The server runs its own
event loop on a daemon thread, so sync and async tests alike start it with ``with Device() as dev:`` on
127.0.0.1 and an ephemeral port. Subclasses (``isapi.FakeIsapi``, ``dahua.FakeDahua``) route requests.

Real devices expire their Digest nonces: ``nonce_uses=N`` retires the nonce after N authorised requests and
answers a request signed with a retired one ``401`` with ``stale=true`` and a new nonce (RFC 7616 section
3.3). ``playback_buffer_s`` models a speaker that buffers that long before playing and discards what it had
not played when the upload closes (``Upload.played``).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from shopwatch.rtsp.digest import parse_challenges
from shopwatch.sim.loopback import LoopbackServer

MAX_HEAD_BYTES = 16_384


@dataclass
class Request:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.target).query).items()}


@dataclass
class Upload:
    """One streamed audio upload: what arrived, when (``time.monotonic()``), and how it ended."""

    target: str
    content_type: str
    arrivals: list[tuple[float, bytes]] = field(default_factory=list)
    ended: bool = False
    ended_at: float | None = None
    playback_buffer_s: float = 0.0

    @property
    def data(self) -> bytes:
        return b"".join(chunk for _, chunk in self.arrivals)

    @property
    def played(self) -> bytes:
        """What the speaker played before the upload closed: G.711 (8,000 bytes a second), starting
        ``playback_buffer_s`` after the first bytes arrived; the rest was discarded at the close."""
        data = self.data
        if not self.arrivals or self.ended_at is None:
            return b""
        seconds = self.ended_at - self.arrivals[0][0] - self.playback_buffer_s
        return data[: max(0, min(len(data), int(seconds * 8000)))]


class FakeHttpDevice(LoopbackServer):
    """Base of the fake vendor devices; see the module doc. ``calls`` lists ``"METHOD /path"`` in order."""

    realm = "shopwatch-fake"

    def __init__(
        self, username: str = "admin", password: str = "pass1234", *, nonce_uses: int | None = None,
        playback_buffer_s: float = 0.0,
    ) -> None:  # fmt: skip
        self.username, self.password = username, password
        self._nonce = secrets.token_hex(16)
        self._retired: set[str] = set()
        self._nonce_uses, self._uses = nonce_uses, 0
        self.playback_buffer_s = playback_buffer_s
        self.stale_answers = 0  # 401s sent for a retired nonce
        self._lock = threading.Lock()
        self._calls: list[str] = []
        self._uploads: list[Upload] = []

    # lifecycle ---------------------------------------------------------------------------------------------

    # what tests read ---------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[str]:
        with self._lock:
            return list(self._calls)

    @property
    def uploads(self) -> list[Upload]:
        with self._lock:
            return list(self._uploads)

    def wait_upload_ended(self, timeout_s: float) -> Upload:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            done = [u for u in self.uploads if u.ended]
            if done:
                return done[-1]
            time.sleep(0.01)
        raise TimeoutError(f"no upload ended within {timeout_s} s (uploads: {len(self.uploads)})")

    # HTTP --------------------------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self._calls.append(f"{request.method} {request.path}")
                authorized = self._authorized(request)
                if authorized is not True:
                    stale = ", stale=true" if authorized == "stale" else ""
                    self.stale_answers += bool(stale)
                    challenge = f'Digest realm="{self.realm}", qop="auth", nonce="{self._nonce}", algorithm=MD5{stale}'
                    await self._respond(writer, 401, "Unauthorized", b"", (("WWW-Authenticate", challenge),))
                    if not await self._skip_body(reader, request):
                        return  # a streamed upload's body (Dahua's 9,999,999 bytes) is not read: hang up
                    continue
                self._use_nonce()
                if not await self.route(request, reader, writer):
                    return  # the route consumed the connection
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            writer.close()

    async def route(self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Handle one authorised request; return False when the connection is used up (uploads)."""
        await self._skip_body(reader, request)
        await self._respond(writer, 404, "Not Found", b"")
        return True

    async def _read_request(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return Request(method, target, headers)

    async def _skip_body(self, reader: asyncio.StreamReader, request: Request) -> bool:
        """Read and drop the request's body; False when it is a stream too long to read (an upload)."""
        length = int(request.headers.get("content-length", "0") or 0)
        if length > 1_000_000:
            return False
        if length > 0:
            await reader.readexactly(length)
        return True

    async def _respond(
        self, writer: asyncio.StreamWriter, status: int, reason: str, body: bytes,
        headers: tuple[tuple[str, str], ...] = (), content_type: str = "application/xml",
    ) -> None:  # fmt: skip
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    def _new_upload(self, request: Request, content_type: str) -> Upload:
        upload = Upload(request.target, content_type, playback_buffer_s=self.playback_buffer_s)
        with self._lock:
            self._uploads.append(upload)
        return upload

    def _record(self, upload: Upload, data: bytes) -> None:
        with self._lock:
            upload.arrivals.append((time.monotonic(), data))

    def _end_upload(self, upload: Upload) -> None:
        with self._lock:
            upload.ended, upload.ended_at = True, time.monotonic()

    def _use_nonce(self) -> None:
        self._uses += 1
        if self._nonce_uses is not None and self._uses >= self._nonce_uses:
            self._retired.add(self._nonce)
            self._nonce, self._uses = secrets.token_hex(16), 0

    def _authorized(self, request: Request) -> bool | str:
        """Digest (RFC 7616, MD5, qop=auth) against this device's one user and nonce; "stale" for a request
        signed right with a retired nonce."""
        value = request.headers.get("authorization", "")
        if not value.lower().startswith("digest "):
            return False
        p = parse_challenges([value])[0].params
        nonce = p.get("nonce", "")
        if p.get("username") != self.username or p.get("uri") != request.target:
            return False
        if nonce != self._nonce:
            return "stale" if nonce in self._retired and self._signed_right(request, p, nonce) else False
        return self._signed_right(request, p, nonce)

    def _signed_right(self, request: Request, p: dict[str, str], nonce: str) -> bool:

        def h(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = h(f"{self.username}:{self.realm}:{self.password}")
        ha2 = h(f"{request.method}:{request.target}")
        expected = h(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{ha2}")
        return secrets.compare_digest(expected, p.get("response", ""))
