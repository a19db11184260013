"""The Ray deployment of docs/FLEET.md done with Ray's own CLI, on this machine, end to end.

    python benchmarks/ray_cli_deploy.py [--cameras 20] [--fps 2] [--nodes 2] [--slots 2] [--json]

What an operator does, in that order, every Ray process in a temporary folder of this run:
1. a token file (mode 0600) and ``RAY_AUTH_MODE=token`` / ``RAY_AUTH_TOKEN_PATH`` for every ``ray start``, with
   ``SHOPWATCH_DATABASE_URL`` (a scratch PostgreSQL schema) and ``SHOPWATCH_SECRET_KEY`` in the same environment:
   a shard is a process of its node's raylet and gets that environment, not the one of ``serve``;
2. ``ray start --head`` with the documented flags (no ``ingest_slot``, the GCS on RocksDB storage, the fast
   health-check ``--system-config``), then ``--nodes`` times ``ray start --address 127.0.0.1:PORT --resources
   '{"ingest_slot": K}'``. Several raylets on one host need their own ports (node manager, object manager,
   dashboard agent, runtime env agent, metrics, a worker port range): all are chosen here;
3. ``python -m shopwatch.sim --cameras N --fps F`` (the ``shopwatch sim`` server, printing ``READY``) and
   ``shopwatch serve --ray 127.0.0.1:PORT`` with ``cluster.shards`` = the slots of all nodes but one (headroom
   for a lost node, as the docs ask);
4. ``online_s``: from starting ``serve`` until every camera is ``online`` in ``GET /api/cameras``; the node each
   shard runs on (this script is a second Ray driver and asks each shard actor), cameras per node;
5. the raylet of the node with the most shards SIGKILLed (``ray stop`` would stop every node of this host):
   ``recovery_s`` until each camera it read is ``online`` again (``health.since`` after the kill) on a shard that
   runs on another node;
6. ``serve`` stopped with SIGTERM (what Ctrl-C does): ``serve_exit_s``; the shards are detached and keep
   running (docs/FLEET.md), ended with ``ray kill-actor --name shard-NNN --namespace shopwatch --force
   --no-restart`` (``shards_ended``); then every process of this cluster (found by its temporary folder in its
   command line) is stopped by pid: the ``ray stop --force`` of one host among others.

Prints a small table (``--json``: one object). Bounded everywhere (``--timeout-s`` per wait); stops everything it
started whatever happens, and touches no other Ray cluster of this host. Run it under the bench lock:
``flock /tmp/shopwatch-bench.lock nice -n 5 python benchmarks/ray_cli_deploy.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._pg_scratch import scratch_schema  # noqa: E402
from benchmarks.fleet_scale import SHOPWATCH, api_key, child, free_port, sim_command, wait_ready  # noqa: E402

RAY = str(Path(sys.executable).parent / "ray")
NAMESPACE = "shopwatch"  # cluster.namespace's default
FAST_NODE_LOSS = {"health_check_period_ms": 1000, "health_check_timeout_ms": 1000, "health_check_failure_threshold": 3}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--fps", type=int, default=2)
    parser.add_argument("--nodes", type=int, default=2, help="nodes with ingest_slot besides the head (>= 2)")
    parser.add_argument("--slots", type=int, default=2, help="ingest_slot of each node")
    parser.add_argument("--timeout-s", type=float, default=120.0, help="limit of each wait")
    parser.add_argument("--clips-dir", type=Path, default=ROOT / "data" / "sim")
    parser.add_argument(
        "--sim-engine", choices=("gst", "light"), default="gst", help="simulator engine (python -m shopwatch.sim)"
    )
    parser.add_argument("--logs", type=Path, default=None, help="copy serve's and the simulator's logs here")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.nodes < 2 or args.slots < 1:
        parser.error("--nodes must be at least 2 (one is killed) and --slots at least 1")
    return args


@dataclass
class RayNode:
    """One ``ray start`` of this run: its ports, and its raylet once started."""

    name: str
    node_manager_port: int
    args: list[str]
    raylet_pid: int | None = None
    node_id: str | None = None
    killed: bool = False


@dataclass
class Deployment:
    work: Path
    env: dict[str, str]
    gcs_port: int
    nodes: list[RayNode] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    def ray_start(self, node: RayNode, timeout_s: float, env: dict[str, str] | None = None) -> float:
        """``ray start`` (it returns once the node runs); the seconds it took. Its raylet is found by its port."""
        started = time.monotonic()
        out = subprocess.run(
            [RAY, "start", *node.args], env=env or self.env, cwd=self.work, capture_output=True, text=True,
            timeout=timeout_s,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"ray start ({node.name}) failed: {(out.stderr or out.stdout)[-1500:]}")
        node.raylet_pid = raylet_of(self.work, node.node_manager_port)
        self.nodes.append(node)
        return time.monotonic() - started


def ports(count: int) -> list[int]:
    """Distinct free ports (each bound and let go: good enough on one host)."""
    chosen: set[int] = set()
    while len(chosen) < count:
        chosen.add(free_port())
    return sorted(chosen)


def node_args(name: str, work: Path, worker_ports: range, address: str | None) -> RayNode:
    manager, objects, agent, agent_grpc, runtime_env, metrics = ports(6)
    args = [
        f"--node-manager-port={manager}", f"--object-manager-port={objects}",
        f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={runtime_env}", f"--metrics-export-port={metrics}",
        f"--min-worker-port={worker_ports.start}", f"--max-worker-port={worker_ports.stop - 1}",
        f"--temp-dir={work / 'ray'}", "--object-store-memory=100000000", "--num-cpus=1", "--disable-usage-stats",
    ]  # fmt: skip
    if address is not None:
        args.append(f"--address={address}")
    return RayNode(name, manager, args)


def raylet_of(work: Path, node_manager_port: int) -> int:
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "raylet" and f"--node_manager_port={node_manager_port}" in cmdline:
            if any(str(work) in part for part in cmdline):
                return int(proc.pid)
    raise RuntimeError(f"no raylet with node manager port {node_manager_port} under {work}")


def processes_of(work: Path) -> list[psutil.Process]:
    """Every process of this run's Ray cluster: its command line or its working directory names ``work``."""
    mine = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if proc.pid != os.getpid() and (
                any(str(work) in part for part in proc.info["cmdline"] or []) or proc.info["cwd"] == str(work)
            ):
                mine.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return mine


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def stop_all(work: Path) -> int:
    """SIGTERM, then SIGKILL after 10 s, to this cluster's processes only; how many there were."""
    procs = processes_of(work)
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=10)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return len(procs)


