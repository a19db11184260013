"""``shopwatch cameras onboard`` against simulated ONVIF devices: one host, a bulk CSV with good and bad hosts,
and re-onboarding a camera without losing what the operator set by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from shopwatch.cli.cameras_onvif import register
from shopwatch.sim.faults import GarbageServer, closed_port
from shopwatch.sim.onvif.server import OnvifSimServer
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.db import create_engine_for, migrate
from tests.onvif.conftest import PASSWORD, RTSP, USER, spec


def _app() -> typer.Typer:
    app = typer.Typer()
    cameras = typer.Typer()
    register(cameras)
    app.add_typer(cameras, name="cameras")
    return app


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("SHOPWATCH_DATABASE_URL", db)
    monkeypatch.setenv("SHOPWATCH_CAM_PW", PASSWORD)
    monkeypatch.delenv("SHOPWATCH_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "300")  # one table row per host
    path = tmp_path / "shopwatch.yaml"
    path.write_text(f"service:\n  data_dir: {tmp_path}\nonvif:\n  timeout_s: 5\n", encoding="utf-8")
    return path


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine_for(f"sqlite:///{tmp_path / 'registry.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sim() -> Iterator[OnvifSimServer]:
    with OnvifSimServer() as server:
        yield server


def run(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(_app(), ["cameras", *args, "--config", str(config)], terminal_width=250)
    assert PASSWORD not in result.output
    return result


def hostport(url: str) -> str:
    return url.removeprefix("http://")


def test_onboard_one_host_writes_the_registry(config: Path, engine: Engine, sim: OnvifSimServer) -> None:
    device = sim.add_device(spec())
    result = run(
        config, "onboard", hostport(device.base_url), "-u", USER, "-p", "${SHOPWATCH_CAM_PW}",
        "--id", "cam-7", "--grid", "grid-2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and "created" in result.output
    camera = CameraRepository(engine).record("cam-7")
    assert camera is not None
    cam = camera.camera
    assert (cam.streams.detect, cam.streams.record) == (RTSP, RTSP + "/main")
    assert cam.credentials.password.get_secret_value() == "${SHOPWATCH_CAM_PW}"  # the reference, not the secret
    assert cam.onvif is not None and cam.onvif.events and cam.onvif.backchannel
    assert cam.onvif.snapshot_url == f"{device.base_url}/snapshot/sub.jpg"
    assert cam.talkback.capable and not cam.talkback.allowed
    assert camera.source.value == "onvif"


def test_reonboarding_keeps_what_the_operator_set(config: Path, engine: Engine, sim: OnvifSimServer) -> None:
    device = sim.add_device(spec(audio_outputs=0, profiles=spec().profiles[:2]))
    assert (
        run(
            config, "onboard", hostport(device.base_url), "-u", USER, "-p", PASSWORD, "--id", "cam-8", "--grid", "g"
        ).exit_code
        == 0
    )
    repo = CameraRepository(engine)
    repo.merge(
        "cam-8",
        {"name": "Golden Phoenix", "merchant": {"name": "Golden Phoenix Jewellery", "phone": "+86 21 5550 0003"},
         "talkback": {"allowed": True, "quiet_hours": {"start": "22:00:00", "end": "07:00:00"}},
         "streams": {"detect": "rtsp://10.0.0.9/old"}, "vendor": "hikvision"},
        "api",
    )  # fmt: skip
    again = run(config, "onboard", hostport(device.base_url), "-u", USER, "-p", PASSWORD, "--id", "cam-8")
    assert again.exit_code == 0, again.output
    cam = repo.get("cam-8")
    assert cam is not None
    assert cam.name == "Golden Phoenix" and cam.merchant.name == "Golden Phoenix Jewellery" and cam.grid == "g"
    assert cam.talkback.allowed and cam.talkback.quiet_hours is not None and cam.talkback.capable
    assert cam.vendor.value == "hikvision"  # chosen by hand, kept
    assert cam.streams.detect == RTSP  # the device's answer replaces the stale URL


def test_bulk_csv_reports_each_host_and_writes_only_the_good_ones(
    config: Path, engine: Engine, sim: OnvifSimServer, tmp_path: Path
) -> None:
    good = sim.add_device(spec())
    skewed = sim.add_device(spec(skew_s=5000.0))
    locked = sim.add_device(spec())
    with GarbageServer(payload=b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") as web:
        rows = [
            "host,username,password,id,name,grid",
            f"{hostport(good.base_url)},{USER},${{SHOPWATCH_CAM_PW}},shop-1,Noodles,grid-1",
            f"{hostport(skewed.base_url)},{USER},{PASSWORD},shop-2,,grid-1",
            f"{hostport(locked.base_url)},{USER},wrong,shop-3,,grid-1",
            f"127.0.0.1:{closed_port()},{USER},{PASSWORD},shop-4,,grid-1",
            f"127.0.0.1:{web.port},{USER},{PASSWORD},shop-5,,grid-1",
        ]
        (tmp_path / "hosts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        result = run(config, "onboard", "--csv", str(tmp_path / "hosts.csv"))
    assert result.exit_code == 3, result.output
    lines = {line.split("│")[2].strip(): line for line in result.output.splitlines() if "│ shop-" in line}
    assert " ok " in lines["shop-1"] and " ok " in lines["shop-2"]  # shop-2 through its clock offset
    assert "auth refused" in lines["shop-3"]
    assert "unreachable" in lines["shop-4"]
    assert "not ONVIF" in lines["shop-5"]
    assert "2 ok, 1 auth refused, 1 unreachable, 1 not ONVIF" in result.output
    assert [r.camera.id for r in CameraRepository(engine).records()] == ["shop-1", "shop-2"]


def test_bad_csv_onboards_nothing(config: Path, engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "hosts.csv").write_text("host,password\n10.0.0.1:99999,x\n10.0.0.2,${SHOPWATCH_NOT_SET_ANYWHERE}\n")
    result = run(config, "onboard", "--csv", str(tmp_path / "hosts.csv"))
    assert result.exit_code == 2
    assert "row 2" in result.output and "row 3" in result.output and "NOT_SET_ANYWHERE" in result.output
    assert CameraRepository(engine).records() == []
