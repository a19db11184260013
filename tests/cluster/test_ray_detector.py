"""The person detector of a Ray node, with the real person model: the head keeps one detector actor per node
hosting shards (none on the head); a scenario camera read by a shard gives its card-posting event, stored by
the shard, with its health saying the model looked (mode ``person``); the model lives in the detector's process,
not in the shard; the detector actor SIGKILLed -> Ray restarts it on its node and the shard uses it again."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select

from shopwatch.core.clock import SystemClock
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.detect_loader import load_camera_detection
from shopwatch.core.health import CameraHealth
from shopwatch.models.detector import DetectorUnavailable
from shopwatch.models.detector_client import NodeDetectorClient
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.store.assignments import ShardAssignments
from shopwatch.store.db import create_engine_for
from shopwatch.store.incident_tables import EventRow
from tests.cluster.conftest import RayTestCluster
from tests.cluster.helpers import LoopThread, wait_for
from tests.models.model_path import test_model
from tests.models.test_node_detection_live import SCENE, SEED, camera_stream, day_rules, heavy_maps
from tests.store.db_fixtures import key_file_box

ray = pytest.importorskip("ray")
from shopwatch.cluster.detector_actor import NodeDetectors  # noqa: E402
from shopwatch.cluster.detector_host import DetectorEndpoint  # noqa: E402
from shopwatch.cluster.detector_lookup import node_detection  # noqa: E402
from shopwatch.cluster.detector_plan import pick  # noqa: E402
from shopwatch.cluster.ray_fleet import RaySupervisor  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.rtsp, pytest.mark.postgres, pytest.mark.timeout(600)]

CAMERA = "shop-1"


def _answers(endpoint: DetectorEndpoint) -> bool:
    client: NodeDetectorClient | None = endpoint.client
    if client is None:
        return False
    try:
        client.detect([np.zeros((360, 640, 3), np.uint8)])
    except DetectorUnavailable:
        return False
    finally:
        client.close()
    return True


class Head:
    def __init__(self, sup: RaySupervisor, loop: LoopThread, engine: Engine, namespace: str) -> None:
        self.sup, self.loop, self.engine, self.namespace = sup, loop, engine, namespace

    def health(self) -> CameraHealth:
        health = self.loop.call(lambda: self.sup.health(CAMERA))
        assert health is not None
        return health

    def detected(self) -> int:
        d = self.health().detection
        return 0 if d is None or d.mode != "person" else d.detected

    def shard_report(self) -> Any:
        shard = self.sup.shard_of(CAMERA)
        assert shard is not None
        return ray.get(ray.get_actor(shard).health.remote(), timeout=5)

    def detector_of_shard(self) -> str:
        shard = ray.get_actor(self.sup.shard_of(CAMERA) or "")
        node_id = str(ray.get(shard.node.remote(), timeout=5))
        name = pick(self.sup.detector_names(), node_id, 0)
        assert name is not None, f"no detector for the shard's node {node_id[:12]}"
        return name

    def endpoint(self, name: str) -> DetectorEndpoint:
        result: DetectorEndpoint = ray.get(ray.get_actor(name).endpoint.remote(), timeout=5)
        return result

    def events(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(EventRow.type).where(EventRow.camera_id == CAMERA)).scalars().all()
        return [str(t) for t in rows]


@pytest.fixture(scope="module")
def head(
    ray_cluster: RayTestCluster, cluster_db: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Head]:
    assert len(ray_cluster.nodes) == 3, "the cluster first"
    model = test_model()
    from shopwatch.sim.scenes import generate

    work = tmp_path_factory.mktemp("scene")
    [truth] = generate(work, SEED, names=[SCENE], workers=1)
    clip = camera_stream(truth.with_suffix(".mp4"), work / "camera.h264")
    detection = load_camera_detection(day_rules(truth.with_name(f"{SCENE}.camera.yaml")))
    url, data_dir = cluster_db
    namespace = ray.get_runtime_context().namespace
    settings = Settings.model_validate({
        "service": {"data_dir": str(data_dir), "database_url": url, "log_level": "warning"},
        "ingest": {
            "open_timeout_s": 3, "read_timeout_s": 2, "stall_after_s": 1, "health_interval_s": 0.5,
            "activity": {"postroll_s": 1.0, "quiet_s": 60},
        },
        "detect": {"model": str(model)},
        "cluster": {
            "namespace": namespace, "health_interval_s": 0.5, "call_timeout_s": 2, "stale_after_s": 10,
            "assignment_poll_s": 0.5, "spool_dir": str(data_dir / "spool"),
        },
    })  # fmt: skip
    # The detectors first, as the head starts them, and only once they answer: a camera started while the model
    # loads runs on motion meanwhile (and may fire on that), which is not what this test is about.
    early = NodeDetectors(settings)
    early.follow(ray.nodes())

    def all_answer() -> bool:
        try:
            return all(_answers(ray.get(ray.get_actor(n).endpoint.remote(), timeout=5)) for n in early.names())
        except ray.exceptions.RayError:
            return False

    wait_for(all_answer, 180, "every node's detector answering", poll_s=1.0)
    engine = create_engine_for(url, key_file_box(data_dir / "secret.key"))
    loop = LoopThread()
    # As the composition root builds it: each shard's detection asks the detector of the node it runs on.
    factory = node_detection(settings)
    with SimServer() as sim:
        url = sim.add_camera(CAMERA, clip)
        cam = CameraConfig.model_validate(
            {"id": CAMERA, "name": "shop", "grid": "g1", "host": "127.0.0.1", "streams": {"detect": url}}
        ).model_copy(update={"detection": detection})
        sup = RaySupervisor(settings, ShardAssignments(engine, SystemClock()), consumer=factory)
        loop.run(sup.start([cam]))
        try:
            yield Head(sup, loop, engine, namespace)
        finally:
            loop.run(sup.shutdown_shards())
            loop.run(sup.stop())
            loop.close()
            engine.dispose()


def test_one_detector_per_node_with_a_slot_and_none_on_the_head(head: Head, ray_cluster: RayTestCluster) -> None:
    names = head.sup.detector_names()
    assert len(names) == 3, names
    nodes = {str(n.node_id) for n in ray_cluster.nodes}
    for name in names:
        endpoint = head.endpoint(name)
        assert endpoint.problem is None and endpoint.model_pid is not None
    assert {pick(names, node_id, 0) for node_id in nodes} == set(names)  # each node finds its own
    assert pick(names, ray_cluster.cluster.head_node.node_id, 0) is None


def test_a_card_posting_event_found_by_the_nodes_person_detector(head: Head) -> None:
    wait_for(lambda: "card_posting" in head.events(), 180, "a card-posting event stored by the shard", poll_s=0.5)
    detection = head.health().detection
    assert detection is not None and detection.mode == "person", detection
    assert detection.detected > 0  # the node's model looked at this camera's frames
    endpoint = head.endpoint(head.detector_of_shard())
    assert endpoint.model_pid is not None and heavy_maps(endpoint.model_pid)  # the model lives there
    assert heavy_maps(head.shard_report().pid) == set()  # and not in the shard


def test_the_detector_actor_killed_is_restarted_and_used_again(head: Head) -> None:
    name = head.detector_of_shard()
    before = head.endpoint(name)
    os.kill(before.pid, signal.SIGKILL)  # the actor's process; the model's process leaves with it

    def restarted() -> bool:
        try:
            endpoint = head.endpoint(name)
        except ray.exceptions.RayError:  # restarting
            return False
        return endpoint.pid != before.pid and endpoint.model_pid is not None

    wait_for(restarted, 60, f"{name} restarted by Ray on its node")
    looked = head.detected()  # nothing could look between the kill and the restart
    wait_for(lambda: head.detected() > looked, 120, "the camera's frames looked at by the restarted detector")
    detection = head.health().detection
    assert detection is not None and detection.mode == "person" and detection.detector_down is None


def test_the_shards_node_lost_its_detector_is_not_moved_and_the_shard_uses_its_new_nodes(
    head: Head, ray_cluster: RayTestCluster
) -> None:
    """The node goes with its detector (ended by the head, not re-placed: it is pinned); the shard moves to a
    node with a free slot, whose own detector looks at its camera's frames there."""
    lost = head.detector_of_shard()
    shard = head.sup.shard_of(CAMERA) or ""
    victim = str(ray.get(ray.get_actor(shard).node.remote(), timeout=5))
    ray_cluster.kill_node(victim)

    def moved_and_looking() -> bool:
        try:
            node_id = str(ray.get(ray.get_actor(shard).node.remote(), timeout=2))
        except ray.exceptions.RayError:  # restarting on another node
            return False
        return node_id != victim and head.detected() > 0  # a new process: its counts start at 0

    wait_for(moved_and_looking, 120, "the shard on another node, its camera looked at by that node's detector")
    wait_for(lambda: lost not in head.sup.detector_names(), 15, f"{lost} ended with its node")
    assert len(head.sup.detector_names()) == 2
    assert head.detector_of_shard() != lost
