"""The demo's simulated cameras, onboarded over ONVIF like real ones.

``shopwatch demo`` reads the demo config's cameras as a merchant registry: every enabled camera whose ``host``
is loopback is simulated by an RTSP stream at ``rtsp://127.0.0.1:<port>/<id>`` (``SimServer``, one per port)
and by a project ONVIF device (``shopwatch.sim.onvif``) on ``127.0.0.1:<onvif_port>`` whose media profiles
give that stream. ``onboard_fleet`` then writes those cameras to the registry and onboards each device through
the real onboarding path (``shopwatch.onvif.bulk``), so the stream URLs the service reads come from ONVIF,
and the devices' PullPoint motion events wake the cameras up. The config stays the one description of the demo:
a camera with credentials gets a device and a stream that require them.

Every fifth simulated camera is busy: it plays a scenario clip (card-posting visits, a loiterer: see
``demo_scenes``) with that scene's zones and rules as its detection config, and its device raises an ONVIF
motion event at the start of every clip cycle (cleared half a cycle later), so motion events can be watched in
``GET /api/cameras`` and detection events in ``GET /api/events`` and the console.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.onvif.bulk import HostResult, OnboardRequest, onboard_many
from shopwatch.onvif.device import OnvifTarget
from shopwatch.onvif.registry import CameraIdentity
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.demo_scenes import demo_scene, scene_for
from shopwatch.sim.onvif.device import DeviceSpec, SimDevice, SimProfile
from shopwatch.sim.onvif.server import OnvifSimServer
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.store.cameras import CameraRepository, Source

LOOPBACK = frozenset({"127.0.0.1", "localhost"})
WALKER_EVERY = 5
CLIP_SECONDS = 20.0


@dataclass(frozen=True)
class DemoCamera:
    camera: CameraConfig  # as the config gives it (no stream URLs: onboarding finds them)
    stream_url: str  # where its simulated stream is served, without credentials
    walker: bool  # busy: plays ``scene`` and raises motion events
    seed: int  # of its generated clip, so neighbours look different
    scene: str | None = None  # the scenario clip it plays (``demo_scenes``), for busy cameras


@dataclass(frozen=True)
class DemoFleet:
    cameras: tuple[DemoCamera, ...]
    devices: dict[str, SimDevice]  # camera id -> its simulated ONVIF device
    onvif: OnvifSimServer
    description: str


def simulated(settings: Settings) -> list[DemoCamera]:
    """Every enabled camera on a loopback host, in config order; ``ValueError`` for one that sets stream URLs
    (the demo's stream URLs come from ONVIF) or shares another's ONVIF port."""
    out: list[DemoCamera] = []
    onvif_ports: dict[int, str] = {}
    for cam in settings.cameras:
        if not cam.enabled or cam.host not in LOOPBACK:
            continue
        if cam.streams.detect or cam.streams.record:
            raise ValueError(
                f"camera {cam.id}: a simulated camera's streams come from ONVIF onboarding; remove its streams"
            )
        other = onvif_ports.setdefault(cam.onvif_port, cam.id)
        if other != cam.id:
            raise ValueError(f"cameras {other} and {cam.id}: expected one ONVIF device per onvif_port")
        position = len(out) + 1
        walker = position % WALKER_EVERY == 0
        scene = scene_for(position // WALKER_EVERY) if walker else None
        out.append(DemoCamera(cam, f"rtsp://127.0.0.1:{cam.port}/{cam.id}", walker, position % 3, scene))
    return out


def served_settings(settings: Settings) -> Settings:
    """The settings the service runs on: the simulated cameras come from the registry, the others stay."""
    simulated_ids = {d.camera.id for d in simulated(settings)}
    return settings.model_copy(update={"cameras": [c for c in settings.cameras if c.id not in simulated_ids]})


def device_spec(demo: DemoCamera) -> DeviceSpec:
    """Main and sub profile on the one simulated stream; the camera's login, address as location scope."""
    cam = demo.camera
    profiles = (
        SimProfile("main", "MainStream", 1280, 720, demo.stream_url, fps=12, bitrate_kbps=1024),
        SimProfile("sub", "SubStream", 640, 360, demo.stream_url),
    )
    return DeviceSpec(
        cam.name,
        profiles,
        username=cam.credentials.username,
        password=cam.credentials.password.get_secret_value(),
        serial=f"SW-{cam.id}",
        location=cam.grid,
    )


@contextmanager
def demo_fleet(
    settings: Settings, clips_dir: Path | None = None, *, motion_period_s: float = CLIP_SECONDS
) -> Iterator[DemoFleet]:
    """Serve the config's simulated cameras (RTSP and ONVIF) until the block ends."""
    clips_dir = clips_dir or Path(settings.service.data_dir) / "sim"
    cameras = [_with_scene(demo, clips_dir) for demo in simulated(settings)]
    by_port: dict[int, list[DemoCamera]] = {}
    for demo in cameras:
        by_port.setdefault(demo.camera.port, []).append(demo)
    with ExitStack() as stack:
        for port, mounts in sorted(by_port.items()):
            server = SimServer("127.0.0.1", port)
            try:
                server.start()
            except OSError as exc:
                raise OSError(f"simulated cameras: cannot listen on 127.0.0.1:{port} ({exc})") from None
            stack.callback(server.stop)
            for demo in mounts:
                clip = _clip_of(demo, clips_dir)
                cam = demo.camera
                password = cam.credentials.password.get_secret_value()
                server.add_camera(cam.id, clip, username=cam.credentials.username or None, password=password or None)
        onvif = stack.enter_context(OnvifSimServer("127.0.0.1"))
        devices: dict[str, SimDevice] = {}
        for demo in cameras:
            try:
                devices[demo.camera.id] = onvif.add_device(device_spec(demo), demo.camera.onvif_port)
            except OSError as exc:
                raise OSError(
                    f"simulated ONVIF device of {demo.camera.id}: cannot listen on"
                    f" 127.0.0.1:{demo.camera.onvif_port} ({exc})"
                ) from None
        walkers = [devices[d.camera.id] for d in cameras if d.walker]
        stop = threading.Event()
        motion = threading.Thread(
            target=_raise_motion, args=(onvif, walkers, motion_period_s, stop), name="demo-motion", daemon=True
        )
        motion.start()
        stack.callback(motion.join, 5.0)
        stack.callback(stop.set)
        rtsp = ", ".join(f"rtsp://127.0.0.1:{port}/" for port in sorted(by_port)) or "none"
        onvif_ports = sorted(d.camera.onvif_port for d in cameras)
        onvif_span = f"127.0.0.1:{onvif_ports[0]}-{onvif_ports[-1]}" if onvif_ports else "none"
        description = (
            f"simulated cameras: {len(cameras)} on {rtsp}, their ONVIF devices on {onvif_span}"
            f" (clips in {clips_dir})"
        )
        yield DemoFleet(tuple(cameras), devices, onvif, description)


def _with_scene(demo: DemoCamera, clips_dir: Path) -> DemoCamera:
    """A busy camera with its scene's zones and rules as detection config (written to the registry with it)."""
    if demo.scene is None:
        return demo
    detection = demo_scene(demo.scene, clips_dir).detection
    return replace(demo, camera=demo.camera.model_copy(update={"detection": detection}))


def _clip_of(demo: DemoCamera, clips_dir: Path) -> Path:
    if demo.scene is not None:
        return demo_scene(demo.scene, clips_dir).clip
    return generate_clip(ClipSpec("static", seconds=CLIP_SECONDS, seed=demo.seed), clips_dir)


def _raise_motion(onvif: OnvifSimServer, devices: list[SimDevice], period_s: float, stop: threading.Event) -> None:
    """Motion on at the start of every period, off half-way through, until ``stop``."""
    while devices and not stop.is_set():
        for state in (True, False):
            for device in devices:
                onvif.motion(device, state)
            if stop.wait(period_s / 2):
                return


async def onboard_fleet(fleet: DemoFleet, repo: CameraRepository, settings: OnvifSettings) -> list[HostResult]:
    """Write the simulated cameras to the registry as the config describes them (merchant, grid, location,
    consent), then onboard each device over ONVIF, which fills in what the device tells (streams, profiles,
    snapshot URL, events) and keeps the rest."""
    await asyncio.to_thread(repo.upsert_many, [demo.camera for demo in fleet.cameras], Source.YAML.value)
    requests = []
    for demo in fleet.cameras:
        cam = demo.camera
        user, password = cam.credentials.username, cam.credentials.password.get_secret_value()
        target = OnvifTarget("127.0.0.1", cam.onvif_port, user, password)
        requests.append(OnboardRequest(target, CameraIdentity(cam.id, username=user, password=password)))
    return await onboard_many(requests, repo, settings)
