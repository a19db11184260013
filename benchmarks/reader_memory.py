"""Memory and CPU per camera of a worker's readers, idle fleet, with and without issue 14's memory changes.

    python benchmarks/reader_memory.py [--cameras 60] [--fps 2] [--seconds 25] [--json]

One simulated fleet (``python -m shopwatch.sim``, static scenes) is served by a separate process; each variant
then runs alone, in a fresh process, as a worker does: ``--cameras`` ``CameraReader`` threads (the real reader,
pipeline and decoder), all online, idle (keyframes decoded now and then). After ``--seconds`` it reports the
growth of its RSS and anonymous memory per camera (``/proc/self/smaps_rollup``, from before the readers started)
and its CPU per camera over a further 10 s. Variants, side by side in one run:

- ``kept decoder``: as before: each camera keeps its decoder (and its buffers) between idle keyframes;
- ``kept decoder, malloc tuned``: the same with ``core.process_tuning.tune_malloc`` (2 arenas, fixed mmap threshold);
- ``released decoder``: each idle keyframe decoded by a fresh decoder, freed after it (``AvDecoder.decode_alone``);
- ``released decoder, malloc tuned``: what a worker does now with ``ingest.reader: ffmpeg``;
- ``native reader``: the same with ``ingest.reader: native`` (one ``NativeLoop`` thread for all cameras, no
  FFmpeg demuxer: ``ingest/native_reader.py``).

``--variants`` picks some, comma-separated (e.g. ``--variants "released decoder, malloc tuned;native reader"``,
separated by ``;``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = {  # (decoder released between idle keyframes, malloc tuned, ingest.reader)
    "kept decoder": (False, False, "ffmpeg"),
    "kept decoder, malloc tuned": (False, True, "ffmpeg"),
    "released decoder": (True, False, "ffmpeg"),
    "released decoder, malloc tuned": (True, True, "ffmpeg"),
    "native reader": (True, True, "native"),
}
CPU_WINDOW_S = 10.0


def memory_mb() -> tuple[float, float]:
    fields: dict[str, int] = {}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if len(parts) == 3:
                fields[parts[0].rstrip(":")] = int(parts[1])
    return fields["Rss"] / 1024, fields["Anonymous"] / 1024


def variant(name: str, config: Path, seconds: float) -> dict[str, Any]:
    """One variant, in this (fresh) process."""
    release, tuned, kind = VARIANTS[name]
    from shopwatch.core.process_tuning import tune_malloc

    if tuned:
        tune_malloc()
    import av  # noqa: F401  (the worker has these loaded before its readers start)
    import cv2  # noqa: F401
    import yaml

    from shopwatch.core.config import Settings
    from shopwatch.core.health import CameraState
    from shopwatch.ingest.decode import AvDecoder
    from shopwatch.ingest.native_reader import NativeCameraReader, NativeLoop
    from shopwatch.ingest.pacing import PaceCore
    from shopwatch.ingest.reader import CameraReader

    if not release:  # before: one decoder per connection, kept from keyframe to keyframe
        AvDecoder.release = lambda _self: None  # type: ignore[method-assign]
        AvDecoder.decode_alone = AvDecoder.decode  # type: ignore[method-assign]
    settings = Settings.model_validate({"cameras": yaml.safe_load(config.read_text())["cameras"]})
    ingest = settings.ingest.model_copy(update={"open_rate": 50.0, "opens_in_flight": 8})
    rss0, anon0 = memory_mb()
    if kind == "native":
        loop = NativeLoop(PaceCore(ingest.open_rate, ingest.opens_in_flight))
        readers: list[CameraReader] = [NativeCameraReader(cam, ingest, loop) for cam in settings.cameras]
    else:
        readers = [CameraReader(cam, ingest) for cam in settings.cameras]
    for reader in readers:
        reader.start()
    time.sleep(seconds)
    cpu0, t0 = time.process_time(), time.monotonic()
    time.sleep(CPU_WINDOW_S)
    cores = (time.process_time() - cpu0) / (time.monotonic() - t0)
    rss, anon = memory_mb()
    online = sum(1 for r in readers if r.health().state is CameraState.ONLINE)
    n = len(readers)
    return {
        "variant": name,
        "cameras": n,
        "online": online,
        "rss_mb_per_camera": round((rss - rss0) / n, 2),
        "anon_mb_per_camera": round((anon - anon0) / n, 2),
        "cores_per_camera": round(cores / n, 5),
    }


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="reader-memory-") as tmp:
        config = Path(tmp) / "cameras.yaml"
        sim = [sys.executable, "-m", "shopwatch.sim", "--cameras", str(args.cameras), "--fps", str(args.fps)]
        sim += ["--walker-every", "0", "--clips-dir", str(ROOT / "data" / "sim"), "--write-config", str(config)]
        server = subprocess.Popen(sim, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line.startswith("READY "):
                raise RuntimeError(f"expected READY from the simulator, found {line!r}")
            for name in args.variants.split(";") if args.variants else VARIANTS:
                cmd = [sys.executable, __file__, "--variant", name, "--config", str(config)]
                out = subprocess.run(
                    [*cmd, "--seconds", str(args.seconds)], capture_output=True, text=True, cwd=ROOT,
                    timeout=args.seconds + CPU_WINDOW_S + 120,
                )  # fmt: skip
                if out.returncode != 0:
                    raise RuntimeError(f"variant {name!r} failed: {out.stderr[-800:]}")
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        finally:
            server.terminate()
            server.wait(15)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=60)
    parser.add_argument("--fps", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=25.0, help="warm-up with all readers running")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--variants", default=None, help="';'-separated variant names (default: all)")
    parser.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(variant(args.variant, args.config, args.seconds)))
        return 0
    load = os.getloadavg()[0]
    rows = run(args)
    if args.json:
        print(json.dumps(rows))
        return 0
    base = rows[0]["rss_mb_per_camera"]
    print(f"{args.cameras} cameras at {args.fps} fps, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    cpu = rows[0]["cores_per_camera"]
    print(f"| variant | online | RSS MB / camera | anon MB / camera | cores / camera | RSS vs {rows[0]['variant']}"
          f" | cores vs {rows[0]['variant']} |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        rss, cores = r["rss_mb_per_camera"], r["cores_per_camera"]
        print(f"| {r['variant']} | {r['online']}/{r['cameras']} | {rss} | {r['anon_mb_per_camera']}"
              f" | {cores} | {rss / base:.2f} | {cores / cpu:.2f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
