"""Ingest shards on a Ray cluster (a head and three nodes on this machine), reading 60 simulated cameras and a
scenario camera that reports a card-posting visit every few seconds: placement, a shard process killed, an
assignment change, a node SIGKILLed (cameras back elsewhere, events neither lost nor stored twice), and the
head's GCS restarted on RocksDB storage (the shards run on). One cluster and one fleet for the module; the tests
run in file order, each leaving the fleet all online."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select

from shopwatch.api.metrics import build_registry
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.health import CameraState
from shopwatch.ingest.fleet import LiveFleet
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.store.assignments import ShardAssignments
from shopwatch.store.db import create_engine_for
from shopwatch.store.incident_tables import EventRow
from tests.cluster.conftest import RayTestCluster
from tests.cluster.consumers import PERIOD_S, PeriodicVisits, visit_of
from tests.cluster.helpers import LoopThread, wait_for
from tests.store.db_fixtures import key_file_box

ray = pytest.importorskip("ray")
from shopwatch.cluster.ray_fleet import RaySupervisor  # noqa: E402

log = logging.getLogger(__name__)

pytestmark = [pytest.mark.slow, pytest.mark.rtsp, pytest.mark.postgres, pytest.mark.timeout(600)]

CAMERAS = 60
SCENE = "scene-00"


def camera(camera_id: str, url: str) -> CameraConfig:
    return CameraConfig.model_validate(
        {"id": camera_id, "name": camera_id, "grid": "g1", "host": "127.0.0.1", "streams": {"detect": url}}
    )


class Fleet:
    def __init__(self, sup: RaySupervisor, head: LoopThread, engine: Engine, cameras: list[CameraConfig]) -> None:
        self.sup, self.head, self.engine, self.cameras = sup, head, engine, cameras

    def states(self) -> dict[str, CameraState]:
        return {cid: h.state for cid, h in self.head.call(self.sup.all_health).items()}

    def all_online(self) -> bool:
        states = self.states()
        enabled = {cam.id for cam in self.cameras if cam.enabled}
        return enabled <= set(states) and all(states[c] is CameraState.ONLINE for c in enabled)

    def report(self, shard: str) -> Any:
        handle = ray.get_actor(shard)
        return ray.get(handle.health.remote(), timeout=5)

    def node_of(self, shard: str) -> str:
        return str(ray.get(ray.get_actor(shard).node.remote(), timeout=5))

    def shards(self) -> list[str]:
        return sorted({self.sup.shard_of(c.id) or "" for c in self.cameras} - {""})

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the head's ``/metrics`` registry, scraped now."""
        text = self.head.call(lambda: generate_latest(build_registry(LiveFleet(self.sup), shards=self.sup)).decode())
        [value] = [
            s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == name and s.labels == labels
        ]  # fmt: skip
        return float(value)

    def visits(self) -> list[int]:
        with self.engine.connect() as conn:
            starts = conn.execute(select(EventRow.start).where(EventRow.camera_id == SCENE)).scalars().all()
        return sorted(visit_of(s.timestamp()) for s in starts)


@pytest.fixture(scope="module")
def fleet(ray_cluster: RayTestCluster, cluster_db: tuple[str, Path]) -> Iterator[Fleet]:
    assert len(ray_cluster.nodes) == 3, "the cluster first"
    url, data_dir = cluster_db
    clip = generate_clip(ClipSpec("static", seconds=10), data_dir / "clips-src")
    walker = generate_clip(ClipSpec("walker", width=320, height=180, seconds=10), data_dir / "clips-src")
    settings = Settings.model_validate({
        "service": {"data_dir": str(data_dir), "database_url": url, "log_level": "warning"},
        "ingest": {
            "cameras_per_worker": 11, "open_timeout_s": 3, "read_timeout_s": 2, "stall_after_s": 1,
            "health_interval_s": 0.5, "backoff": {"initial_s": 0.2, "max_s": 1.0, "auth_retry_s": 5},
            "activity": {"postroll_s": 0.5, "quiet_s": 60},  # the walker keeps the scenario camera active
        },
        "cluster": {
            "namespace": ray.get_runtime_context().namespace, "health_interval_s": 0.5, "call_timeout_s": 2,
            "stale_after_s": 10, "assignment_poll_s": 0.5, "spool_dir": str(data_dir / "spool"),
        },
    })  # fmt: skip
    engine = create_engine_for(url, key_file_box(data_dir / "secret.key"))
    head = LoopThread()
    with SimServer() as sim:
        ids = [SCENE] + [f"cam-{i:02d}" for i in range(CAMERAS)]
        for camera_id in ids:
            sim.add_camera(camera_id, walker if camera_id == SCENE else clip)
        cameras = [camera(cid, sim.url(cid)) for cid in ids]
        sup = RaySupervisor(settings, ShardAssignments(engine, SystemClock()), consumer=PeriodicVisits)
        head.run(sup.start(cameras))
        try:
            yield Fleet(sup, head, engine, cameras)
        finally:
            head.run(sup.shutdown_shards())
            head.run(sup.stop())
            head.close()
            engine.dispose()


