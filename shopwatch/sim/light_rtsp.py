"""A light simulated RTSP server: one thread serves every camera mount over RTSP/TCP (interleaved RTP).

The GStreamer server (``rtsp_server.py``) runs a pipeline and several threads per mount; at 1,200 cameras that
is most of a 2-core machine (FLEET.md). This engine packetizes each clip ONCE (``packetize``: access units,
single NAL or FU-A at ``MAX_PAYLOAD`` bytes, SPS/PPS in-band before every IDR) and replays the packets to every
client of every camera of that clip, patching sequence number, timestamp and SSRC per session. One
``selectors`` loop in one thread answers requests and drives frames from a timer wheel (``WHEEL_SLOT_S``
slots over one frame period); all of a frame's packets go out in one ``send`` per client. A client whose socket
buffer is full loses that frame (``dropped_frames``); the loop never blocks.

What it serves: OPTIONS, DESCRIBE (SDP with ``sprop-parameter-sets``, ``packetization-mode=1``), SETUP with
``RTP/AVP/TCP;interleaved`` (a UDP SETUP gets 461 Unsupported Transport), PLAY (``RTP-Info``), GET_PARAMETER
and OPTIONS keepalives, TEARDOWN; HTTP Basic per mount (``auth.MountCredentials``). What it does not: UDP,
RTCP, faults (drop/hang), the ONVIF backchannel, more than one client stream position per session (every
new session starts at the clip's first keyframe).
"""

from __future__ import annotations

import base64
import logging
import random
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from shopwatch.rtsp.messages import (
    InterleavedFrame,
    RtspProtocolError,
    RtspReader,
    RtspResponse,
    ServerRequest,
    response_bytes,
)
from shopwatch.sim.auth import REALM, MountCredentials

log = logging.getLogger(__name__)

MAX_PAYLOAD = 1400  # RTP payload bytes: a larger NAL unit goes out as FU-A fragments (RFC 6184 5.8)
PAYLOAD_TYPE = 96
CLOCK_RATE = 90_000
WHEEL_SLOT_S = 0.01
SESSION_TIMEOUT_S = 60
# Kernel send buffer per client (Linux doubles it): a few seconds of a camera, a bounded cost per client; a
# client that reads slower than that loses frames.
SEND_BUFFER_BYTES = 256 * 1024
_MAX_PENDING_RESPONSE = 65_536  # a client that does not read its answers is closed
_PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"
_CAMERA_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
_RTP_HEADER = struct.Struct("!BBHII")
_Reply = Callable[..., None]


# packetizing (pure) -------------------------------------------------------------------------------------------


def nal_units(annexb: bytes) -> list[bytes]:
    """Split an H.264 Annex-B byte stream at its 3- or 4-byte start codes."""
    units: list[bytes] = []
    starts: list[int] = []
    i = annexb.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = annexb.find(b"\x00\x00\x01", i + 3)
    for n, start in enumerate(starts):
        end = starts[n + 1] - 3 if n + 1 < len(starts) else len(annexb)
        unit = annexb[start:end].rstrip(b"\x00") if n + 1 < len(starts) else annexb[start:end]
        if unit:
            units.append(unit)
    return units


def access_units(nals: list[bytes]) -> list[list[bytes]]:
    """Group NAL units into pictures: a new one starts at AUD/SPS/PPS/SEI or a first slice (first_mb == 0)
    after the current picture has a slice (H.264 7.4.1.2.3). Single-slice-per-NAL streams as x264 writes."""
    pictures: list[list[bytes]] = []
    current: list[bytes] = []
    has_slice = False
    for nal in nals:
        kind = nal[0] & 0x1F
        starts = kind in (6, 7, 8, 9) or (kind in (1, 5) and len(nal) > 1 and nal[1] & 0x80)
        if has_slice and starts:
            pictures.append(current)
            current, has_slice = [], False
        current.append(nal)
        has_slice = has_slice or kind in (1, 5)
    if has_slice:
        pictures.append(current)
    return pictures