def wait(predicate: Any, timeout_s: float, what: str, poll_s: float = 0.5) -> float:
    started = time.monotonic()
    while True:
        result = predicate()
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{what}: not within {timeout_s:g} s")
        time.sleep(poll_s)


def cameras_of(client: httpx.Client) -> list[dict[str, Any]]:
    try:
        response = client.get("/api/cameras")
    except httpx.TransportError:
        return []
    return list(response.json()["cameras"]) if response.status_code == 200 else []


def since(camera: dict[str, Any]) -> float:
    stamp = (camera.get("health") or {}).get("since")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else 0.0


class ShardPlaces:
    """Which node each shard actor runs on, asked of the actors (this script is a second driver, on the head)."""

    def __init__(self, deployment: Deployment) -> None:
        for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH"):  # read when Ray is imported: set them first
            os.environ[key] = deployment.env[key]
        import ray  # only this benchmark and serve --ray load Ray

        self._ray = ray
        ray.init(address=deployment.address, namespace=NAMESPACE, log_to_driver=False)
        by_port = {n.node_manager_port: n for n in deployment.nodes}
        for info in ray.nodes():
            if (node := by_port.get(int(info["NodeManagerPort"]))) is not None:
                node.node_id = info["NodeID"]
        self._names = {n.node_id: n.name for n in deployment.nodes}

    def node_of(self, shard: int) -> str | None:
        try:
            actor = self._ray.get_actor(f"shard-{shard:03d}", namespace=NAMESPACE)
            node_id: Any = self._ray.get(actor.node.remote(), timeout=3)
            return self._names.get(node_id)
        except Exception:  # restarting, dead, not answering: not placed (yet)
            return None

    def close(self) -> None:
        self._ray.shutdown()


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="swrc-", dir="/tmp"))  # short: Ray's socket paths must fit
    result: dict[str, Any] = {"nodes": args.nodes, "slots_per_node": args.slots, "cameras": args.cameras}
    try:
        with ExitStack() as stack:
            stack.callback(lambda: result.setdefault("ray_processes_stopped", stop_all(work)))
            result |= deploy_and_measure(args, work, stack)
    finally:
        result["left_running"] = len(alive(processes_of(work)))
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in work.glob("*.log"):
                shutil.copy(log, args.logs / log.name)
        shutil.rmtree(work, ignore_errors=True)
    return result