def test_sixty_cameras_come_online_on_shards_spread_over_the_nodes_and_none_on_the_head(
    fleet: Fleet, ray_cluster: RayTestCluster
) -> None:
    took = wait_for(fleet.all_online, 90, "all 61 cameras online")
    shards = fleet.shards()
    assert len(shards) == 6, shards  # 61 cameras, 11 per shard
    nodes = {fleet.node_of(s) for s in shards}
    head_id = ray_cluster.cluster.head_node.node_id
    assert head_id not in nodes, "the head offers no ingest_slot: no shard may run there"
    assert len(nodes) == 3, "SPREAD over the three nodes"
    census = fleet.sup.census()
    assert census.slots == 9 and census.nodes == 4
    assert len(census.without_slot) == 1  # the head, named in the supervisor's warning
    log.info("61 cameras online in %.1f s", took)


def test_a_killed_shard_process_is_back_within_five_seconds(fleet: Fleet) -> None:
    shard = fleet.sup.shard_of("cam-07")
    assert shard is not None
    before = fleet.report(shard)
    os.kill(before.pid, signal.SIGKILL)
    killed = time.monotonic()

    def back() -> bool:
        try:
            report = fleet.report(shard)
        except Exception:  # the actor restarting
            return False
        return report.pid != before.pid and report.version == before.version and "cam-07" not in report.missing

    wait_for(back, 5.0, f"{shard} running again with its assignment")
    wait_for(fleet.all_online, 20, "its cameras online again")
    log.info("%s back, its cameras online %.1f s after SIGKILL", shard, time.monotonic() - killed)


def test_an_assignment_change_reaches_the_shard_that_holds_the_camera(fleet: Fleet) -> None:
    url = fleet.cameras[1].streams.detect.replace("cam-00", "cam-03")  # another mount of the same server
    added = camera("cam-extra", url)
    fleet.head.call(lambda: fleet.sup.apply([*fleet.cameras, added]))
    wait_for(lambda: fleet.sup.shard_of("cam-extra") is not None, 10, "the new camera planned")
    shard = fleet.sup.shard_of("cam-extra")
    assert shard is not None
    wait_for(lambda: "cam-extra" in {h.camera_id for h in fleet.report(shard).cameras}, 10, f"{shard} reads it")
    wait_for(lambda: fleet.states().get("cam-extra") is CameraState.ONLINE, 20, "the new camera online")
    others = [s for s in fleet.shards() if s != shard]
    assert all("cam-extra" not in {h.camera_id for h in fleet.report(s).cameras} for s in others)
    fleet.head.call(lambda: fleet.sup.apply(fleet.cameras))
    wait_for(lambda: "cam-extra" not in {h.camera_id for h in fleet.report(shard).cameras}, 10, "removed from it")
    assert "cam-extra" not in fleet.states()


