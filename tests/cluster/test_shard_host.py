"""A shard's body without Ray (``cluster/shard.py``): it starts from its assignment in the database, takes the
head's configuration push, follows a new assignment version, and stores its events once each, through its
spool while the database refuses them. Real RTSP from the simulated server, a real database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from shopwatch.cluster.shard import Push, ShardHost, ShardSpec
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.health import CameraState
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.store.assignments import ShardAssignments
from shopwatch.store.incident_tables import EventRow
from tests.cluster.consumers import PeriodicVisits, visit_of
from tests.cluster.helpers import wait_for

pytestmark = [pytest.mark.rtsp, pytest.mark.slow]


def camera(camera_id: str, url: str) -> CameraConfig:
    return CameraConfig.model_validate(
        {"id": camera_id, "name": camera_id, "grid": "g1", "host": "127.0.0.1", "streams": {"detect": url}}
    )


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    clips = tmp_path_factory.mktemp("clips")
    with SimServer() as server:
        server.add_camera("cam-a", generate_clip(ClipSpec("static", seconds=10), clips))
        server.add_camera("scene-a", generate_clip(ClipSpec("walker", width=320, height=180, seconds=10), clips))
        yield server


def settings_for(db_url: str, data_dir: Path) -> Settings:
    return Settings.model_validate({
        "service": {"data_dir": str(data_dir), "database_url": db_url, "log_level": "warning"},
        "ingest": {"health_interval_s": 0.2, "activity": {"postroll_s": 0.3, "quiet_s": 60}},
        "cluster": {"assignment_poll_s": 0.2, "spool_dir": str(data_dir / "spool")},
    })  # fmt: skip


def visits(engine: Engine, camera_id: str) -> list[int]:
    with engine.connect() as conn:
        starts = conn.execute(select(EventRow.start).where(EventRow.camera_id == camera_id)).scalars().all()
    return sorted(visit_of(s.timestamp()) for s in starts)


def states(host: ShardHost) -> dict[str, CameraState]:
    return {h.camera_id: h.state for h in host.report().cameras}


def test_a_shard_runs_its_assignment_follows_a_new_version_and_stores_each_visit_once(
    sim: SimServer, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    assignments = ShardAssignments(engine, SystemClock())
    assignments.assign({"shard-004": ["cam-a"]})
    host = ShardHost(ShardSpec("shard-004", settings_for(db_url, tmp_path), PeriodicVisits))
    try:
        wait_for(lambda: host.report().version == 1, 10, "assignment v1 read")
        assert host.report().missing == ("cam-a",)  # not in the registry: waits for the head's push
        configs = (camera("cam-a", sim.url("cam-a")),)
        host.push(Push(1, "digest-1", configs))
        wait_for(lambda: states(host).get("cam-a") is CameraState.ONLINE, 15, "cam-a online")
        assert host.report().digest == "digest-1" and host.report().missing == ()

        host.push(Push(1, "digest-2", (*configs, camera("scene-a", sim.url("scene-a")))))
        assignments.assign({"shard-004": ["cam-a", "scene-a"]})  # v2: the shard reads it on its next poll
        wait_for(lambda: host.report().version == 2, 5, "assignment v2 read")
        wait_for(lambda: states(host).get("scene-a") is CameraState.ONLINE, 15, "scene-a online")
        wait_for(lambda: len(visits(engine, "scene-a")) >= 3, 30, "three visits stored")
        stored = visits(engine, "scene-a")
        assert len(stored) == len(set(stored))
        assert stored == list(range(stored[0], stored[-1] + 1)), "no visit between the first and last lost"

        assignments.assign({"shard-004": ["scene-a"]})  # v3: cam-a goes
        wait_for(lambda: "cam-a" not in states(host), 5, "cam-a let go")
        assert host.report().events is not None and host.report().events.dropped == 0
    finally:
        host.close()


def test_a_stale_push_older_than_the_database_version_is_ignored(
    sim: SimServer, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    assignments = ShardAssignments(engine, SystemClock())
    assignments.assign({"shard-001": ["cam-a"]})
    assignments.assign({"shard-001": []})  # v2: nothing
    host = ShardHost(ShardSpec("shard-001", settings_for(db_url, tmp_path)))
    try:
        wait_for(lambda: host.report().version == 2, 10, "assignment v2 read")
        host.push(Push(1, "old", (camera("cam-a", sim.url("cam-a")),)))
        time.sleep(0.5)
        assert host.report().cameras == () and host.report().digest == ""
    finally:
        host.close()
