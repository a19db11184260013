"""A fake Hikvision ISAPI two-way audio device (the endpoints of TALKBACK_PROTOCOLS.md), Digest-protected.

``stale=True`` starts with a session left open (``open`` refused with ISAPI "Device Busy" until ``close``),
``busy=True`` refuses every ``open`` (another client holds the speaker). ``audioData`` is answered 200 and
then read raw until the client closes; the bytes and their arrival times are in ``uploads``.
"""

from __future__ import annotations

import asyncio

from shopwatch.sim.http_device import FakeHttpDevice, Request

BASE = "/ISAPI/System/TwoWayAudio/channels"
_BUSY = (
    b'<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
    b"<statusCode>3</statusCode><statusString>Device Busy</statusString><subStatusCode>deviceBusy</subStatusCode>"
    b"</ResponseStatus>"
)
_OK = b'<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0"><statusCode>1</statusCode></ResponseStatus>'


class FakeIsapi(FakeHttpDevice):
    def __init__(
        self, *, codec: str = "G.711ulaw", stale: bool = False, busy: bool = False, username: str = "admin",
        password: str = "pass1234",
    ) -> None:  # fmt: skip
        super().__init__(username, password)
        self.codec, self.busy = codec, busy
        self.session_open = stale
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
            self.session_open = False
            await self._respond(writer, 200, "OK", _OK)
        elif request.method == "PUT" and request.path == f"{BASE}/1/open":
            if self.session_open or self.busy:
                await self._respond(writer, 403, "Forbidden", _BUSY)
            else:
                self.session_open = True
                session = f"<TwoWayAudioSession><sessionId>{self._session_id}</sessionId></TwoWayAudioSession>"
                await self._respond(writer, 200, "OK", session.encode())
        elif request.method == "PUT" and request.path == f"{BASE}/1/audioData":
            if not self.session_open or request.query.get("sessionId") != self._session_id:
                await self._respond(writer, 403, "Forbidden", b"<statusString>Invalid Operation</statusString>")
                return True
            await self._respond(writer, 200, "OK", b"")
            upload = self._new_upload(request, request.headers.get("content-type", ""))
            try:
                while chunk := await reader.read(4096):
                    self._record(upload, chunk)
            finally:
                upload.ended = True
            return False
        else:
            await self._respond(writer, 404, "Not Found", b"")
        return True