def test_a_node_sigkilled_its_cameras_come_back_elsewhere_and_no_visit_is_lost_or_stored_twice(
    fleet: Fleet, ray_cluster: RayTestCluster
) -> None:
    """The node killed is one that does not hold the scenario camera, whose visits go on being stored while the
    cluster loses a node and re-places its shards."""
    wait_for(lambda: len(fleet.visits()) >= 2, 30, "the scenario camera's visits stored")
    scene_node = fleet.node_of(fleet.sup.shard_of(SCENE) or "")
    by_node: dict[str, list[str]] = {}
    for shard in fleet.shards():
        by_node.setdefault(fleet.node_of(shard), []).append(shard)
    victim = next(node for node in by_node if node != scene_node)
    moved = [c.id for c in fleet.cameras if fleet.sup.shard_of(c.id) in by_node[victim]]
    assert moved
    ray_cluster.kill_node(victim)

    def back_elsewhere() -> bool:
        try:
            reports = [(fleet.node_of(s), fleet.report(s)) for s in by_node[victim]]
        except Exception:  # a shard still being re-placed
            return False
        online = {h.camera_id for _node, r in reports for h in r.cameras if h.state is CameraState.ONLINE}
        return all(node != victim for node, _r in reports) and set(moved) <= online and fleet.all_online()

    recovery = wait_for(back_elsewhere, 30, f"the {len(moved)} cameras of the killed node online elsewhere")
    time.sleep(2 * PERIOD_S)  # visits after the recovery too
    visits = fleet.visits()
    assert len(visits) == len(set(visits)), f"a visit stored twice: {visits}"
    missing = sorted(set(range(visits[0], visits[-1] + 1)) - set(visits))
    assert not missing, f"visits lost: {missing} of {visits[0]}..{visits[-1]}"
    assert visits[-1] >= visit_of(time.time()) - 2, "visits went on being stored"
    log.info("%d cameras back %.1f s after the node was killed; %d visits", len(moved), recovery, len(visits))
    ray_cluster.add_node()  # the next test starts with three nodes again


def test_with_no_free_slot_for_lost_shards_their_cameras_say_so_until_nodes_come_back(
    fleet: Fleet, ray_cluster: RayTestCluster
) -> None:
    """Two of three nodes lost: three slots left for six shards. The lost shards' cameras are not left `online`
    nor silently waiting: their health names the shortage, and /metrics counts the shards without a slot."""
    for node in list(ray_cluster.nodes[:2]):
        ray_cluster.kill_node(node.node_id)

    def shortage_told() -> bool:
        errors = [h.last_error or "" for h in fleet.head.call(fleet.sup.all_health).values()]
        return sum("no free ingest_slot" in e for e in errors) >= 10

    wait_for(shortage_told, 40, "the shortage in the lost shards' cameras' health")
    assert any("no free ingest_slot" in why for why in fleet.sup.shard_troubles().values())
    # 4 shards lost, 1 free slot on the node left: 3 wait without one, and /metrics says so
    wait_for(lambda: fleet.metric("shopwatch_shards_without_slot") == 3, 20, "3 shards without a slot in /metrics")
    assert fleet.metric("shopwatch_shards", state="no_process") >= 3
    for _ in range(2):
        ray_cluster.add_node()
    wait_for(fleet.all_online, 60, "every camera online once slots are back")
    wait_for(lambda: not fleet.sup.shard_troubles(), 10, "no shard in trouble")
    assert fleet.metric("shopwatch_shards_without_slot") == 0
    assert fleet.metric("shopwatch_shards", state="running") == 6


def test_the_shards_run_on_while_the_heads_gcs_restarts_on_rocksdb_storage(
    fleet: Fleet, ray_cluster: RayTestCluster
) -> None:
    shards = fleet.shards()
    flowing = len(fleet.visits())
    wait_for(lambda: len(fleet.visits()) > flowing, 30, "the scenario camera's visits being stored")
    before = {s: fleet.report(s) for s in shards}
    visits_before = len(fleet.visits())
    head = ray_cluster.cluster.head_node
    head.kill_gcs_server()
    try:  # the GCS away: shards keep reading and storing events (the database is not Ray's)
        wait_for(lambda: len(fleet.visits()) > visits_before, 15, "a visit stored while the GCS is away")
    finally:
        head.start_gcs_server()
    wait_for(lambda: _answers(fleet, shards), 30, "every shard answering through the restarted GCS")
    after = {s: fleet.report(s) for s in shards}
    for shard in shards:
        assert after[shard].pid == before[shard].pid, f"{shard} was restarted"
        assert after[shard].beats > before[shard].beats
    wait_for(fleet.all_online, 20, "every camera online")


def _answers(fleet: Fleet, shards: list[str]) -> bool:
    try:
        return all(fleet.report(s) is not None for s in shards)
    except Exception:  # the GCS still coming back
        return False
