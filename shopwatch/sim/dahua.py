"""A fake Dahua device: ``magicBox.cgi?action=getDeviceType`` and ``audio.cgi?action=postAudio``
(singlepart and multipart), Digest-protected. Upload payloads (multipart parts unwrapped) and their arrival
times are in ``uploads``; the content type of each part is checked against the upload's. ``early_ok=True``
answers ``200 OK`` as soon as the upload's head is in and goes on reading, as some Dahua firmware does;
``nonce_uses`` and ``playback_buffer_s`` as in ``http_device``: ``nonce_uses=1`` is Dahua's single-use nonce
(a second request signed with it is answered ``401`` with ``stale=true`` and a new nonce)."""

from __future__ import annotations

import asyncio

from shopwatch.sim.http_device import FakeHttpDevice, Request, Upload


class FakeDahua(FakeHttpDevice):
    def __init__(
        self, *, early_ok: bool = False, nonce_uses: int | None = None, playback_buffer_s: float = 0.0
    ) -> None:
        super().__init__(nonce_uses=nonce_uses, playback_buffer_s=playback_buffer_s)
        self.early_ok = early_ok
        self.content_lengths: list[int] = []

    def url(self, *, httptype: str = "singlepart", password: str | None = None) -> str:
        login = f"{self.username}:{password or self.password}"
        return f"dahua://{login}@127.0.0.1:{self.port}/?channel=1&httptype={httptype}"

    async def route(self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if request.path == "/cgi-bin/magicBox.cgi" and request.query.get("action") == "getDeviceType":
            await self._skip_body(reader, request)
            await self._respond(writer, 200, "OK", b"type=IPC-HDW2431T\r\n", content_type="text/plain")
            return True
        post_audio = request.path == "/cgi-bin/audio.cgi" and request.query.get("action") == "postAudio"
        if request.method == "POST" and post_audio:
            content_type = request.headers.get("content-type", "")
            self.content_lengths.append(int(request.headers.get("content-length", "0")))
            upload = self._new_upload(request, content_type)
            if self.early_ok:
                await self._respond(writer, 200, "OK", b"OK\r\n", content_type="text/plain")
            try:
                if request.query.get("httptype") == "multipart":
                    await self._read_parts(reader, content_type, upload)
                else:
                    while chunk := await reader.read(4096):
                        self._record(upload, chunk)
            finally:
                self._end_upload(upload)
            return False
        await self._skip_body(reader, request)
        await self._respond(writer, 404, "Not Found", b"", content_type="text/plain")
        return True

    async def _read_parts(self, reader: asyncio.StreamReader, content_type: str, upload: Upload) -> None:
        boundary = content_type.partition("boundary=")[2].strip()
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = head.decode("latin-1").strip().split("\r\n")
            if lines[0] != f"--{boundary}":
                raise ValueError(f"expected part boundary --{boundary}, found {lines[0]!r}")
            fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            payload = await reader.readexactly(int(fields["content-length"]))
            await reader.readexactly(2)  # CRLF after the part
            self._record(upload, payload)
