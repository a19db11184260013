"""The HTTP side shared by the vendor speaker protocols (Hikvision ISAPI, Dahua CGI).

Control requests (channel list, open, close) go through httpx with ``HttpxAuth``, which signs from the same
``DigestSigner`` as the audio upload and takes a fresh challenge whenever a signed request is answered 401
(an expired or ``stale`` nonce; go2rtc asks for a new challenge per request for the same reason). The upload
itself is not a normal HTTP body: Hikvision takes a PUT with ``Content-Length: 0``, answers it, then reads raw
G.711 from the same connection (as go2rtc's ISAPI client does); Dahua takes a POST with a huge Content-Length
and the stream behind it. ``RawUpload`` writes such a request head on its own connection, then the audio as
it comes, and watches the connection for an answer or a close that means the device gave up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Generator

import httpx

from shopwatch.rtsp.digest import AuthUnsupported, DigestSigner
from shopwatch.talkback.errors import (
    NoBackchannel,
    SpeakerBusy,
    TalkbackAuthError,
    TalkbackError,
    TalkbackProtocolError,
    TalkbackUnreachable,
)

CONNECT_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 2.0
MAX_ANSWER_BYTES = 65_536

# (HTTP status, body) of a refusal -> the error it means (vendor specific: ISAPI reads its ResponseStatus)
Refusal = Callable[[int, bytes], TalkbackError]
# Builds the upload's request head, signed with the signer's current challenge (built again after a 401)
HeadBuilder = Callable[[], bytes]


class HttpxAuth(httpx.Auth):
    """httpx authentication backed by a ``DigestSigner``: after one 401 every request is signed at once; a
    signed request answered 401 with a new (or ``stale``) nonce is signed again once with it."""

    def __init__(self, auth: DigestSigner) -> None:
        self._auth = auth

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        uri = request.url.raw_path.decode("ascii")
        value = self._auth.authorization(request.method, uri)
        if value is not None:
            request.headers["Authorization"] = value
        response = yield request
        if response.status_code != 401:
            return
        challenges = response.headers.get_list("www-authenticate")
        try:
            retry = self._auth.rechallenge(challenges) if value is not None else self._take(challenges)
        except AuthUnsupported as exc:
            raise TalkbackAuthError(str(exc)) from None
        if not retry:
            return  # the same nonce refused the credentials: the caller reads the 401
        signed = self._auth.authorization(request.method, uri)
        assert signed is not None
        request.headers["Authorization"] = signed
        yield request

    def _take(self, challenges: list[str]) -> bool:
        self._auth.challenge(challenges)
        return True


class RawUpload:
    """One streamed upload on its own TCP connection (see the module doc)."""

    def __init__(self, host: str, port: int, shown: str, refusal: Refusal) -> None:
        self._host, self._port, self._shown = host, port, shown
        self._refusal = refusal
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._watch: asyncio.Task[None] | None = None
        self.failure: TalkbackError | None = None
        self.answer: str | None = None  # the status line of an early 2xx the device sent while reading on
        # The device refused the upload for its nonce alone (used up, or ``stale``), and the signer now holds
        # the fresh challenge: a new upload may go on (Dahua firmware takes each nonce once).
        self.stale = False
        self._auth: DigestSigner | None = None

    async def start(self, head: HeadBuilder, *, await_answer: bool, auth: DigestSigner | None = None) -> None:
        """Connect and send the request head. ``await_answer``: read the device's answer first and fail unless
        2xx (a 401 with a new nonce is answered once more, signed afresh through ``auth``); otherwise start
        watching the connection for an early refusal while audio flows (a 401 with a new nonce sets ``stale``
        and takes the fresh challenge into ``auth``)."""
        self._auth = auth
        await self._connect()
        self._send(head())
        if await_answer:
            status, headers, body = await self._answer()
            if status == 401 and auth is not None and _retry_worth(auth, headers.get("www-authenticate", [])):
                await self._disconnect()
                await self._connect()
                self._send(head())
                status, headers, body = await self._answer()
            if not 200 <= status < 300:
                raise self._refusal(status, body)
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
        await self._disconnect()

    # connection --------------------------------------------------------------------------------------------

    async def _connect(self) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):  # not wait_for: on 3.11 it can drop a cancel
                self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or type(exc).__name__
            raise TalkbackUnreachable(f"cannot connect to {self._shown}: {reason}") from None

    def _send(self, head: bytes) -> None:
        assert self._writer is not None
        self._writer.write(head)

    async def _disconnect(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), 1.0)
            self._writer = None

    async def _answer(self) -> tuple[int, dict[str, list[str]], bytes]:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                return await self._read_answer()
        except TimeoutError:
            raise TalkbackUnreachable(f"{self._shown} did not answer the audio upload") from None
        except (asyncio.IncompleteReadError, OSError):
            raise TalkbackUnreachable(f"{self._shown} closed the connection instead of answering the upload") from None
        except (asyncio.LimitOverrunError, ValueError):
            raise TalkbackProtocolError(f"{self._shown} sent a malformed answer to the audio upload") from None

    async def _read_answer(self) -> tuple[int, dict[str, list[str]], bytes]:
        """One HTTP answer: status, headers (lower-case names, every value), body (by Content-Length)."""
        assert self._reader is not None
        head = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        self.answer = lines[0]
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ValueError(f"expected an HTTP status line, found {lines[0]!r}")
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers.setdefault(name.strip().lower(), []).append(value.strip())
        length = int((headers.get("content-length") or ["0"])[0] or 0)
        body = await self._reader.readexactly(min(length, MAX_ANSWER_BYTES)) if length > 0 else b""
        return int(parts[1]), headers, body

    async def _watch_connection(self) -> None:
        """A refusal while we stream ends the upload; record why for the next write. A 2xx is not an end:
        Dahua firmware answers ``200 OK`` at once and goes on reading (and playing) what follows."""
        try:
            while True:
                status, headers, body = await self._read_answer()
                if not 200 <= status < 300:
                    if status == 401 and self._auth is not None:
                        self.stale = _retry_worth(self._auth, headers.get("www-authenticate", []))
                    self.failure = self._refusal(status, body)
                    return
        except TalkbackAuthError as exc:  # a challenge shopwatch cannot answer
            self.failure = exc
        except (asyncio.IncompleteReadError, OSError):
            self.failure = TalkbackUnreachable(f"{self._shown} closed the audio connection")
        except (asyncio.LimitOverrunError, ValueError):
            self.failure = TalkbackProtocolError(f"{self._shown} sent a malformed answer to the audio upload")


def _retry_worth(auth: DigestSigner, challenges: list[str]) -> bool:
    try:
        return auth.rechallenge(challenges)
    except AuthUnsupported as exc:
        raise TalkbackAuthError(str(exc)) from None


def plain_refusal(shown: str, what: str) -> Refusal:
    """For devices that say nothing more than the HTTP status (Dahua CGIs): 401/403 are the login."""

    def refusal(status: int, body: bytes) -> TalkbackError:  # noqa: ARG001 - the body holds only "Error"
        text = f"{what}: HTTP {status}"
        if status in (401, 403):
            return TalkbackAuthError(f"{shown}: the camera refused shopwatch's login; check its user and password"
                                     f" ({text})")  # fmt: skip
        if status == 404:
            return NoBackchannel(f"{shown}: this camera does not take audio over HTTP ({text})")
        if status == 503:
            return SpeakerBusy(f"{shown}: the camera is busy and cannot talk now; try again shortly ({text})")
        return TalkbackProtocolError(f"{shown}: the camera refused {text}")

    return refusal