def rtp_payloads(nal: bytes, max_payload: int = MAX_PAYLOAD) -> list[bytes]:
    """One NAL unit as RTP payloads: itself when it fits, else FU-A fragments (RFC 6184 5.8)."""
    if len(nal) <= max_payload:
        return [nal]
    indicator = (nal[0] & 0xE0) | 28
    kind = nal[0] & 0x1F
    body = nal[1:]
    step = max_payload - 2
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    out = []
    for n, chunk in enumerate(chunks):
        header = kind | (0x80 if n == 0 else 0) | (0x40 if n == len(chunks) - 1 else 0)
        out.append(bytes((indicator, header)) + chunk)
    return out


@dataclass(frozen=True)
class PacketizedFrame:
    """One picture's packets, interleaved on channel 0 with a zeroed RTP header each (patched per session)."""

    data: bytes
    header_offsets: tuple[int, ...]  # where each packet's 12-byte RTP header starts in ``data``


@dataclass(frozen=True)
class PacketizedClip:
    frames: tuple[PacketizedFrame, ...]
    sps: bytes
    pps: bytes

    @property
    def packet_count(self) -> int:
        return sum(len(frame.header_offsets) for frame in self.frames)

    def sdp_fmtp(self) -> str:
        sprop = ",".join(base64.b64encode(unit).decode("ascii") for unit in (self.sps, self.pps))
        return f"packetization-mode=1;profile-level-id={self.sps[1:4].hex().upper()};sprop-parameter-sets={sprop}"


def packetize(annexb: bytes, max_payload: int = MAX_PAYLOAD) -> PacketizedClip:
    """Packetize a whole clip once; SPS/PPS are put in front of every IDR picture that lacks them."""
    pictures = access_units(nal_units(annexb))
    sps = next((nal for picture in pictures for nal in picture if nal[0] & 0x1F == 7), None)
    pps = next((nal for picture in pictures for nal in picture if nal[0] & 0x1F == 8), None)
    if sps is None or pps is None or not pictures:
        raise ValueError("expected an H.264 Annex-B stream with pictures, SPS and PPS, found none")
    frames = []
    for picture in pictures:
        kinds = {nal[0] & 0x1F for nal in picture}
        units = [nal for nal in picture if nal[0] & 0x1F != 9]  # no access unit delimiters on RTP
        if 5 in kinds and not {7, 8} <= kinds:
            units = [sps, pps] + [nal for nal in units if nal[0] & 0x1F not in (7, 8)]
        payloads = [payload for nal in units for payload in rtp_payloads(nal, max_payload)]
        data = bytearray()
        offsets = []
        for n, payload in enumerate(payloads):
            data += struct.pack("!cBH", b"$", 0, 12 + len(payload))
            offsets.append(len(data))
            marker = 0x80 if n == len(payloads) - 1 else 0
            data += _RTP_HEADER.pack(0x80, marker | PAYLOAD_TYPE, 0, 0, 0) + payload
        frames.append(PacketizedFrame(bytes(data), tuple(offsets)))
    return PacketizedClip(tuple(frames), sps, pps)


# serving -----------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Mount:
    camera_id: str
    clip: PacketizedClip


@dataclass(eq=False)
class _Session:
    session_id: str
    client: _Client
    mount: _Mount
    channel: int
    ssrc: int
    seq: int
    timestamp: int
    playing: bool = False
    frame_index: int = 0
    slot: int = -1


@dataclass(eq=False)
class _Client:
    sock: socket.socket
    reader: RtspReader = field(default_factory=RtspReader)
    pending: bytearray = field(default_factory=bytearray)  # unsent bytes: a response or the tail of a frame
    sessions: dict[str, _Session] = field(default_factory=dict)
    closed: bool = False


