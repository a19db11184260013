"""Simulated RTSP cameras: GstRtspServer in-process, one shared mount per camera, faults on demand.

Each mount loops a pre-encoded H.264 clip (``clips.py``) without re-encoding; all clients of a mount share
one pipeline, so hundreds of mounts are cheap (INGEST_FACTS.md: ~0.0016 core per served 360p12 stream).
The GLib main loop runs in a background thread with its own main context; public methods hand GStreamer
work to that thread and wait a bounded time.

Faults a test or the demo can inject per camera: ``drop`` (close every client connection of the mount
now), ``hang`` (connections stay open, nothing is sent, RTCP included), ``resume``, and ``set_credentials``
(HTTP Basic on that mount; a missing or wrong password gets RTSP 401, which PyAV raises as
``av.error.HTTPUnauthorizedError``).

Transport is RTSP-over-TCP (interleaved) only: UDP transport would bind RTP ports on every interface.

What a PyAV client sees (measured): one packet per frame at the clip's rate; the very first packet after
connecting has ``pts is None`` (FFmpeg's parser), later ones increase. A client joining a mount that is
already streaming starts mid-GOP (up to ``gop`` frames before its first keyframe), as with a camera whose
encoder is shared. ``drop`` ends the demux iterator at once; ``hang`` makes FFmpeg's ``timeout=5000000``
fire after ~10 s (the held-back last frame comes out at ~5 s); a restart after ``resume`` or a reconnect jumps
the timestamps.
"""

from __future__ import annotations

import logging
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
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

from shopwatch.sim.auth import MountAuth, MountCredentials, mount_of  # noqa: E402
from shopwatch.sim.gst_media import MediaHandle, launch_line  # noqa: E402

log = logging.getLogger(__name__)

T = TypeVar("T")
CALL_TIMEOUT_S = 5.0
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

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, fps: int = 12) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535, found {port}")
        Gst.init(None)
        self._host, self._requested_port, self._fps = host, port, fps
        self._mounts: dict[str, _Mount] = {}
        # Guards _mounts and every _Mount: client threads, media threads and callers all touch them.
        self._lock = threading.Lock()
        self._credentials = MountCredentials()
        self._context: GLib.MainContext | None = None
        self._loop: GLib.MainLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: GstRtspServer.RTSPServer | None = None
        self._source_id = 0
        self._port = 0

    # lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and serve; raises ``OSError`` when the port cannot be bound."""
        if self._thread is not None:
            raise RuntimeError("SimServer already started")
        self._context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._context, False)
        self._thread = threading.Thread(target=self._run_loop, name="sim-rtsp", daemon=True)
        self._thread.start()
        try:
            self._call(self._start_in_loop)
        except BaseException:
            self._quit_loop(CALL_TIMEOUT_S)
            raise

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close every client, free the listening port and end the loop thread, within about ``timeout_s``."""
        if self._thread is None:
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

    # loop thread -------------------------------------------------------------------------------------------

    def _run_loop(self) -> None:
        assert self._context is not None and self._loop is not None
        self._context.push_thread_default()
        try:
            self._loop.run()
        finally:
            self._context.pop_thread_default()

    def _quit_loop(self, timeout_s: float) -> None:
        if self._loop is not None:
            self._loop.quit()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("sim RTSP loop thread did not end within %.1f s", timeout_s)
        self._thread = self._loop = self._context = None
        self._server = None
        self._port = 0

    def _call_soon(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the loop thread later; errors are logged (this is a task boundary)."""
        context = self._context
        if context is None:
            return

        def run(*_args: object) -> bool:
            try:
                fn()
            except Exception:
                log.exception("sim RTSP server: deferred call failed")
            return GLib.SOURCE_REMOVE

        source = GLib.idle_source_new()
        source.set_callback(run)
        source.attach(context)

    def _call(self, fn: Callable[[], T], timeout_s: float = CALL_TIMEOUT_S) -> T:
        """Run ``fn`` on the loop thread and return its result (or raise its exception), bounded."""
        if self._context is None:
            raise RuntimeError("SimServer is not started")
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

        self._call_soon(run)
        if not done.wait(timeout_s):
            raise TimeoutError(f"sim RTSP server did not answer within {timeout_s} s")
        if "error" in box:
            raise box["error"]
        return box["value"]

    def _start_in_loop(self) -> None:
        server = GstRtspServer.RTSPServer()
        server.set_address(self._host)
        server.set_service(str(self._requested_port))
        # The default backlog of 5 drops the SYNs of a burst (ingest starting 100 cameras at once); clients
        # then retry after 1, 3, 7 ... s and some opens took a minute.
        server.set_backlog(1024)
        # A thread per client: a DESCRIBE waits for its media's preroll, and a burst of 100 clients served on
        # one thread took seconds, long enough for FFmpeg's 5 s timeout. Clients are therefore never closed
        # from here (GstRTSPClient.close() races with the client's own watch), see _shut_down.
        server.get_thread_pool().set_max_threads(-1)
        server.set_auth(MountAuth(self._credentials))
        server.connect("client-connected", self._on_client_connected)
        self._source_id = server.attach(self._context)
        if not self._source_id:
            raise OSError(f"cannot listen on {self._host}:{self._requested_port} (port in use?)")
        self._server = server
        self._port = server.get_bound_port()

    def _stop_in_loop(self) -> None:
        assert self._server is not None and self._context is not None
        source = self._context.find_source_by_id(self._source_id)
        if source is not None:
            source.destroy()  # closes the listening socket: the port is free again
        for camera_id in self.camera_ids:
            self._remove_in_loop(camera_id)

        def shut_down(_server: GstRtspServer.RTSPServer, client: GstRtspServer.RTSPClient) -> Any:
            _shut_down(client)
            return GstRtspServer.RTSPFilterResult.KEEP  # the client's own thread closes it on EOF

        self._server.client_filter(shut_down)

    def _add_in_loop(self, camera_id: str, clip: Path, username: str | None, password: str | None) -> None:
        assert self._server is not None
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(clip, self._fps))
        factory.set_shared(True)
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
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
            _shut_down(client)

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


def _shut_down(client: GstRtspServer.RTSPClient) -> None:
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
