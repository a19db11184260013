"""The asyncio adapter of the ONVIF backchannel: moves bytes between a socket and ``client.BackchannelClient``.

One reader task parses everything the camera sends and feeds responses to the client (which decides the next
request); interleaved RTP/RTCP from the camera's own tracks is read and dropped so the connection never backs
up. A keepalive task sends the client's keepalive every half session timeout. RTP goes out ``$``-framed on the
RTSP connection (TCP) or from a bound even/odd UDP port pair to the camera's ``server_port`` (UDP).
``close`` sends TEARDOWN whenever a session exists, waits a bounded time for its answer, and closes sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from urllib.parse import unquote, urlsplit

from shopwatch.core.redact import redact_url, strip_credentials
from shopwatch.rtsp.digest import DigestSigner
from shopwatch.rtsp.messages import (
    NEED_DATA,
    InterleavedFrame,
    RtspProtocolError,
    RtspReader,
    RtspResponse,
    ServerRequest,
    interleave,
)
from shopwatch.talkback.errors import TalkbackError, TalkbackProtocolError, TalkbackUnreachable
from shopwatch.talkback.g711 import Codec
from shopwatch.talkback.speakers.link import EncodedFrame
from shopwatch.talkback.speakers.rtp import Packetizer
from shopwatch.talkback.speakers.rtsp.client import BackchannelClient, State
from shopwatch.talkback.target import TalkTarget

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
HANDSHAKE_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 2.0  # a camera that stops reading our RTP for this long is gone
TEARDOWN_TIMEOUT_S = 2.0
_PORT_TRIES = 20


class RtspBackchannel:
    """``SpeakerLink`` for ``rtsp://`` targets (see the module doc)."""

    protocol = "rtsp"

    def __init__(self, target: TalkTarget, *, handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S) -> None:
        parts = urlsplit(target.url)
        self._host, self._port = parts.hostname or "", parts.port or 554
        self._shown = redact_url(target.url)
        auth = DigestSigner(unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        self._udp = target.transport == "udp"
        ports = self._bind_pair if self._udp else None
        self._client = BackchannelClient(
            strip_credentials(target.url), auth, allocate_ports=ports, backchannel_only=target.backchannel_only
        )
        self._profile = target.rtp
        self._held = bytearray()  # audio waiting for a full packet (profiles with packets over 20 ms)
        self._held_at: tuple[int, bool] = (0, False)  # the held audio's first timestamp and marker
        self._handshake_timeout_s = handshake_timeout_s
        self._reader = RtspReader()
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._failure: TalkbackError | None = None
        self._changed = asyncio.Event()  # set on every state change or failure
        self._udp_socks: list[socket.socket] = []
        self._rtp_sock: socket.socket | None = None
        self._packetizer: Packetizer | None = None
        self.dropped_frames = 0  # interleaved packets from the camera, read and discarded
        self.keepalives = 0

    async def open(self, codecs: tuple[Codec, ...]) -> Codec:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):  # not wait_for: on 3.11 it can drop a cancel
                stream_reader, self._writer = await asyncio.open_connection(self._host, self._port)
        except (OSError, TimeoutError) as exc:
            raise TalkbackUnreachable(f"cannot connect to {self._shown}: {_reason(exc)}") from None
        self._tasks.append(asyncio.create_task(self._read(stream_reader), name=f"rtsp read {self._shown}"))
        self._write(self._client.start(codecs))
        try:
            async with asyncio.timeout(self._handshake_timeout_s):
                await self._until_playing()
        except TimeoutError:
            raise TalkbackUnreachable(
                f"{self._shown} did not finish the backchannel setup within {self._handshake_timeout_s} s"
            ) from None
        track = self._client.backchannel
        choice = self._client.choice
        assert choice is not None  # set before PLAYING
        self._packetizer = Packetizer(choice.payload_type)
        if self._udp:
            self._connect_rtp(track.client_ports, track.server_ports)
        self._tasks.append(asyncio.create_task(self._keepalive(), name=f"rtsp keepalive {self._shown}"))
        return choice.codec

    async def _until_playing(self) -> None:
        while self._client.state is not State.PLAYING:
            if self._failure is not None:
                raise self._failure
            self._changed.clear()
            await self._changed.wait()

    async def send(self, frame: EncodedFrame) -> None:
        if self._failure is not None:
            raise self._failure
        if frame.marker and self._held:  # a new talkspurt after a gap: what is held belongs to the last one
            await self.flush()
        if not self._held:
            self._held_at = (frame.timestamp, frame.marker)
        self._held += frame.payload
        while len(self._held) >= self._profile.packet_bytes:
            payload = bytes(self._held[: self._profile.packet_bytes])
            del self._held[: self._profile.packet_bytes]
            await self._send_packet(payload, *self._held_at)
            self._held_at = (self._held_at[0] + len(payload), False)  # G.711: one byte per sample

    async def flush(self) -> None:
        if self._held and self._failure is None:
            payload = bytes(self._held)
            self._held.clear()
            await self._send_packet(payload, *self._held_at)

    async def _send_packet(self, payload: bytes, timestamp: int, talkspurt: bool) -> None:
        assert self._packetizer is not None and self._writer is not None, "send() before open()"
        marker = {"talkspurt": talkspurt, "every": True, "never": False}[self._profile.marker]
        packet = bytes(self._packetizer.packet(payload, timestamp, marker=marker))
        if self._rtp_sock is not None:
            with contextlib.suppress(BlockingIOError, ConnectionRefusedError):  # a lost datagram; TCP tells death
                self._rtp_sock.send(packet)
            return
        channel = self._client.backchannel.rtp_channel
        assert channel is not None
        self._write(interleave(channel, packet))
        try:
            # Not wait_for: on Python 3.11 it returns when its inner task ends in the loop turn that delivers a
            # cancel, and the cancel is lost (a stopped clip played on to its end).
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await self._writer.drain()
        except TimeoutError:
            raise TalkbackUnreachable(f"{self._shown} stopped reading the audio for {WRITE_TIMEOUT_S} s") from None
        except OSError as exc:
            broke = TalkbackUnreachable(f"connection to {self._shown} broke mid-talk: {_reason(exc)}")
            raise self._fail(broke) from None

    async def close(self) -> None:
        try:
            request = self._client.teardown() if self._writer_alive() else None
            if request is not None:
                self._write(request)
                with contextlib.suppress(TimeoutError, TalkbackError):
                    await asyncio.wait_for(self._until_closed(), TEARDOWN_TIMEOUT_S)
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._tasks.clear()
            if self._writer is not None:
                self._writer.close()
                with contextlib.suppress(OSError, TimeoutError):
                    await asyncio.wait_for(self._writer.wait_closed(), 1.0)
            for sock in self._udp_socks:
                sock.close()
            self._udp_socks.clear()

    async def _until_closed(self) -> None:
        while self._client.state is not State.CLOSED and self._failure is None:
            self._changed.clear()
            await self._changed.wait()

    # tasks -------------------------------------------------------------------------------------------------

    async def _read(self, stream: asyncio.StreamReader) -> None:
        try:
            while True:
                data = await stream.read(65536)
                self._reader.receive_data(data)
                self._dispatch()
                if not data:
                    raise TalkbackUnreachable(f"{self._shown} closed the RTSP connection")
        except TalkbackError as exc:
            self._fail(exc)
        except RtspProtocolError as exc:
            self._fail(TalkbackProtocolError(f"{self._shown}: {exc}"))
        except OSError as exc:
            self._fail(TalkbackUnreachable(f"connection to {self._shown} broke: {_reason(exc)}"))

    def _dispatch(self) -> None:
        while True:
            event = self._reader.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, InterleavedFrame):
                self.dropped_frames += 1
            elif isinstance(event, RtspResponse):
                reply = self._client.handle(event)
                if reply is not None:
                    self._write(reply)
                self._changed.set()
            elif isinstance(event, ServerRequest):  # its keepalive OPTIONS, GET_PARAMETER: answer, or it hangs up
                self._write(self._client.answer(event))

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self._client.keepalive_interval_s)
            if self._client.state is not State.PLAYING or not self._writer_alive():
                return
            self._write(self._client.keepalive())
            self.keepalives += 1

    # plumbing ----------------------------------------------------------------------------------------------

    def _fail(self, exc: TalkbackError) -> TalkbackError:
        if self._failure is None:
            self._failure = exc
            log.info("talkback %s: %s", self._shown, exc)
        self._changed.set()
        return self._failure

    def _write(self, data: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            raise self._fail(TalkbackUnreachable(f"connection to {self._shown} is closed"))
        self._writer.write(data)

    def _writer_alive(self) -> bool:
        return self._writer is not None and not self._writer.is_closing() and not self._reader.closed

    def _bind_pair(self) -> tuple[int, int]:
        """An even RTP port and the next odd one for RTCP (RFC 3550 section 11), on the RTSP connection's
        local address; the sockets live until ``close``."""
        assert self._writer is not None
        local = self._writer.get_extra_info("sockname")[0]
        for _ in range(_PORT_TRIES):
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp.bind((local, 0))
            port = rtp.getsockname()[1]
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                if port % 2:
                    raise OSError("odd port")
                rtcp.bind((local, port + 1))
            except OSError:
                rtp.close()
                rtcp.close()
                continue
            for sock in (rtp, rtcp):
                sock.setblocking(False)
            self._udp_socks += [rtp, rtcp]
            return port, port + 1
        raise TalkbackUnreachable(f"no free even/odd UDP port pair on {local} after {_PORT_TRIES} tries")

    def _connect_rtp(self, client: tuple[int, int] | None, server: tuple[int, int] | None) -> None:
        assert client is not None and server is not None and self._writer is not None
        peer = self._writer.get_extra_info("peername")[0]
        self._rtp_sock = next(s for s in self._udp_socks if s.getsockname()[1] == client[0])
        self._rtp_sock.connect((peer, server[0]))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {CONNECT_TIMEOUT_S} s"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)
