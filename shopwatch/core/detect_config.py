"""Detection configuration: per-camera zones and rules (``CameraDetection``: a camera entry's ``detection:``
section, and the whole of a CAMERA.yaml for ``shopwatch analyze --camera-config``) and the process-wide
``detect`` section (``Settings.detect``). Defaults work on the project's synthetic scenes (``shopwatch sim scenes``)."""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shopwatch.core.learnt import Learnt
from shopwatch.core.time_zone import TimeZoneName

ZONE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
Coord = Annotated[float, Field(ge=0.0, le=1.0)]
Point = tuple[Coord, Coord]
Polygon = Annotated[
    list[Point],
    Field(min_length=3, max_length=64, description="Corners [x, y], normalized 0-1 (0,0 top left)."),
]
MIN_ZONE_AREA = 1e-5  # of the frame: about 2 pixels of a 640x360 picture
SMALLEST_ACTOR = 0.2  # of the frame's height: someone smaller cannot be seen posting a card
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class ZoneKind(StrEnum):
    SURFACE = "surface"  # where cards get posted: doors, shutters, walls, poles
    AREA = "area"  # ground where people stand: loitering, intrusion


class Zone(_Strict):
    name: str = Field(..., pattern=ZONE_NAME, description="Zone name, unique per camera; rules refer to it.")
    kind: ZoneKind = Field(..., description="surface: cards get posted there; area: ground people stand on.")
    polygon: Polygon
    foot_y: Coord | None = Field(
        None,
        description="surface only: image height (0-1) of the ground line under it (a pole's or wall's foot); who "
        "touches it must stand with their feet near that line, not behind it or far in front.",
    )

    @field_validator("polygon")
    @classmethod
    def _area(cls, polygon: list[Point]) -> list[Point]:
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        area = 0.5 * abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs))))
        if area < MIN_ZONE_AREA:
            raise ValueError(f"the zone has no area ({area:.2g} of the frame): its corners lie on a line or a point")
        return polygon

    @field_validator("foot_y")
    @classmethod
    def _foot(cls, foot_y: float | None, info: ValidationInfo) -> float | None:
        if foot_y is not None and info.data.get("kind") is not ZoneKind.SURFACE:
            raise ValueError(f"only a surface zone has a foot; this is a {info.data.get('kind')} zone")
        return foot_y

    def extent(self) -> float:
        """The larger side of the polygon's bounding box, normalized."""
        xs, ys = [p[0] for p in self.polygon], [p[1] for p in self.polygon]
        return max(max(xs) - min(xs), max(ys) - min(ys))


class _Rule(_Strict):
    zones: list[str] = Field(..., min_length=1, max_length=16, description="Names of the zones the rule watches.")
    min_confidence: float = Field(0.35, ge=0, le=1, description="Actor detections below this are ignored.")
    cooldown_s: float = Field(10.0, ge=0, le=86400, description="No second event of this rule in a zone for this long.")


class CardPostingRule(_Rule):
    min_stop_s: float = Field(0.5, ge=0, le=60, description="The actor must pause or reach at the surface this long.")
    stop_speed: float = Field(
        0.25, gt=0, le=10, description="Below this speed (actor heights per second) the actor counts as stopped."
    )
    hold_s: float = Field(1.5, ge=0, le=600, description="A new patch must stay this long after the actor left.")
    card_min: float = Field(0.02, gt=0, le=1, description="Smallest card side, as a fraction of the actor's height.")
    card_max: float = Field(0.2, gt=0, le=1, description="Largest card side, as a fraction of the actor's height.")
    diff_threshold: int = Field(
        25,
        ge=5,
        le=255,
        description="Colour difference (0-255) after vs before that marks a changed pixel; on a calibrated zone, "
        "raised to what its measured noise needs (shopwatch cameras calibrate).",
    )
    max_gap_s: float = Field(2.0, ge=0, le=30, description="The actor may be missed this long and stay the same visit.")

    @model_validator(mode="after")
    def _sizes(self) -> CardPostingRule:
        if self.card_max <= self.card_min:
            raise ValueError(f"card_max ({self.card_max}) must be > card_min ({self.card_min})")
        return self


class LoiteringRule(_Rule):
    dwell_s: float = Field(60.0, gt=0, le=86400, description="A person inside the zone this long is loitering.")
    max_gap_s: float = Field(
        3.0, ge=0, le=120, description="Detection gaps up to this long (occlusion, missed frames) keep the dwell."
    )


class IntrusionRule(_Rule):
    hours: str = Field(..., description="Camera-local hours 'HH:MM-HH:MM' when the zone is closed; may cross midnight.")
    min_s: float = Field(1.0, ge=0, le=600, description="A person must be inside this long (not a single frame).")

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        m = _HOURS_RE.match(value)
        if m is None:
            raise ValueError(f"expected 'HH:MM-HH:MM' (24 h), found {value!r}")
        if m.group(1, 2) == m.group(3, 4):
            raise ValueError(f"expected two different times, found {value!r}")
        return value

    def window(self) -> tuple[time, time]:
        start, end = self.hours.split("-")
        return time.fromisoformat(start), time.fromisoformat(end)

    def contains(self, t: time) -> bool:
        start, end = self.window()
        if start <= end:
            return start <= t < end
        return t >= start or t < end


class Rules(_Strict):
    card_posting: CardPostingRule | None = Field(None, description="Cards posted on a surface zone.")
    loitering: LoiteringRule | None = Field(None, description="A person staying in an area zone.")
    intrusion: IntrusionRule | None = Field(None, description="A person in an area zone during closed hours.")


