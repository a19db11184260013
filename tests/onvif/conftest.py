"""ONVIF test peers: the project's device simulator and ipycam (an independent virtual camera), both on
loopback ports chosen by the OS."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from shopwatch.core.clock import ManualClock
from shopwatch.sim.faults import closed_port
from shopwatch.sim.onvif.device import DeviceSpec, SimProfile
from shopwatch.sim.onvif.server import OnvifSimServer

USER, PASSWORD = "admin", "s3cret-pw"
# Nothing listens there: onboarding's backchannel DESCRIBE cannot tell, so the profiles' audio output decides
# (a fixed port could reach another engineer's running demo).
RTSP = f"rtsp://127.0.0.1:{closed_port()}/cam-01"


def shop_profiles(rtsp: str = RTSP, audio: bool = True) -> tuple[SimProfile, ...]:
    """A typical camera: main 1920x1080, sub 640x360 with the speaker, a tiny 176x144 MJPEG third stream."""
    return (
        SimProfile("main", "MainStream", 1920, 1080, rtsp + "/main", fps=25, bitrate_kbps=4096),
        SimProfile("sub", "SubStream", 640, 360, rtsp, audio_output=audio),
        SimProfile("tiny", "Tiny", 176, 144, rtsp + "/tiny", encoding="JPEG"),
    )


def spec(**changes: object) -> DeviceSpec:
    base: dict[str, object] = {"name": "Lao Wang Noodles", "profiles": shop_profiles(), "username": USER}
    base["password"] = PASSWORD
    base["audio_outputs"] = 1
    base.update(changes)
    return DeviceSpec(**base)  # type: ignore[arg-type]


@pytest.fixture
def sim_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def onvif_sim(sim_clock: ManualClock) -> Iterator[OnvifSimServer]:
    with OnvifSimServer(clock=sim_clock) as server:
        yield server


class IpyCamPeer:
    """ipycam's ONVIF device service and snapshot on a loopback port: its HTTP handler and ONVIF service
    only, without ``IPCamera.start()`` (which binds every interface, multicasts WS-Discovery and starts
    encoders)."""

    def __init__(self, username: str, password: str) -> None:
        from ipycam import CameraConfig, IPCamera, IPCameraHTTPHandler
        from ipycam.camera import ReusableThreadingTCPServer

        config = CameraConfig(local_ip="127.0.0.1", username=username, password=password)
        self.camera = IPCamera(config)
        self.server = ReusableThreadingTCPServer(("127.0.0.1", 0), IPCameraHTTPHandler)
        IPCameraHTTPHandler.camera = self.camera  # ipycam serves one camera per process (class attribute)
        config.onvif_port = self.port
        self.camera.stream(np.full((360, 640, 3), 90, np.uint8))  # a frame for its snapshot
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ipycam() -> Iterator[IpyCamPeer]:
    peer = IpyCamPeer(USER, PASSWORD)
    yield peer
    peer.close()
