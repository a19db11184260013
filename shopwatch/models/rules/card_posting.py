"""``card_posting``: an actor touches a surface zone, stops or reaches, leaves, and a new card-sized patch stays.

Per visit (one tracked actor in contact with one surface zone):
1. contact: the actor's box overlaps the zone; the surface background at that moment is the "before" picture;
   the union of the actor's boxes while stopped is the touched part.
2. The actor must stop (speed below ``stop_speed`` actor heights per second) for ``min_stop_s``; a walk-past
   never qualifies.
3. After the actor left (not in contact for ``max_gap_s``) and nobody stands in the touched part, the touched part
   is compared with "before" (``surface.find_patches``). New card-sized patches that stay for ``hold_s`` fire one
   event listing every patch; nothing new, something too large (poster, sign, parked object, light) or patches that
   vanish (a shadow, an object taken away) end the visit without an event.
4. Patches mostly inside a spot an operator marked "ignore" (``learnt.spots``) are dropped at that point; a visit
   left with none raises nothing and is counted in ``suppressed_by_spots``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from types import MappingProxyType

import cv2
import numpy as np

from shopwatch.core.detect_config import CardPostingRule as CardPostingConfig
from shopwatch.core.events import Box, CardEvidence, Event, EventType
from shopwatch.core.learnt import SPOT_INSIDE, IgnoredSpot, Learnt, ZoneCalibration, inside_fraction
from shopwatch.models.evidence import confidence, patch_pictures
from shopwatch.models.faint_card import LONG_FRAMES, LongPictures, faint_patches
from shopwatch.models.rules.base import Observation, actor_snapshot, as_box, jpeg
from shopwatch.models.rules.posting_visit import AFTER_FRAMES, TOUCH_MARGIN, Visit, grown, handover
from shopwatch.models.surface import (
    ACTOR_MARGIN,
    GHOST_MOVED,
    HOLD_STRENGTH,
    MIN_STRENGTH,
    PatchFinding,
    PatchSpec,
    Pictures,
    PixelBox,
    SurfaceBackground,
    difference,
    find_patches,
    thresholds,
)
from shopwatch.models.zones import ZoneShape

CONTACT_OVERLAP = 0.1  # of the actor's box inside the zone that counts as touching it
ZONE_HIDDEN = 0.3  # or of the zone inside the actor's box (a small surface: a table top, a sign)
VERIFY_WAIT_S = 8.0  # after leaving, how long a visit may wait for someone to clear the touched part
EDGE = 0.005  # of the frame: a box this close to the left or right edge is leaving or entering
PERSON_BLOB = 0.3  # a motion blob this tall (of the actor's height) may be a person the detector missed
REGIONAL_MIN_PX = 200  # pixels of the surface outside the touched part needed to judge a regional change
REGIONAL_FRACTION = 0.1  # of those pixels changed: light or shadow over the surface, not a card
FOOT_REACH = 0.2  # of the actor's height: feet this close to a surface's foot line reach it
HIDDEN_PART = 0.5  # of a patch's pixels hidden by the actor during the visit (put there by a hand in front)
BEHIND = 0.05  # of the actor's height: feet above the surface's bottom edge by more stand behind it

log = logging.getLogger(__name__)


def _reaches(zone: ZoneShape, boxes: np.ndarray) -> np.ndarray:
    """Which actors stand where they could reach the surface: feet near its foot line when the zone has one,
    else not above its bottom edge (someone whose box overlaps a pole-mounted sign from behind it)."""
    feet, height = boxes[:, 3], boxes[:, 3] - boxes[:, 1]
    if zone.foot_y is not None:
        return np.asarray(np.abs(feet - zone.foot_y) <= FOOT_REACH * height)
    return np.asarray(feet >= zone.bbox[3] - BEHIND * height)


def _hidden_only(
    finding: PatchFinding, hidden: np.ndarray | None, region: PixelBox, frame_size: tuple[int, int]
) -> PatchFinding:
    """The patches that lie where the actor stood in front of the surface during the visit."""
    if not finding.patches:
        return finding
    w, h = frame_size
    keep = []
    for k, box in enumerate(finding.patches):
        p = PixelBox.of(box, w, h)
        part = (
            hidden[p.y1 - region.y1 : p.y2 - region.y1, p.x1 - region.x1 : p.x2 - region.x1]
            if hidden is not None
            else None
        )
        if part is not None and part.size and part.mean() >= HIDDEN_PART:
            keep.append(k)
    return PatchFinding(
        tuple(finding.patches[k] for k in keep), finding.too_large, tuple(finding.strengths[k] for k in keep)
    )


def _mean_into(mean: np.ndarray, seen: np.ndarray, current: np.ndarray, visible: np.ndarray, cap: int) -> np.ndarray:
    """Adds ``current`` to a per-pixel running mean (in place) where visible, over at most ``cap`` frames; returns
    the new per-pixel frame counts."""
    seen = np.where(visible, np.minimum(seen + 1, cap), seen)
    rate = np.where(visible, 1.0 / np.maximum(seen, 1), 0.0).astype(np.float32)[..., None]
    mean += rate * (current - mean)
    return seen


def _overlaps(boxes: np.ndarray, box: Box) -> bool:
    b = boxes
    return bool(np.any((b[:, 0] < box[2]) & (b[:, 2] > box[0]) & (b[:, 1] < box[3]) & (b[:, 3] > box[1])))


def _person_blobs(obs: Observation, actor_height: float) -> np.ndarray:
    """Motion blobs big enough to be (part of) a person of this height: not a card, not noise."""
    blobs = obs.moving
    return blobs.boxes[blobs.heights >= PERSON_BLOB * actor_height]


def _not_ignored(finding: PatchFinding, spots: Sequence[IgnoredSpot]) -> PatchFinding:
    """The patches that are not mostly inside an ignored spot."""
    keep = [
        k for k, box in enumerate(finding.patches) if all(inside_fraction(box, s.box) < SPOT_INSIDE for s in spots)
    ]
    return PatchFinding(
        tuple(finding.patches[k] for k in keep), finding.too_large, tuple(finding.strengths[k] for k in keep)
    )


class CardPosting:
    def __init__(
        self, camera_id: str, config: CardPostingConfig, zones: list[ZoneShape], learnt: Learnt | None = None
    ) -> None:
        self._camera_id = camera_id
        self._config = config
        learnt = learnt or Learnt()
        self._surfaces = [SurfaceBackground(zone, learnt.for_zone(zone.name)[0]) for zone in zones]
        self._spots: dict[str, tuple[IgnoredSpot, ...]] = {}
        self.set_spots(learnt.spots)
        self.suppressed_by_spots = 0  # visits that would have fired but every patch was in an ignored spot
        self._visits: list[dict[int, Visit]] = [{} for _ in zones]
        self._quiet_until: dict[str, float] = {}
        self._detached = itertools.count(-1, -1)  # keys of visits checked after their actor moved on (no track)

    def set_spots(self, spots: Sequence[IgnoredSpot]) -> None:
        """The spots operators marked "ignore" now (taught while the camera runs: no state is lost)."""
        self._spots = {s.zone.name: tuple(x for x in spots if x.zone == s.zone.name) for s in self._surfaces}

    def calibrations(self) -> list[ZoneCalibration]:
        """The calibrations the surfaces started from (none: the built-in noise prior)."""
        return [s.calibration for s in self._surfaces if s.calibration is not None]

    def _floor(self, surface: SurfaceBackground) -> int:
        """The least difference that counts as a change on this surface: ``diff_threshold``, raised to what the
        zone's calibrated noise needs (``shopwatch cameras calibrate``) when the surface started from one."""
        cal = surface.calibration
        return max(self._config.diff_threshold, cal.suggested_diff_threshold if cal is not None else 0)

    def update(self, obs: Observation) -> list[Event]:
        image = obs.frame.image
        actors = obs.actors
        confident = actors.scores >= self._config.min_confidence
        events = []
        for surface, visits in zip(self._surfaces, self._visits, strict=True):
            self._track_contacts(surface, visits, obs, confident)
            self._note_hidden(surface, visits, obs)
            walked_off = {int(i) for i in actors.track_ids} - {
                tid for tid, v in visits.items() if v.last_contact_t == obs.t
            }  # seen this frame, but not at the surface (or not at the touched part of it)
            for track_id, visit in list(visits.items()):
                outcome = self._advance(surface, visit, obs, track_id in walked_off)
                if outcome is not None:
                    del visits[track_id]
                    if isinstance(outcome, Event):
                        events.append(outcome)
            surface.update(image, actors.boxes, obs.t, obs.moving.boxes)  # not where someone is
        return events

    def _track_contacts(
        self, surface: SurfaceBackground, visits: dict[int, Visit], obs: Observation, confident: np.ndarray
    ) -> None:
        actors = obs.actors
        zone = surface.zone
        contact = (zone.box_overlap(actors.boxes) >= CONTACT_OVERLAP) | (zone.covered(actors.boxes) >= ZONE_HIDDEN)
        for i in np.flatnonzero(confident & contact & _reaches(zone, actors.boxes)):
            track_id, box, score = int(actors.track_ids[i]), as_box(actors.boxes[i]), float(actors.scores[i])
            visit = visits.get(track_id)
            if visit is not None and visit.left_t is not None:
                if visit.touched is not None and not _overlaps(actors.boxes[i : i + 1], visit.touched):
                    # Walking on along the surface while the part it touched is checked: that check goes on by
                    # itself, and what the actor does further along is a visit of its own (a stop while coming
                    # in, then the real one; or two doors in a row).
                    visits[next(self._detached)] = visits.pop(track_id)
                    visit = None
                else:
                    visit.left_t, visit.patches_since = None, None  # came back to the touched part: same visit
            if visit is None:
                visit = handover(visits, track_id, box, obs.t, self._config.max_gap_s)
            if visit is None:
                before = surface.snapshot()
                if before is None:
                    continue  # first frame of this camera: no picture of the surface before the actor
                visit = Visit(track_id, obs.t, before, obs.t, box, score, obs.frame)
                visits[track_id] = visit
            elif (
                visit.touched is not None
                and visit.stop_since is None
                and not _overlaps(actors.boxes[i : i + 1], visit.touched)
            ):
                continue  # walking on along the surface, away from the part it touched: it left
            visit.see(obs.t, box, score, obs.frame, self._config.stop_speed)

    def _note_hidden(self, surface: SurfaceBackground, visits: dict[int, Visit], obs: Observation) -> None:
        """Marks the surface pixels the actor hides now (they differ from "before" under the actor's box): a card
        is put where the actor's arm was, in front of the surface; someone behind a sign hides none of it."""
        region = surface.region
        active = [v for v in visits.values() if v.left_t is None and v.last_contact_t == obs.t and v.path]
        if region is None or not active:
            return
        h, w = obs.frame.image.shape[:2]
        now = obs.frame.image[region.y1 : region.y2, region.x1 : region.x2]
        for visit in active:
            before = visit.before
            p = PixelBox.of(grown(visit.path[-1], TOUCH_MARGIN), w, h)
            y1, y2 = max(0, p.y1 - region.y1), max(0, p.y2 - region.y1)
            x1, x2 = max(0, p.x1 - region.x1), max(0, p.x2 - region.x1)
            if y2 <= y1 or x2 <= x1:
                continue
            under = (slice(y1, y2), slice(x1, x2))  # only where the actor is: the rest cannot be hidden now
            limit = thresholds(before.noise[under], self._floor(surface))
            # no gain correction: the actor covers much of this crop, and they differ from the surface by far
            changed = cv2.absdiff(now[under].astype(np.float32), before.image[under]).max(axis=2) > limit
            if visit.hidden is None:
                visit.hidden = np.zeros(before.known.shape, bool)
            visit.hidden[under] |= changed

    def _advance(
        self, surface: SurfaceBackground, visit: Visit, obs: Observation, walked_off: bool
    ) -> Event | bool | None:
        """None: the visit goes on; False: it ended without an event; an Event: it fired. ``walked_off``: the actor
        is seen this frame, away from the surface (a lost actor is waited for up to ``max_gap_s``)."""
        config = self._config
        last = visit.path[-1] if visit.path else visit.best_box
        out_of_picture = last[0] <= EDGE or last[2] >= 1.0 - EDGE  # lost at the frame's edge: walked out of view
        if visit.left_t is None and not walked_off and not (out_of_picture and visit.last_contact_t < obs.t):
            if obs.t - visit.last_contact_t <= config.max_gap_s:
                return None
            if _overlaps(_person_blobs(obs, last[3] - last[1]), last):
                visit.hold_still(obs.t)  # not detected (turned away, reaching), but still there and moving in place
                return None
        if visit.left_t is None:
            if visit.stopped_s < config.min_stop_s or visit.touched is None:
                return False  # walked past
            visit.left_t = visit.last_contact_t
        if obs.t - visit.left_t > config.hold_s + VERIFY_WAIT_S:
            return False
        touched = self._touched_region(surface, visit)
        if touched is None:
            return False
        finding = self._compare(surface, visit, obs, touched)
        if finding.too_large:
            return False
        if not finding.patches:
            visit.patches_since = None
            return None
        visit.patches_since = visit.patches_since if visit.patches_since is not None else obs.t
        if obs.t - visit.patches_since < config.hold_s:
            return None
        zone = surface.zone.name
        if self._spots.get(zone):
            finding = _not_ignored(finding, self._spots[zone])
            if not finding.patches:
                self.suppressed_by_spots += 1
                log.info("camera %s: a patch on %s is in an ignored spot: no event", self._camera_id, zone)
                return False
        if obs.t < self._quiet_until.get(zone, float("-inf")):
            return False
        self._quiet_until[zone] = obs.t + config.cooldown_s
        return self._event(visit, obs, touched, finding, surface)

    def _touched_region(self, surface: SurfaceBackground, visit: Visit) -> Box | None:
        zb, t = surface.zone.bbox, visit.touched
        assert t is not None
        box = (max(zb[0], t[0]), max(zb[1], t[1]), min(zb[2], t[2]), min(zb[3], t[3]))
        return box if box[2] > box[0] and box[3] > box[1] else None

    def _in_view(self, box: Box, obs: Observation, moved: np.ndarray) -> np.ndarray:
        """Pixels of ``box`` (``moved``: its pixels that moved in the last second) nobody stands in front of: not
        under an actor's box (grown by the margin the background keeps off actors) nor under a person-sized
        moving blob over pixels that move (a blob over a still surface is the ghost the motion stage keeps for a
        few seconds of someone who stood still and left)."""
        rows, cols = moved.shape
        free = np.ones(moved.shape, bool)
        bw, bh = box[2] - box[0], box[3] - box[1]
        blobs = _person_blobs(obs, bh)
        for k, (x1, y1, x2, y2) in enumerate(np.concatenate([obs.actors.boxes, blobs])):
            m = ACTOR_MARGIN * (y2 - y1)
            c1, c2 = int((x1 - m - box[0]) / bw * cols), int(np.ceil((x2 + m - box[0]) / bw * cols))
            r1, r2 = int((y1 - m - box[1]) / bh * rows), int(np.ceil((y2 + m - box[1]) / bh * rows))
            under = (slice(max(0, r1), max(0, r2)), slice(max(0, c1), max(0, c2)))
            if k >= len(obs.actors) and moved[under].size and moved[under].mean() < GHOST_MOVED:
                continue
            free[under] = False
        return free

    def _compare(self, surface: SurfaceBackground, visit: Visit, obs: Observation, touched: Box) -> PatchFinding:
        image = obs.frame.image
        h, w = image.shape[:2]
        region = surface.region
        assert region is not None
        before = visit.before
        zone_now = image[region.y1 : region.y2, region.x1 : region.x2].astype(np.float32)
        floor = self._floor(surface)
        changed = difference(before.image, zone_now, before.known) > thresholds(before.noise, floor)
        zone_box = (region.x1 / w, region.y1 / h, region.x2 / w, region.y2 / h)
        free = self._in_view(zone_box, obs, surface.moved()) & before.known
        p = PixelBox.of(touched, w, h)
        crop = (slice(p.y1 - region.y1, p.y2 - region.y1), slice(p.x1 - region.x1, p.x2 - region.x1))
        outside = free.copy()
        outside[crop] = False
        if outside.sum() >= REGIONAL_MIN_PX and changed[outside].mean() > REGIONAL_FRACTION:
            return PatchFinding((), True)  # the surface around the touched part changed too: light, shadow
        actor_px = float(np.median(visit.heights)) * h
        # hysteresis: a hold starts at MIN_STRENGTH and goes on while the patches stay above HOLD_STRENGTH
        held = visit.patches_since is not None
        spec = PatchSpec(
            self._config.card_min * actor_px,
            self._config.card_max * actor_px,
            floor,
            HOLD_STRENGTH if held else MIN_STRENGTH,
        )
        current, visible = zone_now[crop], free[crop]
        if visit.after is None or visit.seen is None or visit.after.shape != current.shape:
            visit.after, visit.seen = current.copy(), np.zeros(current.shape[:2], np.float32)
            visit.long_after, visit.long_seen = current.copy(), np.zeros(current.shape[:2], np.float32)
        assert visit.long_after is not None and visit.long_seen is not None
        # per-pixel running means over the frames each pixel was in view: noise averages out, a card stays
        visit.seen = _mean_into(visit.after, visit.seen, current, visible, AFTER_FRAMES)
        visit.long_seen = _mean_into(visit.long_after, visit.long_seen, current, visible, LONG_FRAMES)
        pictures = Pictures(before.image[crop], visit.after, current, visible, before.noise[crop])
        finding = find_patches(pictures, spec, (p.x1, p.y1), (w, h))
        long = LongPictures(
            before.image[crop], visit.long_after, current, visible, before.noise[crop], visit.long_seen,
            surface.mean_frames,
        )  # fmt: skip
        finding = faint_patches(long, spec, finding, held, ((p.x1, p.y1), (w, h)))
        return _hidden_only(finding, visit.hidden, region, (w, h))

    def _event(
        self, visit: Visit, obs: Observation, touched: Box, finding: PatchFinding, surface: SurfaceBackground
    ) -> Event:
        image = obs.frame.image
        h, w = image.shape[:2]
        region = surface.region
        assert region is not None and visit.left_t is not None
        p = PixelBox.of(touched, w, h)
        before = visit.before.image[p.y1 - region.y1 : p.y2 - region.y1, p.x1 - region.x1 : p.x2 - region.x1]
        snapshots = {
            "actor": actor_snapshot(visit.best_frame, visit.best_box),
            "before": jpeg(np.clip(before, 0, 255).astype(np.uint8)),
            "after": jpeg(image[p.y1 : p.y2, p.x1 : p.x2]),
            **patch_pictures(visit.before.image, region, image, finding.patches),
        }
        return Event(
            camera_id=self._camera_id,
            type=EventType.CARD_POSTING,
            start=visit.first_t,
            end=visit.left_t,
            confidence=confidence(finding.strengths),
            track_id=visit.track_id,
            box=visit.best_box,
            zone=surface.zone.name,
            detected_at=obs.now,
            track_boxes=tuple(visit.path),
            evidence=CardEvidence(finding.patches, touched),
            snapshots=MappingProxyType(snapshots),
        )
