"""Would a pose model's wrists tell a card-posting visit? Measured on the labelled real clip's visits.

    python benchmarks/pose_cue.py [--pose DIR] [--model DIR] [--fps 2]

For each labelled visit of ``one-by-one-person-detection.mp4`` (Intel Corporation, CC BY 4.0, read from
``../shared/data/real``; every visit there only handles the sheet already on the table), runs the COCO pose model
(``../shared/models/yolov8n_pose_int8_openvino_model``) on the visit's frames and counts the frames with a
confident wrist (>= 0.5) within 0.1 person-heights of the labelled spot where the hands worked, and the nearest
such wrist. On the same frames it times the pose model against the person model (CPU time per frame), for the
cost of running it on a visit's frames only. Skips with the reason when the clip or a model is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopwatch.models.offline import prepare_offline_env  # noqa: E402
from shopwatch.models.video_file import file_frames  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LABELS = ROOT / "tests" / "data" / "real" / "table.labels.yaml"
WRISTS = (9, 10)  # COCO keypoints
NEAR = 0.1  # of the person's height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pose", type=Path, default=SHARED / "models" / "yolov8n_pose_int8_openvino_model")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "yolo11n_int8_openvino_model")
    parser.add_argument("--clip", type=Path, default=SHARED / "data" / "real" / "one-by-one-person-detection.mp4")
    parser.add_argument("--fps", type=float, default=2.0)
    args = parser.parse_args()
    for path in (args.pose, args.model, args.clip):
        if not path.exists():
            print(f"skipped: {path} is absent (see ../shared/README.md)")
            return
    prepare_offline_env()
    from ultralytics import YOLO

    pose: Any = YOLO(str(args.pose), task="pose")
    person: Any = YOLO(str(args.model), task="detect")
    blank = np.zeros((320, 640, 3), np.uint8)
    pose.predict(blank, imgsz=640, verbose=False)  # load and compile before timing
    person.predict(blank, imgsz=640, verbose=False)
    visits = yaml.safe_load(LABELS.read_text(encoding="utf-8"))["visits"]
    near = [0] * len(visits)
    frames = [0] * len(visits)
    nearest: list[list[float]] = [[] for _ in visits]
    pose_s = person_s = 0.0
    for frame in file_frames(args.clip, args.fps, 0.0):
        at = [i for i, v in enumerate(visits) if v["start_s"] + 1.0 <= frame.pts_s <= v["left_s"] - 1.0]
        if not at:
            continue
        i = at[0]
        bgr = np.ascontiguousarray(frame.image[..., ::-1])
        h, w = bgr.shape[:2]
        started = time.process_time()
        result = pose.predict(bgr, imgsz=640, conf=0.35, classes=[0], verbose=False)[0]
        pose_s += time.process_time() - started
        started = time.process_time()
        person.predict(bgr, imgsz=640, conf=0.35, classes=[0], verbose=False)
        person_s += time.process_time() - started
        hx, hy = visits[i]["hands"][0] * w, visits[i]["hands"][1] * h
        best = float("inf")
        if result.keypoints is not None and len(result.keypoints):
            for points, box in zip(result.keypoints.data.cpu().numpy(), result.boxes.xyxy.cpu().numpy(), strict=True):
                for x, y, c in points[list(WRISTS)]:
                    if c >= 0.5:
                        best = min(best, float(np.hypot(x - hx, y - hy) / (box[3] - box[1])))
        frames[i] += 1
        near[i] += best <= NEAR
        nearest[i].append(best)
    print(f"{'visit':>5} {'wrist at the spot':>18} {'nearest wrist (median, heights)':>32}")
    for i in range(len(visits)):
        d = np.array(nearest[i])
        median = np.median(d[np.isfinite(d)]) if np.isfinite(d).any() else float("nan")
        print(f"{i + 1:>5} {near[i]:>9}/{frames[i]:<8} {median:>32.2f}")
    n = sum(frames)
    print(
        f"CPU per frame on the same {n} frames: pose {pose_s / n * 1000:.1f} ms, person model {person_s / n * 1000:.1f}"
        f" ms ({pose_s / person_s:.2f}x)"
    )


if __name__ == "__main__":
    main()