def deploy_and_measure(args: argparse.Namespace, work: Path, stack: ExitStack) -> dict[str, Any]:
    out: dict[str, Any] = {}
    token = work / "ray_auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    from cryptography.fernet import Fernet

    database_url = stack.enter_context(scratch_schema())
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "SHOPWATCH_DATABASE_URL": database_url,
        "SHOPWATCH_SECRET_KEY": Fernet.generate_key().decode(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    # Worker port ranges: 100 ports per node, in a region chosen at random for this run.
    base = random.randrange(41000, 59000, 100) - 100 * (args.nodes + 1)
    gcs_port = free_port()
    deployment = Deployment(work, env, gcs_port)
    head = node_args("head", work, range(base, base + 100), None)
    head.args += [
        "--head", f"--port={gcs_port}", "--resources={}", "--include-dashboard=false",
        f"--system-config={json.dumps(FAST_NODE_LOSS)}",
    ]  # fmt: skip
    head_env = {**env, "RAY_gcs_storage": "rocksdb", "RAY_gcs_storage_path": str(work / "gcs")}
    out["head_start_s"] = round(deployment.ray_start(head, args.timeout_s, head_env), 1)
    node_starts = []
    for i in range(args.nodes):
        node = node_args(f"node-{i + 1}", work, range(base + 100 * (i + 1), base + 100 * (i + 2)), deployment.address)
        node.args.append(f"--resources={json.dumps({'ingest_slot': args.slots})}")
        node_starts.append(deployment.ray_start(node, args.timeout_s))
    out["node_start_s"] = round(max(node_starts), 1)

    sim_cmd, cameras_yaml = sim_command(args, work)
    sim = stack.enter_context(child(sim_cmd, work / "sim.log", stdout=subprocess.PIPE, env=env))
    wait_ready(sim, args.timeout_s)
    api_port = free_port()
    shards = args.slots * (args.nodes - 1)  # the cluster minus one node still holds every shard
    config = yaml.safe_load(cameras_yaml.read_text())
    config["service"] = {"data_dir": str(work / "data")}
    config["api"] = {"host": "127.0.0.1", "port": api_port}
    config["cluster"] = {"shards": shards}
    config_path = work / "shopwatch.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    os.environ["SHOPWATCH_DATABASE_URL"] = database_url  # `shopwatch keys create` finds the database the same way
    os.environ["SHOPWATCH_SECRET_KEY"] = env["SHOPWATCH_SECRET_KEY"]
    key = api_key(config_path)

    serve_cmd = [*SHOPWATCH, "serve", "--config", str(config_path), "--ray", deployment.address]
    serve = stack.enter_context(child(serve_cmd, work / "serve.log", stdout=subprocess.DEVNULL, env=env))
    client = stack.enter_context(
        httpx.Client(base_url=f"http://127.0.0.1:{api_port}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    )

    def all_online() -> bool:
        cams = cameras_of(client)
        if serve.poll() is not None:
            raise RuntimeError(f"serve exited ({serve.returncode}): {(work / 'serve.log').read_text()[-1500:]}")
        return len(cams) == args.cameras and all((c.get("health") or {}).get("state") == "online" for c in cams)

    out["shards"] = shards
    out["online_s"] = round(wait(all_online, args.timeout_s, f"all {args.cameras} cameras online"), 1)
    places = ShardPlaces(deployment)
    stack.callback(places.close)
    placed = {i: places.node_of(i) for i in range(shards)}
    cams = cameras_of(client)
    shard_of = {c["id"]: c["health"]["worker"] for c in cams}
    out["shards_per_node"] = count_by_node(placed, deployment)
    out["cameras_per_node"] = count_by_node({cam: placed[s] for cam, s in shard_of.items()}, deployment)

    # Node loss: the raylet of the node with the most shards, SIGKILLed (its workers exit with it).
    victim = max(deployment.nodes[1:], key=lambda n: out["shards_per_node"].get(n.name, 0))
    moved = {cam for cam, s in shard_of.items() if placed[s] == victim.name}
    assert victim.raylet_pid is not None
    killed_at = time.time()
    t_kill = time.monotonic()
    os.kill(victim.raylet_pid, signal.SIGKILL)
    victim.killed = True
    out["killed"] = f"{victim.name} ({len(moved)} cameras)"

    def moved_back() -> bool:
        by_id = {c["id"]: c for c in cameras_of(client)}
        for cam in moved:
            health = (by_id.get(cam) or {}).get("health") or {}
            if health.get("state") != "online" or since(by_id[cam]) < killed_at:
                return False
            node = places.node_of(health["worker"])
            if node is None or node == victim.name:
                return False
        return True

    wait(moved_back, args.timeout_s, "the lost node's cameras online on another node", poll_s=0.3)
    out["recovery_s"] = round(time.monotonic() - t_kill, 1)
    out["shards_per_node_after"] = count_by_node({i: places.node_of(i) for i in range(shards)}, deployment)
    out["all_online_after"] = all_online()

    # Stopping serve as Ctrl-C does; the detached shards run on (documented), ended with Ray's CLI.
    t_stop = time.monotonic()
    serve.send_signal(signal.SIGTERM)
    try:
        serve.wait(args.timeout_s)
        out["serve_exit_s"] = round(time.monotonic() - t_stop, 1)
        out["serve_exit_status"] = serve.returncode
    except subprocess.TimeoutExpired:
        out["serve_exit_s"] = None
    time.sleep(2.0)
    out["shards_running_after_serve"] = sum(places.node_of(i) is not None for i in range(shards))
    places.close()
    ended = 0
    for i in range(shards):
        kill = [RAY, "kill-actor", f"--address={deployment.address}", f"--name=shard-{i:03d}", "--force"]
        done = subprocess.run(
            [*kill, f"--namespace={NAMESPACE}", "--no-restart"], env=env, cwd=work, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        ended += done.returncode == 0
    out["shards_ended"] = ended
    time.sleep(2.0)
    out["shard_processes_left"] = sum("ShardActor" in " ".join(p.cmdline()) for p in alive(processes_of(work)))
    out["clean_stop"] = (
        out["serve_exit_s"] is not None and out.get("serve_exit_status") == 0 and ended == shards
        and out["shard_processes_left"] == 0
    )  # fmt: skip
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return out


def count_by_node(placed: dict[Any, str | None], deployment: Deployment) -> dict[str, int]:
    counts = {n.name: 0 for n in deployment.nodes[1:] if not n.killed}
    for node in placed.values():
        key = node or "unplaced"
        counts[key] = counts.get(key, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ray's driver prints what it hears from the cluster (a raylet's death notice) to stdout: keep the result
    # alone there (--json must parse), everything else goes to stderr.
    stdout = os.dup(1)
    sys.stdout.flush()
    os.dup2(2, 1)
    try:
        result = run(args)
    finally:
        sys.stdout.flush()
        os.dup2(stdout, 1)
        os.close(stdout)
    if args.json:
        print(json.dumps(result))
        return 0
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
