"""Cost of reading N simulated cameras, measured side by side in one run.

    python benchmarks/ingest_cost.py --cameras 100 --seconds 20 [--json]

The simulated fleet (360p, 12 fps, GOP 24, static shop fronts: what most cameras show most of the time) is
served by a separate GStreamer process. Each way of reading then runs alone, in a fresh process, for
``--seconds`` after a warm-up; its CPU (user + sys of the reading process and of any child it started, from
/proc) is divided by the stream-seconds it read. Ratios against the floor (PyAV demux-only) are printed last.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopwatch.core.config import CameraConfig, Ingest  # noqa: E402
from shopwatch.core.health import CameraState  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
OPEN_OPTIONS = {"rtsp_transport": "tcp", "timeout": "5000000", "analyzeduration": "0", "probesize": "32"}


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


class Window:
    """Measures CPU of this process (plus extra pids) and a count of units read, between warm-up and deadline."""

    def __init__(self, warmup_s: float, seconds: float) -> None:
        self.warmup_s, self.seconds = warmup_s, seconds
        self.extra_pids: Callable[[], list[int]] = list

    def run(
        self, stop: threading.Event, count: Callable[[], int], ready: Callable[[], bool] = lambda: True
    ) -> dict[str, float]:
        deadline = time.monotonic() + 600
        while not ready() and time.monotonic() < deadline:  # e.g. OpenCV, whose opens are serialised
            time.sleep(0.1)
        time.sleep(self.warmup_s)
        pids = [os.getpid(), *self.extra_pids()]
        cpu0, n0 = cpu_seconds(pids), count()
        time.sleep(self.seconds)
        cpu, n = cpu_seconds(pids) - cpu0, count() - n0
        stop.set()
        return {"cpu_s": cpu, "units": n}


class Tally:
    """Per-thread counters summed on demand (no lock on the hot path)."""

    def __init__(self, n: int) -> None:
        self.counts = [0] * n

    def total(self) -> int:
        return sum(self.counts)


# -- the ways of reading; each runs in its own process ------------------------------------------------


def mode_pyav(urls: list[str], window: Window, decode: bool) -> dict[str, float]:
    """One thread per camera: demux only (the floor; counts packets) or decode every frame (counts frames)."""
    stop, tally = threading.Event(), Tally(len(urls))

    def read(i: int, url: str) -> None:
        while not stop.is_set():
            try:
                # Reads bounded by the socket timeout in OPEN_OPTIONS, as shopwatch's reader does: PyAV's own read
                # timeout takes the GIL on every socket read (~8 % of the floor at 100 streams), so giving it to
                # one side only would flatter the other.
                with av.open(url, options=OPEN_OPTIONS, timeout=(10, None)) as container:
                    for packet in container.demux(container.streams.video[0]):
                        if stop.is_set():
                            return
                        if not decode:
                            tally.counts[i] += 1
                        elif packet.size:
                            tally.counts[i] += len(packet.decode())
            except av.error.FFmpegError:
                time.sleep(0.5)

    for i, url in enumerate(urls):
        threading.Thread(target=read, args=(i, url), daemon=True).start()
    return window.run(stop, tally.total)


def mode_opencv(urls: list[str], window: Window) -> dict[str, float]:
    import cv2

    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;tcp"
    stop, tally, opened = threading.Event(), Tally(len(urls)), Tally(len(urls))
    started = time.monotonic()

    def read(i: int, url: str) -> None:
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        opened.counts[i] = 1
        while not stop.is_set() and cap.read()[0]:
            tally.counts[i] += 1
        cap.release()

    for i, url in enumerate(urls):
        threading.Thread(target=read, args=(i, url), daemon=True).start()

    def all_open() -> bool:
        return opened.total() == len(urls)

    result = window.run(stop, tally.total, ready=all_open)
    return {**result, "online_s": time.monotonic() - started - window.warmup_s - window.seconds}


def mode_ffmpeg(urls: list[str], window: Window) -> dict[str, float]:
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    procs = [
        subprocess.Popen(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
             "-vf", "fps=5", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        for url in urls
    ]
    stop, tally = threading.Event(), Tally(len(urls))
    frame_bytes = 640 * 360 * 3 // 2

    def drain(i: int, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 16):  # how Frigate consumes the pipe: read and discard
            tally.counts[i] += len(chunk)

    for i, p in enumerate(procs):
        threading.Thread(target=drain, args=(i, p), daemon=True).start()
    window.extra_pids = lambda: [p.pid for p in procs]
    try:
        return window.run(stop, lambda: tally.total() // frame_bytes)
    finally:
        for p in procs:
            p.kill()
            p.wait()


def mode_shopwatch(urls: list[str], window: Window, active: bool) -> dict[str, float]:
    """shopwatch's own readers; idle counts packets demuxed, active counts frames decoded."""
    from shopwatch.ingest.reader import CameraReader

    settings = Ingest(activity={"quiet_s": 600.0} if active else {})
    readers = [
        CameraReader(
            CameraConfig(id=f"cam-{i:04d}", name=f"bench {i}", grid="bench", host="127.0.0.1",
                         streams={"detect": url}),
            settings,
        )
        for i, url in enumerate(urls)
    ]
    started = time.monotonic()
    for r in readers:
        r.start()
    online_s = float("nan")
    while time.monotonic() - started < 60:
        if all(r.health().state == CameraState.ONLINE for r in readers):
            online_s = time.monotonic() - started
            break
        time.sleep(0.05)
    if active:
        for r in readers:
            r.request_activity("benchmark")
    stop = threading.Event()

    def consume() -> None:  # takes every frame handed on, as detection will
        while not stop.wait(0.05):
            for r in readers:
                r.frames.drain()

    def count() -> int:
        healths = [r.health() for r in readers]
        return sum(h.frames_total if active else h.packets_total for h in healths)

    threading.Thread(target=consume, daemon=True).start()
    result = window.run(stop, count)
    modes = [r.health().mode.value for r in readers]
    for r in readers:
        r.request_stop()
    return {**result, "online_s": online_s, "active_share": modes.count("active") / len(modes)}


