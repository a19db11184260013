"""One person detector per node: a process that loads the model once and answers every worker of the node.

Workers keep motion, tracking and rules per camera (cheap, and next to the frames they judge); the frames their
motion gating sends for a person check come here, one request per worker round, through
``models.detector_client.NodeDetectorClient`` (a connection per worker on a Unix socket in a private folder, with
a random key). ``DetectorServer`` puts every frame of every worker into ONE bounded queue (``detect.queue_frames``)
and runs the model on batches of up to ``detect.batch_size`` frames taken across cameras and workers, then answers
each request once all its frames are done. A frame that finds the queue full is answered ``None`` at once and
counted (the worker's health ``detection.dropped``, metric ``shopwatch_detector_dropped_total``): nothing ever
waits on a full queue, and readers never wait on detection at all.

``DetectorNode`` is the composition root's handle: it spawns the process, restarts it when it dies (0.2 s, doubling
while it keeps dying, 10 s at most; workers run on motion meanwhile and say so in health) and stops it with the
service. The process also exits when its control pipe closes (the service died).

On Ray, ``cluster/detector_actor.py`` hosts a ``DetectorNode`` in a detector actor on every node that has shards,
and the shards of the node reach it through the same client (``cluster/detector_lookup.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Sequence
from functools import partial
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, Listener
from multiprocessing.context import SpawnProcess
from pathlib import Path

from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.detections import Detections
from shopwatch.core.frame import Rgb
from shopwatch.core.logging import LIBRARY_LOG_LEVEL, configure_logging
from shopwatch.core.process_tuning import set_process_name
from shopwatch.models.detector import PersonDetector, YoloDetector
from shopwatch.models.detector_client import DetectReply, DetectRequest, NodeDetectorClient

log = logging.getLogger(__name__)

DetectorFactory = Callable[[], PersonDetector]  # must pickle (top-level callable or a partial of one)

RESTART_DELAY_S = 0.2
RESTART_DELAY_MAX_S = 10.0
STABLE_AFTER_S = 30.0
TAKE_WAIT_S = 0.2  # the inference loop looks at its stop flag this often when idle


class _Peer:
    """A worker's connection; replies may come from the inference thread and the reader thread at once."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, reply: DetectReply) -> None:
        with self._lock:
            try:
                self.conn.send(reply)
            except (OSError, ValueError):  # the worker went away (restarting): nobody waits for this answer
                log.info("a worker left before its answer")


class _Pending:
    """A request whose frames are queued; answered when the last of them is done."""

    def __init__(self, peer: _Peer, request_id: int, size: int) -> None:
        self.peer = peer
        self.request_id = request_id
        self.results: list[Detections | None] = [None] * size
        self.left = size
        self._lock = threading.Lock()

    def done(self, index: int, people: Detections | None) -> None:
        with self._lock:
            self.results[index] = people
            self.left -= 1
            finished = self.left == 0
        if finished:
            self.peer.send(DetectReply(self.request_id, tuple(self.results)))


class DetectorServer:
    """The queue and the batching, without the process around them (tests drive it directly)."""

    def __init__(self, detector: PersonDetector, batch_size: int, queue_frames: int) -> None:
        self._detector = detector
        self._batch = batch_size
        self._queue: queue.Queue[tuple[_Pending, int, Rgb]] = queue.Queue(queue_frames)
        self._count_lock = threading.Lock()
        self.dropped = 0  # frames answered None: the queue was full
        self.detected = 0  # frames the model ran on
        self.batches = 0

    def take(self, peer: _Peer, request: DetectRequest) -> None:
        """Queue the request's frames (from a connection's reader thread); the ones that do not fit are dropped."""
        pending = _Pending(peer, request.request_id, len(request.images))
        if not request.images:
            peer.send(DetectReply(request.request_id, ()))
            return
        for index, image in enumerate(request.images):
            try:
                self._queue.put_nowait((pending, index, image))
            except queue.Full:
                with self._count_lock:
                    self.dropped += 1
                pending.done(index, None)

    def run_batch(self, wait_s: float) -> int:
        """Run the model once on up to ``batch_size`` queued frames (waiting up to ``wait_s`` for the first one);
        returns how many frames it ran on."""
        try:
            batch = [self._queue.get(timeout=wait_s)]
        except queue.Empty:
            return 0
        while len(batch) < self._batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        results: Sequence[Detections | None]
        try:
            results = self._detector.detect([image for _, _, image in batch])
        except Exception:  # task boundary: a frame the model chokes on must not stop the node's detection
            log.exception("person detection failed on a batch of %d frames; answered as dropped", len(batch))
            with self._count_lock:
                self.dropped += len(batch)
            results = [None] * len(batch)
        else:
            self.detected += len(batch)
            self.batches += 1
        for (pending, index, _), people in zip(batch, results, strict=True):
            pending.done(index, people)
        return len(batch)


def _serve_peer(server: DetectorServer, conn: Connection) -> None:
    peer = _Peer(conn)
    try:
        while True:
            message = conn.recv()
            if isinstance(message, DetectRequest):
                server.take(peer, message)
            else:
                log.error("unexpected message %r from a worker", type(message).__name__)
    except (EOFError, OSError):
        pass  # the worker closed its end (restarting or stopping)
    finally:
        conn.close()


