"""ByteTrack (Zhang et al. 2022) in numpy and ``lap``: the algorithm of ultralytics' ``BYTETracker`` (8.4),
step for step, without importing ultralytics — whose package import pulls in torch (~0.5 GB per process), which
a reader worker must not carry just to keep track ids (``tests/models/test_bytetrack.py`` checks both give the
same tracks, box for box).

Two-stage association each frame: tracked and lost tracks (Kalman-predicted, constant velocity in x, y, aspect,
height) are matched to the confident detections on IoU fused with the score; the tracks left over are matched to
the weak detections on IoU alone; a track seen on one frame only must be matched again on the next to be
confirmed; a confident detection nobody claimed starts a track; a track lost for ``buffer`` frames is dropped."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import lap
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]  # float64 states, float32 boxes and costs

STD_POSITION = 1.0 / 20
STD_VELOCITY = 1.0 / 160
_MOTION = np.eye(8)
_MOTION[range(4), range(4, 8)] = 1.0


class _State(IntEnum):
    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


def _initiate(measurement: Array) -> tuple[Array, Array]:
    xyah = np.asarray(measurement, dtype=np.float64)
    h = xyah[3]
    std = [2 * STD_POSITION * h, 2 * STD_POSITION * h, 1e-2, 2 * STD_POSITION * h,
           10 * STD_VELOCITY * h, 10 * STD_VELOCITY * h, 1e-5, 10 * STD_VELOCITY * h]  # fmt: skip
    return np.r_[xyah, np.zeros_like(xyah)], np.diag(np.square(std))


def _predict(means: Array, covariances: Array) -> tuple[Array, Array]:
    """Kalman prediction of several tracks at once (means N x 8, covariances N x 8 x 8)."""
    h = means[:, 3]
    ones = np.ones_like(h)
    std = np.r_[[STD_POSITION * h, STD_POSITION * h, 1e-2 * ones, STD_POSITION * h,
                 STD_VELOCITY * h, STD_VELOCITY * h, 1e-5 * ones, STD_VELOCITY * h]]  # fmt: skip
    sqr = np.square(std).T
    motion_cov = np.zeros((sqr.shape[0], 8, 8))
    motion_cov[:, range(8), range(8)] = sqr
    means = np.dot(means, _MOTION.T)
    left = np.dot(_MOTION, covariances).transpose((1, 0, 2))
    return means, np.dot(left, _MOTION.T) + motion_cov


def _update(mean: Array, covariance: Array, xyah: Array) -> tuple[Array, Array]:
    h = mean[3]
    innovation_cov = np.diag(np.square([STD_POSITION * h, STD_POSITION * h, 1e-1, STD_POSITION * h]))
    projected_mean, projected_cov = mean[:4].copy(), covariance[:4, :4] + innovation_cov
    gain = np.linalg.solve(projected_cov, covariance[:, :4].T).T
    new_mean = mean + np.dot(xyah - projected_mean, gain.T)
    return new_mean, covariance - np.linalg.multi_dot((gain, projected_cov, gain.T))


def _xyah(tlwh: Array) -> Array:
    out = tlwh.copy()
    out[:2] += out[2:] / 2
    out[2] /= out[3]
    return out


class _Track:
    def __init__(self, tlwh: Array, score: float, cls: float, index: int) -> None:
        self._tlwh = tlwh
        self.index = index  # of the detection in the frame's set (the last matched one's)
        self.mean: Array | None = None
        self.covariance: Array | None = None
        self.score = score
        self.cls = cls
        self.track_id = 0
        self.state = _State.NEW
        self.is_activated = False
        self.frame_id = 0
        self.start_frame = 0

    @property
    def tlwh(self) -> Array:
        if self.mean is None:
            return self._tlwh.copy()
        out = self.mean[:4].copy()
        out[2] *= out[3]
        out[:2] -= out[2:] / 2
        return out

    @property
    def xyxy(self) -> Array:
        out = self.tlwh
        out[2:] += out[:2]
        return out

    def activate(self, track_id: int, frame_id: int) -> None:
        self.track_id = track_id
        self.mean, self.covariance = _initiate(_xyah(self._tlwh))
        self.state = _State.TRACKED
        self.is_activated = frame_id == 1
        self.frame_id = self.start_frame = frame_id

    def update(self, det: _Track, frame_id: int) -> None:
        """Matched (tracked, lost or unconfirmed alike: ultralytics' ``update`` and ``re_activate`` differ only in a
        tracklet length nothing reads)."""
        assert self.mean is not None and self.covariance is not None
        self.mean, self.covariance = _update(self.mean, self.covariance, _xyah(det.tlwh))
        self.state = _State.TRACKED
        self.is_activated = True
        self.frame_id = frame_id
        self.score, self.cls, self.index = det.score, det.cls, det.index


def _ious(a: list[_Track], b: list[_Track]) -> Array:
    out = np.zeros((len(a), len(b)), dtype=np.float32)
    if not a or not b:
        return out
    b1 = np.ascontiguousarray([t.xyxy for t in a], dtype=np.float32)
    b2 = np.ascontiguousarray([t.xyxy for t in b], dtype=np.float32)
    inter = (np.minimum(b1[:, None, 2], b2[:, 2]) - np.maximum(b1[:, None, 0], b2[:, 0])).clip(0) * (
        np.minimum(b1[:, None, 3], b2[:, 3]) - np.maximum(b1[:, None, 1], b2[:, 1])
    ).clip(0)
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    return inter / (area2 + area1[:, None] - inter + 1e-7)


def _fused_cost(tracks: list[_Track], dets: list[_Track]) -> Array:
    cost = 1 - _ious(tracks, dets)
    if cost.size == 0:
        return cost
    return 1 - (1 - cost) * np.array([d.score for d in dets])[None]


def _assign(cost: Array, thresh: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    if cost.size == 0:
        return [], list(range(cost.shape[0])), list(range(cost.shape[1]))
    _, x, y = lap.lapjv(cost, extend_cost=True, cost_limit=thresh)
    matches = [(i, int(j)) for i, j in enumerate(x) if j >= 0]
    return matches, [int(i) for i in np.where(x < 0)[0]], [int(j) for j in np.where(y < 0)[0]]


def _tracks(
    xywh: npt.NDArray[Any], scores: npt.NDArray[Any], classes: npt.NDArray[Any], keep: npt.NDArray[np.bool_]
) -> list[_Track]:
    out = []
    for i in np.flatnonzero(keep):
        tlwh = np.asarray(xywh[i, :4], dtype=np.float64).copy()  # ultralytics goes through float64 here
        tlwh[:2] -= tlwh[2:] / 2
        out.append(_Track(tlwh.astype(np.float32), scores[i], classes[i], int(i)))
    return out


def _joint(a: list[_Track], b: list[_Track]) -> list[_Track]:
    ids = {t.track_id for t in a}
    return a + [t for t in b if t.track_id not in ids]


def _sub(a: list[_Track], b: list[_Track]) -> list[_Track]:
    ids = {t.track_id for t in b}
    return [t for t in a if t.track_id not in ids]


class ByteTrack:
    """``update(xywh, scores, classes)`` -> rows ``x1, y1, x2, y2, track_id, score, class, index`` (float32)."""

    def __init__(self, high: float, low: float, new: float, buffer: int, match: float = 0.8) -> None:
        self._high, self._low, self._new, self._buffer, self._match = high, low, new, buffer, match
        self._tracked: list[_Track] = []
        self._lost: list[_Track] = []
        self._removed: list[_Track] = []
        self._frame = 0
        self._next_id = 0

    def update(self, xywh: npt.NDArray[Any], scores: npt.NDArray[Any], classes: npt.NDArray[Any]) -> Array:
        self._frame += 1
        frame = self._frame
        valid = (xywh[:, 2] > 0) & (xywh[:, 3] > 0)
        high = valid & (scores >= self._high)
        low = valid & (scores > self._low) & (scores < self._high)
        dets = _tracks(xywh, scores, classes, high)
        dets_low = _tracks(xywh, scores, classes, low)
        activated: list[_Track] = []
        refound: list[_Track] = []
        lost: list[_Track] = []
        removed: list[_Track] = []
        unconfirmed = [t for t in self._tracked if not t.is_activated]
        pool = _joint([t for t in self._tracked if t.is_activated], self._lost)
        if pool:
            means = np.asarray([t.mean for t in pool])
            covs = np.asarray([t.covariance for t in pool])
            for i, t in enumerate(pool):
                if t.state != _State.TRACKED:
                    means[i][7] = 0
            means, covs = _predict(means, covs)
            for t, m, c in zip(pool, means, covs, strict=True):
                t.mean, t.covariance = m, c
        # 1. confident detections against tracked and lost tracks
        matches, u_track, u_det = _assign(_fused_cost(pool, dets), self._match)
        for it, idet in matches:
            self._matched(pool[it], dets[idet], activated, refound)
        # 2. weak detections against the tracked ones left
        left = [pool[i] for i in u_track if pool[i].state == _State.TRACKED]
        if left and dets_low:
            matches, u_left, _ = _assign(1 - _ious(left, dets_low), 0.5)
            for it, idet in matches:
                self._matched(left[it], dets_low[idet], activated, refound)
        else:
            u_left = list(range(len(left)))
        for it in u_left:
            left[it].state = _State.LOST
            lost.append(left[it])
        # 3. tracks seen once, against the confident detections nobody took
        dets = [dets[i] for i in u_det]
        if unconfirmed:
            matches, u_unconfirmed, u_new = _assign(_fused_cost(unconfirmed, dets), 0.7)
            for it, idet in matches:
                unconfirmed[it].update(dets[idet], frame)
                activated.append(unconfirmed[it])
            for it in u_unconfirmed:
                unconfirmed[it].state = _State.REMOVED
                removed.append(unconfirmed[it])
        else:
            u_new = list(range(len(dets)))
        # 4. new tracks
        for inew in u_new:
            det = dets[inew]
            if det.score >= self._new:
                self._next_id += 1
                det.activate(self._next_id, frame)
                activated.append(det)
        for t in self._lost:
            if frame - t.frame_id > self._buffer:
                t.state = _State.REMOVED
                removed.append(t)
        self._merge(activated, refound, lost, removed)
        rows = [[*t.xyxy.tolist(), t.track_id, t.score, t.cls, t.index] for t in self._tracked if t.is_activated]
        return np.asarray(rows, dtype=np.float32)

    def _matched(self, track: _Track, det: _Track, activated: list[_Track], refound: list[_Track]) -> None:
        (activated if track.state == _State.TRACKED else refound).append(track)
        track.update(det, self._frame)

    def _merge(self, activated: list[_Track], refound: list[_Track], lost: list[_Track], removed: list[_Track]) -> None:
        tracked = [t for t in self._tracked if t.state == _State.TRACKED]
        tracked = _joint(_joint(tracked, activated), refound)
        lost_pool = _sub(_sub(self._lost, tracked) + lost, self._removed)
        # duplicates: a tracked and a lost track on the same place; the younger goes
        dist = 1 - _ious(tracked, lost_pool)
        drop_a, drop_b = set(), set()
        for p, q in zip(*np.where(dist < 0.15), strict=True):
            if tracked[p].frame_id - tracked[p].start_frame > lost_pool[q].frame_id - lost_pool[q].start_frame:
                drop_b.add(int(q))
            else:
                drop_a.add(int(p))
        self._tracked = [t for i, t in enumerate(tracked) if i not in drop_a]
        self._lost = [t for i, t in enumerate(lost_pool) if i not in drop_b]
        self._removed = (self._removed + removed)[-1000:]
