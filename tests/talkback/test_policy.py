"""Speaker policy: consent, quiet hours in camera-local time (across midnight), admin override."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopwatch.core.clock import ManualClock
from shopwatch.core.config import CameraConfig
from shopwatch.talkback.policy import PolicyRefused, SpeakerPolicy

Quiet = tuple[str, str] | None


def camera(allowed: bool = True, capable: bool = True, quiet: Quiet = ("22:00", "07:00")) -> CameraConfig:
    talkback: dict[str, object] = {"capable": capable, "allowed": allowed}
    if quiet is not None:
        talkback["quiet_hours"] = {"start": quiet[0], "end": quiet[1]}
    return CameraConfig.model_validate({"id": "cam-1", "name": "Shop", "grid": "g", "host": "h", "talkback": talkback})


def policy_at(utc: str, zone: str = "Asia/Shanghai") -> SpeakerPolicy:
    wall = datetime.fromisoformat(utc).replace(tzinfo=UTC).timestamp()
    return SpeakerPolicy(ManualClock(wall_start=wall), zone)


@pytest.mark.parametrize(
    ("utc", "zone", "quiet", "refused"),
    [
        ("2027-01-15T08:00", "Asia/Shanghai", ("22:00", "07:00"), None),  # 16:00 local
        ("2027-01-15T14:00", "Asia/Shanghai", ("22:00", "07:00"), "local time 22:00"),  # start is inside
        ("2027-01-15T18:30", "Asia/Shanghai", ("22:00", "07:00"), "local time 02:30"),  # after midnight
        ("2027-01-15T23:00", "Asia/Shanghai", ("22:00", "07:00"), None),  # 07:00: end is outside
        ("2027-01-15T14:00", "UTC", ("22:00", "07:00"), None),  # the same instant in another zone
        ("2027-01-15T05:00", "Asia/Shanghai", ("12:00", "14:00"), "local time 13:00"),  # same-day window
        ("2027-01-15T14:00", "Asia/Shanghai", None, None),
    ],
)
def test_quiet_hours_are_read_in_local_time(utc: str, zone: str, quiet: Quiet, refused: str | None) -> None:
    policy = policy_at(utc, zone)
    if refused is None:
        assert policy.check(camera(quiet=quiet)).overridden == ()
        return
    with pytest.raises(PolicyRefused) as caught:
        policy.check(camera(quiet=quiet))
    assert refused in caught.value.reason
    assert caught.value.overridable


def test_consent_off_is_refused_and_an_override_sets_every_refusal_aside() -> None:
    policy = policy_at("2027-01-15T15:00")  # 23:00 local, in quiet hours
    with pytest.raises(PolicyRefused) as caught:
        policy.check(camera(allowed=False))
    assert caught.value.reason == (
        "the merchant has not consented to talkback on camera 'cam-1'; quiet hours 22:00-07:00 on camera 'cam-1'"
        " (local time 23:00 Asia/Shanghai)"
    )
    decision = policy.check(camera(allowed=False), override=True)
    assert decision.overridden == tuple(caught.value.reason.split("; "))


def test_a_camera_without_a_speaker_cannot_be_overridden() -> None:
    with pytest.raises(PolicyRefused) as caught:
        policy_at("2027-01-15T08:00").check(camera(capable=False), override=True)
    assert not caught.value.overridable
    assert "has no speaker" in caught.value.reason
