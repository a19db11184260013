"""Node loss on a Ray fleet: how long until its cameras are online elsewhere, and whether an event was lost or
stored twice meanwhile. Both health-check settings side by side in one run: Ray's defaults and the head
``_system_config`` that docs/FLEET.md documents.

    python benchmarks/failover.py [--cameras 60] [--only fast] [--json]

Each run: a head (no ``ingest_slot``) and three nodes with three slots each (``ray.cluster_utils.Cluster``, this
machine), ``--cameras`` simulated static cameras plus a scenario camera whose (test) detection reports one
card-posting visit every 4 s, all read by six shard actors (two per node; the six slots left after a node loss
hold them all); a PostgreSQL schema of its own (``SHOPWATCH_TEST_POSTGRES_URL``, default the local test
server). Once every camera is online, the node holding the most shards and not the scenario camera is
SIGKILLed; recovery_s is the time until every camera it read is online on a shard that runs on another node.
lost: visits missing between the first and last stored (the scenario camera is read throughout); duplicated:
visits stored more than once. With --json, one object (the fast settings' run at the top level, every run
under "runs")."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from shopwatch.cluster.ray_fleet import RaySupervisor  # noqa: E402
from shopwatch.core.clock import SystemClock  # noqa: E402
from shopwatch.core.config import CameraConfig, Settings  # noqa: E402
from shopwatch.core.health import CameraState  # noqa: E402
from shopwatch.sim.clips import ClipSpec, generate_clip  # noqa: E402
from shopwatch.sim.rtsp_server import SimServer  # noqa: E402
from shopwatch.store.assignments import ShardAssignments  # noqa: E402
from shopwatch.store.db import create_engine_for, migrate  # noqa: E402
from shopwatch.store.incident_tables import EventRow  # noqa: E402
from shopwatch.store.secret_box import KeySource, SecretBox  # noqa: E402
from tests.cluster.consumers import PeriodicVisits, visit_of  # noqa: E402
from tests.cluster.helpers import LoopThread, wait_for  # noqa: E402

SETTINGS = {
    "default": {},
    "fast": {"health_check_period_ms": 1000, "health_check_timeout_ms": 1000, "health_check_failure_threshold": 3},
}
SCENE = "scene-00"


def camera(camera_id: str, url: str) -> CameraConfig:
    return CameraConfig.model_validate(
        {"id": camera_id, "name": camera_id, "grid": "g1", "host": "127.0.0.1", "streams": {"detect": url}}
    )


def run(kind: str, cameras: int, pg_url: str, work: Path) -> dict[str, Any]:
    admin = create_engine(pg_url, poolclass=NullPool)
    schema = f"sw_failover_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    data_dir = work / kind
    engine = create_engine_for(url, SecretBox(KeySource({}, data_dir / "secret.key")))
    migrate(engine)
    os.environ["RAY_TMPDIR"] = str(work / f"ray-{kind}")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": SETTINGS[kind]})
    head = LoopThread()
    try:
        nodes = [cluster.add_node(num_cpus=1, resources={"ingest_slot": 3}) for _ in range(3)]
        ray.init(address=cluster.address, namespace=f"failover-{kind}", log_to_driver=False)
        settings = Settings.model_validate({
            "service": {"data_dir": str(data_dir), "database_url": url, "log_level": "warning"},
            "ingest": {"cameras_per_worker": -(-(cameras + 1) // 6), "open_timeout_s": 3, "read_timeout_s": 2,
                       "stall_after_s": 1,
                       "health_interval_s": 0.5, "backoff": {"initial_s": 0.2, "max_s": 1.0},
                       "activity": {"postroll_s": 0.5, "quiet_s": 60}},
            "cluster": {"namespace": f"failover-{kind}", "health_interval_s": 0.5, "call_timeout_s": 2,
                        "assignment_poll_s": 0.5, "spool_dir": str(data_dir / "spool")},
        })  # fmt: skip
        static = generate_clip(ClipSpec("static", seconds=10), work / "clips")
        walker = generate_clip(ClipSpec("walker", width=320, height=180, seconds=10), work / "clips")
        with SimServer() as sim:
            ids = [SCENE] + [f"cam-{i:03d}" for i in range(cameras)]
            for camera_id in ids:
                sim.add_camera(camera_id, walker if camera_id == SCENE else static)
            configs = [camera(cid, sim.url(cid)) for cid in ids]
            sup = RaySupervisor(settings, ShardAssignments(engine, SystemClock()), consumer=PeriodicVisits)
            head.run(sup.start(configs))

            def states() -> dict[str, CameraState]:
                return {c: h.state for c, h in head.call(sup.all_health).items()}

            def all_online() -> bool:
                s = states()
                return len(s) == len(ids) and all(v is CameraState.ONLINE for v in s.values())

            def node_of(shard: str) -> str:
                return str(ray.get(ray.get_actor(shard).node.remote(), timeout=5))

            def visits() -> list[int]:
                with engine.connect() as conn:
                    rows = conn.execute(select(EventRow.start).where(EventRow.camera_id == SCENE)).scalars().all()
                return sorted(visit_of(s.timestamp()) for s in rows)

            online_s = wait_for(all_online, 120, "all cameras online")
            wait_for(lambda: len(visits()) >= 2, 30, "visits stored")
            shards = sorted({sup.shard_of(c) or "" for c in ids} - {""})
            by_node: dict[str, list[str]] = {}
            for shard in shards:
                by_node.setdefault(node_of(shard), []).append(shard)
            scene_node = node_of(sup.shard_of(SCENE) or "")
            victim = max((n for n in by_node if n != scene_node), key=lambda n: len(by_node[n]))
            moved = [c for c in ids if sup.shard_of(c) in by_node[victim]]
            node = next(n for n in nodes if n.node_id == victim)
            killed = time.monotonic()
            cluster.remove_node(node, allow_graceful=False)  # SIGKILL, reaped

            def back() -> bool:
                try:
                    reports = [(node_of(s), ray.get(ray.get_actor(s).health.remote(), timeout=5))
                               for s in by_node[victim]]  # fmt: skip
                except Exception:
                    return False
                up = {h.camera_id for _n, r in reports for h in r.cameras if h.state is CameraState.ONLINE}
                return all(n != victim for n, _r in reports) and set(moved) <= up

            wait_for(back, 120, "the killed node's cameras back", poll_s=0.05)
            recovery_s = time.monotonic() - killed
            time.sleep(8.0)  # visits after the recovery too
            stored = visits()
            lost = len(set(range(stored[0], stored[-1] + 1)) - set(stored))
            head.run(sup.shutdown_shards())
            head.run(sup.stop())
        return {
            "settings": kind, "cameras": len(ids), "shards": len(shards), "online_s": round(online_s, 1),
            "moved_cameras": len(moved), "recovery_s": round(recovery_s, 1), "visits": len(stored), "lost": lost,
            "duplicated": len(stored) - len(set(stored)),
        }  # fmt: skip
    finally:
        head.close()
        ray.shutdown()
        cluster.shutdown()
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=60)
    parser.add_argument("--only", choices=sorted(SETTINGS), help="run one setting only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pg_url = os.environ.get("SHOPWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    work = Path(tempfile.mkdtemp(prefix="swfail-", dir="/tmp"))
    try:
        runs = [run(kind, args.cameras, pg_url, work) for kind in ([args.only] if args.only else ["default", "fast"])]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps({**runs[-1], "runs": runs}))
        return 0
    cols = ["settings", "cameras", "shards", "online_s", "moved_cameras", "recovery_s", "visits", "lost", "duplicated"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in runs:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
