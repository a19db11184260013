"""Cost of detection, measured in one run.

    python benchmarks/detect_cost.py [--model DIR] [--frames 48] [--json]

1. motion stage per frame (640x360 -> 160x90 luma, background, blobs);
2. person detector per frame: one frame per call vs batches of 8 and 16 (frames of different cameras in one
   call), and the throughput ratio;
3. an idle camera with gating: a whole pipeline step on a still scene (motion says nothing moved, the detector
   does not run);
4. end-to-end latency of a card-posting event on a scenario clip: stream time from the frame that completes the
   visit (the actor leaves) to the event, and the processing time of the frame that fires it;
5. the whole pipeline per frame on that clip (three surface zones with card-posting, loitering, intrusion): with
   the model, and again on the same detections replayed (motion + tracker + rules alone).

``--node`` measures instead the node's detector process (issue 14) against today's in-worker path, side by side:
6. throughput (frames/s) and frames per CPU-second at batch 1/8/16, the model in this process (the in-worker path:
   one worker's detection calling ``YoloDetector``) vs the node's detector process fed by ``--workers`` clients
   at once (each a worker's ``NodeDetectorClient``, in threads here, sending rounds of ``--round`` frames); CPU
   counts this process and the detector process;
7. the transport alone: a round trip of one 640x360 frame (and of a round of 8) to a detector process whose
   model answers at once, in ms per frame.

``--model-batch`` measures instead ``detect.model_batch`` (the batch-1 OpenVINO export re-shaped at load, see
``shopwatch/models/rebatch.py``) against the export as it is, side by side, at batch 1/8/16:
8. frames/s and frames per CPU-second of ``YoloDetector.detect`` on calls of that many frames, the model run once
   per frame (as exported) vs once per call (re-shaped).

``--before REV`` runs measure 5 also on the code of git revision REV (its ``shopwatch`` package, exported to a
temporary folder, in a fresh process) and prints both side by side with their ratio: the before/after of a
change in one run.

CPU time of this process is reported next to wall time: on a shared machine the wall time includes waiting.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(os.environ.get("SHOPWATCH_BENCH_ROOT", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(ROOT))

from shopwatch.core.clock import ManualClock  # noqa: E402
from shopwatch.core.detect_config import CameraDetection, DetectSettings  # noqa: E402
from shopwatch.core.frame import Frame  # noqa: E402
from shopwatch.models.detector import YoloDetector  # noqa: E402
from shopwatch.models.motion import MotionDetector, luma_of  # noqa: E402
from shopwatch.models.offline import prepare_offline_env  # noqa: E402
from shopwatch.models.pipeline import Pipeline  # noqa: E402

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "yolo11n_int8_openvino_model"
W, H = 640, 360


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(wall ms, cpu ms) per call."""
    fn()  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - wall) * 1000 / repeat, (time.process_time() - cpu) * 1000 / repeat


def street_frames(n: int) -> list[np.ndarray]:
    from PIL import Image
    from ultralytics.utils import ASSETS

    photo = np.asarray(Image.open(ASSETS / "bus.jpg").convert("RGB").resize((W, H)))
    rng = np.random.default_rng(0)
    return [np.clip(photo + rng.normal(0, 3, photo.shape), 0, 255).astype(np.uint8) for _ in range(n)]


def motion_cost(frames: list[np.ndarray]) -> dict[str, float]:
    detector = MotionDetector(DetectSettings().motion)
    state = {"i": 0}

    def step() -> None:
        i = state["i"] = state["i"] + 1
        frame = Frame("cam", frames[i % len(frames)], i / 6, i / 6, False, i)
        detector.update(luma_of(frame.to_rgb(*detector.size_for(W, H))), i / 6)

    wall, cpu = timed(step, 200)
    return {"motion_ms_per_frame": wall, "motion_cpu_ms_per_frame": cpu}


