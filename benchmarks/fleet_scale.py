"""A fleet brought up the way a user does: ``python -m shopwatch.sim`` + ``shopwatch serve``, on loopback.

    python benchmarks/fleet_scale.py --cameras 400 [--fps 12] [--reader ffmpeg,native] [--sim-engine light] [--json]

Measures, with the service idle (no person model configured, unless ``--model``: then the node's detector
process holds it, or every worker on code before issue 14 part 1):
- ``online_s``: from starting ``shopwatch serve`` until every camera is ``online`` in ``GET /api/cameras``;
- ``failed_opens``: connection attempts that failed on the way (the cameras' ``reconnects`` once all are online;
  each is an attempt after a failure), with the distinct errors seen;
- ``rss_mb_per_camera``: resident memory (RSS) of the service and every process it started, per camera, and
  ``pss_mb_per_camera``: the same with each shared page (libraries mapped by every worker) counted once, split
  between the processes that map it (PSS, ``/proc/PID/smaps_rollup``); ``processes`` lists each process (role
  from its name: main, detector, worker-N) with RSS, PSS, USS (pages only it maps) and anonymous memory;
- ``cores_per_camera``: CPU (user + system) of those processes over ``--measure-s`` with all cameras online
  (each process's share in ``processes``);
- ``cameras_p50_ms`` / ``cameras_p95_ms``: ``GET /api/cameras`` (every camera) with the fleet running.

``--reader ffmpeg,native`` runs the whole measurement once per reader (``ingest.reader``), one after the other,
each with a fresh simulator and service, and prints the rows side by side with the ratio of the second to the
first (``--json``: one object with ``runs`` and ``ratios``).

Bounded: gives up after ``--timeout-s`` waiting for the fleet, and stops (SIGTERM, then SIGKILL) everything it
started, whatever happens. Targets (issue 14): all online <= 60 s with no failed open, camera list <= 50 ms p95.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHOPWATCH = [sys.executable, "-c", "from shopwatch.cli.main import main; main()"]  # the `shopwatch` CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=400)
    parser.add_argument("--fps", type=int, default=None, help="frame rate the simulator serves (default: its own)")
    parser.add_argument(
        "--sim-engine", choices=("gst", "light"), default="gst", help="simulator engine (python -m shopwatch.sim)"
    )
    parser.add_argument("--open-rate", type=float, default=None, help="ingest.open_rate (opens/s), default: its own")
    parser.add_argument(
        "--cameras-per-worker", type=int, default=None, help="ingest.cameras_per_worker (default: its own)"
    )
    parser.add_argument("--worker-nice", type=int, default=None, help="ingest.worker_nice (default: its own)")
    parser.add_argument(
        "--reader", default=None, help="ingest.reader: ffmpeg, native, or both comma-separated (side by side)"
    )
    parser.add_argument("--timeout-s", type=float, default=300.0, help="give up waiting for all online after this")
    parser.add_argument("--measure-s", type=float, default=20.0, help="CPU measuring window, fleet online")
    parser.add_argument("--requests", type=int, default=40, help="GET /api/cameras requests timed")
    parser.add_argument("--clips-dir", type=Path, default=ROOT / "data" / "sim")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--model", type=Path, default=None, help="detect.model: a person model to configure")
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def child(cmd: list[str], log: Path, **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    """A child process, stopped (SIGTERM, then SIGKILL after 15 s) however the block ends."""
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stderr=err, text=True, cwd=ROOT, **kwargs)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    for p in psutil.Process(proc.pid).children(recursive=True):
                        p.kill()
                    proc.kill()
                    proc.wait(5)


def sim_command(args: argparse.Namespace, work: Path) -> tuple[list[str], Path]:
    config = work / "cameras.yaml"
    cmd = [sys.executable, "-m", "shopwatch.sim", "--cameras", str(args.cameras), "--walker-every", "0"]
    cmd += ["--clips-dir", str(args.clips_dir), "--write-config", str(config)]
    if args.fps is not None:
        cmd += ["--fps", str(args.fps)]
    cmd += ["--engine", args.sim_engine]
    return cmd, config


def service_config(args: argparse.Namespace, cameras: Path, work: Path, port: int) -> Path:
    data = yaml.safe_load(cameras.read_text())
    data["service"] = {"data_dir": str(work / "data")}
    data["api"] = {"host": "127.0.0.1", "port": port}
    ingest: dict[str, Any] = {}
    if args.open_rate is not None:
        ingest["open_rate"] = args.open_rate
    if args.cameras_per_worker is not None:
        ingest["cameras_per_worker"] = args.cameras_per_worker
    if args.worker_nice is not None:
        ingest["worker_nice"] = args.worker_nice
    if args.reader is not None:
        ingest["reader"] = args.reader
    if ingest:
        data["ingest"] = ingest
    if args.model is not None:
        data["detect"] = {"model": str(args.model)}
    path = work / "shopwatch.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def wait_ready(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """The simulator's ``READY rtsp://...`` line (it writes the whole line at once)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stdout], [], [], 0.2)[0]:
            line = proc.stdout.readline()
            if line.startswith("READY "):
                return line
            raise RuntimeError(f"expected READY from the simulator, found {line!r}")
    raise RuntimeError(f"expected READY from the simulator within {timeout_s:g} s (exit status {proc.poll()})")


