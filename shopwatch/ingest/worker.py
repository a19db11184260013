"""A worker process: hosts the readers of up to ~100 cameras (one thread each) and talks to the supervisor.

It reports health every ``health_interval_s``, applies camera-set changes without touching unchanged readers,
answers snapshot requests from a small thread pool (so one slow camera never delays another's answer), and exits
when its pipe to the supervisor closes (the supervisor died) or on ``Shutdown``."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol

from shopwatch.core.config import CameraConfig, Ingest, Transport
from shopwatch.core.consumer import CameraFeed, ConsumerFactory, FrameConsumer
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.events import Event
from shopwatch.core.logging import LIBRARY_LOG_LEVEL, configure_logging
from shopwatch.core.process_tuning import set_process_name, tune_malloc
from shopwatch.core.redact import RedactingFilter, redact_text
from shopwatch.ingest.live_feed import LivePackets, LiveTap, WatchLive
from shopwatch.ingest.messages import (
    ActivityRequest,
    HealthReport,
    Published,
    SetCameras,
    Shutdown,
    SnapshotReply,
    SnapshotRequest,
    ToSupervisor,
)
from shopwatch.ingest.native_reader import NativeCameraReader, NativeLoop
from shopwatch.ingest.pacing import OpenPacer, PaceCore
from shopwatch.ingest.postroll import CutClip, PostRollClips
from shopwatch.ingest.reader import CameraReader, stop_readers

log = logging.getLogger(__name__)

SNAPSHOT_THREADS = 4


class WorkerLink(Protocol):
    """The worker's way to its supervisor: a ``multiprocessing`` pipe here; a Ray shard (``cluster/shard.py``)
    hosts a worker behind an object that only takes what it sends (it calls ``handle`` itself)."""

    def send(self, obj: object) -> None: ...

    def poll(self, timeout: float | None = ...) -> bool: ...

    def recv(self) -> object: ...


class Worker:
    def __init__(
        self,
        index: int,
        conn: WorkerLink,
        settings: Ingest,
        redactor: RedactingFilter | None = None,
        consumer: ConsumerFactory | None = None,
        clips_dir: Path | None = None,
    ) -> None:
        """Detection's events reach the supervisor through ``clips`` (post-roll, then the clip from the ring
        under ``clips_dir``; none: no clips)."""
        self.index = index
        self._redactor = redactor
        self._conn = conn
        self._settings = settings
        self._readers: dict[str, CameraReader] = {}
        self._pace = PaceCore(settings.open_rate, settings.opens_in_flight)  # all its readers' opens
        self._pacer = OpenPacer(self._pace)
        self._native: NativeLoop | None = None
        self._configs: dict[str, CameraConfig] = {}
        self._send_lock = threading.Lock()
        self._snapshots = ThreadPoolExecutor(SNAPSHOT_THREADS, thread_name_prefix=f"snap-{index}")
        self.clips = PostRollClips(clips_dir, settings.activity.postroll_s, self._clip_source, self)
        self._consumer: FrameConsumer | None = None if consumer is None else consumer(self.clips)
        self.live = LiveTap(self._readers, self._send_live)

    def submit(self, event: Event) -> bool:
        """Send an event (its clip cut) to the supervisor; any thread. False: the pipe is gone (worker exiting)."""
        try:
            self.send(Published(self.index, event))
        except (OSError, ValueError) as exc:  # a closed pipe: BrokenPipeError, or ValueError once closed here
            log.error("worker %d: event %s on %s lost: %s", self.index, event.id, event.camera_id, exc)
            return False
        return True

    def _clip_source(self, camera_id: str) -> CutClip | None:
        reader = self._readers.get(camera_id)  # a dict read: safe from the detection thread
        return None if reader is None else reader.cut_clip

    def _send_live(self, packets: LivePackets) -> None:
        try:
            self.send(packets)
        except (OSError, ValueError):  # the pipe is gone: the worker is exiting
            log.debug("worker %d: live packets of %s not sent", self.index, packets.camera_id)

    def send(self, message: ToSupervisor) -> None:
        with self._send_lock:
            self._conn.send(message)

    def apply(self, cameras: tuple[CameraConfig, ...]) -> None:
        wanted = {cam.id: cam for cam in cameras}
        for camera_id in list(self._readers):
            if camera_id not in wanted:
                self._readers.pop(camera_id).stop(join_timeout_s=0.0)
                self._configs.pop(camera_id)
        for camera_id, cam in wanted.items():
            if self._redactor is not None:
                for secret in cam.secrets():
                    self._redactor.add_secret(secret)
            reader = self._readers.get(camera_id)
            if reader is None:
                reader = self._new_reader(cam)
                self._readers[camera_id] = reader
                reader.start()
            elif self._configs[camera_id].model_copy(update={"detection": cam.detection}) != cam:
                reader.update_config(cam)  # the stream's part changed: reconnect (detection's alone goes below)
            self._configs[camera_id] = cam
        if self._consumer is not None:
            self._consumer.set_feeds(
                {
                    camera_id: CameraFeed(self._configs[camera_id], reader.frames)
                    for camera_id, reader in self._readers.items()
                }
            )
        log.info("worker %d: %d cameras", self.index, len(self._readers))

    def _new_reader(self, camera: CameraConfig) -> CameraReader:
        """``ingest.reader``: the native reader for H.264 over TCP, FFmpeg's for a camera on UDP (or by choice)."""
        settings = self._settings
        if settings.reader != "native" or (camera.transport or settings.transport) is not Transport.TCP:
            return CameraReader(camera, settings, pacer=self._pacer)
        if self._native is None:  # one loop for all the worker's native readers, paced like the others' opens
            self._native = NativeLoop(self._pace, name=f"native-{self.index}")
        return NativeCameraReader(camera, settings, self._native)

    def report_health(self) -> None:
        detection = {} if self._consumer is None else self._consumer.health()
        healths = tuple(
            replace(reader.health(), detection=detection.get(camera_id)) for camera_id, reader in self._readers.items()
        )
        self.send(HealthReport(self.index, healths))

    def _snapshot(self, request: SnapshotRequest) -> None:
        reader = self._readers.get(request.camera_id)
        if reader is None:
            self.send(SnapshotReply(request.request_id, None, f"camera {request.camera_id!r} is not on this worker"))
            return
        try:
            jpeg = reader.snapshot_jpeg(request.timeout_s)
        except SnapshotUnavailable as exc:
            secrets = self._configs[request.camera_id].secrets()
            self.send(SnapshotReply(request.request_id, None, redact_text(str(exc), secrets)))
        except Exception:  # task boundary: never leave the requester waiting
            log.exception("snapshot of %s failed", request.camera_id)
            self.send(SnapshotReply(request.request_id, None, "internal error while encoding the snapshot"))
        else:
            self.send(SnapshotReply(request.request_id, jpeg, None))

    def handle(self, message: object) -> bool:
        """Handle one message; False means stop."""
        if isinstance(message, SetCameras):
            self.apply(message.cameras)
        elif isinstance(message, SnapshotRequest):
            self._snapshots.submit(self._snapshot, message)
        elif isinstance(message, ActivityRequest):
            reader = self._readers.get(message.camera_id)
            if reader is not None:
                reader.request_activity(message.reason)
        elif isinstance(message, WatchLive):
            self.live.watch(message)
        elif isinstance(message, Shutdown):
            return False
        else:
            log.error("worker %d: unexpected message %r", self.index, type(message).__name__)
        return True

    def run(self) -> None:
        next_report = time.monotonic()
        try:
            while True:
                wait = max(0.0, next_report - time.monotonic())
                if self._conn.poll(wait):
                    if not self.handle(self._conn.recv()):
                        break
                if time.monotonic() >= next_report:
                    self.report_health()
                    next_report = time.monotonic() + self._settings.health_interval_s
        except (EOFError, BrokenPipeError, ConnectionResetError):
            log.warning("worker %d: supervisor went away; stopping", self.index)
        finally:
            self.close()

    def close(self) -> None:
        if self._consumer is not None:
            try:
                self._consumer.close()
            except Exception:  # task boundary: the consumer is the composition root's code; the readers must still stop
                log.exception("worker %d: frame consumer failed to close", self.index)
        self.live.close()
        self.clips.close()  # events still in their post-roll leave now, with what the rings have
        # Join the reader threads before the interpreter exits: a thread still inside PyAV at exit can crash
        # the process. A reader blocked in a read leaves within the read timeout.
        stuck = stop_readers(list(self._readers.values()), timeout_s=self._settings.read_timeout_s + 1.0)
        if stuck:
            log.warning("worker %d: %d readers still blocked at exit: %s", self.index, len(stuck), ", ".join(stuck))
        if self._native is not None:
            self._native.stop()
        self._snapshots.shutdown(wait=False, cancel_futures=True)


