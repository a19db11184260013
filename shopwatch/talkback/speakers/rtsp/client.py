"""The ONVIF backchannel handshake as a sans-IO state machine: requests out, responses in, no sockets.

Sequence (TALKBACK_PROTOCOLS.md, ONVIF Streaming Spec "Back channel connection"): OPTIONS -> DESCRIBE with
``Require: www.onvif.org/ver20/backchannel`` -> SETUP every recvonly track (some cameras play nothing when only
the backchannel is set up; their data is discarded) -> SETUP the sendonly track, same Session -> PLAY (no
seekable Range: GStreamer answers ``npt=0.000-`` with 503 on live media) -> send RTP -> keepalive at half the
session timeout -> TEARDOWN. The adapter moves bytes; this class decides every request and every error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from shopwatch.core.redact import redact_url
from shopwatch.talkback.errors import (
    NoBackchannel,
    SpeakerBusy,
    TalkbackAuthError,
    TalkbackError,
    TalkbackProtocolError,
    UnsupportedTalkCodec,
)
from shopwatch.talkback.g711 import Codec
from shopwatch.talkback.speakers.digest import AuthUnsupported, DigestSigner
from shopwatch.talkback.speakers.rtsp.messages import RtspRequest, RtspResponse
from shopwatch.talkback.speakers.rtsp.sdp import BackchannelChoice, control_url, offered, parse_sdp, select_backchannel

BACKCHANNEL_TAG = "www.onvif.org/ver20/backchannel"
DEFAULT_TIMEOUT_S = 60  # RFC 2326 section 12.37; GStreamer leaves it out of the header when it is 60
USER_AGENT = "shopwatch-talkback"


class State(Enum):
    IDLE = "idle"
    CONNECTING = "connecting"  # OPTIONS .. PLAY in flight
    PLAYING = "playing"  # RTP may be sent
    CLOSING = "closing"  # TEARDOWN sent
    CLOSED = "closed"


@dataclass(frozen=True)
class Track:
    url: str
    sendonly: bool
    rtp_channel: int | None = None  # interleaved TCP
    client_ports: tuple[int, int] | None = None  # UDP
    server_ports: tuple[int, int] | None = None


PortAllocator = Callable[[], tuple[int, int]]


class BackchannelClient:
    """Decides the requests of one backchannel session. ``url`` carries no credentials (they come apart).

    Drive it: send ``start(codecs)`` (codecs in order of preference); for each response send what
    ``handle(response)`` returns, when not None. ``state`` becomes PLAYING when RTP may flow; ``keepalive()``
    and ``teardown()`` build those requests. UDP: ``allocate_ports`` returns a bound (RTP, RTCP) local port
    pair per SETUP.
    """

    def __init__(
        self,
        url: str,
        auth: DigestSigner | None,
        *,
        allocate_ports: PortAllocator | None = None,
    ) -> None:
        self.url = url
        self._auth = auth
        self._preference: tuple[Codec, ...] = ()
        self._allocate_ports = allocate_ports  # None: TCP interleaved
        self.state = State.IDLE
        self.session_id: str | None = None
        self.timeout_s = DEFAULT_TIMEOUT_S
        self.choice: BackchannelChoice | None = None
        self.tracks: list[Track] = []
        self._to_setup: list[tuple[str, bool]] = []
        self._keepalive_method = "OPTIONS"
        self._aggregate_url = url  # PLAY/TEARDOWN/keepalive target: Content-Base with the session control
        self._cseq = 0
        self._pending: dict[int, tuple[RtspRequest, bool]] = {}  # cseq -> (request, sent with credentials)

    @property
    def backchannel(self) -> Track:
        track = next((t for t in self.tracks if t.sendonly), None)
        if track is None or self.state is not State.PLAYING:
            raise RuntimeError("the backchannel is not playing yet")
        return track

    @property
    def keepalive_interval_s(self) -> float:
        return self.timeout_s / 2

    # requests ----------------------------------------------------------------------------------------------

    def start(self, preference: tuple[Codec, ...]) -> bytes:
        self._preference = preference
        self.state = State.CONNECTING
        return self._request("OPTIONS", self.url, tag=False)

    def keepalive(self) -> bytes:
        """GET_PARAMETER when the server lists it (RFC 2326 10.8), else OPTIONS, on the session."""
        return self._request(self._keepalive_method, self._aggregate_url, tag=False)

    def teardown(self) -> bytes | None:
        """TEARDOWN when a session exists (also mid-handshake); None when there is nothing to end."""
        if self.session_id is None or self.state in (State.CLOSING, State.CLOSED):
            self.state = State.CLOSED
            return None
        self.state = State.CLOSING
        return self._request("TEARDOWN", self._aggregate_url, tag=True)

    def _request(self, method: str, uri: str, *, tag: bool, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
        self._cseq += 1
        headers: list[tuple[str, str]] = [("CSeq", str(self._cseq)), ("User-Agent", USER_AGENT)]
        if tag:
            headers.append(("Require", BACKCHANNEL_TAG))
        if self.session_id is not None:
            headers.append(("Session", self.session_id))
        if method == "DESCRIBE":
            headers.append(("Accept", "application/sdp"))
        headers += extra
        request = RtspRequest(method, uri, tuple(headers))
        return self._signed(request)

    def _signed(self, request: RtspRequest) -> bytes:
        value = self._auth.authorization(request.method, request.uri) if self._auth is not None else None
        headers = request.headers if value is None else (*request.headers, ("Authorization", value))
        cseq = int(request.headers[0][1])
        self._pending[cseq] = (request, value is not None)
        return bytes(RtspRequest(request.method, request.uri, headers, request.body))

    # responses ---------------------------------------------------------------------------------------------

    def handle(self, response: RtspResponse) -> bytes | None:
        """Take one response; returns the next request to send, if any. Raises ``TalkbackError``."""
        cseq = response.cseq
        if cseq is None or cseq not in self._pending:
            return None  # a late answer to a request we gave up on, or a server oddity: nothing to act on
        request, signed = self._pending.pop(cseq)
        if response.status == 401:
            return self._retry_signed(request, response, signed)
        if request.method == "TEARDOWN":
            self.state = State.CLOSED  # 200, or 454 when the server already dropped the session: both end it
            return None
        if not 200 <= response.status < 300:
            raise self._refused(request, response)
        if request.method in ("OPTIONS", "GET_PARAMETER") and self.state is State.PLAYING:
            return None  # keepalive answered
        if request.method == "OPTIONS":
            public = (response.header("public") or "").upper()
            self._keepalive_method = "GET_PARAMETER" if "GET_PARAMETER" in public else "OPTIONS"
            return self._request("DESCRIBE", self.url, tag=True)
        if request.method == "DESCRIBE":
            return self._described(response)
        if request.method == "SETUP":
            return self._set_up(request, response)
        if request.method == "PLAY":
            self.state = State.PLAYING
        return None

    def _retry_signed(self, request: RtspRequest, response: RtspResponse, signed: bool) -> bytes:
        if self._auth is None:
            raise TalkbackAuthError(f"camera wants a login for {redact_url(self.url)} and the URL has none")
        if signed:
            raise TalkbackAuthError(f"camera refused the credentials for {redact_url(self.url)} (401)")
        try:
            self._auth.challenge(response.headers.get("www-authenticate", []))
        except AuthUnsupported as exc:
            raise TalkbackAuthError(f"{redact_url(self.url)}: {exc}") from None
        self._cseq += 1
        headers = tuple((n, str(self._cseq) if n == "CSeq" else v) for n, v in request.headers)
        return self._signed(RtspRequest(request.method, request.uri, headers, request.body))

    def _described(self, response: RtspResponse) -> bytes:
        sdp = parse_sdp(response.body.decode("utf-8", "replace"))
        base = response.header("content-base") or response.header("content-location") or self.url
        self._aggregate_url = base = control_url(base, sdp.control)
        choice = select_backchannel(sdp, self._preference)
        if choice is None:
            codecs = offered(sdp)
            if codecs:
                raise UnsupportedTalkCodec(f"camera's backchannel offers {', '.join(codecs)}; expected PCMU or PCMA")
            raise NoBackchannel(f"camera at {redact_url(self.url)} has no audio backchannel (no sendonly track)")
        self.choice = choice
        back = sdp.media[choice.section]
        for section in sdp.media:
            if section.direction == "recvonly" or (section.direction == "sendrecv" and section is not back):
                self._to_setup.append((control_url(base, section.control), False))
        # Some servers (Zycoo) split codecs across sections that share one control URI: SETUP it once.
        back_url = control_url(base, back.control)
        self._to_setup = [(u, False) for u, _ in self._to_setup if u != back_url] + [(back_url, True)]
        return self._setup_next()

    def _setup_next(self) -> bytes:
        url, sendonly = self._to_setup.pop(0)
        if self._allocate_ports is None:
            first = 2 * len(self.tracks)
            transport = f"RTP/AVP/TCP;unicast;interleaved={first}-{first + 1}"
        else:
            rtp, rtcp = self._allocate_ports()
            transport = f"RTP/AVP;unicast;client_port={rtp}-{rtcp}"
        self.tracks.append(Track(url, sendonly))
        return self._request("SETUP", url, tag=True, extra=(("Transport", transport),))

    def _set_up(self, request: RtspRequest, response: RtspResponse) -> bytes:
        session = response.header("session")
        if session is None and self.session_id is None:
            raise TalkbackProtocolError(f"SETUP of {redact_url(request.uri)} was answered without a Session")
        if session is not None:
            sid, _, params = session.partition(";")
            self.session_id = sid.strip()
            match = re.search(r"timeout\s*=\s*(\d+)", params)
            if match:
                self.timeout_s = max(2, int(match[1]))
        track = self.tracks[-1]
        transport = response.header("transport") or ""
        channel = re.search(r"interleaved=(\d+)", transport)
        ports = re.search(r"server_port=(\d+)(?:-(\d+))?", transport)
        client = re.search(r"client_port=(\d+)(?:-(\d+))?", next(v for n, v in request.headers if n == "Transport"))
        self.tracks[-1] = Track(
            track.url, track.sendonly,
            rtp_channel=int(channel[1]) if channel else None,
            client_ports=(int(client[1]), int(client[2] or int(client[1]) + 1)) if client else None,
            server_ports=(int(ports[1]), int(ports[2] or int(ports[1]) + 1)) if ports else None,
        )  # fmt: skip
        if self._allocate_ports is None and channel is None:
            raise TalkbackProtocolError(f"expected interleaved channels in the SETUP answer, found {transport!r}")
        if self._allocate_ports is not None and ports is None:
            raise TalkbackProtocolError(f"expected server_port in the SETUP answer, found {transport!r}")
        if self._to_setup:
            return self._setup_next()
        return self._request("PLAY", self._aggregate_url, tag=True)

    def _refused(self, request: RtspRequest, response: RtspResponse) -> TalkbackError:
        what = f"{request.method} {redact_url(request.uri)}: {response.status} {response.reason}"
        if response.status == 551 or BACKCHANNEL_TAG in (response.header("unsupported") or ""):
            return NoBackchannel(f"camera has no audio backchannel ({what}, Unsupported: {BACKCHANNEL_TAG})")
        if request.method == "SETUP" and self.tracks[-1].sendonly and response.status in (453, 503):
            # A camera holding its one backchannel refuses a second SETUP; statuses seen in the wild vary
            # (453 Not Enough Bandwidth, 503 Service Unavailable). TALKBACK_PROTOCOLS.md "One talker".
            return SpeakerBusy(f"camera's speaker is in use by another client ({what})")
        if request.method in ("GET_PARAMETER", "OPTIONS") and self.state is State.PLAYING:
            return TalkbackProtocolError(f"camera dropped the talk session ({what})")
        return TalkbackProtocolError(f"camera refused {what}")