def detector_cost(model: Path, frames: list[np.ndarray]) -> dict[str, float]:
    out: dict[str, float] = {}
    for batch in (1, 8, 16):
        detector = YoloDetector(DetectSettings(batch_size=batch), model)
        n = len(frames) // batch * batch

        def run(detector: YoloDetector = detector, n: int = n, batch: int = batch) -> None:
            for start in range(0, n, batch):
                detector.detect(frames[start : start + batch])

        wall, cpu = timed(run, 2)
        out[f"detector_ms_per_frame_batch{batch}"] = wall / n
        out[f"detector_cpu_ms_per_frame_batch{batch}"] = cpu / n
    for batch in (8, 16):
        out[f"throughput_ratio_batch{batch}"] = (
            out["detector_ms_per_frame_batch1"] / out[f"detector_ms_per_frame_batch{batch}"]
        )
    return out


def idle_cost(model: Path, frames: list[np.ndarray]) -> dict[str, float]:
    clock = ManualClock(start=0.0, wall_start=1_800_000_000.0)
    pipeline = Pipeline(DetectSettings(), YoloDetector(DetectSettings(), model), clock, fps=6.0)
    pipeline.set_camera("cam", CameraDetection())
    still = frames[0]
    state = {"i": 0}

    def step() -> None:
        i = state["i"] = state["i"] + 1
        clock.advance(1 / 6)
        pipeline.process([Frame("cam", still, i / 6, clock.wall(), False, i)])

    for _ in range(30):  # past active_hold_s of the first frame
        step()
    wall, cpu = timed(step, 200)
    assert pipeline.health()[0].detected <= 1, "the still scene should not run the detector"
    return {"idle_ms_per_frame": wall, "idle_cpu_ms_per_frame": cpu}


def card_latency(model: Path) -> dict[str, float]:
    try:
        from shopwatch.sim.scenes import generate
    except ImportError:
        return {}
    from shopwatch.core.detect_loader import load_camera_detection
    from shopwatch.models.video_file import CAMERA_ID, file_frames

    with tempfile.TemporaryDirectory() as tmp:
        [truth_path] = generate(Path(tmp), 1, names=["post_door_day"], workers=1)
        truth = json.loads(truth_path.read_text())
        camera = load_camera_detection(truth_path.with_name(truth["name"] + ".camera.yaml"))
        start = datetime.fromisoformat(truth["start_time"]).timestamp()
        clock = ManualClock(start=0.0, wall_start=start)
        pipeline = Pipeline(DetectSettings(), YoloDetector(DetectSettings(), model), clock, fps=6.0)
        pipeline.set_camera(CAMERA_ID, camera)
        for frame in file_frames(truth_path.with_suffix(".mp4"), 6.0, start):
            clock.advance(max(0.0, frame.pts_s - clock.monotonic()))
            began = time.perf_counter()
            events = pipeline.process([frame])
            if events:
                event = events[0]
                return {
                    "card_event_after_leave_s": event.detected_at - event.end,
                    "card_event_after_truth_end_s": event.detected_at - start - truth["events"][0]["end_s"],
                    "card_firing_frame_ms": (time.perf_counter() - began) * 1000,
                }
    return {"card_event_after_leave_s": float("nan")}


class Replay:
    """The real detector on each image once; the same detections again on a second pass (frames in order)."""

    def __init__(self, model: Path) -> None:
        self._detector = YoloDetector(DetectSettings(), model)
        self._seen: list[object] = []
        self.replaying = False
        self._i = 0

    def detect(self, images: object) -> object:
        if self.replaying:
            self._i += 1
            return self._seen[self._i - 1]
        found = self._detector.detect(images)  # type: ignore[arg-type]
        self._seen.append(found)
        return found


def clip_cost(model: Path) -> dict[str, float]:
    from shopwatch.core.detect_loader import load_camera_detection
    from shopwatch.models.video_file import CAMERA_ID, file_frames
    from shopwatch.sim.scenes import generate

    replay = Replay(model)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        [truth_path] = generate(Path(tmp), 1, names=["post_door_day"], workers=1)
        truth = json.loads(truth_path.read_text())
        camera = load_camera_detection(truth_path.with_name(truth["name"] + ".camera.yaml"))
        start = datetime.fromisoformat(truth["start_time"]).timestamp()
        frames = list(file_frames(truth_path.with_suffix(".mp4"), 6.0, start))
        for name in ("clip", "clip_without_model"):
            clock = ManualClock(start=0.0, wall_start=start)
            pipeline = Pipeline(DetectSettings(), replay, clock, fps=6.0)  # type: ignore[arg-type]
            pipeline.set_camera(CAMERA_ID, camera)
            began, cpu = time.perf_counter(), time.process_time()
            for frame in frames:
                clock.advance(max(0.0, frame.pts_s - clock.monotonic()))
                pipeline.process([frame])
            out[f"{name}_ms_per_frame"] = (time.perf_counter() - began) * 1000 / len(frames)
            out[f"{name}_cpu_ms_per_frame"] = (time.process_time() - cpu) * 1000 / len(frames)
            replay.replaying = True
    return out