class LightServer:
    """Serves camera mounts like ``SimServer`` (``add_camera``, ``url``, ``start``/``stop``), TCP only."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, fps: int = 12, send_buffer_bytes: int = SEND_BUFFER_BYTES
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535, found {port}")
        if not 1 <= fps <= 30:
            raise ValueError(f"fps must be 1-30, found {fps}")
        self._host, self._requested_port, self._fps = host, port, fps
        self._send_buffer = send_buffer_bytes
        self._period_s = 1.0 / fps
        self._slots = max(1, round(self._period_s / WHEEL_SLOT_S))
        self._wheel: list[list[_Session]] = [[] for _ in range(self._slots)]
        self._clips: dict[Path, PacketizedClip] = {}
        self._mounts: dict[str, _Mount] = {}
        self._lock = threading.Lock()  # guards _mounts and _clips (callers add cameras while serving)
        self._credentials = MountCredentials()
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._clients: set[_Client] = set()
        self._rng = random.Random()
        self.dropped_frames = 0
        self.sent_frames = 0

    # lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and serve from one thread; raises ``OSError`` when the port cannot be bound."""
        if self._thread is not None:
            raise RuntimeError("LightServer already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._host, self._requested_port))
            listener.listen(4096)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="sim light RTSP server", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close every client and the listening socket; end the thread within about ``timeout_s``."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake_w.send(b"x")
        self._thread.join(timeout_s)
        self._thread = None
        for client in list(self._clients):
            client.sock.close()
        self._clients.clear()
        if self._listener is not None:
            self._listener.close()
        if self._selector is not None:
            self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> LightServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("LightServer is not started")
        return int(self._listener.getsockname()[1])

    @property
    def host(self) -> str:
        return self._host

    @property
    def camera_ids(self) -> list[str]:
        with self._lock:
            return list(self._mounts)

    def url(self, camera_id: str) -> str:
        return f"rtsp://{self._host}:{self.port}/{camera_id}"

    def add_camera(
        self, camera_id: str, clip: Path, *, username: str | None = None, password: str | None = None
    ) -> str:
        """Mount ``clip`` (packetized once per file) at ``/{camera_id}``; with a username, that login is needed."""
        if not camera_id or not set(camera_id) <= _CAMERA_ID_CHARS:
            raise ValueError(f"camera id must be letters, digits, '-', '_' or '.', found {camera_id!r}")
        if not clip.is_file():
            raise FileNotFoundError(f"clip for camera {camera_id!r} not found: {clip}")
        resolved = clip.resolve()
        with self._lock:
            packets = self._clips.get(resolved)
        if packets is None:
            try:
                packets = packetize(resolved.read_bytes())
            except ValueError as exc:
                raise ValueError(f"clip for camera {camera_id!r} ({clip}): {exc}") from None
        self._credentials.set(camera_id, username, password)
        with self._lock:
            self._clips.setdefault(resolved, packets)
            self._mounts[camera_id] = _Mount(camera_id, packets)
        return self.url(camera_id)

    # the loop ----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._selector is not None
        slot = 0
        next_tick = time.monotonic()
        while not self._stopping.is_set():
            timeout = max(0.0, next_tick - time.monotonic())
            for key, events in self._selector.select(timeout):
                if key.fileobj is self._listener:
                    self._accept()
                elif key.fileobj is self._wake_r:
                    self._wake_r.recv(64)
                else:
                    client: _Client = key.data
                    if events & selectors.EVENT_READ:
                        self._read(client)
                    if events & selectors.EVENT_WRITE and not client.closed:
                        self._flush(client)
            now = time.monotonic()
            if now - next_tick > self._period_s:  # fell a whole period behind: skip ahead, never burst
                next_tick = now
            while now >= next_tick:
                self._fire(slot)
                slot = (slot + 1) % self._slots
                next_tick += self._period_s / self._slots
        log.debug("light RTSP server stopped")

    def _accept(self) -> None:
        assert self._listener is not None and self._selector is not None
        for _ in range(64):
            try:
                sock, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: leave it in the backlog and say so
                log.warning("light RTSP server cannot accept: %s", exc)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
            client = _Client(sock)
            self._clients.add(client)
            self._selector.register(sock, selectors.EVENT_READ, client)

    def _read(self, client: _Client) -> None:
        try:
            data = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(client)
            return
        client.reader.receive_data(data)
        try:
            while True:
                event = client.reader.next_event()
                if isinstance(event, ServerRequest):
                    self._answer(client, event.method, event.uri, event.headers)
                elif isinstance(event, RtspResponse):  # clients do not send those
                    raise RtspProtocolError(f"expected a request, found a {event.status} response")
                elif not isinstance(event, InterleavedFrame):  # a frame: the client's RTCP receiver reports
                    break  # NEED_DATA
        except RtspProtocolError as exc:
            log.info("light RTSP server: closing a client that sent no RTSP: %s", exc)
            self._close(client)

    def _answer(self, client: _Client, method: str, uri: str, headers: dict[str, list[str]]) -> None:
        cseq = (headers.get("cseq") or ["0"])[0]
        base: list[tuple[str, str]] = [("CSeq", cseq), ("Server", "shopwatch-sim-light")]

        def reply(status: int, reason: str, extra: list[tuple[str, str]] = [], body: bytes = b"") -> None:  # noqa: B006
            self._queue(client, response_bytes(status, reason, base + extra, body))

        if method == "OPTIONS" and not self._session_of(client, headers):
            reply(200, "OK", [("Public", _PUBLIC)])
            return
        if method in ("OPTIONS", "GET_PARAMETER"):
            session = self._session_of(client, headers)
            reply(200, "OK", [("Session", f"{session.session_id};timeout={SESSION_TIMEOUT_S}")] if session else [])
            return
        if method not in ("DESCRIBE", "SETUP", "PLAY", "TEARDOWN"):
            reply(501, "Not Implemented")
            return
        mount = self._mount_of(uri)
        if mount is None:
            reply(404, "Not Found")
            return
        if not self._credentials.allows(mount.camera_id, next(iter(headers.get("authorization", [])), None)):
            reply(401, "Unauthorized", [("WWW-Authenticate", f'Basic realm="{REALM}"')])
            return
        if method == "DESCRIBE":
            content_base = f"rtsp://{self._host}:{self.port}/{mount.camera_id}/"
            reply(
                200,
                "OK",
                [("Content-Base", content_base), ("Content-Type", "application/sdp")],
                self._sdp(mount).encode("ascii"),
            )
        elif method == "SETUP":
            self._setup(client, mount, headers, reply)
        elif method == "PLAY":
            session = self._session_of(client, headers)
            if session is None:
                reply(454, "Session Not Found")
                return
            if not session.playing:
                session.playing = True
                session.slot = (self._current_slot() + 1) % self._slots
                self._wheel[session.slot].append(session)
            track = f"rtsp://{self._host}:{self.port}/{mount.camera_id}/stream=0"
            reply(
                200,
                "OK",
                [
                    ("Session", f"{session.session_id};timeout={SESSION_TIMEOUT_S}"),
                    ("Range", "npt=now-"),
                    ("RTP-Info", f"url={track};seq={session.seq};rtptime={session.timestamp}"),
                ],
            )
        else:  # TEARDOWN
            session = self._session_of(client, headers)
            if session is not None:
                self._end_session(client, session)
            reply(200, "OK")

    def _setup(self, client: _Client, mount: _Mount, headers: dict[str, list[str]], reply: _Reply) -> None:
        transport = (headers.get("transport") or [""])[0]
        options = [part.strip() for part in transport.split(",")]
        tcp = next((o for o in options if o.upper().startswith("RTP/AVP/TCP")), None)
        if tcp is None:
            reply(461, "Unsupported Transport")
            return
        channel = 0
        for param in tcp.split(";"):
            name, _, value = param.partition("=")
            if name.strip() == "interleaved":
                first = value.split("-")[0]
                channel = int(first) if first.isdigit() and int(first) < 255 else 0
        if self._session_of(client, headers) is not None:
            reply(459, "Aggregate Operation Not Allowed")  # one track per session
            return
        session = _Session(
            session_id=f"{self._rng.getrandbits(48):012x}",
            client=client,
            mount=mount,
            channel=channel,
            ssrc=self._rng.getrandbits(32),
            seq=self._rng.getrandbits(16),
            timestamp=self._rng.getrandbits(32),
        )
        client.sessions[session.session_id] = session
        reply(
            200,
            "OK",
            [
                ("Session", f"{session.session_id};timeout={SESSION_TIMEOUT_S}"),
                ("Transport", f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1};ssrc={session.ssrc:08X}"),
            ],
        )

    def _sdp(self, mount: _Mount) -> str:
        lines = [
            "v=0",
            f"o=- {abs(hash(mount.camera_id)) % 10**9} 1 IN IP4 {self._host}",
            f"s=shopwatch simulated camera {mount.camera_id}",
            "c=IN IP4 0.0.0.0",
            "t=0 0",
            "a=control:*",
            "a=range:npt=now-",
            f"m=video 0 RTP/AVP {PAYLOAD_TYPE}",
            f"a=rtpmap:{PAYLOAD_TYPE} H264/{CLOCK_RATE}",
            f"a=fmtp:{PAYLOAD_TYPE} {mount.clip.sdp_fmtp()}",
            f"a=framerate:{self._fps}",
            "a=control:stream=0",
        ]
        return "\r\n".join(lines) + "\r\n"

    def _mount_of(self, uri: str) -> _Mount | None:
        path = urlsplit(uri).path if "://" in uri else uri
        first = path.strip("/").split("/")[0]
        with self._lock:
            return self._mounts.get(first)

    @staticmethod
    def _session_of(client: _Client, headers: dict[str, list[str]]) -> _Session | None:
        value = (headers.get("session") or [""])[0]
        return client.sessions.get(value.partition(";")[0].strip())

    def _current_slot(self) -> int:
        return int(time.monotonic() / (self._period_s / self._slots)) % self._slots

    # frames ------------------------------------------------------------------------------------------------

    def _fire(self, slot: int) -> None:
        step = CLOCK_RATE // self._fps
        for session in list(self._wheel[slot]):  # a failed send closes its client: its sessions leave the slot
            clip = session.mount.clip
            frame = clip.frames[session.frame_index]
            session.frame_index = (session.frame_index + 1) % len(clip.frames)
            count = len(frame.header_offsets)
            client = session.client
            if not client.pending:
                data = bytearray(frame.data)
                seq, ts, ssrc = session.seq, session.timestamp & 0xFFFFFFFF, session.ssrc
                if session.channel:
                    for offset in frame.header_offsets:
                        data[offset - 3] = session.channel
                for n, offset in enumerate(frame.header_offsets):
                    struct.pack_into("!HII", data, offset + 2, (seq + n) & 0xFFFF, ts, ssrc)
                self._send_frame(client, data)
            else:
                self.dropped_frames += 1
            session.seq = (session.seq + count) & 0xFFFF
            session.timestamp = (session.timestamp + step) & 0xFFFFFFFF

    def _send_frame(self, client: _Client, data: bytearray) -> None:
        try:
            sent = client.sock.send(data)
        except (BlockingIOError, InterruptedError):
            self.dropped_frames += 1
            return
        except OSError:
            self._close(client)
            return
        self.sent_frames += 1
        if sent < len(data):  # the tail must follow before anything else: the framing is byte-exact
            client.pending += data[sent:]
            self._want_write(client, True)

    def _queue(self, client: _Client, data: bytes) -> None:
        if len(client.pending) > _MAX_PENDING_RESPONSE:
            self._close(client)
            return
        client.pending += data
        self._flush(client)

    def _flush(self, client: _Client) -> None:
        if client.closed:
            return
        try:
            sent = client.sock.send(client.pending) if client.pending else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close(client)
            return
        del client.pending[:sent]
        self._want_write(client, bool(client.pending))

    def _want_write(self, client: _Client, want: bool) -> None:
        assert self._selector is not None
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want else 0)
        if self._selector.get_key(client.sock).events != events:
            self._selector.modify(client.sock, events, client)

    def _end_session(self, client: _Client, session: _Session) -> None:
        client.sessions.pop(session.session_id, None)
        if session.playing:
            self._wheel[session.slot].remove(session)
            session.playing = False

    def _close(self, client: _Client) -> None:
        if client.closed:
            return
        client.closed = True
        for session in list(client.sessions.values()):
            self._end_session(client, session)
        if self._selector is not None:
            try:
                self._selector.unregister(client.sock)
            except (KeyError, ValueError):
                pass
        client.sock.close()
        self._clients.discard(client)
