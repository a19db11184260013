"""Simulated RTSP cameras: GstRtspServer in-process, one shared mount per camera, faults on demand.

Each mount loops a pre-encoded H.264 clip (``clips.py``) without re-encoding; all clients of a mount share
one pipeline, so hundreds of mounts are cheap (INGEST_FACTS.md: ~0.0016 core per served 360p12 stream).
The GLib main loop runs in a background thread with its own main context; public methods hand GStreamer
work to that thread and wait a bounded time.

Faults a test or the demo can inject per camera: ``drop`` (close every client connection of the mount
now), ``hang`` (connections stay open, nothing is sent, RTCP included), ``resume``, and ``set_credentials``
(HTTP Basic on that mount; a missing or wrong password gets RTSP 401, which PyAV raises as
``av.error.HTTPUnauthorizedError``).

Transports: RTSP-over-TCP (interleaved) always; unicast UDP too unless ``udp=False``. A UDP client's RTP/RTCP
socket pair is bound to the server's own ``host`` address (``gst_media.udp_pool``; gst-rtsp-server's default
would be every interface), from ``udp_ports``, one pair per mount shared by its UDP clients. Faults behave
alike for both (a UDP client's session stops with its RTSP connection: stop-on-disconnect, GStreamer's default).

What a PyAV client sees (measured): one packet per frame at the clip's rate; the very first packet after
connecting has ``pts is None`` (FFmpeg's parser), later ones increase. A client joining a mount that is
already streaming starts mid-GOP (up to ``gop`` frames before its first keyframe), as with a camera whose
encoder is shared. ``drop`` ends the demux iterator at once; ``hang`` makes FFmpeg's ``timeout=5000000``
fire after ~10 s (the held-back last frame comes out at ~5 s); a restart after ``resume`` or a reconnect jumps
the timestamps.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer  # noqa: E402

from shopwatch.sim.auth import MountAuth, MountCredentials, mount_of  # noqa: E402
from shopwatch.sim.gst_media import (  # noqa: E402
    UDP_PORTS,
    LoopThread,
    MediaHandle,
    check_udp,
    launch_line,
    lower_transports,
    shut_down,
    udp_addresses,
    udp_pool,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
CALL_TIMEOUT_S = 5.0
# How often expired sessions are removed: a dropped UDP client's session outlives its RTSP connection (emptied,
# see "Transports") until its timeout (60 s, +5 s grace), and only a session pool cleanup removes it then.
SESSION_CLEANUP_S = 5
_CAMERA_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass(eq=False)
class _Mount:
    camera_id: str
    clip: Path
    factory: GstRtspServer.RTSPMediaFactory
    hung: bool = False
    medias: list[MediaHandle] = field(default_factory=list)
    clients: set[GstRtspServer.RTSPClient] = field(default_factory=set)


class SimServer:
    """An RTSP server with one mount per simulated camera, bound to loopback by default."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        fps: int = 12,
        udp: bool = True,
        udp_ports: tuple[int, int] = UDP_PORTS,
    ) -> None:
        """``udp``: also serve RTP over unicast UDP, from sockets bound to ``host`` (which must then be an IP
        address) on even/odd port pairs from ``udp_ports`` (inclusive; taken pairs are skipped)."""
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535, found {port}")
        if udp:
            check_udp(host, udp_ports)
        Gst.init(None)
        self._host, self._requested_port, self._fps = host, port, fps
        self._udp_ports = udp_ports if udp else None
        self._pool: GstRtspServer.RTSPAddressPool | None = None
        self._mounts: dict[str, _Mount] = {}
        # Guards _mounts and every _Mount: client threads, media threads and callers all touch them.
        self._lock = threading.Lock()
        self._credentials = MountCredentials()
        self._loop: LoopThread | None = None
        self._server: GstRtspServer.RTSPServer | None = None
        self._source_ids: list[int] = []
        self._port = 0

    # lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and serve; raises ``OSError`` when the port cannot be bound."""
        if self._loop is not None:
            raise RuntimeError("SimServer already started")
        self._loop = LoopThread("sim RTSP server")
        try:
            self._call(self._start_in_loop)
        except BaseException:
            self._quit_loop(CALL_TIMEOUT_S)
            raise

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close every client, free the listening port and end the loop thread, within about ``timeout_s``."""
        if self._loop is None:
            return
        try:
            self._call(self._stop_in_loop, timeout_s=timeout_s)
        finally:
            self._quit_loop(timeout_s)

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0)."""
        if not self._port:
            raise RuntimeError("SimServer is not started")
        return self._port

    @property
    def host(self) -> str:
        return self._host

    @property
    def udp(self) -> bool:
        """True when UDP clients are served."""
        return self._udp_ports is not None

    @property
    def camera_ids(self) -> list[str]:
        with self._lock:
            return list(self._mounts)

    def url(self, camera_id: str) -> str:
        """``rtsp://127.0.0.1:PORT/camera_id``, without credentials."""
        return f"rtsp://{self._host}:{self.port}/{camera_id}"

    # cameras -----------------------------------------------------------------------------------------------

    def add_camera(
        self, camera_id: str, clip: Path, *, username: str | None = None, password: str | None = None
    ) -> str:
        """Mount ``clip`` at ``/{camera_id}`` and return its URL; with a username, the mount needs that login."""
        if not camera_id or not set(camera_id) <= _CAMERA_ID_CHARS:
            raise ValueError(f"camera id must be letters, digits, '-', '_' or '.', found {camera_id!r}")
        if not clip.is_file():
            raise FileNotFoundError(f"clip for camera {camera_id!r} not found: {clip}")
        resolved = clip.resolve()
        self._call(lambda: self._add_in_loop(camera_id, resolved, username, password))
        return self.url(camera_id)

    def remove_camera(self, camera_id: str) -> None:
        """Unmount the camera and close its clients; later requests get 404."""
        self._call(lambda: self._remove_in_loop(camera_id))

    # faults ------------------------------------------------------------------------------------------------

    def drop(self, camera_id: str) -> None:
        """Close every client connection of this mount now; new connections are served again."""
        self._call(lambda: self._close_clients(self._mount(camera_id)))

    def hang(self, camera_id: str) -> None:
        """Keep connections open but send nothing (RTP and RTCP), also to clients that connect later."""
        with self._lock:
            mount = self._mount(camera_id)
            mount.hung = True
            for media in mount.medias:
                if media.prepared:  # one still prerolling is blocked when it is prepared
                    media.block()

    def resume(self, camera_id: str) -> None:
        """Undo ``hang``: data flows again, its timestamps jumping over the hung time like a camera's."""
        with self._lock:
            mount = self._mount(camera_id)
            mount.hung = False
            for media in mount.medias:
                media.unblock()

    def set_credentials(self, camera_id: str, username: str | None, password: str | None) -> None:
        """Require this login for new requests on the mount (``None`` username: open). Open sessions stay;
        call ``drop`` too to force clients to log in again."""
        with self._lock:
            self._mount(camera_id)
        self._credentials.set(camera_id, username, password)

    def is_hung(self, camera_id: str) -> bool:
        with self._lock:
            return self._mount(camera_id).hung

    def client_count(self, camera_id: str) -> int:
        """Connections that asked for this mount and are still open."""
        with self._lock:
            return len(self._mount(camera_id).clients)

    def udp_addresses(self, camera_id: str) -> list[tuple[str, int]]:
        """(address, port) of the UDP sockets serving this mount: none until a UDP client has set up."""
        with self._lock:
            medias = [handle.media for handle in self._mount(camera_id).medias]
        return [address for media in medias for address in udp_addresses(media)]

    # loop thread -------------------------------------------------------------------------------------------

    def _quit_loop(self, timeout_s: float) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and not loop.quit(timeout_s):
            log.warning("sim RTSP loop thread did not end within %.1f s", timeout_s)
        self._server = self._pool = None
        self._port = 0

    def _call_soon(self, fn: Callable[[], object]) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon(fn)

    def _call(self, fn: Callable[[], T], timeout_s: float = CALL_TIMEOUT_S) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("SimServer is not started")
        return loop.call(fn, timeout_s)

    def _start_in_loop(self) -> None:
        server = GstRtspServer.RTSPServer()
        server.set_address(self._host)
        server.set_service(str(self._requested_port))
        # The default backlog of 5 drops the SYNs of a burst (ingest starting 100 cameras at once); clients
        # then retry after 1, 3, 7 ... s and some opens took a minute.
        server.set_backlog(1024)
        # A thread per client: a DESCRIBE waits for its media's preroll, and a burst of 100 clients served on
        # one thread took seconds, long enough for FFmpeg's 5 s timeout. Clients are therefore never closed
        # from here (GstRTSPClient.close() races with the client's own watch), see gst_media.shut_down.
        server.get_thread_pool().set_max_threads(-1)
        server.set_auth(MountAuth(self._credentials))
        server.connect("client-connected", self._on_client_connected)
        assert self._loop is not None
        source_id = server.attach(self._loop.context)
        if not source_id:
            raise OSError(f"cannot listen on {self._host}:{self._requested_port} (port in use?)")
        self._source_ids = [source_id]
        self._server = server
        self._port = server.get_bound_port()
        if self._udp_ports is not None:
            self._pool = udp_pool(self._host, self._udp_ports, random.Random())
            self._source_ids.append(self._loop.every(SESSION_CLEANUP_S, server.get_session_pool().cleanup))

    def _stop_in_loop(self) -> None:
        assert self._server is not None and self._loop is not None
        for source_id in self._source_ids:  # the listener's closes the listening socket: the port is free again
            self._loop.destroy_source(source_id)
        self._source_ids = []
        for camera_id in self.camera_ids:
            self._remove_in_loop(camera_id)

        def drop_client(_server: GstRtspServer.RTSPServer, client: GstRtspServer.RTSPClient) -> Any:
            shut_down(client)
            return GstRtspServer.RTSPFilterResult.KEEP  # the client's own thread closes it on EOF

        self._server.client_filter(drop_client)

    def _add_in_loop(self, camera_id: str, clip: Path, username: str | None, password: str | None) -> None:
        assert self._server is not None
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(clip, self._fps))
        factory.set_shared(True)
        factory.set_protocols(lower_transports(self._pool is not None))
        if self._pool is not None:
            factory.set_address_pool(self._pool)
        mount = _Mount(camera_id, clip, factory)
        with self._lock:
            if camera_id in self._mounts:
                raise ValueError(f"camera {camera_id!r} is already mounted")
            self._mounts[camera_id] = mount
        factory.connect("media-configure", self._on_media_configure, mount)
        self._credentials.set(camera_id, username, password)
        self._server.get_mount_points().add_factory(f"/{camera_id}", factory)

    def _remove_in_loop(self, camera_id: str) -> None:
        assert self._server is not None
        with self._lock:
            mount = self._mount(camera_id)
            del self._mounts[camera_id]
            mount.hung = False
            medias = list(mount.medias)
            for media in medias:
                media.unblock()
        self._server.get_mount_points().remove_factory(f"/{camera_id}")
        self._credentials.set(camera_id, None, None)
        self._close_clients(mount)
        for media in medias:
            if media.anchored:
                media.anchored = False
                media.media.unprepare()

    def _close_clients(self, mount: _Mount) -> None:
        with self._lock:
            clients = list(mount.clients)
            mount.clients.clear()
        for client in clients:
            shut_down(client)

    def _mount(self, camera_id: str) -> _Mount:
        try:
            return self._mounts[camera_id]
        except KeyError:
            raise KeyError(f"no simulated camera {camera_id!r}; mounted: {sorted(self._mounts)[:10]}") from None

    # GStreamer callbacks (client and media threads) --------------------------------------------------------

    def _on_client_connected(self, _server: GstRtspServer.RTSPServer, client: GstRtspServer.RTSPClient) -> None:
        client.connect("describe-request", self._on_request)
        client.connect("setup-request", self._on_request)
        client.connect("closed", self._on_client_closed)

    def _on_request(self, client: GstRtspServer.RTSPClient, ctx: GstRtspServer.RTSPContext) -> None:
        camera_id = mount_of(ctx.uri.abspath if ctx.uri is not None else None)
        with self._lock:
            mount = self._mounts.get(camera_id)
            if mount is not None:
                mount.clients.add(client)

    def _on_client_closed(self, client: GstRtspServer.RTSPClient) -> None:
        with self._lock:
            for mount in self._mounts.values():
                mount.clients.discard(client)

    def _on_media_configure(
        self, _factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia, mount: _Mount
    ) -> None:
        handle = MediaHandle(media)
        with self._lock:
            mount.medias.append(handle)
        media.connect("prepared", self._on_media_prepared, mount, handle)
        media.connect("unprepared", self._on_media_unprepared, mount, handle)

    def _on_media_prepared(self, _media: GstRtspServer.RTSPMedia, mount: _Mount, handle: MediaHandle) -> None:
        with self._lock:
            handle.prepared = True
            if mount.hung:
                handle.block()
        self._call_soon(lambda: self._anchor(mount, handle))

    def _anchor(self, mount: _Mount, handle: MediaHandle) -> None:
        # A shared media unprepares when its last client leaves, and a client that looks it up in that moment
        # gets 503 (GstRtspServer 1.22); a real camera never does that. So the server holds one prepare of its
        # own: the media stays prepared (paused while nobody watches) until the mount is removed.
        with self._lock:
            mounted = self._mounts.get(mount.camera_id) is mount
        if mounted and not handle.anchored:
            handle.anchored = bool(handle.media.prepare(None))

    def _on_media_unprepared(self, _media: GstRtspServer.RTSPMedia, mount: _Mount, handle: MediaHandle) -> None:
        with self._lock:
            if handle in mount.medias:
                mount.medias.remove(handle)
