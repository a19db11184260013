"""The HTTP side shared by the vendor speaker protocols (Hikvision ISAPI, Dahua CGI).

Control requests (channel list, open, close) go through httpx with ``HttpxAuth``, which signs from the same
``DigestSigner`` as the audio upload. The upload itself is not a normal HTTP body: Hikvision takes a PUT with
``Content-Length: 0``, answers it, then reads raw G.711 from the same connection (as go2rtc's ISAPI client
does); Dahua takes a POST with a huge Content-Length and the stream behind it. ``RawUpload`` writes such a
request head on its own connection, then the audio as it comes, and watches the connection for an answer
or a close that means the device gave up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import httpx

from shopwatch.talkback.errors import TalkbackAuthError, TalkbackError, TalkbackProtocolError, TalkbackUnreachable
from shopwatch.talkback.speakers.digest import AuthUnsupported, DigestSigner

CONNECT_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 2.0


class HttpxAuth(httpx.Auth):
    """httpx authentication backed by an ``DigestSigner``: after one 401 every request is signed at once."""

    def __init__(self, auth: DigestSigner) -> None:
        self._auth = auth

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        uri = request.url.raw_path.decode("ascii")
        value = self._auth.authorization(request.method, uri)
        if value is not None:
            request.headers["Authorization"] = value
        response = yield request
        if response.status_code != 401 or value is not None:
            return
        try:
            self._auth.challenge(response.headers.get_list("www-authenticate"))
        except AuthUnsupported as exc:
            raise TalkbackAuthError(str(exc)) from None
        signed = self._auth.authorization(request.method, uri)
        assert signed is not None
        request.headers["Authorization"] = signed
        yield request


def status_error(what: str, response: httpx.Response) -> TalkbackError:
    """The error for a refused control request; 401/403 are the credentials."""
    text = f"{what}: {response.status_code} {response.reason_phrase}"
    if response.status_code in (401, 403) and b"deviceBusy" not in response.content:
        return TalkbackAuthError(f"device refused the credentials ({text})")
    return TalkbackProtocolError(f"device refused {text}")


class RawUpload:
    """One streamed upload on its own TCP connection (see the module doc)."""

    def __init__(self, host: str, port: int, shown: str) -> None:
        self._host, self._port, self._shown = host, port, shown
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._watch: asyncio.Task[None] | None = None
        self.failure: TalkbackError | None = None

    async def start(self, head: bytes, *, await_answer: bool) -> None:
        """Connect and send ``head``. ``await_answer``: read the device's answer first and fail unless 2xx;
        otherwise start watching the connection for an early refusal while audio flows."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):  # not wait_for: on 3.11 it can drop a cancel
                self._reader, writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__
            raise TalkbackUnreachable(f"cannot connect to {self._shown}: {reason}") from None
        self._writer = writer
        writer.write(head)
        if await_answer:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    status_line = await self._read_head()
            except TimeoutError:
                raise TalkbackUnreachable(f"{self._shown} did not answer the audio upload") from None
            self._check(status_line)
        self._watch = asyncio.create_task(self._watch_connection(), name=f"upload watch {self._shown}")

    async def write(self, data: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        assert self._writer is not None, "write() before start()"
        try:
            self._writer.write(data)
            async with asyncio.timeout(WRITE_TIMEOUT_S):  # not wait_for: on 3.11 it can drop a cancel
                await self._writer.drain()
        except TimeoutError:
            raise TalkbackUnreachable(f"{self._shown} stopped reading the audio for {WRITE_TIMEOUT_S} s") from None
        except OSError as exc:
            raise TalkbackUnreachable(f"audio connection to {self._shown} broke: {exc.strerror or exc}") from None

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), 1.0)

    async def _read_head(self) -> str:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        return head.split(b"\r\n", 1)[0].decode("latin-1")

    def _check(self, status_line: str) -> None:
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if status in (401, 403):
            raise TalkbackAuthError(f"device refused the credentials for the audio upload ({status_line})")
        if not 200 <= status < 300:
            raise TalkbackProtocolError(f"device refused the audio upload to {self._shown}: {status_line!r}")

    async def _watch_connection(self) -> None:
        """Any answer while we stream is the device ending the upload; record why for the next write."""
        try:
            status_line = await self._read_head()
            self._check(status_line)
            self.failure = TalkbackUnreachable(f"{self._shown} ended the audio upload ({status_line})")
        except TalkbackError as exc:
            self.failure = exc
        except (asyncio.IncompleteReadError, OSError):
            self.failure = TalkbackUnreachable(f"{self._shown} closed the audio connection")
        except asyncio.LimitOverrunError:
            self.failure = TalkbackProtocolError(f"{self._shown} sent an oversized answer to the audio upload")
