"""A fake Hikvision ISAPI two-way audio device (the endpoints of TALKBACK_PROTOCOLS.md), Digest-protected.

It refuses the way Hikvision firmware does: HTTP 403 with a ``ResponseStatus`` whose ``statusCode`` and
``subStatusCode`` say why (Hikvision SDK manual: 2 Device Busy, 4 Invalid Operation; sub-status
``twoWayAudioInProgressPleaseWait`` when another client holds the audio channel, ``notSupport`` when the
firmware lacks it). Modes:

- ``stale=True``: a session left open by another client: ``open`` is refused (in progress) until a ``close``.
- ``refuse_open="in_progress" | "busy" | "not_supported"``: every ``open`` is refused that way.
- ``strict_close=True``: a ``close`` with nothing open is refused (403, statusCode 4, ``invalidOperation``).
- ``nonce_uses`` / ``playback_buffer_s``: see ``http_device``.

``audioData`` is answered 200 and then read raw until the client closes; the bytes and their arrival times are
in ``uploads``.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from shopwatch.sim.http_device import FakeHttpDevice, Request

BASE = "/ISAPI/System/TwoWayAudio/channels"
OpenRefusal = Literal["in_progress", "busy", "not_supported"]


def response_status(code: int, text: str, sub: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" '
        f'xmlns="http://www.hikvision.com/ver20/XMLSchema"><requestURL>{BASE}</requestURL>'
        f"<statusCode>{code}</statusCode><statusString>{text}</statusString>"
        f"<subStatusCode>{sub}</subStatusCode></ResponseStatus>"
    ).encode()


REFUSALS: dict[str, bytes] = {
    "in_progress": response_status(4, "Invalid Operation", "twoWayAudioInProgressPleaseWait"),
    "busy": response_status(2, "Device Busy", "deviceBusy"),
    "not_supported": response_status(4, "Invalid Operation", "notSupport"),
}
_OK = response_status(1, "OK", "ok")
_NOTHING_OPEN = response_status(4, "Invalid Operation", "invalidOperation")


class FakeIsapi(FakeHttpDevice):
    def __init__(
        self, *, codec: str = "G.711ulaw", stale: bool = False, busy: bool = False,
        refuse_open: OpenRefusal | None = None, strict_close: bool = False, username: str = "admin",
        password: str = "pass1234", nonce_uses: int | None = None, playback_buffer_s: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__(username, password, nonce_uses=nonce_uses, playback_buffer_s=playback_buffer_s)
        self.codec = codec
        self.refuse_open: OpenRefusal | None = "in_progress" if busy else refuse_open
        self.strict_close = strict_close
        self.session_open = stale
        self.refused_closes = 0
        self._session_id = "7"

    def url(self, *, password: str | None = None, channel: int = 1) -> str:
        return f"isapi://{self.username}:{password or self.password}@127.0.0.1:{self.port}/?channel={channel}"

    async def route(self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await self._skip_body(reader, request)
        if request.method == "GET" and request.path == BASE:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?><TwoWayAudioChannelList version="2.0" '
                'xmlns="http://www.hikvision.com/ver20/XMLSchema"><TwoWayAudioChannel><id>1</id>'
                f"<enabled>false</enabled><audioCompressionType>{self.codec}</audioCompressionType>"
                "</TwoWayAudioChannel></TwoWayAudioChannelList>"
            ).encode()
            await self._respond(writer, 200, "OK", body)
        elif request.method == "PUT" and request.path == f"{BASE}/1/close":
            await self._close(writer)
        elif request.method == "PUT" and request.path == f"{BASE}/1/open":
            await self._open(writer)
        elif request.method == "PUT" and request.path == f"{BASE}/1/audioData":
            if not self.session_open or request.query.get("sessionId") != self._session_id:
                await self._respond(writer, 403, "Forbidden", _NOTHING_OPEN)
                return True
            await self._respond(writer, 200, "OK", b"")
            upload = self._new_upload(request, request.headers.get("content-type", ""))
            try:
                while chunk := await reader.read(4096):
                    self._record(upload, chunk)
            finally:
                self._end_upload(upload)
            return False
        else:
            await self._respond(writer, 404, "Not Found", b"")
        return True

    async def _open(self, writer: asyncio.StreamWriter) -> None:
        if self.session_open:
            await self._respond(writer, 403, "Forbidden", REFUSALS["in_progress"])
        elif self.refuse_open is not None:
            await self._respond(writer, 403, "Forbidden", REFUSALS[self.refuse_open])
        else:
            self.session_open = True
            session = f"<TwoWayAudioSession><sessionId>{self._session_id}</sessionId></TwoWayAudioSession>"
            await self._respond(writer, 200, "OK", session.encode())

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        if self.strict_close and not self.session_open:
            self.refused_closes += 1
            await self._respond(writer, 403, "Forbidden", _NOTHING_OPEN)
            return
        self.session_open = False
        await self._respond(writer, 200, "OK", _OK)
