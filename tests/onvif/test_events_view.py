"""Event subscription health as the API shows it: validated against the public schema, secrets masked."""

from __future__ import annotations

from shopwatch.api.schemas import CameraPublic
from shopwatch.api.views import camera_view
from shopwatch.core.config import CameraConfig
from shopwatch.core.health import CameraHealth, CameraState, EventsHealth, EventsState


def test_camera_view_carries_events_health() -> None:
    camera = CameraConfig.model_validate(
        {"id": "c1", "name": "c1", "grid": "g", "host": "10.0.0.5", "credentials": {"password": "hunter22"}}
    )
    events = EventsHealth(
        EventsState.RETRYING, since=1_800_000_000.0, motion_events=3, last_event_at=1_800_000_100.0,
        last_error="AuthRefused: rtsp://admin:hunter22@10.0.0.5/ refused hunter22",
    )  # fmt: skip
    view = camera_view(camera, CameraHealth("c1", CameraState.ONLINE, since=1_800_000_000.0, events=events))
    public = CameraPublic.model_validate(view)
    assert public.health is not None and public.health.events is not None
    assert public.health.events.state is EventsState.RETRYING and public.health.events.motion_events == 3
    assert "hunter22" not in (public.health.events.last_error or "")
    plain = CameraPublic.model_validate(camera_view(camera, CameraHealth("c1", CameraState.ONLINE, since=0.0)))
    assert plain.health is not None and plain.health.events is None