class Instant:
    """A 'model' that answers at once (measure 7: the transport alone)."""

    def detect(self, images: object) -> list[object]:
        from shopwatch.core.detections import Detections

        return [Detections.empty() for _ in images]  # type: ignore[attr-defined]


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    return time.process_time()


def node_cost(model: Path, frames: list[np.ndarray], workers: int, round_size: int) -> list[dict[str, object]]:
    import asyncio
    import threading

    from shopwatch.models.detector import DetectorUnavailable
    from shopwatch.models.detector_service import DetectorNode

    rows: list[dict[str, object]] = []
    n = len(frames)
    for batch in (1, 8, 16):
        settings = DetectSettings(model=str(model), batch_size=batch, queue_frames=256, reply_timeout_s=120)
        detector = YoloDetector(settings, model)
        cpu0, t0 = _own_cpu_s(), time.perf_counter()
        for start in range(0, n, batch):
            detector.detect(frames[start : start + batch])
        wall, cpu = time.perf_counter() - t0, _own_cpu_s() - cpu0
        del detector
        rows.append({"path": "in-worker", "batch": batch, "frames": n, "fps": n / wall, "fps_per_core": n / cpu})

        async def through_node(settings: DetectSettings = settings) -> dict[str, object]:
            node = DetectorNode(settings, log_level="warning")
            await node.start()
            try:
                probe = node.client()
                while True:  # until the model is loaded and listening
                    try:
                        await asyncio.to_thread(probe.detect, frames[:1])
                        break
                    except DetectorUnavailable:
                        await asyncio.sleep(0.2)
                assert node.pid is not None
                share = [frames[i::workers] for i in range(workers)]
                dropped = [0]

                def worker(mine: list[np.ndarray]) -> None:
                    client = node.client()
                    for start in range(0, len(mine), round_size):
                        answers = client.detect(mine[start : start + round_size])
                        dropped[0] += sum(a is None for a in answers)

                threads = [threading.Thread(target=worker, args=(mine,)) for mine in share]
                cpu_node0, cpu0, t0 = _cpu_s(node.pid), _own_cpu_s(), time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                wall = time.perf_counter() - t0
                cpu = _own_cpu_s() - cpu0 + _cpu_s(node.pid) - cpu_node0
                return {"path": f"node ({workers} workers)", "batch": settings.batch_size, "frames": n,
                        "fps": n / wall, "fps_per_core": n / cpu, "dropped": dropped[0]}  # fmt: skip
            finally:
                await node.stop()

        rows.append(asyncio.run(through_node()))
    return rows


def transport_cost(frames: list[np.ndarray]) -> dict[str, float]:
    import asyncio

    from shopwatch.models.detector import DetectorUnavailable
    from shopwatch.models.detector_service import DetectorNode

    async def measure() -> dict[str, float]:
        node = DetectorNode(DetectSettings(batch_size=8), factory=Instant, log_level="warning")
        await node.start()
        try:
            client = node.client()
            while True:
                try:
                    client.detect(frames[:1])
                    break
                except DetectorUnavailable:
                    await asyncio.sleep(0.2)
            out = {}
            for size in (1, 8):
                wall, cpu = timed(lambda size=size: client.detect(frames[:size]), 50)
                out[f"round_trip_ms_per_frame_round{size}"] = wall / size
                out[f"round_trip_client_cpu_ms_per_frame_round{size}"] = cpu / size
            return out
        finally:
            await node.stop()

    return asyncio.run(measure())


