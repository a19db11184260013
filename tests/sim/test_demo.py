"""``demo_fleet``: the demo config's loopback cameras are served where the config says they are."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from shopwatch.core.config import Settings
from shopwatch.sim.demo import demo_fleet, simulated
from shopwatch.sim.faults import closed_port

pytestmark = pytest.mark.rtsp

OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}


def camera(cam_id: str, url: str, **extra: object) -> dict[str, object]:
    return {"id": cam_id, "name": cam_id, "grid": "g1", "host": "127.0.0.1", "streams": {"detect": url}, **extra}


def test_loopback_cameras_are_served_with_their_credentials(clips_dir: Path) -> None:
    port = closed_port()
    settings = Settings.model_validate(
        {
            "cameras": [
                camera("shop-a", f"rtsp://127.0.0.1:{port}/shop-a"),
                camera(
                    "shop-b",
                    f"rtsp://127.0.0.1:{port}/shop-b",
                    credentials={"username": "admin", "password": "demo-pw"},
                ),
                camera("real", "rtsp://10.1.2.3:554/Streaming/Channels/102"),  # not simulated
            ]
        }
    )
    assert [mount for _cam, _port, mount in simulated(settings)] == ["shop-a", "shop-b"]
    with demo_fleet(settings, clips_dir) as description:
        assert "2 on" in description and f":{port}/" in description
        with av.open(f"rtsp://127.0.0.1:{port}/shop-a", options=OPTIONS, timeout=(10, 6)) as container:
            assert next(container.demux(video=0)).size > 0
        with pytest.raises(av.error.HTTPUnauthorizedError):
            av.open(f"rtsp://127.0.0.1:{port}/shop-b", options=OPTIONS, timeout=(10, 6))
        with av.open(f"rtsp://admin:demo-pw@127.0.0.1:{port}/shop-b", options=OPTIONS, timeout=(10, 6)) as c:
            assert next(c.demux(video=0)).size > 0
    with pytest.raises(av.error.ConnectionRefusedError):  # stopped with the block
        av.open(f"rtsp://127.0.0.1:{port}/shop-a", options=OPTIONS, timeout=(10, 6))


def test_a_nested_path_is_refused() -> None:
    settings = Settings.model_validate({"cameras": [camera("x", "rtsp://127.0.0.1:8554/a/b")]})
    with pytest.raises(ValueError, match="expected a detect URL like"):
        simulated(settings)
