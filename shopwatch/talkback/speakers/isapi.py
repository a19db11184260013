"""Hikvision ISAPI two-way audio (``isapi://user:pass@host:80/?channel=1``), TALKBACK_PROTOCOLS.md.

1. ``GET /ISAPI/System/TwoWayAudio/channels``: each channel's ``id`` and ``audioCompressionType``.
2. ``PUT .../channels/<id>/close`` first: a session left open by a crashed client makes ``open`` fail. Its
   answer is not checked: with nothing open many firmwares answer 403, statusCode 4 (go2rtc ignores it too).
3. ``PUT .../open``: the answer may carry ``<sessionId>``.
4. ``PUT .../audioData[?sessionId=]`` with ``Content-Length: 0``, then raw G.711 on that connection at real-time
   pace (160 bytes per 20 ms) for as long as the talk lasts.
5. ``PUT .../close`` when done, also after errors.

Refusals are read from the device's ``ResponseStatus`` (``isapi_status``): busy, not supported, a refused
operation and a login problem each become their own error with a sentence for the operator.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from shopwatch.core.redact import redact_url
from shopwatch.rtsp.digest import DigestSigner
from shopwatch.talkback.errors import (
    NoBackchannel,
    TalkbackError,
    TalkbackProtocolError,
    TalkbackUnreachable,
    UnsupportedTalkCodec,
)
from shopwatch.talkback.g711 import Codec
from shopwatch.talkback.speakers.http_upload import HttpxAuth, RawUpload
from shopwatch.talkback.speakers.isapi_status import refusal
from shopwatch.talkback.speakers.link import EncodedFrame
from shopwatch.talkback.target import TalkTarget

REQUEST_TIMEOUT_S = 5.0
CHANNELS_PATH = "/ISAPI/System/TwoWayAudio/channels"
_CODECS: dict[str, Codec] = {"G.711ulaw": "PCMU", "G.711alaw": "PCMA"}


def parse_channels(xml: bytes) -> list[tuple[str, str]]:
    """``TwoWayAudioChannelList`` -> [(id, audioCompressionType)], whatever the XML namespace."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise TalkbackProtocolError(f"expected a TwoWayAudioChannelList XML document, found: {exc}") from None
    out: list[tuple[str, str]] = []
    for element in root.iter():
        if _local(element.tag) == "TwoWayAudioChannel":
            fields = {_local(child.tag): (child.text or "").strip() for child in element}
            out.append((fields.get("id", ""), fields.get("audioCompressionType", "")))
    return out


def parse_session_id(xml: bytes) -> str | None:
    """The ``sessionId`` of a ``TwoWayAudioSession`` answer to ``open``, if any (older firmware sends none)."""
    with contextlib.suppress(ET.ParseError):
        for element in ET.fromstring(xml).iter():
            if _local(element.tag) == "sessionId" and element.text and element.text.strip():
                return element.text.strip()
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class IsapiLink:
    """``SpeakerLink`` for ``isapi://`` targets."""

    protocol = "isapi"

    def __init__(self, target: TalkTarget) -> None:
        parts = urlsplit(target.url)
        self._host, self._port = parts.hostname or "", parts.port or 80
        self._shown = redact_url(target.url)
        self._wanted = parse_qs(parts.query).get("channel", [""])[0]
        auth = DigestSigner(unquote(parts.username or ""), unquote(parts.password or ""))
        self._auth = auth
        self._http = httpx.AsyncClient(
            base_url=f"http://{self._host}:{self._port}", auth=HttpxAuth(auth), timeout=REQUEST_TIMEOUT_S
        )
        self._upload = RawUpload(self._host, self._port, self._shown, self._upload_refused)
        self._channel: str | None = None
        self._opened = False

    async def channels(self) -> list[tuple[str, str]]:
        """[(id, audioCompressionType)] of the device's two-way audio channels, opening nothing (``--probe``)."""
        try:
            return parse_channels(await self._call("GET", CHANNELS_PATH, "list two-way audio channels"))
        finally:
            await self._http.aclose()

    async def open(self, codecs: tuple[Codec, ...]) -> Codec:
        channels = parse_channels(await self._call("GET", CHANNELS_PATH, "list two-way audio channels"))
        if not channels:
            raise NoBackchannel(f"{self._shown} lists no two-way audio channel")
        by_id = dict(channels)
        channel = self._wanted or channels[0][0]
        if channel not in by_id:
            raise NoBackchannel(f"{self._shown}: expected two-way audio channel {channel}, found {sorted(by_id)}")
        codec = _CODECS.get(by_id[channel])
        if codec is None or codec not in codecs:
            raise UnsupportedTalkCodec(f"{self._shown} channel {channel} speaks {by_id[channel]!r}; expected G.711")
        self._channel = channel
        base = f"{CHANNELS_PATH}/{channel}"
        await self._call("PUT", f"{base}/close", "close a stale two-way audio session", check=False)
        self._opened = True
        session_id = parse_session_id(await self._call("PUT", f"{base}/open", "open two-way audio"))
        path = f"{base}/audioData" + (f"?sessionId={session_id}" if session_id else "")
        await self._upload.start(lambda: self._upload_head(path), await_answer=True, auth=self._auth)
        return codec

    def _upload_head(self, path: str) -> bytes:
        head = [f"PUT {path} HTTP/1.1", f"Host: {self._host}:{self._port}", "Content-Type: application/octet-stream",
                "Content-Length: 0", "Connection: keep-alive"]  # fmt: skip
        signed = self._auth.authorization("PUT", path)
        if signed is not None:
            head.append(f"Authorization: {signed}")
        return ("\r\n".join(head) + "\r\n\r\n").encode()

    def _upload_refused(self, status: int, body: bytes) -> TalkbackError:
        return refusal(self._shown, "send audio (PUT audioData)", status, body)

    async def send(self, frame: EncodedFrame) -> None:
        await self._upload.write(frame.payload)

    async def flush(self) -> None:
        """Nothing is held back: each frame went out as it came."""

    async def close(self) -> None:
        await self._upload.close()
        if self._opened and self._channel is not None:
            with contextlib.suppress(TalkbackError):
                await self._call("PUT", f"{CHANNELS_PATH}/{self._channel}/close", "close two-way audio")
        await self._http.aclose()

    async def _call(self, method: str, path: str, what: str, *, check: bool = True) -> bytes:
        try:
            response = await self._http.request(method, path)
        except httpx.TimeoutException:
            raise TalkbackUnreachable(f"{self._shown} did not answer ({what}) within {REQUEST_TIMEOUT_S} s") from None
        except httpx.TransportError as exc:
            raise TalkbackUnreachable(f"cannot reach {self._shown} ({what}): {type(exc).__name__}") from None
        if response.is_success or not check:
            return response.content
        raise refusal(self._shown, f"{what} ({method} {path})", response.status_code, response.content)
