"""What detection learnt, in the database (SQLite and PostgreSQL): calibrations replace their zone and band's,
spots are added and cleared per camera, and every write reaches the running service's camera set (the registry
revision moves, ``CameraSource.poll`` hands the cameras with ``detection.learnt`` filled in, YAML cameras too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from shopwatch.camera_source import CameraSource
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.learnt import Learnt, ZoneCalibration
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.learnt import LearntRepository

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def calibration(zone: str, band: str, at: datetime, median: float = 2.0) -> ZoneCalibration:
    return ZoneCalibration.model_validate({
        "zone": zone, "band": band, "measured_at": at, "luma": 120.0 if band == "day" else 30.0,
        "frame_width": 640, "frame_height": 360, "rows": 1, "cols": 2, "noise": "eNoTUAAAAEIAMQ==",
        "noise_median": median, "noise_p90": 4.0, "suggested_diff_threshold": 8, "frames": 100, "skipped": 3,
    })  # fmt: skip


def test_calibrations_replace_their_zone_and_band_and_spots_come_and_go(engine: Engine) -> None:
    repo = LearntRepository(engine)
    cameras = CameraRepository(engine)
    before = cameras.revision()
    repo.save_calibrations("cam-1", [calibration("door", "day", T0), calibration("door", "night", T0)])
    repo.save_calibrations("cam-1", [calibration("door", "day", T0 + timedelta(days=1), median=5.0)])
    spots = repo.add_spots("cam-1", "door", [(0.1, 0.2, 0.15, 0.25)], ("ev-1", "olga"), T0)
    repo.add_spots("cam-2", "wall", [(0.5, 0.5, 0.6, 0.6), (0.7, 0.7, 0.8, 0.8)], (None, "olga"), T0)
    assert cameras.revision() == before + 4

    learnt = repo.all()
    cam1 = learnt["cam-1"]
    assert sorted((c.band, c.noise_median) for c in cam1.calibrations) == [("day", 5.0), ("night", 2.0)]
    assert cam1.calibration_label() == "2026-12-02T12:00:00Z"
    assert [(s.id, s.zone, s.box, s.event_id) for s in cam1.spots] == [(spots[0].id, "door", spots[0].box, "ev-1")]
    assert learnt["cam-2"].calibration_label() == "default" and len(learnt["cam-2"].spots) == 2
    assert repo.of("cam-3") == Learnt()

    assert repo.delete_spots("cam-2", "no-such-spot") == 0
    assert repo.delete_spots("cam-1", spots[0].id) == 1
    assert repo.delete_spots("cam-2") == 2
    assert repo.spots("cam-1") == [] and repo.spots("cam-2") == []


def test_the_running_camera_set_gets_what_each_camera_learnt(engine: Engine) -> None:
    yaml_camera = CameraConfig.model_validate({"id": "cam-1", "name": "A", "host": "127.0.0.1", "grid": "g"})
    settings = Settings.model_validate({"cameras": [yaml_camera.model_dump(mode="json")]})
    repo = LearntRepository(engine)
    source = CameraSource(settings, None, CameraRepository(engine), repo)
    [camera] = source.cameras()
    assert camera.detection.learnt == Learnt() and source.poll() is None

    repo.add_spots("cam-1", "door", [(0.1, 0.2, 0.15, 0.25)], ("ev-1", "olga"), T0)
    repo.save_calibrations("cam-1", [calibration("door", "day", T0)])
    [changed] = source.poll() or []
    assert len(changed.detection.learnt.spots) == 1 and changed.detection.learnt.calibration_label() != "default"
    assert "learnt" not in changed.model_dump()["detection"]  # never dumped (registry rows, API, files)

    repo.delete_spots("cam-1")
    [cleared] = source.poll() or []
    assert cleared.detection.learnt.spots == () and len(cleared.detection.learnt.calibrations) == 1
