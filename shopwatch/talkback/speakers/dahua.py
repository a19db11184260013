"""Dahua CGI audio upload (``dahua://user:pass@host:80/?channel=1&httptype=singlepart|multipart&codec=PCMA``).

``POST /cgi-bin/audio.cgi?action=postAudio&httptype=singlepart&channel=1`` with ``Content-Type: Audio/G.711A``
(or ``Audio/G.711Mu``) and a very large ``Content-Length``, then the raw stream; the device plays what arrives
and the talk ends when the connection closes (Dahua HTTP API "Post Audio Stream"). Some firmware answers
``200 OK`` as soon as it has the head and goes on reading: that answer does not end the upload. ``httptype=multipart``
wraps each 20 ms frame in its own part of a ``multipart/x-mixed-replace`` body. Digest auth: the device is
challenged first with ``magicBox.cgi?action=getDeviceType`` (cheap, and it proves the login), so the long
upload goes out signed. Dahua firmware takes each nonce once: the upload signed with the nonce the query used
is answered ``401`` with a new one (``stale=true``) while audio already flows. The upload then starts again,
signed with the fresh nonce, and the device gets again what it discarded (up to ``REPLAY_BYTES``).
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from shopwatch.core.redact import redact_url
from shopwatch.rtsp.digest import DigestSigner
from shopwatch.talkback.errors import TalkbackUnreachable, UnsupportedTalkCodec
from shopwatch.talkback.g711 import Codec
from shopwatch.talkback.speakers.http_upload import HttpxAuth, RawUpload, plain_refusal
from shopwatch.talkback.speakers.link import EncodedFrame
from shopwatch.talkback.target import TalkTarget

REQUEST_TIMEOUT_S = 5.0
# "Very large": the device reads until the connection closes. 9,999,999 is the value of Dahua's HTTP API
# example ("Post Audio Stream"); some firmware rejects longer ones. At 8,000 bytes a second that is ~20 min of
# G.711: a longer talk continues on a new upload (``send``).
STREAM_LENGTH = 9_999_999
# What a device that refused an upload's nonce is sent again on the new upload: 2 s of G.711, far more than
# the round trip its refusal takes.
REPLAY_BYTES = 16_000
PROBE_PATH = "/cgi-bin/magicBox.cgi?action=getDeviceType"
CONTENT_TYPES: dict[Codec, str] = {"PCMA": "Audio/G.711A", "PCMU": "Audio/G.711Mu"}


class DahuaLink:
    """``SpeakerLink`` for ``dahua://`` targets."""

    protocol = "dahua"

    def __init__(self, target: TalkTarget) -> None:
        parts = urlsplit(target.url)
        self._host, self._port = parts.hostname or "", parts.port or 80
        self._shown = redact_url(target.url)
        query = parse_qs(parts.query)
        self._channel = query.get("channel", ["1"])[0]
        self._multipart = query.get("httptype", ["singlepart"])[0] == "multipart"
        self._codec = query.get("codec", [""])[0].upper()
        self._auth = DigestSigner(unquote(parts.username or ""), unquote(parts.password or ""))
        self._upload = self._new_upload()
        self._boundary = secrets.token_hex(8)
        self._content_type = ""
        self._written = 0  # bytes of body on the current upload
        self._first = bytearray()  # its first REPLAY_BYTES, for a new upload if the device refuses the nonce
        self._resigned = False  # the current upload was already started again with a fresh nonce

    def _new_upload(self) -> RawUpload:
        return RawUpload(self._host, self._port, self._shown, plain_refusal(self._shown, "audio upload"))

    async def open(self, codecs: tuple[Codec, ...]) -> Codec:
        codec = self.choose(codecs)
        await self._probe()
        self._content_type = CONTENT_TYPES[codec]
        await self._start_upload()
        return codec

    async def _start_upload(self) -> None:
        # The device answers when the upload ends, at once when it refuses, or (some firmware) with an early
        # 200 while it goes on reading: watch, don't wait.
        await self._upload.start(self._head, await_answer=False, auth=self._auth)
        self._written = 0
        self._first.clear()

    def _head(self) -> bytes:
        path = (f"/cgi-bin/audio.cgi?action=postAudio&httptype={'multipart' if self._multipart else 'singlepart'}"
                f"&channel={self._channel}")  # fmt: skip
        body_type = f"multipart/x-mixed-replace; boundary={self._boundary}" if self._multipart else self._content_type
        head = [f"POST {path} HTTP/1.1", f"Host: {self._host}:{self._port}", f"Content-Type: {body_type}",
                f"Content-Length: {STREAM_LENGTH}", "Connection: close"]  # fmt: skip
        signed = self._auth.authorization("POST", path)
        if signed is not None:
            head.append(f"Authorization: {signed}")
        return ("\r\n".join(head) + "\r\n\r\n").encode()

    def choose(self, codecs: tuple[Codec, ...]) -> Codec:
        if self._codec:
            if self._codec not in codecs:
                raise UnsupportedTalkCodec(f"{self._shown} asks for codec {self._codec}; expected PCMU or PCMA")
            return "PCMU" if self._codec == "PCMU" else "PCMA"
        # A-law first: the codec of Dahua's API examples and their firmware's default talk encoding.
        return "PCMA" if "PCMA" in codecs else codecs[0]

    async def device_type(self) -> str:
        """The device's answer to ``getDeviceType`` (it proves the login), opening nothing (``--probe``)."""
        return await self._probe()

    async def _probe(self) -> str:
        async with httpx.AsyncClient(
            base_url=f"http://{self._host}:{self._port}", auth=HttpxAuth(self._auth), timeout=REQUEST_TIMEOUT_S
        ) as http:
            try:
                response = await http.get(PROBE_PATH)
            except httpx.TransportError as exc:
                raise TalkbackUnreachable(f"cannot reach {self._shown}: {type(exc).__name__}") from None
        if not response.is_success:
            raise plain_refusal(self._shown, f"device type query ({PROBE_PATH})")(response.status_code, b"")
        return response.text.strip().removeprefix("type=")

    async def send(self, frame: EncodedFrame) -> None:
        data = frame.payload
        if self._multipart:
            data = (f"--{self._boundary}\r\nContent-Type: {self._content_type}\r\n"
                    f"Content-Length: {len(frame.payload)}\r\n\r\n").encode() + frame.payload + b"\r\n"  # fmt: skip
        if self._written + len(data) > STREAM_LENGTH:  # the declared length is used up: go on on a new upload
            await self._upload.close()
            self._upload = self._new_upload()
            await self._probe()  # a fresh challenge for the new request
            await self._start_upload()
            self._resigned = False
        await self._resign_if_stale()
        await self._write(data)

    async def _write(self, data: bytes) -> None:
        await self._upload.write(data)
        self._written += len(data)
        if len(self._first) + len(data) <= REPLAY_BYTES:  # whole writes only: a multipart part stays whole
            self._first += data

    async def _resign_if_stale(self) -> None:
        """The device refused the upload's nonce (see the module doc): once per upload, start it again signed
        with the fresh nonce and send what the refused one carried. A second refusal is the device's answer."""
        if not self._upload.stale or self._resigned:
            return
        replay = bytes(self._first)
        await self._upload.close()
        self._upload = self._new_upload()
        await self._start_upload()
        self._resigned = True
        if replay:
            await self._write(replay)

    async def flush(self) -> None:
        """Nothing is held back: each frame went out as it came. A nonce refused after the last frame still
        gets its new upload."""
        await self._resign_if_stale()

    async def close(self) -> None:
        await self._upload.close()
