"""The simulated fleet: ids, kinds, shared clips, mounts, and a config that shopwatch loads."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from shopwatch.core.config_loader import load_settings
from shopwatch.sim.fleet import GRIDS, FleetOptions, SimFleet
from shopwatch.sim.rtsp_server import SimServer

OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}


@pytest.mark.parametrize(
    ("cameras", "first", "last"), [(1, "cam-01", "cam-01"), (12, "cam-01", "cam-12"), (120, "cam-001", "cam-120")]
)
def test_ids_are_zero_padded_to_the_fleet_size(tmp_path: Path, cameras: int, first: str, last: str) -> None:
    fleet = SimFleet(FleetOptions(cameras=cameras), tmp_path)
    assert (fleet.camera_ids[0], fleet.camera_ids[-1], len(fleet.camera_ids)) == (first, last, cameras)


def test_every_fifth_camera_walks_and_clips_are_shared(clips_dir: Path) -> None:
    fleet = SimFleet(FleetOptions(cameras=20, clip_seconds=10), clips_dir)
    walkers = [cam for cam in fleet.camera_ids if fleet.kind_of(cam) == "walker"]
    assert walkers == ["cam-05", "cam-10", "cam-15", "cam-20"]
    clips = {fleet.clip_of(cam) for cam in fleet.camera_ids}
    assert len(clips) <= 2 * fleet.options.seeds
    assert fleet.clip_of("cam-05") != fleet.clip_of("cam-01")


def test_walker_every_zero_means_all_static(tmp_path: Path) -> None:
    fleet = SimFleet(FleetOptions(cameras=10, walker_every=0), tmp_path)
    assert {fleet.kind_of(cam) for cam in fleet.camera_ids} == {"static"}


@pytest.mark.parametrize(
    "bad", [{"cameras": 0}, {"cameras": 3, "walker_every": -1}, {"cameras": 3, "seeds": 0}, {"cameras": 3, "fps": 0}]
)
def test_bad_fleet_options_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        FleetOptions(**bad)


def test_a_lower_frame_rate_keeps_keyframes_two_seconds_apart(tmp_path: Path) -> None:
    spec = SimFleet(FleetOptions(cameras=2, fps=2), tmp_path).spec_of("cam-01")
    assert (spec.fps, spec.gop) == (2, 4)


def test_unknown_camera_id_names_the_valid_range(tmp_path: Path) -> None:
    fleet = SimFleet(FleetOptions(cameras=3), tmp_path)
    with pytest.raises(KeyError, match="cam-01..cam-03, found 'cam-1'"):
        fleet.kind_of("cam-1")


def test_written_config_loads_and_describes_every_camera(tmp_path: Path) -> None:
    fleet = SimFleet(FleetOptions(cameras=12, username="admin", password="sim-pass"), tmp_path)
    path = fleet.write_config(tmp_path / "conf" / "sim.yaml", "127.0.0.1", 8554)
    settings = load_settings(path, env={})
    assert [c.id for c in settings.cameras] == fleet.camera_ids
    cam = settings.cameras[4]
    assert cam.streams.detect == "rtsp://127.0.0.1:8554/cam-05"
    assert (cam.host, cam.port, cam.vendor.value) == ("127.0.0.1", 8554, "generic")
    assert cam.credentials.username == "admin" and cam.credentials.password.get_secret_value() == "sim-pass"
    assert cam.merchant.name and cam.merchant.phone and cam.address
    assert {c.grid for c in settings.cameras} == set(GRIDS)
    lats = [c.location.lat for c in settings.cameras if c.location]
    lons = [c.location.lon for c in settings.cameras if c.location]
    assert len(lats) == 12 and max(lats) - min(lats) < 0.001 and 0 < max(lons) - min(lons) < 0.01  # one street
    assert abs(lats[0] - 31.23) < 0.01 and abs(lons[0] - 121.47) < 0.01


def test_config_without_credentials_has_no_credentials_section(tmp_path: Path) -> None:
    fleet = SimFleet(FleetOptions(cameras=2), tmp_path)
    settings = load_settings(fleet.write_config(tmp_path / "sim.yaml", "127.0.0.1", 9000), env={})
    assert settings.cameras[0].credentials.username == ""


@pytest.mark.rtsp
def test_mounted_fleet_serves_every_camera(clips_dir: Path) -> None:
    fleet = SimFleet(FleetOptions(cameras=5, clip_seconds=10), clips_dir)
    with SimServer() as server:
        urls = fleet.mount(server)
        assert sorted(urls) == fleet.camera_ids
        for url in (urls["cam-01"], urls["cam-05"]):
            with av.open(url, options=OPTIONS, timeout=(10, 6)) as container:
                assert next(container.demux(video=0)).size > 0