def time_to_online(urls: list[str], per_worker: int) -> float:
    """Seconds from start until every camera is online, through the real supervisor and worker processes."""
    import asyncio

    from shopwatch.ingest.supervisor import Supervisor

    async def run() -> float:
        sup = Supervisor(Ingest(cameras_per_worker=per_worker), log_level="warning")
        cams = [
            CameraConfig(id=f"cam-{i:04d}", name=f"bench {i}", grid="bench", host="127.0.0.1", streams={"detect": u})
            for i, u in enumerate(urls)
        ]
        started = time.monotonic()
        await sup.start(cams)
        try:
            while time.monotonic() - started < 60:
                if all(h.state == CameraState.ONLINE for h in sup.all_health().values()):
                    return time.monotonic() - started
                await asyncio.sleep(0.05)
            return float("nan")
        finally:
            await sup.stop()

    return asyncio.run(run())


MODES: dict[str, Callable[[list[str], Window], dict[str, float]]] = {
    "floor": lambda u, w: mode_pyav(u, w, decode=False),
    "idle": lambda u, w: mode_shopwatch(u, w, active=False),
    "active": lambda u, w: mode_shopwatch(u, w, active=True),
    "pyav_full": lambda u, w: mode_pyav(u, w, decode=True),
    "ffmpeg_fps5": mode_ffmpeg,
    "opencv": mode_opencv,
}


UNITS = {
    "floor": "packets", "idle": "packets", "active": "frames decoded", "pyav_full": "frames decoded",
    "ffmpeg_fps5": "frames out", "opencv": "frames",
}


def _child(
    name: str, urls: list[str], warmup_s: float, seconds: float, out: multiprocessing.Queue[dict[str, float]]
) -> None:
    out.put(MODES[name](urls, Window(warmup_s, seconds)))


