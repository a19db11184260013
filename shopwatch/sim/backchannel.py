"""A camera speaker to talk to: GStreamer's ONVIF RTSP server with an audio backchannel that records.

``RTSPOnvifServer`` + ``RTSPOnvifMediaFactory`` (TALKBACK_PROTOCOLS.md "An independent peer", seen working
on Debian 12's GStreamer 1.22): the backchannel bin starts with a capsfilter named ``depay_backchannel``
carrying fully specified RTP caps, then the G.711 depayloader and decoder and an appsink that hands the
decoded 8 kHz PCM to Python with its arrival time. Mounts:

- ``/pcmu`` and ``/pcma``: a tiny live JPEG video track plus a backchannel in that codec;
- ``/nobc``: a plain media factory, no backchannel (a ``Require`` for it gets ``551 Option not supported``).

Options: ``session_timeout_s`` (announced in SETUP; sessions idle longer are expired by a cleanup every
second), ``udp`` (also serve UDP clients). Faults: ``kill()`` drops every client connection and stops
listening, like a camera losing power mid-talk. Every request method a client sent is recorded, in order.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstApp, GstRtspServer  # noqa: E402

from shopwatch.sim.gst_media import LoopThread, lower_transports, shut_down  # noqa: E402

CALL_TIMEOUT_S = 5.0
MOUNTS = ("pcmu", "pcma")
NO_BACKCHANNEL = "nobc"
_CODECS = {"pcmu": ("PCMU", 0, "rtppcmudepay ! mulawdec"), "pcma": ("PCMA", 8, "rtppcmadepay ! alawdec")}
_VIDEO = (
    "( videotestsrc is-live=true pattern=black ! video/x-raw,format=I420,width=64,height=48,framerate=2/1"
    " ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
)  # I420 caps before jpegenc, or DESCRIBE hangs (TALKBACK_PROTOCOLS.md)
_REQUESTS = ("options", "describe", "setup", "play", "teardown", "get-parameter", "set-parameter")


@dataclass
class Reception:
    """The audio one backchannel session delivered: decoded PCM chunks with their arrival times."""

    mount: str
    codec: str
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # (time.monotonic(), 8 kHz PCM16)

    @property
    def pcm(self) -> bytes:
        return b"".join(chunk for _, chunk in self.chunks)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 16000

    @property
    def first_at(self) -> float | None:
        return self.chunks[0][0] if self.chunks else None


class BackchannelServer:
    """The recording backchannel peer on 127.0.0.1 and an ephemeral port; a context manager."""

    def __init__(
        self, host: str = "127.0.0.1", *, session_timeout_s: int | None = None, udp: bool = True
    ) -> None:
        Gst.init(None)
        self._host, self._udp, self._timeout = host, udp, session_timeout_s
        self._lock = threading.Lock()
        self._receptions: list[Reception] = []
        self._requests: list[str] = []
        self._clients: set[GstRtspServer.RTSPClient] = set()
        self._loop: LoopThread | None = None
        self._server: GstRtspServer.RTSPOnvifServer | None = None
        self._source_ids: list[int] = []
        self._port = 0

    def __enter__(self) -> BackchannelServer:
        self._loop = LoopThread("sim backchannel server")
        try:
            self._loop.call(self._start_in_loop, CALL_TIMEOUT_S)
        except BaseException:
            self._loop.quit(CALL_TIMEOUT_S)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.kill()
        if self._loop is not None:
            self._loop.quit(CALL_TIMEOUT_S)
            self._loop = None

    def url(self, mount: str, username: str | None = None, password: str | None = None) -> str:
        login = f"{username}:{password}@" if username else ""
        return f"rtsp://{login}{self._host}:{self._port}/{mount}"

    @property
    def port(self) -> int:
        return self._port

    def receptions(self, mount: str | None = None) -> list[Reception]:
        with self._lock:
            return [r for r in self._receptions if mount is None or r.mount == mount]

    def requests(self) -> list[str]:
        """Request methods in arrival order, upper case (``OPTIONS``, ``DESCRIBE``, ``GET_PARAMETER``...)."""
        with self._lock:
            return list(self._requests)

    def wait_for_audio(self, mount: str, seconds: float, timeout_s: float) -> Reception:
        """Block until a reception on ``mount`` holds ``seconds`` of audio (or fail after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [r for r in self.receptions(mount) if r.seconds >= seconds]
            if found:
                return found[-1]
            time.sleep(0.02)
        got = [round(r.seconds, 3) for r in self.receptions(mount)]
        raise TimeoutError(f"expected {seconds} s of audio on /{mount} within {timeout_s} s, found {got}")

    def kill(self) -> None:
        """Drop every client connection and stop listening (a camera losing power). Idempotent."""
        if self._loop is not None and self._server is not None:
            self._loop.call(self._kill_in_loop, CALL_TIMEOUT_S)

    # GLib loop thread --------------------------------------------------------------------------------------

    def _start_in_loop(self) -> None:
        server = GstRtspServer.RTSPOnvifServer.new()
        server.set_address(self._host)
        server.set_service("0")
        mounts = server.get_mount_points()
        for name in MOUNTS:
            mounts.add_factory(f"/{name}", self._backchannel_factory(name))
        plain = GstRtspServer.RTSPMediaFactory.new()
        plain.set_launch(_VIDEO)
        plain.set_protocols(lower_transports(self._udp))
        mounts.add_factory(f"/{NO_BACKCHANNEL}", plain)
        server.connect("client-connected", self._on_client)
        self._source_ids.append(server.attach(self._loop.context if self._loop else None))
        self._server = server
        self._port = server.get_bound_port()
        if self._timeout is not None:
            pool = server.get_session_pool()
            assert self._loop is not None
            self._source_ids.append(self._loop.every(1, pool.cleanup))

    def _backchannel_factory(self, mount: str) -> GstRtspServer.RTSPOnvifMediaFactory:
        codec, pt, decode = _CODECS[mount]
        factory = GstRtspServer.RTSPOnvifMediaFactory.new()
        factory.set_launch(_VIDEO)
        factory.set_backchannel_launch(
            f'( capsfilter name=depay_backchannel caps="application/x-rtp,media=audio,payload={pt},'
            f'clock-rate=8000,encoding-name={codec}" ! {decode} ! appsink name=speaker async=false sync=false'
            " emit-signals=true )"
        )
        factory.set_media_gtype(GstRtspServer.RTSPOnvifMedia)
        factory.set_shared(False)
        factory.set_protocols(lower_transports(self._udp))
        factory.connect("media-configure", lambda _f, media: self._on_media(media, mount, codec))
        return factory

    def _on_media(self, media: GstRtspServer.RTSPMedia, mount: str, codec: str) -> None:
        media.connect("prepared", self._on_prepared)
        sink = media.get_element().get_by_name("speaker")
        if sink is None:
            return
        reception = Reception(mount, codec)
        with self._lock:
            self._receptions.append(reception)
        sink.connect("new-sample", self._on_sample, reception)

    def _on_prepared(self, media: GstRtspServer.RTSPMedia) -> None:
        """Make the tracks a client leaves out of its session drop their packets instead of failing.

        A camera sends nothing on a track nobody set up. gst-rtsp-server 1.22 does not: at PLAY it unblocks
        every stream of the media, also one without a transport, whose RTP pad then has no sink. The live
        video source gets ``not-linked``, stops and posts an ERROR, and ``RTSPMedia`` marks the whole media
        failed while its pipeline is still going to PLAYING. That happened on every backchannel-only session,
        and in 1 to 3 sessions of 20 the backchannel then delivered nothing at all (GST_DEBUG=2 shows the error
        in every such session, and none with this probe: 0 silent of 60). The
        probe sits on rtpbin's ``send_rtp_src_N``, where gst-rtsp-server holds the prerolled packet, and is
        added once the media is prepared, so it never starves the preroll it waits for.
        """
        for index in range(media.n_streams()):
            stream = media.get_stream(index)
            if not stream.is_sender():
                continue  # the backchannel: the client sends, GStreamer receives
            rtpbin = stream.get_srcpad().get_peer().get_parent_element()
            pad = rtpbin.get_static_pad(f"send_rtp_src_{stream.get_index()}")
            pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, _drop_unless_set_up, stream)

    def _on_sample(self, sink: GstApp.AppSink, reception: Reception) -> Gst.FlowReturn:
        sample = sink.emit("pull-sample")
        if sample is not None:
            buffer = sample.get_buffer()
            data = buffer.extract_dup(0, buffer.get_size())
            with self._lock:
                reception.chunks.append((time.monotonic(), bytes(data)))
        return Gst.FlowReturn.OK

    def _on_client(self, _server: GstRtspServer.RTSPServer, client: GstRtspServer.RTSPClient) -> None:
        with self._lock:
            self._clients.add(client)
        client.connect("closed", self._on_closed)
        for name in _REQUESTS:
            client.connect(f"{name}-request", self._on_request, name.upper().replace("-", "_"))
        if self._timeout is not None:
            client.connect("new-session", self._on_session)

    def _on_request(self, _client: object, _ctx: object, method: str) -> None:
        with self._lock:
            self._requests.append(method)

    def _on_session(self, _client: object, session: GstRtspServer.RTSPSession) -> None:
        session.set_timeout(self._timeout)

    def _on_closed(self, client: GstRtspServer.RTSPClient) -> None:
        with self._lock:
            self._clients.discard(client)

    def _kill_in_loop(self) -> None:
        assert self._loop is not None
        for source_id in self._source_ids:
            self._loop.destroy_source(source_id)
        self._source_ids.clear()
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            shut_down(client)
        self._server = None



def _drop_unless_set_up(_pad: Gst.Pad, _info: Gst.PadProbeInfo, stream: GstRtspServer.RTSPStream) -> Gst.PadProbeReturn:
    return Gst.PadProbeReturn.OK if stream.is_complete() else Gst.PadProbeReturn.DROP
