"""A fake ONVIF camera speaker on RTSP that answers the way field devices do, where GStreamer's server does not.

The GStreamer peer (``sim.backchannel``) is the reference for the happy path; this one is for the quirks the
issue tracker collected from real cameras, on the documented wire protocol (RFC 2326, ONVIF Streaming
"Back channel connection"): a video track (recvonly) and a PCMU backchannel (sendonly), interleaved TCP only.

- ``session_timeout_s``: announced as ``Session: id;timeout=N``; a session with no request for that long is
  dropped (the connection closed), as cameras do.
- ``get_parameter_status``: the answer to GET_PARAMETER (451 Parameter Not Understood is common) although the
  OPTIONS answer lists it.
- ``rechallenge_after_s``: after that long the Digest nonce is replaced; a request signed with the old one gets
  401 and the new challenge.
- ``server_options_every_s``: the server sends its own OPTIONS that often and drops a client that does not
  answer by the next one.
- ``refuse_video_setup``: SETUP of the video track is answered 461 Unsupported Transport.
- ``insist_on_all_tracks``: PLAY is answered 455 Method Not Valid in This State unless the video track is set up.

Received RTP packets (payload, marker) and the requests seen are recorded for tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass, field

from shopwatch.rtsp.digest import parse_challenges
from shopwatch.rtsp.messages import (
    NEED_DATA,
    InterleavedFrame,
    RtspReader,
    RtspResponse,
    ServerRequest,
)
from shopwatch.sim.loopback import LoopbackServer
from shopwatch.talkback.speakers.rtp import RtpPacket

REALM = "shopwatch-fake-rtsp"
SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=speaker\r\nt=0 0\r\na=control:*\r\n"
    "m=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\na=control:stream=0\r\na=recvonly\r\n"
    "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:stream=1\r\na=sendonly\r\n"
)


@dataclass
class SpeakerLog:
    """What the fake saw; read it once the talk ended."""

    requests: list[str] = field(default_factory=list)  # "METHOD status"
    packets: list[RtpPacket] = field(default_factory=list)
    server_options_answered: int = 0
    rechallenges: int = 0
    expired: bool = False  # a session was dropped for want of keepalives

    @property
    def audio(self) -> bytes:
        return b"".join(p.payload for p in self.packets)


@dataclass
class _Session:
    tracks: set[str] = field(default_factory=set)
    last_request: float = field(default_factory=time.monotonic)
    playing: bool = False


class FakeRtspSpeaker(LoopbackServer):
    def __init__(
        self, *, username: str = "admin", password: str = "pass1234", session_timeout_s: int = 60,
        get_parameter_status: str = "200 OK", rechallenge_after_s: float | None = None,
        server_options_every_s: float | None = None, refuse_video_setup: bool = False,
        insist_on_all_tracks: bool = False,
    ) -> None:  # fmt: skip
        self.username, self.password = username, password
        self.session_timeout_s = session_timeout_s
        self.get_parameter_status = get_parameter_status
        self.rechallenge_after_s = rechallenge_after_s
        self.server_options_every_s = server_options_every_s
        self.refuse_video_setup = refuse_video_setup
        self.insist_on_all_tracks = insist_on_all_tracks
        self.log = SpeakerLog()
        self._nonce, self._nonce_since = secrets.token_hex(8), time.monotonic()

    def url(self, *, password: str | None = None) -> str:
        return f"rtsp://{self.username}:{password or self.password}@127.0.0.1:{self.port}/speaker"


    # one client connection -------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser, session = RtspReader(), _Session()
        pinger = asyncio.create_task(self._ping(writer, session))
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(65536), self._idle_left(session))
                except TimeoutError:
                    self.log.expired = True  # no keepalive within the session timeout: dropped
                    return
                if not data:
                    return
                parser.receive_data(data)
                while (event := parser.next_event()) is not NEED_DATA:
                    if isinstance(event, InterleavedFrame) and event.channel % 2 == 0:
                        self.log.packets.append(RtpPacket.parse(event.payload))
                    elif isinstance(event, RtspResponse):
                        self.log.server_options_answered += 1
                    elif isinstance(event, ServerRequest):
                        writer.write(self._answer(event, session))
                await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            pinger.cancel()
            writer.close()

    def _idle_left(self, session: _Session) -> float | None:
        if not session.tracks:
            return None
        return max(0.05, session.last_request + self.session_timeout_s - time.monotonic())

    async def _ping(self, writer: asyncio.StreamWriter, session: _Session) -> None:
        if self.server_options_every_s is None:
            return
        cseq = 1000
        while True:
            await asyncio.sleep(self.server_options_every_s)
            if not session.playing:
                continue
            cseq += 1
            answered = self.log.server_options_answered
            writer.write(f"OPTIONS * RTSP/1.0\r\nCSeq: {cseq}\r\n\r\n".encode())
            await asyncio.sleep(self.server_options_every_s)
            if self.log.server_options_answered == answered:
                writer.close()  # the client did not answer: a camera drops it
                return

    def _answer(self, request: ServerRequest, session: _Session) -> bytes:
        cseq = request.headers.get("cseq", ["0"])[0]
        status, headers, body = self._handle(request, session)
        self.log.requests.append(f"{request.method} {status.split()[0]}")
        lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", *headers]
        if body:
            lines += ["Content-Type: application/sdp", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def _handle(self, request: ServerRequest, session: _Session) -> tuple[str, list[str], bytes]:
        if (challenge := self._challenge(request)) is not None:
            return "401 Unauthorized", [f"WWW-Authenticate: {challenge}"], b""
        session.last_request = time.monotonic()
        sid = [f"Session: s1;timeout={self.session_timeout_s}"]
        method = request.method
        if method == "OPTIONS":
            return "200 OK", ["Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"], b""
        if method == "DESCRIBE":
            return "200 OK", [f"Content-Base: {request.uri}/"], SDP.encode()
        if method == "SETUP":
            track = request.uri.rsplit("/", 1)[-1]
            if track == "stream=0" and self.refuse_video_setup:
                return "461 Unsupported Transport", [], b""
            transport = request.headers.get("transport", [""])[0]
            session.tracks.add(track)
            return "200 OK", [*sid, f"Transport: {transport}"], b""
        if method == "PLAY":
            if self.insist_on_all_tracks and "stream=0" not in session.tracks:
                return "455 Method Not Valid in This State", [], b""
            session.playing = True
            return "200 OK", sid, b""
        if method == "GET_PARAMETER":
            return self.get_parameter_status, sid, b""
        if method == "TEARDOWN":
            session.tracks.clear()
            session.playing = False
            return "200 OK", [], b""
        return "501 Not Implemented", [], b""

    def _challenge(self, request: ServerRequest) -> str | None:
        """None when the request is signed right with the current nonce; else the challenge to send."""
        if self.rechallenge_after_s is not None and time.monotonic() - self._nonce_since > self.rechallenge_after_s:
            self._nonce, self._nonce_since = secrets.token_hex(8), time.monotonic()
            self.log.rechallenges += 1
        challenge = f'Digest realm="{REALM}", nonce="{self._nonce}"'
        value = request.headers.get("authorization", [""])[0]
        if not value.lower().startswith("digest "):
            return challenge
        p = parse_challenges([value])[0].params
        if p.get("username") != self.username or p.get("nonce") != self._nonce:
            return challenge

        def h(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = h(f"{self.username}:{REALM}:{self.password}")
        ha2 = h(f"{request.method}:{p.get('uri', '')}")
        expected = h(f"{ha1}:{self._nonce}:{ha2}")
        return None if secrets.compare_digest(expected, p.get("response", "")) else challenge
