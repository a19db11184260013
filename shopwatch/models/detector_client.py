"""A worker's door to its node's detector process: ``NodeDetectorClient`` is a ``PersonDetector`` that sends a
round's frames (all cameras of the worker that need a person check) in one request and waits for the boxes.

It imports nothing of the detection stack (no torch, ultralytics or OpenVINO): that is what keeps a worker process
light. It pickles into the worker (only its address, key and timeouts; the connection is opened there, lazily).
Failures never block a reader and never raise anything but ``DetectorUnavailable``: not reachable (starting,
restarting), no answer within ``reply_timeout_s`` (hung; the connection is dropped so no late answer is taken
for a later request), the connection closed (killed). After a failure the next attempt to connect waits
``RETRY_S``; meanwhile each call raises at once, and the pipeline runs the person cameras on motion."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection
from typing import Any

from shopwatch.core.detections import Detections
from shopwatch.core.frame import Rgb
from shopwatch.models.detector import DetectorUnavailable

RETRY_S = 1.0  # after a failure, the next connection attempt waits this long (calls meanwhile raise at once)


@dataclass(frozen=True, slots=True)
class DetectRequest:
    request_id: int
    images: tuple[Rgb, ...]


@dataclass(frozen=True, slots=True)
class DetectReply:
    request_id: int
    results: tuple[Detections | None, ...]  # per image, in order; None: dropped unseen (the queue was full)


class NodeDetectorClient:
    def __init__(
        self, address: str, authkey: bytes, reply_timeout_s: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.address = address
        self._authkey = authkey
        self._timeout_s = reply_timeout_s
        self._monotonic = monotonic
        self._conn: Connection | None = None
        self._retry_at = float("-inf")
        self._why = "the node detector has not answered yet"
        self._ids = itertools.count(1)

    def __getstate__(self) -> dict[str, Any]:
        return {"address": self.address, "authkey": self._authkey, "timeout_s": self._timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["address"], state["authkey"], state["timeout_s"])  # type: ignore[misc]

    def detect(self, images: Sequence[Rgb]) -> list[Detections | None]:
        if not images:
            return []
        conn = self._connected()
        request_id = next(self._ids)
        try:
            conn.send(DetectRequest(request_id, tuple(images)))
            if not conn.poll(self._timeout_s):
                raise self._failed(f"the node detector did not answer within {self._timeout_s:g} s")
            reply = conn.recv()
        except (EOFError, OSError) as exc:
            raise self._failed(f"the node detector went away ({type(exc).__name__})") from None
        if not isinstance(reply, DetectReply) or reply.request_id != request_id or len(reply.results) != len(images):
            raise self._failed("the node detector answered something else than this request")
        return list(reply.results)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connected(self) -> Connection:
        if self._conn is not None:
            return self._conn
        if self._monotonic() < self._retry_at:
            raise DetectorUnavailable(self._why)
        try:
            self._conn = Client(self.address, family="AF_UNIX", authkey=self._authkey)
        except (OSError, EOFError, AuthenticationError) as exc:  # not listening (yet): starting or restarting
            raise self._failed(f"the node detector is not reachable ({type(exc).__name__})") from None
        return self._conn

    def _failed(self, why: str) -> DetectorUnavailable:
        self.close()
        self._why = why
        self._retry_at = self._monotonic() + RETRY_S
        return DetectorUnavailable(why)