def run_mode(name: str, urls: list[str], warmup_s: float, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, urls, warmup_s, seconds, queue), daemon=True)
    proc.start()
    result: dict[str, float] = queue.get(timeout=warmup_s + seconds + 720)  # OpenCV opens one by one
    proc.kill()
    proc.join()
    result["per_stream"] = result["cpu_s"] / (len(urls) * seconds)
    result["rate"] = result["units"] / (len(urls) * seconds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ",".join(MODES))
    parser.add_argument("--online-cameras", type=int, default=300,
                        help="also time this many cameras coming online through the supervisor (0: skip)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    from shopwatch.sim.fleet import FleetOptions, SimFleet
    from shopwatch.sim.process import SimProcess

    clips = Path(tempfile.gettempdir()) / "shopwatch-bench-clips"
    ids = SimFleet(FleetOptions(cameras=args.cameras, walker_every=0), clips).camera_ids
    results: dict[str, dict[str, float]] = {}
    with SimProcess(cameras=args.cameras, clips_dir=clips, walker_every=0) as sim:
        urls = [sim.url(cid) for cid in ids]
        for name in args.modes.split(","):
            results[name] = run_mode(name, urls, args.warmup, args.seconds)
            if not args.json:
                print(f"  {name:12s} {results[name]['per_stream']:.5f} cores/stream", file=sys.stderr)
    online = {}
    if args.online_cameras:
        n = args.online_cameras
        ids = SimFleet(FleetOptions(cameras=n, walker_every=0), clips).camera_ids
        with SimProcess(cameras=n, clips_dir=clips, walker_every=0) as sim:
            online[n] = time_to_online([sim.url(cid) for cid in ids], per_worker=100)
    report(args, results, online)


def report(args: argparse.Namespace, results: dict[str, dict[str, float]], online: dict[int, float]) -> None:
    per = {k: v["per_stream"] for k, v in results.items()}
    summary: dict[str, float] = {"cameras": args.cameras, **{k: round(v, 6) for k, v in per.items()}}
    summary["online_s"] = round(results.get("idle", {}).get("online_s", float("nan")), 2)
    for n, seconds in online.items():
        summary[f"online_{n}_s"] = round(seconds, 2)
    if args.json:
        print(json.dumps(summary))
        return
    floor = per.get("floor")
    print(f"\n{args.cameras} cameras, {args.seconds:.0f} s each way, CPU cores per stream (user+sys)\n")
    print("| way of reading | cores/stream | × floor | read per stream |\n|---|---|---|---|")
    for name, value in per.items():
        ratio = f"{value / floor:.2f}" if floor else "-"
        print(f"| {name} | {value:.5f} | {ratio} | {results[name]['rate']:.1f} {UNITS[name]}/s |")
    checks = [
        ("idle ≤ 1.5 × floor", per.get("idle"), per.get("floor"), lambda a, b: a / b, 1.5, "≤"),
        ("ffmpeg_fps5 ≥ 6 × idle", per.get("ffmpeg_fps5"), per.get("idle"), lambda a, b: a / b, 6.0, "≥"),
        ("active ≤ 1.2 × pyav_full", per.get("active"), per.get("pyav_full"), lambda a, b: a / b, 1.2, "≤"),
    ]
    print("\n| target | measured | met |\n|---|---|---|")
    for label, a, b, fn, bound, op in checks:
        if a is None or b is None:
            continue
        value = fn(a, b)
        met = value <= bound if op == "≤" else value >= bound
        print(f"| {label} | {value:.2f} | {'yes' if met else 'NO'} |")
    for name in ("idle", "opencv"):
        if "online_s" in results.get(name, {}):
            print(f"| all {args.cameras} open, {name} (one process) | {results[name]['online_s']:.2f} s | |")
    for n, seconds in online.items():
        print(f"| {n} cameras online through the supervisor | {seconds:.2f} s | {'yes' if seconds <= 10 else 'NO'} |")


if __name__ == "__main__":
    main()
