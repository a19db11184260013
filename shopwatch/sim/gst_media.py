"""GStreamer pieces of one simulated camera mount: the launch line, and hang/resume on a prepared media."""

from __future__ import annotations

from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer  # noqa: E402


def launch_line(clip: Path, fps: int) -> str:
    """Loop an Annex-B file without re-encoding (INGEST_FACTS.md, "A GStreamer RTSP server").

        h264parse splits the file into access units and, from the framerate caps, gives each a DTS; the probe
        ``pts_from_dts`` on ``parse.src`` copies it to PTS (without it every RTP packet carries the same timestamp
        and clients stall). Whole access units go to the payloader, so the RTP marker bit closes each picture and
    FFmpeg hands out one packet per frame. ``config-interval=-1`` sends SPS/PPS with every keyframe.
    """
    location = str(clip).replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'( multifilesrc location="{location}" loop=true'
        f' caps="video/x-h264,stream-format=byte-stream,framerate={fps}/1"'
        " ! h264parse name=parse ! video/x-h264,alignment=au ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
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
