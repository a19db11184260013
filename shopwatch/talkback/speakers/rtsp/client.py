"""The ONVIF backchannel handshake as a sans-IO state machine: requests out, responses in, no sockets.

Sequence (TALKBACK_PROTOCOLS.md, ONVIF Streaming Spec "Back channel connection"): OPTIONS -> DESCRIBE with
``Require: www.onvif.org/ver20/backchannel`` -> SETUP the sendonly track -> PLAY (no seekable Range: GStreamer
answers ``npt=0.000-`` with 503 on live media) -> send RTP -> keepalive at half the session timeout -> TEARDOWN.
With ``backchannel_only`` (a camera's default, see TalkTarget) the sendonly track is set up alone, as go2rtc
can: no video stream and no extra session slot per talk. A camera that then refuses PLAY (some play nothing
with the backchannel alone) gets its recvonly tracks set up too, in the same session, and PLAY again; their
data is discarded.
``backchannel_only=False`` sets up every recvonly track first, leaving out one whose SETUP is refused.

Keepalive (GET_PARAMETER where the server lists it, else OPTIONS) tolerates what real servers answer: 451/501
(parameter or method not supported) switch it to OPTIONS, any other non-2xx is ignored (the request itself
refreshed the session, RFC 2326 section 12.37), only 454 Session Not Found ends the talk; a 401 with a new
nonce is signed again. Requests the server sends (OPTIONS as its own keepalive, GET/SET_PARAMETER) are
answered. The adapter moves bytes; this class decides every request and every error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from shopwatch.core.redact import redact_url
from shopwatch.rtsp.digest import AuthUnsupported, DigestSigner
from shopwatch.rtsp.messages import RtspRequest, RtspResponse, ServerRequest
from shopwatch.rtsp.sdp import control_url, parse_sdp
from shopwatch.talkback.errors import (
    NoBackchannel,
    SpeakerBusy,
    TalkbackAuthError,
    TalkbackError,
    TalkbackProtocolError,
    TalkRefused,
    UnsupportedTalkCodec,
)
from shopwatch.talkback.g711 import Codec
from shopwatch.talkback.speakers.rtsp.sdp import BackchannelChoice, offered, select_backchannel

log = logging.getLogger(__name__)

BACKCHANNEL_TAG = "www.onvif.org/ver20/backchannel"
DEFAULT_TIMEOUT_S = 60  # RFC 2326 section 12.37; GStreamer leaves it out of the header when it is 60
USER_AGENT = "shopwatch-talkback"
SESSION_GONE = 454  # Session Not Found: the server dropped the session
KEEPALIVE_UNSUPPORTED = (405, 451, 501)  # Method Not Allowed, Parameter Not Understood, Not Implemented
ANSWERED_SERVER_METHODS = ("OPTIONS", "GET_PARAMETER", "SET_PARAMETER")


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
        backchannel_only: bool = False,
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
        self._backchannel_only = backchannel_only
        self._recvonly: list[str] = []  # control URLs of the tracks a backchannel-only PLAY left out
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
        if request.method in ("OPTIONS", "GET_PARAMETER") and self.state is State.PLAYING:
            self._kept_alive(request, response)
            return None
        if request.method == "SETUP" and not self.tracks[-1].sendonly and not 200 <= response.status < 300:
            return self._skip_track(request, response)
        if request.method == "PLAY" and not 200 <= response.status < 300 and self._recvonly:
            return self._setup_the_rest()
        if not 200 <= response.status < 300:
            raise self._refused(request, response)
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

    def answer(self, request: ServerRequest) -> bytes:
        """The answer to a request the server sent: 200 to its keepalives and parameter requests (an empty
        GET_PARAMETER is a ping), 501 to anything else (RFC 2326 section 11)."""
        cseq = request.headers.get("cseq", ["0"])[0]
        if request.method in ANSWERED_SERVER_METHODS:
            lines = ["RTSP/1.0 200 OK", f"CSeq: {cseq}", f"Public: {', '.join(ANSWERED_SERVER_METHODS)}"]
        else:
            lines = ["RTSP/1.0 501 Not Implemented", f"CSeq: {cseq}"]
        if self.session_id is not None:
            lines.append(f"Session: {self.session_id}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _kept_alive(self, request: RtspRequest, response: RtspResponse) -> None:
        if response.status == SESSION_GONE:
            raise TalkbackProtocolError(f"camera dropped the talk session ({request.method}: 454 Session Not Found)")
        if response.status in KEEPALIVE_UNSUPPORTED and request.method == "GET_PARAMETER":
            self._keepalive_method = "OPTIONS"  # the server listed it but does not take it (451 is common)

    def _retry_signed(self, request: RtspRequest, response: RtspResponse, signed: bool) -> bytes:
        if self._auth is None:
            raise TalkbackAuthError(f"camera wants a login for {redact_url(self.url)} and the URL has none")
        try:
            challenges = response.headers.get("www-authenticate", [])
            # Signed and refused: worth once more only with a new nonce (it expired, or came back ``stale``).
            fresh = self._auth.rechallenge(challenges) if signed else self._take(challenges)
        except AuthUnsupported as exc:
            raise TalkbackAuthError(f"{redact_url(self.url)}: {exc}") from None
        if not fresh:
            raise TalkbackAuthError(f"camera refused the credentials for {redact_url(self.url)} (401)")
        self._cseq += 1
        headers = tuple((n, str(self._cseq) if n == "CSeq" else v) for n, v in request.headers if n != "Authorization")
        return self._signed(RtspRequest(request.method, request.uri, headers, request.body))

    def _take(self, challenges: list[str]) -> bool:
        assert self._auth is not None
        self._auth.challenge(challenges)
        return True

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
        back_url = control_url(base, back.control)
        # Some servers (Zycoo) split codecs across sections that share one control URI: SETUP it once.
        others = [control_url(base, section.control) for section in sdp.media
                  if section.direction == "recvonly" or (section.direction == "sendrecv" and section is not back)]
        others = [u for u in dict.fromkeys(others) if u != back_url]  # fmt: skip
        if self._backchannel_only:
            self._to_setup, self._recvonly = [(back_url, True)], others
        else:
            self._to_setup = [(u, False) for u in others] + [(back_url, True)]
        return self._setup_next()

    def _setup_the_rest(self) -> bytes:
        """PLAY was refused with only the backchannel set up: this camera wants its other tracks too."""
        self._to_setup = [(u, False) for u in self._recvonly]
        self._recvonly = []
        return self._setup_next()

    def _skip_track(self, request: RtspRequest, response: RtspResponse) -> bytes:
        """A recvonly track the camera will not set up is not needed for talking: go on without it."""
        log.info("camera refused SETUP of %s (%d %s): going on without it", redact_url(request.uri),
                 response.status, response.reason)  # fmt: skip
        self.tracks.pop()
        return self._setup_next() if self._to_setup else self._request("PLAY", self._aggregate_url, tag=True)

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
        kind, sentence = _RTSP_REFUSALS.get(response.status, (TalkbackProtocolError, "the camera refused"))
        return kind(f"{sentence} ({what})")


# RFC 2326 section 11 statuses a camera answers a talk with, and what they mean to the operator.
_RTSP_REFUSALS: dict[int, tuple[type[TalkbackError], str]] = {
    403: (TalkbackAuthError, "the camera does not let this account use the stream; check its user's rights"),
    404: (TalkRefused, "the camera has no stream at this path; check talkback.url"),
    405: (TalkRefused, "the camera does not allow this request on this stream"),
    453: (SpeakerBusy, "the camera has no session free now; try again shortly"),
    455: (TalkRefused, "the camera refused the request in its current state"),
    459: (TalkRefused, "the camera does not allow this request on the whole stream"),
    461: (NoBackchannel, "the camera does not take audio over this transport (try the other of TCP/UDP)"),
    503: (SpeakerBusy, "the camera is busy and cannot talk now; try again shortly"),
}

