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
    """Measures CPU of this process (plus extra pids) between warm-up end and deadline."""

    def __init__(self, warmup_s: float, seconds: float, extra_pids: Callable[[], list[int]] = list) -> None:
        self.warmup_s, self.seconds, self.extra_pids = warmup_s, seconds, extra_pids

    def run(self, stop: threading.Event) -> float:
        time.sleep(self.warmup_s)
        pids = [os.getpid(), *self.extra_pids()]
        start = cpu_seconds(pids)
        time.sleep(self.seconds)
        used = cpu_seconds(pids) - start
        stop.set()
        return used


# -- the ways of reading; each runs in its own process ------------------------------------------------


def _pyav_threads(urls: list[str], stop: threading.Event, decode: bool) -> list[threading.Thread]:
    def read(url: str) -> None:
        while not stop.is_set():
            try:
                with av.open(url, options=OPEN_OPTIONS, timeout=(10, 5)) as container:
                    stream = container.streams.video[0]
                    for packet in container.demux(stream):
                        if stop.is_set():
                            return
                        if decode and packet.size:
                            for _frame in packet.decode():
                                pass
            except av.error.FFmpegError:
                time.sleep(0.5)

    return [threading.Thread(target=read, args=(u,), daemon=True) for u in urls]


def mode_pyav(urls: list[str], window: Window, decode: bool) -> dict[str, float]:
    stop = threading.Event()
    threads = _pyav_threads(urls, stop, decode)
    for t in threads:
        t.start()
    return {"cpu_s": window.run(stop)}


def mode_opencv(urls: list[str], window: Window) -> dict[str, float]:
    import cv2

    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;tcp"
    stop = threading.Event()

    def read(url: str) -> None:
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        while not stop.is_set() and cap.read()[0]:
            pass
        cap.release()

    threads = [threading.Thread(target=read, args=(u,), daemon=True) for u in urls]
    for t in threads:
        t.start()
    return {"cpu_s": window.run(stop)}


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
    stop = threading.Event()

    def drain(proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        while proc.stdout.read(1 << 16):  # how Frigate consumes the pipe: read and discard
            pass

    for p in procs:
        threading.Thread(target=drain, args=(p,), daemon=True).start()
    window.extra_pids = lambda: [p.pid for p in procs]
    try:
        return {"cpu_s": window.run(stop)}
    finally:
        for p in procs:
            p.kill()
            p.wait()


def mode_shopwatch(urls: list[str], window: Window, active: bool) -> dict[str, float]:
    from shopwatch.ingest.reader import CameraReader

    settings = Ingest(activity={"quiet_s": 600.0} if active else {})
    readers = []
    started = time.monotonic()
    for i, url in enumerate(urls):
        cam = CameraConfig(id=f"cam-{i:04d}", name=f"bench {i}", grid="bench", host="127.0.0.1",
                           streams={"detect": url})
        readers.append(CameraReader(cam, settings))
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

    def consume() -> None:  # a consumer that takes every frame handed on, as detection will
        while not stop.is_set():
            for r in readers:
                r.frames.get(timeout=0)

    threading.Thread(target=consume, daemon=True).start()
    cpu = window.run(stop)
    modes = [r.health().mode.value for r in readers]
    for r in readers:
        r.stop(join_timeout_s=0.0)
    return {"cpu_s": cpu, "online_s": online_s, "active_share": modes.count("active") / len(modes)}


MODES: dict[str, Callable[[list[str], Window], dict[str, float]]] = {
    "floor": lambda u, w: mode_pyav(u, w, decode=False),
    "idle": lambda u, w: mode_shopwatch(u, w, active=False),
    "active": lambda u, w: mode_shopwatch(u, w, active=True),
    "pyav_full": lambda u, w: mode_pyav(u, w, decode=True),
    "ffmpeg_fps5": mode_ffmpeg,
    "opencv": mode_opencv,
}


def _child(name: str, urls: list[str], warmup_s: float, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(MODES[name](urls, Window(warmup_s, seconds)))


def run_mode(name: str, urls: list[str], warmup_s: float, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, urls, warmup_s, seconds, queue), daemon=True)
    proc.start()
    result: dict[str, float] = queue.get(timeout=warmup_s + seconds + 120)
    proc.kill()
    proc.join()
    result["per_stream"] = result["cpu_s"] / (len(urls) * seconds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ",".join(MODES))
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
    report(args, results)


def report(args: argparse.Namespace, results: dict[str, dict[str, float]]) -> None:
    per = {k: v["per_stream"] for k, v in results.items()}
    summary = {"cameras": args.cameras, **{k: round(v, 6) for k, v in per.items()}}
    summary["online_s"] = round(results.get("idle", {}).get("online_s", float("nan")), 2)
    if args.json:
        print(json.dumps(summary))
        return
    floor = per.get("floor")
    print(f"\n{args.cameras} cameras, {args.seconds:.0f} s each way, CPU cores per stream (user+sys)\n")
    print("| way of reading | cores/stream | × floor |\n|---|---|---|")
    for name, value in per.items():
        ratio = f"{value / floor:.2f}" if floor else "-"
        print(f"| {name} | {value:.5f} | {ratio} |")
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
    print(f"| all {args.cameras} online | {summary['online_s']} s | |")


if __name__ == "__main__":
    main()
