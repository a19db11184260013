"""``serve`` without ``--ray`` never loads Ray, and ``--ray`` with an address nobody answers fails fast with a
sentence, not a hang."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopwatch.cli.main import build_cli
from shopwatch.cluster.census import census
from shopwatch.cluster.connect import ClusterUnreachable, split_address

REPO = Path(__file__).resolve().parents[2]


def test_the_service_and_its_cli_import_no_ray_without_the_ray_option() -> None:
    code = (
        "import sys, shopwatch.app, shopwatch.cli.main, shopwatch.cli.serve, shopwatch.cluster.connect;"
        "shopwatch.cli.main.build_cli();"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_an_unreachable_ray_address_fails_within_ten_seconds_with_a_sentence(tmp_path: Path) -> None:
    config = tmp_path / "shopwatch.yaml"
    config.write_text(f"service: {{data_dir: {tmp_path / 'data'}}}\napi: {{port: 0}}\n")
    address = f"127.0.0.1:{_free_port()}"  # nobody listens
    start = time.monotonic()
    result = CliRunner().invoke(build_cli(), ["serve", "--config", str(config), "--ray", address])
    assert time.monotonic() - start < 10
    assert result.exit_code == 2, result.output
    assert f"cannot reach the Ray cluster at {address}" in " ".join(result.output.split())


def test_an_address_that_accepts_tcp_but_is_no_ray_gcs_times_out_with_a_sentence() -> None:
    """In a process of its own: the ``ray.init`` given up on is still trying when the process exits."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        code = (
            "import sys, time\n"
            "from shopwatch.cluster.connect import ClusterUnreachable, connect\n"
            "start = time.monotonic()\n"
            "try:\n"
            f"    connect({address!r}, 't', timeout_s=2.0)\n"
            "except ClusterUnreachable as exc:\n"
            "    print(f'{time.monotonic() - start:.1f}', exc, flush=True)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    seconds, _, message = out.stdout.strip().partition(" ")
    assert float(seconds) < 5, out.stdout
    assert f"the Ray cluster at {address} did not accept this driver within 2 s" in message or "cannot join" in message


@pytest.mark.parametrize(
    ("address", "error"),
    [("ray://10.0.0.1:10001", "expected the Ray GCS address host:port"), ("10.0.0.1", "expected a Ray address"),
     (":6379", "expected a Ray address"), ("head:port", "expected a Ray address")],
)  # fmt: skip
def test_a_malformed_ray_address_is_refused_naming_it(address: str, error: str) -> None:
    with pytest.raises(ClusterUnreachable, match=error):
        split_address(address)
    assert split_address("10.0.0.1:6379") == ("10.0.0.1", 6379)


def test_the_census_counts_slots_on_live_nodes_and_names_those_without() -> None:
    nodes = [
        {"Alive": True, "NodeManagerAddress": "10.0.0.1", "NodeID": "head0000000000", "Resources": {"CPU": 8}},
        {"Alive": True, "NodeManagerAddress": "10.0.0.2", "NodeID": "a", "Resources": {"ingest_slot": 4.0}},
        {"Alive": False, "NodeManagerAddress": "10.0.0.3", "NodeID": "b", "Resources": {"ingest_slot": 4.0}},
    ]
    found = census(nodes)
    assert (found.slots, found.nodes, found.without_slot) == (4, 2, ("10.0.0.1 (head00000000)",))
    assert found.shortage(4) is None
    shortage = found.shortage(5)
    assert shortage is not None and "offer 4 for 5 shards" in shortage
