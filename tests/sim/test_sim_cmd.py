"""``shopwatch sim`` through Typer's CliRunner (lives here: tests/cli belongs to the CLI owners)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import av
import pytest
import typer
from typer.testing import CliRunner

from shopwatch.cli import sim_cmd
from shopwatch.core.config_loader import load_settings
from shopwatch.core.redact import with_credentials

pytestmark = pytest.mark.rtsp

OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}


def cli() -> typer.Typer:
    app = typer.Typer()
    sim_cmd.register(app)

    @app.command()
    def other() -> None:  # a second command, so Typer keeps "sim" as a subcommand name
        """Placeholder."""

    return app


def test_sim_serves_writes_config_and_stops_on_ctrl_c(clips_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    seen: dict[str, object] = {}

    def client_then_ctrl_c() -> None:
        try:
            deadline = time.monotonic() + 30
            while not config.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            settings = load_settings(config, env={})
            seen["cameras"] = len(settings.cameras)
            cam = settings.cameras[6]
            assert cam.streams.detect is not None
            url = with_credentials(
                cam.streams.detect, cam.credentials.username, cam.credentials.password.get_secret_value()
            )
            with av.open(url, options=OPTIONS, timeout=(10, 6)) as container:
                seen["packet"] = next(container.demux(video=0)).size
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # the command's own handler turns it into a clean stop

    helper = threading.Thread(target=client_then_ctrl_c)
    helper.start()
    args = ["sim", "--cameras", "12", "--port", "0", "--clips-dir", str(clips_dir), "--write-config", str(config)]
    args += ["--username", "admin", "--password", "topsecret"]
    result = CliRunner().invoke(cli(), args)
    helper.join(10)
    assert result.exit_code == 0, result.output
    assert seen.get("cameras") == 12 and seen.get("packet")
    assert "cam-01" in result.output and "and 7 more" in result.output
    assert "sim.yaml" in result.output and "stopped." in result.output
    assert "topsecret" not in result.output


def test_password_without_username_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli(), ["sim", "--cameras", "2", "--clips-dir", str(tmp_path), "--password", "x"])
    assert result.exit_code == 2 and "--password needs --username" in result.output
