"""One Ray test cluster for a test module: a head (no ``ingest_slot``: no shard there) and three nodes with
``ingest_slot`` each, all on this machine (``ray.cluster_utils.Cluster``), in a temporary folder of this run,
with the head's node-loss detection at the documented fast settings and its GCS on RocksDB storage. Killed nodes
are reaped (a zombie raylet looks alive to its workers). The database is a PostgreSQL schema of the module."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from shopwatch.store.db import create_engine_for, migrate  # noqa: E402
from tests.store.db_fixtures import _postgres_schema_url, key_file_box  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FAST_NODE_LOSS = {"health_check_period_ms": 1000, "health_check_timeout_ms": 1000, "health_check_failure_threshold": 3}
SLOTS_PER_NODE = 3


@dataclass
class RayTestCluster:
    cluster: Cluster
    temp_dir: Path
    nodes: list[Any] = field(default_factory=list)

    def add_node(self, slots: int = SLOTS_PER_NODE) -> Any:
        resources = {"ingest_slot": slots} if slots else {}
        node = self.cluster.add_node(num_cpus=1, resources=resources)
        self.nodes.append(node)
        return node

    def kill_node(self, node_id: str) -> None:
        """SIGKILL every process of the node (raylet, its workers), reaped."""
        node = next(n for n in self.nodes if n.node_id == node_id)
        self.cluster.remove_node(node, allow_graceful=False)
        self.nodes.remove(node)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayTestCluster]:
    temp_dir = Path(tempfile.mkdtemp(prefix="swray-", dir="/tmp"))  # short: Ray's socket paths must fit
    saved = {k: os.environ.get(k) for k in ("RAY_TMPDIR", "PYTHONPATH", "RAY_gcs_storage", "RAY_gcs_storage_path")}
    os.environ["RAY_TMPDIR"] = str(temp_dir)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), saved["PYTHONPATH"]]))
    os.environ["RAY_gcs_storage"] = "rocksdb"
    os.environ["RAY_gcs_storage_path"] = str(temp_dir / "gcs")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": FAST_NODE_LOSS})
    test_cluster = RayTestCluster(cluster, temp_dir)
    try:
        for _ in range(3):
            test_cluster.add_node()
        ray.init(address=cluster.address, namespace=f"t{os.getpid()}", log_to_driver=False)
        yield test_cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster_db(postgres_admin: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A migrated PostgreSQL schema for the module and the data dir (its key file) beside it."""
    data_dir = tmp_path_factory.mktemp("data")
    urls = _postgres_schema_url(postgres_admin)
    url = next(urls)
    engine = create_engine_for(url, key_file_box(data_dir / "secret.key"))
    migrate(engine)
    engine.dispose()
    yield url, data_dir
    urls.close()
