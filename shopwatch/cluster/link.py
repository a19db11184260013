"""What a worker hosted in a shard sends, taken where it belongs: health kept for the head to pull, events
handed to the shard's event writer, snapshot replies to the call waiting for them, a watched camera's live
pictures to the shard's live streams (``cluster/shard_live.py``)."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future

from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.events import EventSink
from shopwatch.core.health import CameraHealth
from shopwatch.ingest.live_feed import LivePackets
from shopwatch.ingest.messages import HealthReport, Published, SnapshotReply, SnapshotRequest
from shopwatch.ingest.worker import Worker

log = logging.getLogger(__name__)


class ShardLink:
    """A ``WorkerLink`` that never receives: the shard calls the worker itself."""

    def __init__(self, live: Callable[[LivePackets], None] | None = None) -> None:
        """``live``: where a watched camera's pictures go (never blocks: the worker's live tap calls it)."""
        self.events: EventSink | None = None
        self._live = live
        self._lock = threading.Lock()
        self._healths: dict[str, CameraHealth] = {}
        self._pending: dict[int, Future[SnapshotReply]] = {}
        self._ids = itertools.count(1)

    def send(self, obj: object) -> None:
        if isinstance(obj, HealthReport):
            with self._lock:
                self._healths.update({h.camera_id: h for h in obj.healths})
        elif isinstance(obj, Published):
            if self.events is None or not self.events.submit(obj.event):
                log.error("event %s on %s was not taken", obj.event.id, obj.event.camera_id)
        elif isinstance(obj, SnapshotReply):
            with self._lock:
                future = self._pending.pop(obj.request_id, None)
            if future is not None:
                future.set_result(obj)
        elif isinstance(obj, LivePackets):
            if self._live is not None:
                self._live(obj)

    def poll(self, timeout: float | None = None) -> bool:  # noqa: ARG002 - the WorkerLink protocol
        return False

    def recv(self) -> object:
        raise EOFError("a shard's worker receives nothing over its link")

    def healths(self) -> tuple[CameraHealth, ...]:
        with self._lock:
            return tuple(self._healths.values())

    def keep_only(self, cameras: Mapping[str, object]) -> None:
        with self._lock:
            for camera_id in set(self._healths) - set(cameras):
                del self._healths[camera_id]

    def snapshot(self, worker: Worker, camera_id: str, timeout_s: float) -> bytes:
        """Blocking: a JPEG of the camera's newest frame, or ``SnapshotUnavailable`` saying why."""
        request_id = next(self._ids)
        future: Future[SnapshotReply] = Future()
        with self._lock:
            self._pending[request_id] = future
        worker.handle(SnapshotRequest(request_id, camera_id, timeout_s))
        try:
            reply = future.result(timeout_s + 1.0)
        except TimeoutError:
            raise SnapshotUnavailable(f"no snapshot from camera {camera_id!r} within {timeout_s:.1f} s") from None
        finally:
            with self._lock:
                self._pending.pop(request_id, None)
        if reply.jpeg is None:
            raise SnapshotUnavailable(reply.error or "no frame")
        return reply.jpeg
