"""The camera registry repository, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from shopwatch.core.clock import ManualClock
from shopwatch.core.config import CameraConfig, Vendor
from shopwatch.core.errors import ConfigError
from shopwatch.store.cameras import CameraRepository, SecretNotSet, Source, resolve_password


def _cam(cam_id: str, **fields: object) -> CameraConfig:
    base: dict[str, object] = {"id": cam_id, "name": f"Shop {cam_id}", "grid": "g1", "host": "10.0.0.1"}
    return CameraConfig.model_validate({**base, **fields})


FULL = _cam(
    "cam-full",
    name="老王烟酒店 门口",
    merchant={"name": "王建国", "phone": "+86 138 0000 0000"},
    address="解放路 12 号",
    grid="西湖-3",
    location={"lat": 30.2741234567, "lon": 120.1551},
    vendor="hikvision",
    host="192.168.1.64",
    port=10554,
    onvif_port=8080,
    credentials={"username": "admin", "password": "${SHOPWATCH_CAM_FULL_PW}"},
    streams={"detect": "rtsp://192.168.1.64/Streaming/Channels/102", "record": "rtsp://192.168.1.64/ch1"},
    transport="udp",
    talkback={"capable": True, "allowed": True, "quiet_hours": {"start": "22:00", "end": "07:00"}},
    enabled=False,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def repo(engine: Engine, clock: ManualClock) -> CameraRepository:
    return CameraRepository(engine, clock=clock, env={"SHOPWATCH_CAM_FULL_PW": "pw-from-env"})


def test_every_field_survives_the_round_trip(repo: CameraRepository) -> None:
    repo.upsert_many([FULL], "csv")

    record = repo.record("cam-full")
    assert record is not None
    assert record.camera == FULL  # password kept as given: the reference, not its value
    assert record.camera.credentials.password.get_secret_value() == "${SHOPWATCH_CAM_FULL_PW}"
    assert record.source is Source.CSV
    assert record.created_at.tzinfo is not None

    resolved = repo.get("cam-full")
    assert resolved is not None
    assert resolved.credentials.password.get_secret_value() == "pw-from-env"
    assert resolved.talkback.quiet_hours is not None and resolved.talkback.quiet_hours.start == time(22, 0)
    assert resolved.model_dump(exclude={"credentials"}) == FULL.model_dump(exclude={"credentials"})


def test_reimport_updates_in_place_and_bumps_the_revision(repo: CameraRepository, clock: ManualClock) -> None:
    assert repo.revision() == 0
    first = repo.upsert_many([_cam("a"), _cam("b")], "csv")
    assert (first.created, first.updated, first.unchanged) == (("a", "b"), (), ())
    assert repo.revision() == 1
    created = repo.record("a")
    assert created is not None

    clock.advance(60)
    again = repo.upsert_many([_cam("a"), _cam("b")], "csv")
    assert (again.created, again.updated, again.unchanged) == ((), (), ("a", "b"))
    assert repo.revision() == 1  # nothing changed: the service has nothing to reload

    clock.advance(60)
    edit = repo.upsert_many([_cam("a", host="10.0.0.99"), _cam("b"), _cam("c")], "csv")
    assert (edit.created, edit.updated, edit.unchanged) == (("c",), ("a",), ("b",))
    assert repo.revision() == 2
    after = repo.record("a")
    assert after is not None
    assert after.camera.host == "10.0.0.99"
    assert after.created_at == created.created_at
    assert after.updated_at == datetime.fromtimestamp(clock.wall(), tz=UTC)
    assert [c.id for c in repo.list()] == ["a", "b", "c"]


def test_a_new_source_counts_as_a_change(repo: CameraRepository) -> None:
    repo.upsert_many([_cam("a")], "csv")
    result = repo.upsert_many([_cam("a")], "api")
    assert result.updated == ("a",)
    record = repo.record("a")
    assert record is not None and record.source is Source.API


def test_list_filters_by_grid_and_enabled(repo: CameraRepository) -> None:
    repo.upsert_many(
        [_cam("c3", grid="north"), _cam("c1", grid="south"), _cam("c2", grid="north", enabled=False)], "csv"
    )
    assert [c.id for c in repo.list()] == ["c1", "c2", "c3"]
    assert [c.id for c in repo.list(grid="north")] == ["c2", "c3"]
    assert [c.id for c in repo.list(enabled=True)] == ["c1", "c3"]
    assert [c.id for c in repo.list(grid="north", enabled=False)] == ["c2"]
    assert repo.list(grid="nowhere") == []


def test_a_failing_row_writes_nothing(repo: CameraRepository) -> None:
    repo.upsert_many([_cam("keep", host="10.0.0.1")], "csv")
    broken = CameraConfig.model_construct(**{**_cam("x").__dict__, "id": None})  # NOT NULL violation in SQL
    with pytest.raises(IntegrityError):
        repo.upsert_many([_cam("keep", host="10.9.9.9"), _cam("new"), broken], "csv")
    assert [c.id for c in repo.list()] == ["keep"]
    keep = repo.get("keep")
    assert keep is not None and keep.host == "10.0.0.1"
    assert repo.revision() == 1


@pytest.mark.parametrize(
    ("cameras", "source", "expected"),
    [
        ([_cam("a"), _cam("a", host="h2")], "csv", "expected each camera id once in one write, found a repeated"),
        ([_cam("a")], "excel", "expected a registry source (yaml, csv, onvif, api), found 'excel'"),
    ],
)
def test_bad_writes_are_refused_before_touching_the_database(
    repo: CameraRepository, cameras: list[CameraConfig], source: str, expected: str
) -> None:
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        repo.upsert_many(cameras, source)
    assert repo.list() == []


def test_a_large_import_in_one_write(repo: CameraRepository) -> None:
    cameras = [_cam(f"cam-{i:04d}", grid=f"g{i % 7}", host=f"10.1.{i // 250}.{i % 250}") for i in range(1200)]
    assert len(repo.upsert_many(cameras, "csv").created) == 1200
    changed = [*cameras[:-1], cameras[-1].model_copy(update={"name": "renamed"})]
    result = repo.upsert_many(changed, "csv")
    assert (len(result.unchanged), result.updated) == (1199, ("cam-1199",))
    assert len(repo.list(grid="g3")) == len([c for c in cameras if c.grid == "g3"])


def test_missing_password_variable_names_camera_and_variable(engine: Engine) -> None:
    repo = CameraRepository(engine, env={})
    repo.upsert_many([FULL, _cam("plain", credentials={"password": "inline-pw"})], "csv")

    with pytest.raises(SecretNotSet) as caught:
        repo.list()
    assert (caught.value.camera_id, caught.value.variable) == ("cam-full", "SHOPWATCH_CAM_FULL_PW")
    message = str(caught.value)
    assert "cam-full" in message and "environment variable SHOPWATCH_CAM_FULL_PW is not set" in message
    assert isinstance(caught.value, ConfigError)

    plain = repo.get("plain")  # a literal password needs no environment
    assert plain is not None and plain.credentials.password.get_secret_value() == "inline-pw"
    assert [r.camera.id for r in repo.records()] == ["cam-full", "plain"]  # listing needs no secret


@pytest.mark.parametrize(
    ("stored", "env", "expected"),
    [
        ("${SHOPWATCH_PW}", {"SHOPWATCH_PW": "s3cret"}, "s3cret"),
        ("literal", {"literal": "x"}, "literal"),
        ("${not a ref", {}, "${not a ref"),
        ("prefix-${SHOPWATCH_PW}", {"SHOPWATCH_PW": "x"}, "prefix-${SHOPWATCH_PW}"),
        ("", {}, ""),
    ],
)
def test_resolve_password(stored: str, env: dict[str, str], expected: str) -> None:
    cam = _cam("a").model_copy(update={"credentials": _cam("a").credentials.model_copy(
        update={"password": SecretStr(stored)})})  # fmt: skip
    assert resolve_password(cam, env).credentials.password.get_secret_value() == expected


def test_delete_bumps_the_revision_only_when_something_went(repo: CameraRepository) -> None:
    repo.upsert_many([_cam("a"), _cam("b")], "csv")
    assert repo.delete("a") is True
    assert repo.revision() == 2
    assert repo.delete("a") is False
    assert repo.revision() == 2
    assert [c.id for c in repo.list()] == ["b"]
    assert repo.get("a") is None


def test_merge_changes_only_the_named_fields(repo: CameraRepository, clock: ManualClock) -> None:
    repo.upsert_many([FULL.model_copy(update={"streams": FULL.streams.model_copy(update={"detect": None})})], "csv")
    clock.advance(5)

    record = repo.merge("cam-full", {"streams": {"detect": "rtsp://192.168.1.64/onvif/sub"}}, "onvif")

    assert record.source is Source.ONVIF
    assert record.camera.streams.detect == "rtsp://192.168.1.64/onvif/sub"
    assert record.camera.streams.record == FULL.streams.record
    assert record.camera.credentials == FULL.credentials
    assert record.camera.model_dump(exclude={"streams"}) == FULL.model_dump(exclude={"streams"})
    assert record.updated_at > record.created_at
    assert repo.revision() == 2
    repo.merge("cam-full", {"streams": {"detect": "rtsp://192.168.1.64/onvif/sub"}}, "onvif")
    assert repo.revision() == 2  # same value again: no change


def test_merge_refuses_invalid_changes_and_unknown_cameras(repo: CameraRepository) -> None:
    repo.upsert_many([FULL], "csv")
    with pytest.raises(ConfigError) as caught:
        repo.merge("cam-full", {"streams": {"detect": "http://not-rtsp/"}, "vendor": "acme"}, "onvif")
    assert {p.where for p in caught.value.problems} == {"streams.detect", "vendor"}
    stored = repo.record("cam-full")
    assert stored is not None and stored.camera == FULL and stored.camera.vendor is Vendor.HIKVISION
    with pytest.raises(KeyError):
        repo.merge("nope", {"name": "x"}, "api")
    assert repo.revision() == 1


@pytest.mark.parametrize("name", ["PW", "HOME", "SHOPWATCH_", "DATABASE_URL"])
def test_a_stored_reference_outside_the_prefix_is_refused_even_when_set(name: str) -> None:
    cam = _cam("a").model_copy(update={"credentials": _cam("a").credentials.model_copy(
        update={"password": SecretStr(f"${{{name}}}")})})  # fmt: skip
    with pytest.raises(SecretNotSet) as caught:
        resolve_password(cam, {name: "leaked"})
    message = str(caught.value)
    assert f"{name} may not be referenced" in message and "SHOPWATCH_" in message and "leaked" not in message