def leave_sigint_to_the_supervisor() -> None:
    """Ignore SIGINT (Ctrl-C reaches every process of the terminal's group): the supervisor's process takes it and
    stops the workers in order with ``Shutdown``. (The supervisor starts workers with SIGINT ignored already;
    this covers one started from a thread other than the main one.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_main(
    index: int,
    conn: Connection,
    settings: Ingest,
    log_level: str,
    consumer: ConsumerFactory | None = None,
    clips_dir: Path | None = None,
    library_log_level: str = LIBRARY_LOG_LEVEL,
) -> None:
    """Entry point of a worker process (spawned, so nothing is inherited but these arguments)."""
    leave_sigint_to_the_supervisor()
    set_process_name(f"sw-worker-{index}")  # for ps/top: every spawned process's command line is the same
    tune_malloc()  # before the reader threads: decoders' buffers go back to the system (core/process_tuning.py)
    if settings.worker_nice:
        os.nice(settings.worker_nice)  # ingest.worker_nice: the main process (API, alerts) first
    redactor = configure_logging(log_level, process_name=f"worker-{index}", libraries=library_log_level)
    try:
        worker = Worker(index, conn, settings, redactor, consumer, clips_dir)
    except Exception:  # e.g. a detection model that cannot load: say why before the process dies
        log.exception("worker %d could not start", index)
        raise
    worker.run()
