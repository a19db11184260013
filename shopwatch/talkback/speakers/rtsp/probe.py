"""Does a camera's RTSP stream offer an ONVIF audio backchannel? One DESCRIBE tells, without talking.

ONVIF Streaming Spec "Back channel connection": a client that sends ``Require: www.onvif.org/ver20/backchannel``
gets an SDP with a ``sendonly`` audio track when the camera has one, and ``551 Option not supported`` (or an
``Unsupported`` header) when it does not. A media profile with an audio output only says that the device has
a speaker; this says that the stream talkback will use accepts audio. No session is set up, so there is nothing
to tear down. ``BackchannelProbe`` is the sans-IO core; ``probe_backchannel`` moves its bytes over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from shopwatch.core.redact import redact_url, strip_credentials
from shopwatch.rtsp.digest import AuthUnsupported, DigestSigner
from shopwatch.rtsp.messages import (
    NEED_DATA,
    RtspProtocolError,
    RtspReader,
    RtspRequest,
    RtspResponse,
)
from shopwatch.rtsp.sdp import parse_sdp
from shopwatch.talkback.speakers.rtsp.client import BACKCHANNEL_TAG, USER_AGENT
from shopwatch.talkback.speakers.rtsp.sdp import offered

READ_CHUNK = 65536


@dataclass(frozen=True)
class BackchannelOffer:
    """``offered``: True (a sendonly audio track), False (refused or absent), None (could not tell: ``detail``
    says why). ``codecs``: the track's encodings (``PCMU/8000``); ``detail`` is redacted."""

    offered: bool | None
    codecs: tuple[str, ...] = ()
    detail: str = ""


class BackchannelProbe:
    """One DESCRIBE with the backchannel tag, signed again once after a 401. Send ``start()``; feed each
    response to ``handle``, send what it returns; ``result`` is set once the answer is known."""

    def __init__(self, url: str, auth: DigestSigner | None) -> None:
        self.url = strip_credentials(url)
        self._auth = auth
        self._cseq = 0
        self._signed = False
        self.result: BackchannelOffer | None = None

    def start(self) -> bytes:
        return self._describe()

    def _describe(self) -> bytes:
        self._cseq += 1
        headers = [
            ("CSeq", str(self._cseq)),
            ("User-Agent", USER_AGENT),
            ("Require", BACKCHANNEL_TAG),
            ("Accept", "application/sdp"),
        ]
        value = self._auth.authorization("DESCRIBE", self.url) if self._auth is not None else None
        if value is not None:
            headers.append(("Authorization", value))
            self._signed = True
        return bytes(RtspRequest("DESCRIBE", self.url, tuple(headers)))

    def handle(self, response: RtspResponse) -> bytes | None:
        if response.cseq != self._cseq:
            return None  # not the answer to our latest request
        shown = redact_url(self.url)
        if response.status == 401:
            if self._auth is None or self._signed:
                why = "the URL has no login" if self._auth is None else "the credentials were refused"
                self.result = BackchannelOffer(None, detail=f"DESCRIBE {shown}: 401 ({why})")
                return None
            try:
                self._auth.challenge(response.headers.get("www-authenticate", []))
            except AuthUnsupported as exc:
                self.result = BackchannelOffer(None, detail=f"DESCRIBE {shown}: {exc}")
                return None
            return self._describe()
        if response.status == 551 or BACKCHANNEL_TAG in (response.header("unsupported") or ""):
            self.result = BackchannelOffer(False, detail=f"{shown} answers {response.status}: no backchannel")
        elif 200 <= response.status < 300:
            codecs = tuple(offered(parse_sdp(response.body.decode("utf-8", "replace"))))
            detail = f"{shown} offers {', '.join(codecs)}" if codecs else f"{shown} has no sendonly audio track"
            self.result = BackchannelOffer(bool(codecs), codecs, detail)
        else:
            reason = f"{response.status} {response.reason}"
            self.result = BackchannelOffer(None, detail=f"DESCRIBE {shown}: {reason}")
        return None


async def probe_backchannel(url: str, username: str, password: str, *, timeout_s: float) -> BackchannelOffer:
    """Ask the RTSP server of ``url`` (credentials apart, or in the URL) within ``timeout_s``; never raises for
    the camera's failures: they come back as ``offered=None`` with the reason."""
    parts = urlsplit(url)
    username = username or unquote(parts.username or "")
    password = password or unquote(parts.password or "")
    probe = BackchannelProbe(url, DigestSigner(username, password) if username else None)
    shown = redact_url(probe.url)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 554)
            rtsp = RtspReader()
            writer.write(probe.start())
            while probe.result is None:
                data = await reader.read(READ_CHUNK)
                rtsp.receive_data(data)
                while probe.result is None and (event := rtsp.next_event()) is not NEED_DATA:
                    if isinstance(event, RtspResponse) and (request := probe.handle(event)) is not None:
                        writer.write(request)
                if not data and probe.result is None:
                    return BackchannelOffer(None, detail=f"{shown} closed the connection before answering")
            return probe.result
    except TimeoutError:
        return BackchannelOffer(None, detail=f"{shown} did not answer DESCRIBE within {timeout_s:g} s")
    except OSError as exc:
        return BackchannelOffer(None, detail=f"cannot connect to {shown}: {exc.strerror or exc}")
    except RtspProtocolError as exc:
        return BackchannelOffer(None, detail=f"{shown}: {exc}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
