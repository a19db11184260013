"""Our ByteTrack gives the tracks ultralytics' BYTETracker gives, box for box, on crowded random scenes: people
walking in and out, crossing, missed by the detector, weak and spurious detections."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from shopwatch.models.bytetrack import ByteTrack

ARGS = {"high": 0.25, "low": 0.1, "new": 0.25, "buffer": 12, "match": 0.8}


class _Boxes:
    """The slice of ultralytics' ``Boxes`` ByteTrack reads."""

    def __init__(self, xywh: npt.NDArray[Any], conf: npt.NDArray[Any], cls: npt.NDArray[Any]) -> None:
        self.xywh, self.conf, self.cls = xywh, conf, cls

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, keep: npt.NDArray[np.bool_]) -> _Boxes:
        return _Boxes(self.xywh[keep], self.conf[keep], self.cls[keep])


def ultralytics_tracker() -> Any:
    from shopwatch.models.offline import prepare_offline_env

    prepare_offline_env()
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.utils import IterableSimpleNamespace

    return BYTETracker(
        IterableSimpleNamespace(
            tracker_type="bytetrack", track_high_thresh=ARGS["high"], track_low_thresh=ARGS["low"],
            new_track_thresh=ARGS["new"], track_buffer=ARGS["buffer"], match_thresh=ARGS["match"], fuse_score=True,
        )
    )  # fmt: skip


def scene(seed: int, frames: int) -> list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
    """Per frame: xywh boxes (pixels, 1000-wide frame, as the Tracker scales) and scores."""
    rng = np.random.default_rng(seed)
    people = [
        {"x": rng.uniform(0, 1000), "y": rng.uniform(300, 700), "vx": rng.uniform(-15, 15), "h": rng.uniform(150, 400),
         "from": int(rng.integers(0, frames // 2)), "to": int(rng.integers(frames // 2, frames))}
        for _ in range(7)
    ]  # fmt: skip
    people.append({**people[0], "y": people[0]["y"] + 10, "from": people[0]["from"] + 5})  # a near twin: duplicates
    hidden = {id(p): set() for p in people}  # occlusions around the tracker's buffer (12 frames) and shorter
    for p in people:
        for _ in range(3):
            start = int(rng.integers(0, frames))
            hidden[id(p)].update(range(start, start + int(rng.integers(1, 16))))
    out = []
    for f in range(frames):
        boxes, scores = [], []
        for p in people:
            if not p["from"] <= f < p["to"] or f in hidden[id(p)] or rng.random() < 0.1:  # absent, hidden, missed
                continue
            weak = rng.random() < 0.25  # half hidden: a weak, sloppier box
            jitter = 25 if weak else 4
            x = p["x"] + p["vx"] * (f - p["from"]) + rng.normal(0, jitter)
            h = p["h"] * rng.uniform(0.95, 1.05)
            boxes.append([x, p["y"] + rng.normal(0, jitter), h * 0.4, h])
            scores.append(rng.uniform(0.1, 0.25) if weak else rng.uniform(0.25, 0.95))
        for _ in range(int(rng.integers(0, 3))):  # spurious detections
            boxes.append([rng.uniform(0, 1000), rng.uniform(0, 1000), rng.uniform(20, 200), rng.uniform(20, 300)])
            scores.append(rng.uniform(0.05, 0.4))
        out.append((np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_same_tracks_as_ultralytics_bytetrack(seed: int) -> None:
    theirs, ours = ultralytics_tracker(), ByteTrack(**ARGS)
    tracked = 0
    for frame, (xywh, scores) in enumerate(scene(seed, 300)):
        classes = np.zeros(len(scores), np.int32)
        expected = theirs.update(_Boxes(xywh, scores, classes))
        got = ours.update(xywh, scores, classes)
        assert got.shape == expected.shape, f"frame {frame}"
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3, err_msg=f"frame {frame}")
        tracked += len(got)
    assert tracked > 500  # the scenes keep several people tracked most of the time
