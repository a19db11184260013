"""Camera views: safe fields, ISO times, and a config cache that never serves a stale camera."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from shopwatch.api.schemas import CameraPublic
from shopwatch.api.views import CameraViews, camera_view, iso_utc, state_counts
from shopwatch.core.health import CameraState, DetectionStatus

from .fakes import make_camera, make_health


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_800_000_000.0, "2027-01-15T08:00:00.000Z"),
        (1_800_000_000.1234, "2027-01-15T08:00:00.123Z"),
    ],
)
def test_iso_utc(epoch: float, expected: str) -> None:
    assert iso_utc(epoch) == expected


def test_view_validates_against_the_public_schema_and_hides_credentials() -> None:
    camera = make_camera(3)
    view = camera_view(camera, make_health(camera, CameraState.AUTH_FAILED))

    public = CameraPublic.model_validate(view)
    assert public.streams.record == "rtsp://10.0.0.1:554/Streaming/Channels/101"
    assert public.health is not None and public.health.last_error is not None
    assert "***" in public.health.last_error
    assert "s3cr3t" not in repr(view)
    assert "url" not in view["talkback"]  # the talkback URL may carry credentials; operators don't need it


def test_cache_serves_the_same_config_and_renders_a_replaced_one() -> None:
    views = CameraViews()
    camera = make_camera(1)
    first = views.view(camera, None)
    again = views.view(camera, make_health(camera, CameraState.ONLINE))
    renamed = camera.model_copy(update={"name": "Renamed shop"})
    after_edit = views.view(renamed, None)

    assert again["merchant"] is first["merchant"]  # cached config part
    assert first["health"] is None and again["health"]["state"] == "online"
    assert first["name"] == "Shop 1 entrance" and after_edit["name"] == "Renamed shop"


def test_cache_is_bounded() -> None:
    views = CameraViews(max_entries=3)
    cameras = [make_camera(i) for i in range(1, 6)]
    for camera in cameras:
        views.view(camera, None)

    assert len(views) <= 3
    assert views.view(cameras[0], None)["id"] == "cam-0001"


def test_state_counts_lists_every_state() -> None:
    counts = state_counts([CameraState.ONLINE, None, CameraState.ONLINE])

    assert counts == {
        "total": 3,
        "by_state": {s.value: (2 if s is CameraState.ONLINE else 0) for s in CameraState},
        "no_health": 1,
    }


def test_the_list_body_is_the_views_as_json_and_follows_each_new_report() -> None:
    views = CameraViews()
    cameras = [make_camera(i) for i in range(1, 4)]
    online = [(c, make_health(c, CameraState.ONLINE)) for c in cameras]
    summary = state_counts(h.state for _, h in online)
    body = json.loads(views.list_body(online, summary))
    assert body == {"count": 3, "summary": summary, "cameras": [views.view(c, h) for c, h in online]}

    renamed = cameras[0].model_copy(update={"name": "Renamed shop"})
    reported = [(renamed, online[0][1]), (cameras[1], make_health(cameras[1], CameraState.OFFLINE)), (cameras[2], None)]
    after = json.loads(views.list_body(reported, summary))["cameras"]
    assert [c["health"] and c["health"]["state"] for c in after] == ["online", "offline", None]
    assert [c["name"] for c in after] == ["Renamed shop", "Shop 2 entrance", "Shop 3 entrance"]
    assert after == [views.view(c, h) for c, h in reported]
    assert all(CameraPublic.model_validate(c) for c in after)


def test_the_detection_status_is_shown_field_for_field() -> None:
    camera = make_camera(5)
    status = DetectionStatus(
        "person", frames=90, detected=12, events=2, dropped=1, detector_down="node detector away",
        calibration="2027-01-15T08:00:00.000Z", ignored_spots=3, suppressed_by_spots=4,
    )  # fmt: skip
    shown = camera_view(camera, replace(make_health(camera, CameraState.ONLINE), detection=status))["health"]
    assert shown["detection"] == asdict(status)  # every field, as plain values
