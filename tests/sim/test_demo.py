"""The demo: the config's loopback cameras get a simulated stream and ONVIF device, are onboarded over ONVIF
through the real onboarding path, and their devices' motion events reach the service's subscriptions."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import av
import pytest

from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.config_loader import load_settings
from shopwatch.onvif.onboard import OnboardOutcome
from shopwatch.onvif.subscriptions import EventSubscriptions
from shopwatch.sim.demo import demo_fleet, onboard_fleet, served_settings, simulated
from shopwatch.sim.demo_scenes import SCENES, with_available_model
from shopwatch.sim.faults import closed_port
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.db import create_engine_for, migrate

pytestmark = pytest.mark.rtsp

OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"


def camera(cam_id: str, host: str, rtsp_port: int, onvif_port: int, **extra: object) -> dict[str, object]:
    return {
        "id": cam_id, "name": f"Shop {cam_id}", "grid": "g1", "host": host, "port": rtsp_port,
        "onvif_port": onvif_port, **extra,
    }  # fmt: skip


def demo_settings(rtsp_port: int) -> Settings:
    cameras = [
        camera("shop-a", "127.0.0.1", rtsp_port, closed_port(), merchant={"name": "Lao Wang Noodles"}),
        camera(
            "shop-b",
            "127.0.0.1",
            rtsp_port,
            closed_port(),
            credentials={"username": "admin", "password": "demo-pw"},
            address="104 Nanjing Road East",
        ),
        camera("real", "10.1.2.3", 554, 80, streams={"detect": "rtsp://10.1.2.3:554/Streaming/Channels/102"}),
    ]
    cameras += [camera(f"shop-{n}", "127.0.0.1", rtsp_port, closed_port()) for n in "cde"]  # shop-e walks
    return Settings.model_validate({"cameras": cameras})


def test_demo_cameras_are_onboarded_over_onvif_and_raise_motion(clips_dir: Path, tmp_path: Path) -> None:
    rtsp_port = closed_port()
    settings = demo_settings(rtsp_port)
    engine = create_engine_for(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate(engine)
    repo = CameraRepository(engine, env={})
    with demo_fleet(settings, clips_dir, motion_period_s=1.0) as fleet:
        assert "5 on" in fleet.description and f":{rtsp_port}/" in fleet.description
        results = asyncio.run(onboard_fleet(fleet, repo, settings.onvif))
        assert [(r.request.who.camera_id, r.report.outcome, r.saved) for r in results] == [
            (cam_id, OnboardOutcome.OK, "updated") for cam_id in ("shop-a", "shop-b", "shop-c", "shop-d", "shop-e")
        ]
        stored = {cam.id: cam for cam in repo.list()}
        b = stored["shop-b"]
        # The stream URL is what the ONVIF device said; what the config said by hand stays.
        assert b.streams.detect == f"rtsp://127.0.0.1:{rtsp_port}/shop-b" == b.streams.record
        assert b.onvif is not None and b.onvif.events and b.onvif.detect_profile == "sub"
        assert b.onvif.snapshot_url is not None and b.onvif.snapshot_url.startswith("http://127.0.0.1:")
        assert b.address == "104 Nanjing Road East" and stored["shop-a"].merchant.name == "Lao Wang Noodles"
        # The busy camera plays a card-posting scene and got that scene's zones and rules to detect it with.
        e = stored["shop-e"].detection
        assert e.rules.card_posting is not None and {z.name for z in e.zones} >= set(e.rules.card_posting.zones)
        assert stored["shop-a"].detection.rules.card_posting is None
        assert "real" not in stored and [c.id for c in served_settings(settings).cameras] == ["real"]
        with av.open(f"rtsp://admin:demo-pw@127.0.0.1:{rtsp_port}/shop-b", options=OPTIONS, timeout=(10, 6)) as c:
            assert next(c.demux(video=0)).size > 0
        # The service's subscriptions over the onboarded registry: the walker's device wakes shop-e up.
        woken = asyncio.run(_motion_within(list(stored.values()), settings, timeout_s=8.0))
        assert woken == ["shop-e"]
    with pytest.raises(av.error.ConnectionRefusedError):  # stopped with the block
        av.open(f"rtsp://127.0.0.1:{rtsp_port}/shop-a", options=OPTIONS, timeout=(10, 6))
    engine.dispose()


async def _motion_within(cameras: list[CameraConfig], settings: Settings, timeout_s: float) -> list[str]:
    woken: list[str] = []
    got = asyncio.Event()

    def on_motion(camera_id: str, _reason: str) -> None:
        woken.append(camera_id)
        got.set()

    subscriptions = EventSubscriptions(settings.onvif, on_motion)
    subscriptions.apply(cameras)
    try:
        await asyncio.wait_for(got.wait(), timeout_s)
    finally:
        await subscriptions.stop()
    return sorted(set(woken))


def test_the_demo_config_describes_twenty_onvif_cameras() -> None:
    settings = load_settings(DEMO_CONFIG, os.environ)
    cameras = simulated(settings)
    assert len(cameras) == 20 and served_settings(settings).cameras == []
    assert len({d.camera.onvif_port for d in cameras}) == 20
    assert [d.camera.id for d in cameras if d.walker] == ["cam-05", "cam-10", "cam-15", "cam-20"]
    assert [d.scene for d in cameras if d.walker] == list(SCENES)
    assert Path(settings.detect.model or "").name == "yolo11n_int8_openvino_model"


def test_without_the_model_the_demo_runs_in_motion_mode_and_says_so(tmp_path: Path) -> None:
    settings = Settings.model_validate({"detect": {"model": str(tmp_path / "missing")}})
    served, note = with_available_model(settings)
    assert served.detect.model is None and note is not None and str(tmp_path / "missing") in note
    assert with_available_model(served) == (served, None)


def test_a_simulated_camera_with_stream_urls_is_refused() -> None:
    settings = Settings.model_validate(
        {"cameras": [camera("x", "127.0.0.1", 8554, 8101, streams={"detect": "rtsp://127.0.0.1:8554/x"})]}
    )
    with pytest.raises(ValueError, match="streams come from ONVIF onboarding"):
        simulated(settings)


def test_two_devices_on_one_onvif_port_are_refused() -> None:
    settings = Settings.model_validate(
        {"cameras": [camera("x", "127.0.0.1", 8554, 8101), camera("y", "localhost", 8554, 8101)]}
    )
    with pytest.raises(ValueError, match="one ONVIF device per onvif_port"):
        simulated(settings)