def before_after(model: Path, revision: str) -> None:
    """Measure 5 on ``revision`` and on this tree, each in a fresh process, side by side."""
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="detect-cost-before-") as before_root:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "shopwatch"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", before_root], input=archive, check=True)
        for label, root in ((f"before ({revision})", before_root), ("after (this tree)", str(ROOT))):
            env = {**os.environ, "SHOPWATCH_BENCH_ROOT": root}
            done = subprocess.run(
                [sys.executable, __file__, "--model", str(model), "--clip-only", "--json"],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            rows[label] = json.loads(done.stdout.strip().splitlines()[-1])
    (before, b), (after, a) = rows.items()
    print(f"| measure | {before} | {after} | after / before |\n|---|---|---|---|")
    for key in b:
        print(f"| {key} | {b[key]:.2f} | {a[key]:.2f} | {a[key] / b[key]:.2f} |")


def model_batch_cost(model: Path, frames: list[np.ndarray]) -> list[dict[str, float]]:
    rows = []
    for batch in (1, 8, 16):
        n = len(frames) // batch * batch
        row: dict[str, float] = {"batch": batch}
        for label, model_batch in (("split", 1), ("reshaped", batch)):
            detector = YoloDetector(DetectSettings(batch_size=batch, model_batch=model_batch), model)

            def run(detector: YoloDetector = detector, n: int = n, batch: int = batch) -> None:
                for start in range(0, n, batch):
                    detector.detect(frames[start : start + batch])

            wall, cpu = timed(run, 2)
            row[f"{label}_fps"] = n / wall * 1000
            row[f"{label}_fps_per_core"] = n / cpu * 1000
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--frames", type=int, default=48, help="frames per detector measurement (multiple of 16)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--before", metavar="REV", help="also measure the clip on git revision REV, side by side")
    parser.add_argument("--clip-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--node", action="store_true", help="node detector process vs in-worker path (6, 7)")
    parser.add_argument("--workers", type=int, default=4, help="--node: worker clients sending at once")
    parser.add_argument("--round", type=int, default=2, help="--node: frames per worker round")
    parser.add_argument("--model-batch", action="store_true", help="detect.model_batch re-shaped vs as exported (8)")
    args = parser.parse_args()
    if not args.model.exists():
        sys.exit(f"no person model at {args.model} (--model)")
    prepare_offline_env()  # before the first ultralytics import (street_frames)
    if args.clip_only:
        print(json.dumps(clip_cost(args.model)))
        return
    if args.before:
        before_after(args.model, args.before)
        return
    frames = street_frames(args.frames)
    if args.model_batch:
        load = os.getloadavg()[0]
        batch_rows = model_batch_cost(args.model, frames)
        if args.json:
            print(json.dumps({"model_batch": batch_rows}))
            return
        print(f"load average at start: {load:.2f}, at end: {os.getloadavg()[0]:.2f}")
        print("| batch | as exported: frames/s | frames/s/core | re-shaped: frames/s | frames/s/core | per core, after"
              " / before |\n|---|---|---|---|---|---|")  # fmt: skip
        for r in batch_rows:
            ratio = r["reshaped_fps_per_core"] / r["split_fps_per_core"]
            print(f"| {r['batch']:.0f} | {r['split_fps']:.1f} | {r['split_fps_per_core']:.1f} | {r['reshaped_fps']:.1f}"
                  f" | {r['reshaped_fps_per_core']:.1f} | {ratio:.2f} |")  # fmt: skip
        return
    if args.node:
        rows = node_cost(args.model, frames, args.workers, args.round)
        transport = transport_cost(frames)
        if args.json:
            print(json.dumps({"throughput": rows, **transport}))
            return
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        print("| path | batch | frames | frames/s | frames/s/core | dropped |\n|---|---|---|---|---|---|")
        for row in rows:
            print(f"| {row['path']} | {row['batch']} | {row['frames']} | {row['fps']:.1f} | "
                  f"{row['fps_per_core']:.1f} | {row.get('dropped', '-')} |")  # fmt: skip
        print("\n| transport (no model) | ms |\n|---|---|")
        for key, value in transport.items():
            print(f"| {key} | {value:.3f} |")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
        return
    results = {
        **motion_cost(frames),
        **detector_cost(args.model, frames),
        **idle_cost(args.model, frames),
        **card_latency(args.model),
        **clip_cost(args.model),
    }
    if args.json:
        print(json.dumps(results))
        return
    print("| measure | value |\n|---|---|")
    for key, value in results.items():
        print(f"| {key} | {value:.3f} |")


if __name__ == "__main__":
    main()