class CameraDetection(_Strict):
    """The detection part of a camera entry (and the whole of a CAMERA.yaml for ``shopwatch analyze``)."""

    zones: list[Zone] = Field(default_factory=list, max_length=32, description="Surface and area zones.")
    rules: Rules = Field(default_factory=Rules, description="Rules that raise events on the zones.")
    motion_mask: list[Polygon] = Field(
        default_factory=list, max_length=16, description="Polygons ignored by motion (trees, screens, road)."
    )
    timezone: TimeZoneName | None = Field(
        None, description="IANA time zone of the camera (intrusion hours); default: host's."
    )
    person_detection: bool = Field(
        True, description="false: rules run on tracked motion blobs (degraded mode), not the person model."
    )
    # Not configuration: filled in from the database by the service (``camera_source``), never dumped.
    learnt: Learnt = Field(default_factory=Learnt, exclude=True, description="Calibrations and ignored spots.")

    @field_validator("rules")
    @classmethod
    def _rule_zones(cls, rules: Rules, info: ValidationInfo) -> Rules:
        if "zones" not in info.data:
            return rules  # the zones themselves are wrong: reported there, not as missing here
        zones: list[Zone] = info.data["zones"]
        kinds = {zone.name: zone.kind for zone in zones}
        if len(kinds) != len(zones):
            raise ValueError("zone names must be unique")
        wanted = (
            ("card_posting", rules.card_posting, ZoneKind.SURFACE),
            ("loitering", rules.loitering, ZoneKind.AREA),
            ("intrusion", rules.intrusion, ZoneKind.AREA),
        )
        for rule_name, rule, kind in wanted:
            for name in rule.zones if rule is not None else []:
                if name not in kinds:
                    raise ValueError(f"{rule_name}: zone {name!r} is not defined (zones: {sorted(kinds)})")
                if kinds[name] != kind:
                    raise ValueError(f"{rule_name}: zone {name!r} is a {kinds[name]} zone, expected {kind}")
        card = rules.card_posting
        for zone in zones if card is not None else []:
            assert card is not None
            if zone.name in card.zones and card.card_min * SMALLEST_ACTOR > zone.extent():
                raise ValueError(
                    f"card_posting.card_min: the smallest card ({card.card_min} of a person's height, at least "
                    f"{card.card_min * SMALLEST_ACTOR:.3f} of the frame) does not fit surface zone {zone.name!r} "
                    f"({zone.extent():.3f} of the frame at its widest)"
                )
        return rules


class MotionSettings(_Strict):
    width: int = Field(160, ge=32, le=640, description="Luma is downscaled to this width for motion.")
    threshold: int = Field(18, ge=2, le=255, description="Luma difference (0-255) from the background that is motion.")
    min_area: float = Field(
        0.0008, gt=0, le=1, description="Smallest moving blob, as a fraction of the frame (noise below)."
    )
    relight_fraction: float = Field(
        0.35, gt=0, le=1, description="More of the frame changing at once is a lighting change: recalibrate."
    )
    learn_s: float = Field(4.0, gt=0, le=600, description="Time constant of the background (slower = longer memory).")


class DetectSettings(_Strict):
    model: str | None = Field(
        None, description="Person model (ultralytics .pt, ONNX or OpenVINO folder); none: motion-blob mode."
    )
    device: str = Field("cpu", max_length=32, description="Inference device: cpu, cuda:0, intel:cpu ...")
    batch_size: int = Field(8, ge=1, le=64, description="Frames of different cameras in one inference call.")
    model_batch: int = Field(
        1, ge=1, le=64,
        description="Frames the model itself takes per inference. 1: as exported (the shared INT8 OpenVINO model "
        "is batch 1: a call of batch_size frames runs it once per frame). N > 1: a batch-1 OpenVINO model is "
        "re-shaped to N at load, checked to answer as at batch 1 (no gain on a CPU; for accelerators).",
    )  # fmt: skip
    queue_frames: int = Field(
        32, ge=1, le=4096,
        description="The node's detector process holds at most this many frames waiting for inference (all "
        "workers together); a frame that finds it full is dropped and counted, never waited for.",
    )  # fmt: skip
    reply_timeout_s: float = Field(
        10.0, gt=0, le=600,
        description="A worker waits this long for the node detector's answer; then it runs on motion until the "
        "detector answers again.",
    )  # fmt: skip
    imgsz: int = Field(640, ge=64, le=1920, multiple_of=32, description="Model input size (pixels).")
    person_class: int = Field(0, ge=0, le=999, description="Class id of 'person' in the model (COCO: 0).")
    conf: float = Field(
        0.1, gt=0, le=1, description="Detector score threshold; ByteTrack keeps tracks alive on the weak ones."
    )
    track_conf: float = Field(0.25, gt=0, le=1, description="A new track needs a detection at least this sure.")
    iou: float = Field(0.5, gt=0, le=1, description="Non-maximum suppression overlap.")
    track_lost_s: float = Field(2.0, gt=0, le=60, description="A lost track keeps its id this long (occlusion).")
    active_hold_s: float = Field(
        2.0, ge=0, le=60, description="The detector keeps running this long after the last motion or track."
    )
    motion: MotionSettings = Field(default_factory=MotionSettings, description="Motion stage.")

    @model_validator(mode="after")
    def _whole_model_batches(self) -> DetectSettings:
        if self.batch_size % self.model_batch:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of model_batch ({self.model_batch}),"
                " or every call pads its last model batch with blank frames"
            )
        return self