def api_key(config: Path) -> str:
    cmd = [*SHOPWATCH, "keys", "create", "fleet-bench", "--role", "admin"]
    out = subprocess.run([*cmd, "--config", str(config)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"could not create an API key: {out.stderr[-500:]}")
    return out.stdout.strip().splitlines()[-1]


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def role(proc: psutil.Process, root_pid: int) -> str:
    """main (the ``serve`` process), worker-N / detector (they name themselves), or what else it is."""
    if proc.pid == root_pid:
        return "main"
    name = proc.name()
    if name.startswith("sw-"):
        return name[3:]
    cmdline = " ".join(proc.cmdline())
    return "resource_tracker" if "resource_tracker" in cmdline else name


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, PSS, USS (private pages) and anonymous memory of one process, MB, from ``/proc/PID/smaps_rollup``."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    values = {"rss": fields["Rss"], "pss": fields["Pss"], "uss": uss, "anon": fields.get("Anonymous", 0)}
    return {k: round(v / 1024, 1) for k, v in values.items()}


def process_memory(procs: list[psutil.Process], root_pid: int) -> list[dict[str, Any]]:
    rows = []
    for p in procs:
        try:
            memory = {f"{k}_mb": v for k, v in memory_mb(p.pid).items()}
            rows.append({"role": role(p, root_pid), "pid": p.pid, "nice": p.nice(), **memory})
        except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
            pass
    return sorted(rows, key=lambda r: (r["role"] != "main", r["role"] != "detector", r["role"]))


def wait_all_online(
    client: httpx.Client, n: int, started: float, timeout_s: float
) -> tuple[float | None, dict[str, Any], Counter[str]]:
    errors: Counter[str] = Counter()
    seen_errors: set[tuple[str, str]] = set()
    body: dict[str, Any] = {}
    report_at = started
    while time.monotonic() - started < timeout_s:
        try:
            response = client.get("/api/cameras")
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code == 200:
            body = response.json()
            for cam in body["cameras"]:
                health = cam.get("health") or {}
                error = health.get("last_error")
                if error and (cam["id"], error) not in seen_errors:
                    seen_errors.add((cam["id"], error))
                    errors[_kind(error)] += 1
            by_state = {k: v for k, v in body["summary"]["by_state"].items() if v}
            if by_state.get("online", 0) == n:
                return time.monotonic() - started, body, errors
            if time.monotonic() >= report_at:
                print(f"{time.monotonic() - started:6.1f} s  {by_state}", file=sys.stderr, flush=True)
                report_at = time.monotonic() + 10.0
        time.sleep(0.5)
    return None, body, errors


def _kind(error: str) -> str:
    """The error without the camera's URL, so equal failures of different cameras count together."""
    words = ["<camera>" if w.startswith("rtsp://") or "127.0.0.1:" in w else w for w in error.split()]
    return " ".join(words)[:140]


def packet_rates(client: httpx.Client) -> dict[str, float]:
    """Packets per second of the online cameras (a reader that falls behind receives fewer than the camera sends)."""
    cameras = client.get("/api/cameras").json()["cameras"]
    rates = sorted(h["packets_per_s"] for c in cameras if (h := c.get("health")) and h["state"] == "online")
    if not rates:
        return {}
    return {"packets_per_s_median": round(statistics.median(rates), 2), "packets_per_s_min": round(rates[0], 2)}


def time_requests(client: httpx.Client, count: int) -> list[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        client.get("/api/cameras").raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.1)
    return times


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fleet-scale-") as tmp:
        work = Path(tmp)
        sim_cmd, cameras = sim_command(args, work)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with child(sim_cmd, work / "sim.log", stdout=subprocess.PIPE, env=env) as sim:
            wait_ready(sim, 600)
            port = free_port()
            config = service_config(args, cameras, work, port)
            key = api_key(config)
            serve_cmd = [*SHOPWATCH, "serve", "--config", str(config)]
            started = time.monotonic()
            with (
                child(serve_cmd, work / "serve.log", stdout=subprocess.DEVNULL, env=env) as serve,
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=30
                ) as client,
            ):
                online_s, body, errors = wait_all_online(client, args.cameras, started, args.timeout_s)
                reconnects = sum((c.get("health") or {}).get("reconnects", 0) for c in body.get("cameras", []))
                by_state = {k: v for k, v in body.get("summary", {}).get("by_state", {}).items() if v}
                online = by_state.get("online", 0)
                procs = tree(serve.pid)
                cpu0, t0 = {p.pid: cpu_s([p]) for p in procs}, time.monotonic()
                times = time_requests(client, args.requests)
                time.sleep(max(0.0, args.measure_s - (time.monotonic() - t0)))
                rates = packet_rates(client)
                elapsed = time.monotonic() - t0
                busy = {p.pid: (cpu_s([p]) - cpu0[p.pid]) / elapsed for p in procs}
                cores = sum(busy.values())
                memory = process_memory(procs, serve.pid)
                for row in memory:
                    row["cores"] = round(busy.get(row["pid"], 0.0), 3)
                sim_cores = psutil.Process(sim.pid).cpu_percent(interval=1.0) / 100
    n = args.cameras
    rss = sum(r["rss_mb"] for r in memory)
    pss = sum(r["pss_mb"] for r in memory)
    return {
        "reader": args.reader or "default",
        "cameras": n,
        "fps": args.fps,
        "sim_engine": args.sim_engine,
        "online": online,
        "by_state": by_state,
        "online_s": None if online_s is None else round(online_s, 1),
        "failed_opens": reconnects,
        "errors": dict(errors.most_common(5)),
        "service_processes": len(memory),
        "rss_mb": round(rss, 1),
        "rss_mb_per_camera": round(rss / n, 2),
        "pss_mb": round(pss, 1),
        "pss_mb_per_camera": round(pss / n, 2),
        "rss_mb_largest_process": max(r["rss_mb"] for r in memory),
        "processes": memory,
        "model": None if args.model is None else str(args.model),
        "cores": round(cores, 3),
        "cores_per_camera": round(cores / n, 5),
        "main_cores": round(sum(r["cores"] for r in memory if r["role"] == "main"), 3),
        "workers_cores": round(sum(r["cores"] for r in memory if r["role"].startswith("worker")), 3),
        "sim_cores": round(sim_cores, 3),
        **rates,
        "cameras_p50_ms": round(statistics.median(times), 1),
        "cameras_p95_ms": round(statistics.quantiles(times, n=20)[18], 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


# What the side-by-side table compares (lower is better for all but ``online``).
COMPARED = (
    "online", "online_s", "failed_opens", "rss_mb_per_camera", "pss_mb_per_camera", "cores", "cores_per_camera",
    "main_cores", "workers_cores", "sim_cores", "packets_per_s_median", "cameras_p50_ms", "cameras_p95_ms",
    "load_avg_1m",
)  # fmt: skip


def ratios(first: dict[str, Any], second: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in COMPARED:
        a, b = first.get(key), second.get(key)
        out[key] = round(b / a, 2) if isinstance(a, int | float) and isinstance(b, int | float) and a else None
    return out


def side_by_side(runs: list[dict[str, Any]]) -> str:
    head = ["", *(r["reader"] for r in runs), f"{runs[-1]['reader']} / {runs[0]['reader']}"]
    rows = [head, ["---"] * len(head)]
    ratio = ratios(runs[0], runs[-1])
    for key in COMPARED:
        rows.append([key, *(str(r.get(key)) for r in runs), str(ratio[key])])
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    readers = args.reader.split(",") if args.reader else [None]
    runs = []
    for reader in readers:
        args.reader = reader
        if len(readers) > 1:
            print(f"--- ingest.reader: {reader}", file=sys.stderr, flush=True)
        runs.append(run(args))
    if len(runs) > 1:
        if args.json:
            print(json.dumps({"runs": runs, "ratios": ratios(runs[0], runs[-1])}))
        else:
            print(side_by_side(runs))
        return 0
    result = runs[0]
    if args.json:
        print(json.dumps(result))
        return 0
    processes = result.pop("processes")
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"\n{'process':<18} {'nice':>4} {'RSS MB':>8} {'PSS MB':>8} {'USS MB':>8} {'anon MB':>8} {'cores':>6}")
    for r in processes:
        print(
            f"{r['role']:<18} {r['nice']:>4} {r['rss_mb']:>8} {r['pss_mb']:>8} {r['uss_mb']:>8} {r['anon_mb']:>8}"
            f" {r['cores']:>6}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
