"""WS-Discovery in a network namespace the test creates (loopback only, multicast on): the probe finds the
namespace's simulated devices, with their scopes and whether they are registered, and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopwatch.onvif.discovery import parse_probe_matches, probe, probe_id, probe_match


def test_probe_and_match_round_trip() -> None:
    message = probe("urn:uuid:1")
    assert probe_id(message) == "urn:uuid:1"
    scopes = ["onvif://www.onvif.org/name/Lao_Wang", "onvif://www.onvif.org/location/shanghai"]
    answer = probe_match("urn:uuid:1", "urn:uuid:dev", ["http://10.1.1.1:8080/onvif/device_service"], scopes)
    [found] = parse_probe_matches(answer, "urn:uuid:1", "10.1.1.1")
    assert found.host_port() == ("10.1.1.1", 8080) and found.scope("name") == "Lao Wang"
    assert parse_probe_matches(answer, "urn:uuid:other", "10.1.1.1") == []  # an answer to someone else's probe
    assert probe_id(answer) is None and parse_probe_matches(b"<html/>", "urn:uuid:1", "x") == []


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"swtest-{uuid.uuid4().hex[:8]}"
    try:
        made = _ip("netns", "add", name)
    except FileNotFoundError:
        pytest.skip("the ip command (iproute2) is not installed")
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {made.stderr.strip()}")
    try:
        for step in (("link", "set", "lo", "up"), ("link", "set", "lo", "multicast", "on"),
                     ("route", "add", "224.0.0.0/4", "dev", "lo")):  # fmt: skip
            done = _ip("netns", "exec", name, "ip", *step)
            assert done.returncode == 0, done.stderr
        yield name
    finally:
        _ip("netns", "del", name)


def test_discover_finds_the_namespace_devices_and_marks_registered(netns: str, tmp_path: Path) -> None:
    sim = subprocess.Popen(
        ["ip", "netns", "exec", netns, sys.executable, "-m", "shopwatch.sim.onvif", "--devices", "3",
         "--discovery", "lo"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        devices = json.loads(sim.stdout.readline())
        registered_port = int(devices[1]["base_url"].rsplit(":", 1)[1])
        config = tmp_path / "shopwatch.yaml"
        config.write_text(f"service:\n  data_dir: {tmp_path}\n")
        env_db = f"SHOPWATCH_DATABASE_URL=sqlite:///{tmp_path / 'r.db'}"
        # The registry of the discover command is the database; put the camera there through the CLI's import.
        csv = tmp_path / "m.csv"
        csv.write_text(f"id,name,grid,host,onvif_port\nshop-2,Shop 2,g,127.0.0.1,{registered_port}\n")
        cli = [sys.executable, "-c", "from shopwatch.cli.main import main; main()"]
        imported = subprocess.run(["env", env_db, *cli, "cameras", "import", str(csv), "-c", str(config)],
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
        assert imported.returncode == 0, imported.stderr
        run = subprocess.run(
            ["ip", "netns", "exec", netns, "env", env_db, *cli, "cameras", "discover", "-i", "lo", "-s", "1.5",
             "--json", "-c", str(config)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        found = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        assert sorted(f["endpoint"] for f in found) == sorted(d["endpoint"] for d in devices)
        by_endpoint = {f["endpoint"]: f for f in found}
        assert by_endpoint[devices[1]["endpoint"]]["registered"] == "shop-2"
        assert by_endpoint[devices[0]["endpoint"]]["registered"] is None
        assert by_endpoint[devices[0]["endpoint"]]["name"] == "Sim shop 1"
        assert by_endpoint[devices[0]["endpoint"]]["location"] == "street-1"
        assert by_endpoint[devices[0]["endpoint"]]["xaddrs"] == [devices[0]["base_url"] + "/onvif/device_service"]
    finally:
        if sim.stdin is not None:
            sim.stdin.close()
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()