def _accept(server: DetectorServer, listener: Listener) -> None:
    while True:
        try:
            conn = listener.accept()
        except AuthenticationError:
            log.warning("a connection to the detector without the node's key was refused")
            continue
        except OSError:
            return  # the listener closed: stopping
        threading.Thread(target=_serve_peer, args=(server, conn), name="detector-peer", daemon=True).start()


def _watch_control(control: Connection, stop: threading.Event, loading: threading.Event) -> None:
    with contextlib.suppress(EOFError, OSError):
        control.recv()  # anything, or EOF when the service went away
    stop.set()
    if loading.is_set():
        os._exit(0)  # still loading the model (seconds): nothing to finish, no one to answer


def detector_main(
    address: str,
    authkey: bytes,
    factory: DetectorFactory,
    settings: DetectSettings,
    control: Connection,
    log_level: str,
    library_log_level: str = LIBRARY_LOG_LEVEL,
) -> None:
    """Entry point of the node's detector process: load the model, then listen and answer until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the service's; it stops this process in order
    set_process_name("sw-detector")
    configure_logging(log_level, process_name="detector", libraries=library_log_level)
    stop, loading = threading.Event(), threading.Event()
    loading.set()
    threading.Thread(target=_watch_control, args=(control, stop, loading), name="control", daemon=True).start()
    detector = factory()  # a model that cannot load raises here: the process dies and the node says why
    loading.clear()
    server = DetectorServer(detector, settings.batch_size, settings.queue_frames)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(address)  # left by a killed predecessor
    listener = Listener(address, family="AF_UNIX", authkey=authkey)  # listening only once the model answers
    threading.Thread(target=_accept, args=(server, listener), name="accept", daemon=True).start()
    log.info(
        "node detector ready (pid %d, batch %d, queue %d)",
        os.getpid(), settings.batch_size, settings.queue_frames
    )
    try:
        while not stop.is_set():
            server.run_batch(TAKE_WAIT_S)
    finally:
        listener.close()
        log.info("node detector stopped: %d frames detected, %d dropped", server.detected, server.dropped)


class DetectorNode:
    """The node's detector process, supervised. ``client()`` is what each worker's detection is given."""

    def __init__(
        self,
        settings: DetectSettings,
        *,
        factory: DetectorFactory | None = None,
        log_level: str = "info",
        library_log_level: str = LIBRARY_LOG_LEVEL,
    ) -> None:
        """``factory`` builds the detector inside the process (default: the configured model, ``settings.model``)."""
        if factory is None:
            if not settings.model:
                raise ValueError("a node detector needs a person model (detect.model)")
            factory = partial(YoloDetector, settings, settings.model)
        self._settings = settings
        self._factory = factory
        self._log_level = log_level
        self._library_log_level = library_log_level
        self._ctx = multiprocessing.get_context("spawn")
        self._dir = Path(tempfile.mkdtemp(prefix="shopwatch-detector-"))  # 0700: only this user reaches the socket
        self.address = str(self._dir / "detector.sock")
        self._authkey = os.urandom(32)
        self._process: SpawnProcess | None = None
        self._control: Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._restart: asyncio.TimerHandle | None = None
        self._delay_s = RESTART_DELAY_S
        self._started_at = 0.0
        self._stopping = False
        self.restarts = 0

    def client(self) -> NodeDetectorClient:
        return NodeDetectorClient(self.address, self._authkey, self._settings.reply_timeout_s)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._spawn()

    def _spawn(self) -> None:
        assert self._loop is not None
        self._restart = None
        receive, send = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=detector_main,
            args=(self.address, self._authkey, self._factory, self._settings, receive, self._log_level,
                  self._library_log_level),
            name="shopwatch-detector",
            daemon=True,
        )  # fmt: skip
        process.start()
        receive.close()
        self._process, self._control, self._started_at = process, send, self._loop.time()
        self._loop.add_reader(process.sentinel, self._on_exit)
        log.info("node detector started (pid %s)", process.pid)

    def _on_exit(self) -> None:
        assert self._loop is not None and self._process is not None
        process, self._process = self._process, None
        self._loop.remove_reader(process.sentinel)
        process.join(timeout=0)
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._stopping:
            return
        lived = self._loop.time() - self._started_at
        self._delay_s = RESTART_DELAY_S if lived >= STABLE_AFTER_S else min(self._delay_s * 2, RESTART_DELAY_MAX_S)
        self.restarts += 1
        log.error(
            "node detector exited (code %s); person cameras run on motion; restarting in %.1f s",
            process.exitcode,
            self._delay_s,
        )
        self._restart = self._loop.call_later(self._delay_s, self._spawn)

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Close the control pipe (the process finishes its batch and leaves), kill it if it does not."""
        self._stopping = True
        if self._restart is not None:
            self._restart.cancel()
        process = self._process
        if self._control is not None:
            self._control.close()
            self._control = None
        if process is not None:
            deadline = asyncio.get_running_loop().time() + timeout_s
            while process.is_alive() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            if process.is_alive():
                log.warning("node detector did not stop within %.1f s; killed", timeout_s)
                process.kill()
            process.join(timeout=1.0)
            if self._process is process and self._loop is not None:
                self._loop.remove_reader(process.sentinel)
                self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)
