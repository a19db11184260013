"""How far a card stands above its surface's measured noise, in one frame and in a mean of frames.

    python benchmarks/noise_of_mean.py [--scene post_door_night_noisy] [--seed 7]

Renders one scenario clip, replays it through the surface background of the zone holding its card (the ground
truth's person boxes stand for the detector's, so nothing but the picture side is measured), takes "before" at
the visit's start and averages the after-picture over 1, 6 and 18 frames at 6 fps once nobody is over the zone.
Prints, per mean: the card's difference (grey levels and in sigmas of the measured noise), the largest difference
in the 50x50 px around it, and the card's strength as the rule judges it (75th percentile of difference over
max(diff_threshold, 4 sigma); the rule fires from 1.6). No person model; a few seconds of CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopwatch.core.detect_config import ZoneKind  # noqa: E402
from shopwatch.core.detect_loader import load_camera_detection  # noqa: E402
from shopwatch.models.surface import PixelBox, SurfaceBackground, difference  # noqa: E402
from shopwatch.models.video_file import file_frames  # noqa: E402
from shopwatch.models.zones import ZoneShape  # noqa: E402
from shopwatch.sim.scenes import generate  # noqa: E402

FLOOR = 25  # the rule's default diff_threshold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", default="post_door_night_noisy")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="noise-") as tmp:
        out = Path(tmp)
        generate(out, args.seed, names=[args.scene], workers=1)
        measure(out, args.scene, args.seed)


def measure(out: Path, name: str, seed: int) -> None:
    truth = json.loads((out / f"{name}.json").read_text())
    camera = load_camera_detection(out / f"{name}.camera.yaml")
    event = next(e for e in truth["events"] if e["type"] == "card_posting")
    patch = event["patches"][0]
    zone = next(
        ZoneShape.of(z) for z in camera.zones if z.kind is ZoneKind.SURFACE and _inside(patch, ZoneShape.of(z).bbox)
    )
    background = SurfaceBackground(zone)
    before = None
    afters: list[np.ndarray] = []
    for frame in file_frames(out / f"{name}.mp4", 6.0, 0.0):
        boxes = _boxes(truth, frame.pts_s)
        if before is None and frame.pts_s >= event["start_s"]:
            before = background.snapshot()
        background.update(frame.image, boxes, frame.pts_s)
        r = background.region
        zb = zone.bbox
        over = len(boxes) and np.any((boxes[:, 0] < zb[2]) & (boxes[:, 2] > zb[0]) & (boxes[:, 3] > zb[1]))
        if before is not None and r is not None and frame.pts_s > event["end_s"] + 0.3 and not over:
            afters.append(frame.image[r.y1 : r.y2, r.x1 : r.x2].astype(np.float32))
    r = background.region
    assert before is not None and r is not None
    p = PixelBox.of(tuple(patch), truth["width"], truth["height"])
    card = np.zeros(before.known.shape, bool)
    card[p.y1 - r.y1 + 1 : p.y2 - r.y1 - 1, p.x1 - r.x1 + 1 : p.x2 - r.x1 - 1] = True  # inside its edges
    around = np.zeros_like(card)
    around[max(0, p.y1 - r.y1 - 25) : p.y2 - r.y1 + 25, max(0, p.x1 - r.x1 - 25) : p.x2 - r.x1 + 25] = True
    around[max(0, p.y1 - r.y1 - 2) : p.y2 - r.y1 + 2, max(0, p.x1 - r.x1 - 2) : p.x2 - r.x1 + 2] = False
    around &= before.known
    sigma = before.noise
    limit = np.maximum(FLOOR, 4 * sigma)
    print(
        f"{name} seed {seed}: card {p.x2 - p.x1}x{p.y2 - p.y1} px; noise (sigma) on the zone {np.median(sigma):.1f},"
        f" at the card {np.median(sigma[card]):.1f} grey levels; {len(afters)} frames after the visit"
    )
    print(f"{'mean of':>8} {'card diff':>10} {'card z':>7} {'p75 z':>6} {'max z around':>13} {'strength':>9}")
    for n in (1, 6, 18):
        if len(afters) < n:
            continue
        diff = difference(before.image, np.mean(afters[:n], axis=0), before.known)
        z = diff / sigma
        strength = np.percentile(diff[card] / limit[card], 75)
        print(
            f"{n:>8} {np.median(diff[card]):>10.1f} {np.median(z[card]):>7.1f} {np.percentile(z[card], 75):>6.1f}"
            f" {z[around].max():>13.1f} {strength:>9.2f}"
        )


def _inside(box: list[float], bbox: tuple[float, float, float, float]) -> bool:
    return bbox[0] <= box[0] and box[2] <= bbox[2] and bbox[1] <= box[1] and box[3] <= bbox[3]


def _boxes(truth: dict[str, object], t: float) -> np.ndarray:
    f = round(t * float(truth["fps"]))  # type: ignore[arg-type]
    out = []
    for actor in truth["actors"]:  # type: ignore[attr-defined]
        k = f - actor["first_frame"]
        if 0 <= k < len(actor["boxes"]) and actor["boxes"][k] is not None:
            out.append(actor["boxes"][k])
    return np.array(out, np.float32).reshape(-1, 4)


if __name__ == "__main__":
    main()
