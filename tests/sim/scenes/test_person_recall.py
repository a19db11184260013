"""People in the scenes look like people to a detector trained on real ones: the COCO YOLO11n model finds the
figures, wherever they are wholly in the picture, in at least 80 % of the frames (IoU >= 0.5 with the truth).

The model runs in a spawned process: once GStreamer's RTSP server library is loaded (tests/sim/conftest.py
imports it), ultralytics' first OpenVINO inference in the same process aborts it."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from shopwatch.models.offline import prepare_offline_env
from tests.models.model_path import test_model
from tests.sim.scenes.conftest import SAMPLE

STEP = 5  # every 5th frame: poses differ, the test stays within seconds
Box = list[float]


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def visible_people(truth: dict[str, Any], frame: int) -> list[Box]:
    """Truth boxes (pixels) of people wholly in the picture and not hidden behind someone else."""
    boxes = []
    for actor in truth["actors"]:
        k = frame - actor["first_frame"]
        if 0 <= k < len(actor["boxes"]) and actor["inside"][k]:
            x0, y0, x1, y1 = actor["boxes"][k]
            boxes.append([x0 * 640, y0 * 360, x1 * 640, y1 * 360])
    return [b for b in boxes if not any(o is not b and iou(b, o) > 0.3 for o in boxes)]


def frames(path: Path) -> list[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for i, f in enumerate(container.decode(video=0)) if i % STEP == 0]


def recall_per_clip(model_path: Path, clips: list[Path]) -> dict[str, tuple[int, int]]:
    """(found, expected) people per clip; runs in a fresh process."""
    prepare_offline_env()
    from ultralytics import YOLO

    model = YOLO(str(model_path), task="detect")
    out = {}
    for clip in clips:
        truth = json.loads(clip.with_suffix(".json").read_text())
        results = model.predict(frames(clip), imgsz=640, conf=0.25, classes=[0], verbose=False)
        hits = total = 0
        for index, result in enumerate(results):
            detections = result.boxes.xyxy.tolist()
            for box in visible_people(truth, index * STEP):
                total += 1
                hits += any(iou(box, d) >= 0.5 for d in detections)
        out[clip.stem] = (hits, total)
    return out


def test_the_coco_person_detector_finds_the_figures(scenes_dir: Path) -> None:
    model_path = test_model()
    clips = [scenes_dir / f"{name}.mp4" for name in SAMPLE]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        per_clip = pool.submit(recall_per_clip, model_path, clips).result(timeout=300)
    found = sum(hits for hits, _ in per_clip.values())
    expected = sum(total for _, total in per_clip.values())
    assert expected >= 100  # enough people-frames to mean something
    assert found / expected >= 0.8, per_clip
