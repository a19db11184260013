"""The worker's last step on the event path: an event from detection waits for its post-roll, then leaves with a
clip cut from its camera's packet ring.

Detection (``models``) only turns frames into events and hands them here (an ``EventSink``); this worker-side
stage owns the ring, so clips are cut where the packets are and nothing calls back up into ingest. One thread per
worker waits for the earliest due event; cutting (disk I/O) happens on it, never on the detection thread. An event
whose camera has no ring (or when clips are off) goes on at once; one whose ring no longer reaches back goes on
without a clip, logged.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.events import Event, EventSink
from shopwatch.ingest.clip import ClipError, ClipInfo

log = logging.getLogger(__name__)

# A clip reaches back this far before the event's start (to the keyframe before that).
CLIP_PREROLL_S = 2.0
MAX_WAIT_S = 0.5  # the thread looks again at least this often (a wall clock that jumps is noticed)

# Cut an MP4 clip of one camera's ring from the keyframe at or before ``start`` to ``end`` (wall times) into
# ``path``; raises ``ClipError`` when the ring no longer reaches back that far or holds no keyframe.
CutClip = Callable[[float, float, Path], ClipInfo]


@dataclass(order=True)
class _Waiting:
    due: float
    seq: int
    event: Event = field(compare=False)
    cut: CutClip = field(compare=False)


class PostRollClips:
    """An ``EventSink`` for the worker's detection: adds each event's clip, then hands it to ``forward``."""

    def __init__(
        self,
        clips_dir: Path | None,
        postroll_s: float,
        clip_source: Callable[[str], CutClip | None],
        forward: EventSink,
        *,
        clock: Clock | None = None,
        thread: bool = True,
    ) -> None:
        """``clip_source`` gives a camera's clip cutter (None: the camera has no ring on this worker);
        ``thread=False`` leaves calling ``publish_due`` to the caller (tests with a manual clock)."""
        self._clips_dir = clips_dir
        self._postroll_s = postroll_s
        self._clip_source = clip_source
        self._forward = forward
        self._clock = clock or SystemClock()
        self._waiting: list[_Waiting] = []
        self._seq = itertools.count()
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="clips", daemon=True) if thread else None
        if self._thread is not None:
            self._thread.start()

    def submit(self, event: Event) -> bool:
        cut = None if self._clips_dir is None else self._clip_source(event.camera_id)
        if cut is None:
            return self._forward.submit(event)
        due = max(event.end + self._postroll_s, self._clock.wall())
        with self._changed:
            closed = self._closed
            if not closed:
                heapq.heappush(self._waiting, _Waiting(due, next(self._seq), event, cut))
                self._changed.notify()
        if closed:  # the worker is going down: no thread is left to wait; cut what the ring has
            return self._forward.submit(self._with_clip(event, cut, self._clock.wall()))
        return True

    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def publish_due(self) -> float | None:
        """Cut and forward every event whose post-roll has come; the seconds until the next one is due (None:
        nothing waits)."""
        now = self._clock.wall()
        with self._changed:
            due = []
            while self._waiting and self._waiting[0].due <= now:
                due.append(heapq.heappop(self._waiting))
            next_due = self._waiting[0].due - now if self._waiting else None
        for waiting in due:
            self._forward.submit(self._with_clip(waiting.event, waiting.cut, waiting.due))
        return next_due

    def close(self) -> None:
        """Stop the thread; events still waiting for their post-roll are forwarded now, with what the ring has."""
        with self._changed:
            self._closed = True
            waiting, self._waiting = sorted(self._waiting), []
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        now = self._clock.wall()
        for w in waiting:
            self._forward.submit(self._with_clip(w.event, w.cut, now))

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._closed:
                    return
                wait = self._waiting[0].due - self._clock.wall() if self._waiting else MAX_WAIT_S
                if wait > 0:
                    self._changed.wait(min(wait, MAX_WAIT_S))
                    continue
            try:
                self.publish_due()
            except Exception:  # task boundary: one failed hand-over must not end clips for the whole worker
                log.exception("forwarding events with their clips failed")

    def _with_clip(self, event: Event, cut: CutClip, until: float) -> Event:
        assert self._clips_dir is not None
        path = self._clips_dir / event.camera_id / f"{event.id}.mp4"
        try:
            info = cut(event.start - CLIP_PREROLL_S, until, path)
        except ClipError as exc:
            log.warning("camera %s: no clip for event %s: %s", event.camera_id, event.id, exc)
            return event
        return replace(event, clip_path=str(info.path))
