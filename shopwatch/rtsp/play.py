"""Playing a camera's H.264 stream over RTSP/TCP (RFC 2326, interleaved RTP) as a sans-IO state machine.

``RtspPlayer`` decides every request and reads every byte the server sends; an adapter only moves bytes:
``start()`` gives the first request, ``receive(data)`` takes what the socket gave and returns what to send and
the pictures completed (``H264Unit``, see ``h264.py``); ``keepalive()`` is due every ``keepalive_interval_s``.

Sequence, as FFmpeg's RTSP demuxer does it: OPTIONS (which keepalive the server takes: GET_PARAMETER when its
``Public`` lists it, else OPTIONS) -> DESCRIBE -> SETUP of the first H.264 video track with
``RTP/AVP/TCP;interleaved=0-1`` -> PLAY. A 401 is answered once with the credentials (Digest or Basic,
``digest.py``), and once more only when the server sent a new nonce; a refused login raises ``AuthRefused``.
Requests the server sends (GStreamer's and some cameras' keepalive) are answered. Every failure is raised as
a ``core.errors`` exception whose message says what was expected and what was found, without credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from shopwatch.core.errors import AuthRefused, PeerProtocolError, UnsupportedCodec
from shopwatch.rtsp.digest import AuthUnsupported, DigestSigner
from shopwatch.rtsp.h264 import H264Depacketizer, H264Error, H264Unit, parameter_sets, sps_dimensions
from shopwatch.rtsp.messages import NEED_DATA, InterleavedFrame, RtspReader, RtspRequest, RtspResponse, ServerRequest
from shopwatch.rtsp.sdp import Format, MediaSection, control_url, parse_sdp

USER_AGENT = "shopwatch"
DEFAULT_SESSION_TIMEOUT_S = 60  # RFC 2326 section 12.37
KEEPALIVE_UNSUPPORTED = (405, 451, 501)  # the server listed GET_PARAMETER but does not take it: use OPTIONS
SESSION_GONE = 454
_ANSWERED = ("OPTIONS", "GET_PARAMETER", "SET_PARAMETER")


class RtspRefused(PeerProtocolError):
    """The server answered a request with an error status (other than a login it refused: ``AuthRefused``)."""

    def __init__(self, message: str, method: str, status: int) -> None:
        super().__init__(message)
        self.method = method
        self.status = status


class PlayState(Enum):
    CONNECTING = "connecting"  # OPTIONS .. PLAY in flight
    PLAYING = "playing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class VideoTrack:
    """The track being played, from the SDP (and its SPS, for the size)."""

    codec: str  # "h264"
    clock_rate: int  # RTP timestamp units per second
    payload_type: int
    extradata: bytes  # SPS and PPS, Annex B (b"" when the SDP carries none: they come in-band)
    width: int  # 0 when not known before the first keyframe's SPS
    height: int


class RtspPlayer:
    """One RTSP session playing one video track. ``url`` carries no credentials (they come apart)."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None) -> None:
        self.url = url
        self._auth = DigestSigner(username, password or "") if username else None
        self._reader = RtspReader()
        self.state = PlayState.CONNECTING
        self.session_id: str | None = None
        self.session_timeout_s = DEFAULT_SESSION_TIMEOUT_S
        self.track: VideoTrack | None = None
        self._depacketizer: H264Depacketizer | None = None
        self._rtp_channel = 0
        self._keepalive_method = "OPTIONS"
        self._aggregate_url = url
        self._track_url = url
        self._cseq = 0
        self._pending: dict[int, tuple[RtspRequest, bool]] = {}  # cseq -> (request, sent with credentials)

    @property
    def keepalive_interval_s(self) -> float:
        return self.session_timeout_s / 2

    @property
    def lost(self) -> int:
        """Pictures dropped because an RTP packet of theirs was missing."""
        return 0 if self._depacketizer is None else self._depacketizer.lost

    @property
    def sps(self) -> bytes:
        """The stream's latest SPS NAL unit (from the SDP or in-band), b"" before any."""
        return b"" if self._depacketizer is None else self._depacketizer.sps

    @property
    def extradata(self) -> bytes:
        """The latest SPS and PPS as Annex B, b"" before both were seen."""
        return b"" if self._depacketizer is None else self._depacketizer.extradata

    # requests ----------------------------------------------------------------------------------------------

    def start(self) -> bytes:
        return self._request("OPTIONS", self.url)

    def keepalive(self) -> bytes:
        """GET_PARAMETER when the server lists it (RFC 2326 section 10.8), else OPTIONS, on the session."""
        return self._request(self._keepalive_method, self._aggregate_url)

    def teardown(self) -> bytes | None:
        if self.session_id is None or self.state is PlayState.CLOSED:
            self.state = PlayState.CLOSED
            return None
        self.state = PlayState.CLOSED
        return self._request("TEARDOWN", self._aggregate_url)

    def _request(self, method: str, uri: str, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
        self._cseq += 1
        headers: list[tuple[str, str]] = [("CSeq", str(self._cseq)), ("User-Agent", USER_AGENT)]
        if self.session_id is not None:
            headers.append(("Session", self.session_id))
        if method == "DESCRIBE":
            headers.append(("Accept", "application/sdp"))
        return self._signed(RtspRequest(method, uri, (*headers, *extra)))

    def _signed(self, request: RtspRequest) -> bytes:
        value = self._auth.authorization(request.method, request.uri) if self._auth is not None else None
        headers = request.headers if value is None else (*request.headers, ("Authorization", value))
        self._pending[int(request.headers[0][1])] = (request, value is not None)
        return bytes(RtspRequest(request.method, request.uri, headers, request.body))

    # what the server sends ---------------------------------------------------------------------------------

    def receive(self, data: bytes) -> tuple[bytes, list[H264Unit]]:
        """Bytes from the socket (``b""``: the server closed it); returns (bytes to send, pictures completed).
        Raises ``AuthRefused``, ``RtspRefused``, ``UnsupportedCodec`` or ``PeerProtocolError``."""
        reader = self._reader
        reader.receive_data(data)
        out: list[bytes] = []
        pictures: list[H264Unit] = []
        depacketizer = self._depacketizer
        while True:
            event = reader.next_event()
            if event is NEED_DATA:
                break
            if isinstance(event, InterleavedFrame):
                if event.channel == self._rtp_channel and depacketizer is not None:
                    try:
                        pictures += depacketizer.push(event.payload)
                    except H264Error as exc:
                        raise PeerProtocolError(f"{self.url}: {exc}") from None
                continue  # RTCP (channel 1) and anything else: not needed to play
            if isinstance(event, ServerRequest):
                out.append(self._answer(event))
            elif isinstance(event, RtspResponse):
                reply = self._handle(event)
                if reply is not None:
                    out.append(reply)
                depacketizer = self._depacketizer
        return b"".join(out), pictures

    def _handle(self, response: RtspResponse) -> bytes | None:
        cseq = response.cseq
        if cseq is None or cseq not in self._pending:
            return None  # an answer to nothing we wait for
        request, signed = self._pending.pop(cseq)
        if response.status == 401:
            return self._retry_signed(request, response, signed)
        if self.state is PlayState.PLAYING and request.method in ("OPTIONS", "GET_PARAMETER"):
            if response.status == SESSION_GONE:
                raise RtspRefused(f"{self.url}: the camera dropped the session (454 Session Not Found)", "", 454)
            if response.status in KEEPALIVE_UNSUPPORTED and request.method == "GET_PARAMETER":
                self._keepalive_method = "OPTIONS"
            return None  # any other answer refreshed the session all the same (RFC 2326 section 12.37)
        if request.method == "TEARDOWN":
            return None
        if not 200 <= response.status < 300:
            raise self._refused(request, response)
        if request.method == "OPTIONS":
            public = (response.header("public") or "").upper()
            self._keepalive_method = "GET_PARAMETER" if "GET_PARAMETER" in public else "OPTIONS"
            return self._request("DESCRIBE", self.url)
        if request.method == "DESCRIBE":
            return self._described(response)
        if request.method == "SETUP":
            return self._set_up(response)
        if request.method == "PLAY":
            self.state = PlayState.PLAYING
        return None

    def _answer(self, request: ServerRequest) -> bytes:
        cseq = request.headers.get("cseq", ["0"])[0]
        status = "200 OK" if request.method in _ANSWERED else "501 Not Implemented"
        lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}"]
        if self.session_id is not None:
            lines.append(f"Session: {self.session_id}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _retry_signed(self, request: RtspRequest, response: RtspResponse, signed: bool) -> bytes:
        if self._auth is None:
            raise AuthRefused(f"the camera wants a login for {self.url} (RTSP 401) and none is configured")
        challenges = response.headers.get("www-authenticate", [])
        try:
            if signed:
                fresh = self._auth.rechallenge(challenges)  # worth once more only with a new nonce
            else:
                self._auth.challenge(challenges)
                fresh = True
        except AuthUnsupported as exc:
            raise AuthRefused(f"{self.url}: {exc}") from None
        if not fresh:
            raise AuthRefused(f"the camera refused the credentials for {self.url} (RTSP 401)")
        self._cseq += 1
        headers = tuple((n, str(self._cseq) if n == "CSeq" else v) for n, v in request.headers if n != "Authorization")
        return self._signed(RtspRequest(request.method, request.uri, headers, request.body))

    def _described(self, response: RtspResponse) -> bytes:
        sdp = parse_sdp(response.body.decode("utf-8", "replace"))
        base = response.header("content-base") or response.header("content-location") or self.url
        self._aggregate_url = control_url(base, sdp.control)
        video = [s for s in sdp.media if s.kind == "video" and s.direction != "sendonly"]
        if not video:
            kinds = sorted({s.kind for s in sdp.media}) or ["nothing"]
            raise PeerProtocolError(f"expected a video track in the SDP of {self.url}, found {', '.join(kinds)}")
        section, fmt = _h264_track(video, self.url)
        self._track_url = control_url(self._aggregate_url, section.control)
        try:
            nal_units = parameter_sets(fmt.parameter("sprop-parameter-sets"))
        except H264Error as exc:
            raise PeerProtocolError(f"{self.url}: {exc}") from None
        self._depacketizer = H264Depacketizer(nal_units)
        width = height = 0
        if self._depacketizer.sps:
            try:
                width, height = sps_dimensions(self._depacketizer.sps)
            except H264Error:
                width = height = 0  # learnt from the first keyframe's in-band SPS instead
        extradata = self._depacketizer.extradata
        self.track = VideoTrack("h264", fmt.clock_rate or 90_000, fmt.payload_type, extradata, width, height)
        transport = f"RTP/AVP/TCP;unicast;interleaved={self._rtp_channel}-{self._rtp_channel + 1}"
        return self._request("SETUP", self._track_url, (("Transport", transport),))

    def _set_up(self, response: RtspResponse) -> bytes:
        session = response.header("session")
        if session is None:
            raise PeerProtocolError(f"expected a Session header in the SETUP answer of {self.url}, found none")
        sid, _, params = session.partition(";")
        self.session_id = sid.strip()
        match = re.search(r"timeout\s*=\s*(\d+)", params)
        if match:
            self.session_timeout_s = max(2, int(match[1]))
        transport = response.header("transport") or ""
        channel = re.search(r"interleaved=(\d+)", transport)
        if channel is None:
            raise PeerProtocolError(f"expected interleaved channels in the SETUP answer, found {transport!r}")
        self._rtp_channel = int(channel[1])
        return self._request("PLAY", self._aggregate_url, (("Range", "npt=0.000-"),))

    def _refused(self, request: RtspRequest, response: RtspResponse) -> Exception:
        what = f"{request.method}: {response.status} {response.reason}".strip()
        if response.status == 403:
            return AuthRefused(f"the camera does not let this account play {self.url} ({what})")
        if response.status == 404:
            return RtspRefused(f"the camera has no stream at {self.url} ({what})", request.method, 404)
        return RtspRefused(f"the camera refused to play {self.url} ({what})", request.method, response.status)


def _h264_track(video: list[MediaSection], url: str) -> tuple[MediaSection, Format]:
    """The first H.264 format among the video sections, with its section."""
    for section in video:
        for fmt in section.formats:
            if fmt.encoding == "H264":
                return section, fmt
    found = ", ".join(f.encoding or f"PT {f.payload_type}" for s in video for f in s.formats) or "no format"
    raise UnsupportedCodec(
        f"expected H.264 video from {url} (the native reader plays H.264 only; ingest.reader: ffmpeg plays H.265"
        f" and others), found {found}"
    )
