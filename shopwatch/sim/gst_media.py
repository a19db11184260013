"""GStreamer pieces of the simulated cameras: the GLib loop thread, the launch line, hang/resume on a prepared
media, the UDP address pool that keeps RTP sockets on one address, and dropping a client."""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

log = logging.getLogger(__name__)
T = TypeVar("T")

# Server RTP/RTCP ports for UDP clients: below Linux's ephemeral range (32768-60999), so sockets that other
# tests bind to port 0 never land here. FFmpeg's client picks its own ports in 5000-65000 (a collision is
# skipped, see udp_pool).
UDP_PORTS = (20000, 31999)


def lower_transports(udp: bool) -> GstRtsp.RTSPLowerTrans:
    """What a mount offers: interleaved TCP always, unicast UDP when asked. Never multicast."""
    if udp:
        return GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP
    return GstRtsp.RTSPLowerTrans.TCP


def check_udp(host: str, ports: tuple[int, int]) -> None:
    """UDP sockets are bound to the RTSP host address, on even (RTP) / odd (RTCP) pairs from ``ports``."""
    low, high = ports
    if not (1024 <= low < high <= 65535 and low % 2 == 0):
        raise ValueError(f"expected UDP ports (even low, high) within 1024-65535, low < high; found {ports}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"UDP sockets bind to the host: expected an IP address, found {host!r}") from None


def udp_pool(address: str, ports: tuple[int, int], rng: random.Random) -> GstRtspServer.RTSPAddressPool:
    """An address pool that makes gst-rtsp-server bind every UDP client's RTP/RTCP pair to ``address``.

    Without a pool holding unicast ranges, gst-rtsp-server 1.22 (rtsp-stream.c, ``alloc_ports_one_family``)
    binds the pair to the wildcard address of the client's family (0.0.0.0: every interface). With one, it
    acquires an (address, even port) pair from the pool and binds exactly that; when a bind fails (the port is
    taken by another process, or by another server using the same range) it keeps that pair back and takes the
    next, until the pool is empty. The pool hands out its most recently added range first, so the ranges are
    added to start at a random even port and wrap round: servers sharing the range rarely try the same ports.
    """
    check_udp(address, ports)
    low, high = ports
    start = low + 2 * rng.randrange((high - low + 1) // 2)
    pool = GstRtspServer.RTSPAddressPool()
    ranges = [(low, start - 1), (start, high)] if start > low else [(start, high)]
    for first, last in ranges:  # added last, handed out first
        if not pool.add_range(address, address, first, last, 0):  # ttl 0: a unicast range
            raise ValueError(f"expected an IP address for UDP sockets, found {address!r}")
    return pool


def udp_addresses(media: GstRtspServer.RTSPMedia) -> list[tuple[str, int]]:
    """(address, port) of every UDP socket the media's streams hold (bound at a UDP client's SETUP)."""
    out: list[tuple[str, int]] = []
    for index in range(media.n_streams()):
        stream = media.get_stream(index)
        for family in (Gio.SocketFamily.IPV4, Gio.SocketFamily.IPV6):
            for sock in (stream.get_rtp_socket(family), stream.get_rtcp_socket(family)):
                local = sock.get_local_address() if sock is not None else None
                if isinstance(local, Gio.InetSocketAddress):
                    out.append((local.get_address().to_string(), local.get_port()))
    return out


def shut_down(client: GstRtspServer.RTSPClient) -> None:
    """Shut the client's socket down: the peer sees the connection close at once, and the client's own thread
    reads EOF and tears its sessions down. A network drop, done without touching the client from here."""
    connection = client.get_connection()
    if connection is None:
        return
    for sock in {connection.get_read_socket(), connection.get_write_socket()}:
        try:
            sock.shutdown(True, True)
        except GLib.Error as exc:  # already closed by the peer: nothing left to drop
            log.debug("sim RTSP: shutting a client socket down: %s", exc.message)


class LoopThread:
    """A GLib main loop on a daemon thread with its own main context; other threads hand it work."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self.context, False)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.context.push_thread_default()
        try:
            self._loop.run()
        finally:
            self.context.pop_thread_default()

    def quit(self, timeout_s: float) -> bool:
        """End the loop; True when the thread ended within ``timeout_s``."""
        self._loop.quit()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the loop thread later; errors are logged (this is a task boundary)."""

        def run(*_args: object) -> bool:
            try:
                fn()
            except Exception:  # task boundary: a deferred call's error is logged, the loop goes on
                log.exception("%s: deferred call failed", self.name)
            return GLib.SOURCE_REMOVE

        source = GLib.idle_source_new()
        source.set_callback(run)
        source.attach(self.context)

    def call(self, fn: Callable[[], T], timeout_s: float) -> T:
        """Run ``fn`` on the loop thread and return its result (or raise its exception), bounded."""
        if threading.current_thread() is self._thread:
            return fn()
        done = threading.Event()
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed back to the caller's thread below
                box["error"] = exc
            finally:
                done.set()

        self.call_soon(run)
        if not done.wait(timeout_s):
            raise TimeoutError(f"{self.name} did not answer within {timeout_s} s")
        if "error" in box:
            raise box["error"]
        return box["value"]

    def every(self, seconds: int, fn: Callable[[], object]) -> int:
        """Run ``fn`` on the loop thread every ``seconds`` until the returned source is destroyed."""

        def run(*_args: object) -> bool:
            try:
                fn()
            except Exception:  # a task boundary: log, and run again next time
                log.exception("%s: periodic call failed", self.name)
            return GLib.SOURCE_CONTINUE

        source = GLib.timeout_source_new_seconds(seconds)
        source.set_callback(run)
        return int(source.attach(self.context))

    def destroy_source(self, source_id: int) -> None:
        source = self.context.find_source_by_id(source_id)
        if source is not None:
            source.destroy()


def launch_line(clip: Path, fps: int) -> str:
    """Loop an Annex-B file without re-encoding (INGEST_FACTS.md, "A GStreamer RTSP server").

        h264parse splits the file into access units and, from the framerate caps, gives each a DTS; the probe
        ``pts_from_dts`` on ``parse.src`` copies it to PTS (without it every RTP packet carries the same timestamp
        and clients stall). Whole access units go to the payloader, so the RTP marker bit closes each picture and
    FFmpeg hands out one packet per frame. ``config-interval=-1`` sends SPS/PPS with every keyframe.
    A clip named ``*.h265`` or ``*.hevc`` is served as H.265 (a camera whose stream browsers cannot play via MSE).
    """
    location = str(clip).replace("\\", "\\\\").replace('"', '\\"')
    codec = "h265" if clip.suffix.lower() in (".h265", ".hevc") else "h264"
    return (
        f'( multifilesrc location="{location}" loop=true'
        f' caps="video/x-{codec},stream-format=byte-stream,framerate={fps}/1"'
        f" ! {codec}parse name=parse ! video/x-{codec},alignment=au"
        f" ! rtp{codec}pay name=pay0 pt=96 config-interval=-1 )"
    )


class MediaHandle:
    """One shared pipeline of a mount, and the probes that hang it.

    Hang: a blocking probe on ``parse.src`` stops the streaming thread (no busy loop, no RTP), and a dropping
    probe on rtpbin's RTCP output silences the sender reports, which would otherwise keep a client's read
    timeout from ever firing. A hung camera sends nothing at all. Not thread-safe: the server serialises.
    """

    def __init__(self, media: GstRtspServer.RTSPMedia) -> None:
        self.media = media
        self.prepared = False  # block only a prepared media: blocking a preroll would stall the client
        self.anchored = False
        self._pad: Gst.Pad = media.get_element().get_by_name("parse").get_static_pad("src")
        self._pad.add_probe(Gst.PadProbeType.BUFFER, _pts_from_dts)
        self._block_probe: int | None = None
        self._blocked_since_ns = 0
        self._rtcp_probes: list[tuple[Gst.Pad, int]] = []

    @property
    def blocked(self) -> bool:
        return self._block_probe is not None

    def block(self) -> None:
        if self._block_probe is None:
            self._block_probe = self._pad.add_probe(Gst.PadProbeType.BLOCK_DOWNSTREAM, _keep_blocked)
            self._blocked_since_ns = Gst.util_get_timestamp()
        if not self._rtcp_probes:  # rtpbin and its RTCP pads exist once the media is prepared
            self._rtcp_probes = [(pad, pad.add_probe(Gst.PadProbeType.BUFFER, _drop)) for pad in self._rtcp_pads()]

    def unblock(self) -> None:
        if self._block_probe is not None:
            # Running time went on while blocked: shift the stream by the hung time so the sink does not
            # burst the backlog, and RTP timestamps jump over the gap like those of a camera that froze.
            hung_ns = Gst.util_get_timestamp() - self._blocked_since_ns
            self._pad.set_offset(self._pad.get_offset() + hung_ns)
            self._pad.remove_probe(self._block_probe)
            self._block_probe = None
        for pad, probe in self._rtcp_probes:
            pad.remove_probe(probe)
        self._rtcp_probes = []

    def _rtcp_pads(self) -> list[Gst.Pad]:
        pipeline = self.media.get_element().get_parent()
        pads: list[Gst.Pad] = []
        for element in _elements(pipeline) if pipeline is not None else []:
            factory = element.get_factory()
            if factory is not None and factory.get_name() == "rtpbin":
                pads += [p for p in element.srcpads if p.get_name().startswith("send_rtcp_src")]
        return pads


def _pts_from_dts(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
    buffer = info.get_buffer()
    if buffer is not None:
        buffer.pts = buffer.dts
    return Gst.PadProbeReturn.OK


def _keep_blocked(_pad: Gst.Pad, _info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
    return Gst.PadProbeReturn.OK


def _drop(_pad: Gst.Pad, _info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
    return Gst.PadProbeReturn.DROP


def _elements(bin_: Gst.Bin) -> list[Gst.Element]:
    """The children of a bin (this PyGObject has no iterable ``Gst.Iterator`` without gst-python)."""
    out: list[Gst.Element] = []
    iterator = bin_.iterate_elements()
    while True:
        result, element = iterator.next()
        if result == Gst.IteratorResult.OK:
            out.append(element)
        elif result == Gst.IteratorResult.RESYNC:
            out.clear()
            iterator.resync()
        else:
            return out
