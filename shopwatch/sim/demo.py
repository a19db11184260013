"""The demo's simulated cameras: serve every camera of a config whose detect stream points at loopback.

``shopwatch demo`` calls ``demo_fleet(settings)`` before starting the service on the same config, so the
config is the single description of the demo: a camera ``rtsp://127.0.0.1:8554/cam-07`` with credentials is
served at that port and path, requiring those credentials. Every fifth simulated camera shows a walker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from shopwatch.core.config import CameraConfig, Settings
from shopwatch.sim.clips import ClipKind, ClipSpec, generate_clip
from shopwatch.sim.rtsp_server import SimServer

LOOPBACK = frozenset({"127.0.0.1", "localhost"})
WALKER_EVERY = 5
CLIP_SECONDS = 20.0


def simulated(settings: Settings) -> list[tuple[CameraConfig, int, str]]:
    """(camera, port, mount) of every enabled camera whose detect URL is on loopback."""
    out: list[tuple[CameraConfig, int, str]] = []
    for cam in settings.cameras:
        if not cam.enabled or cam.streams.detect is None:
            continue
        url = urlsplit(cam.streams.detect)
        if url.hostname not in LOOPBACK:
            continue
        mount = url.path.strip("/")
        if not mount or "/" in mount:
            raise ValueError(
                f"camera {cam.id}: expected a detect URL like rtsp://127.0.0.1:8554/<name>, found path {url.path!r}"
            )
        out.append((cam, url.port or 554, mount))
    return out


@contextmanager
def demo_fleet(settings: Settings, clips_dir: Path | None = None) -> Iterator[str]:
    """Serve the config's loopback cameras (one ``SimServer`` per port); yields a line describing them."""
    cameras = simulated(settings)
    clips_dir = clips_dir or Path(settings.service.data_dir) / "sim"
    by_port: dict[int, list[tuple[CameraConfig, str]]] = {}
    for cam, port, mount in cameras:
        by_port.setdefault(port, []).append((cam, mount))
    with ExitStack() as stack:
        position = 0
        for port, mounts in sorted(by_port.items()):
            server = SimServer("127.0.0.1", port)
            try:
                server.start()
            except OSError as exc:
                raise OSError(f"simulated cameras: cannot listen on 127.0.0.1:{port} ({exc})") from None
            stack.callback(server.stop)
            for cam, mount in mounts:
                position += 1
                kind: ClipKind = "walker" if position % WALKER_EVERY == 0 else "static"
                clip = generate_clip(ClipSpec(kind, seconds=CLIP_SECONDS, seed=position % 3), clips_dir)
                password = cam.credentials.password.get_secret_value()
                server.add_camera(mount, clip, username=cam.credentials.username or None, password=password or None)
        ports = ", ".join(f"rtsp://127.0.0.1:{port}/" for port in sorted(by_port)) or "none"
        yield f"simulated cameras: {len(cameras)} on {ports} (clips in {clips_dir})"
