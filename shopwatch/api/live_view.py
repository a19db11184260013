"""Live view as MJPEG (``multipart/x-mixed-replace``, what an ``<img>`` plays): the framing, the cap on views
streaming at once, and the frame pacing. The camera decodes at full rate while watched (an activity request,
renewed while the view lasts, as ONVIF motion would); each new decoded picture is sent once, at most ``fps``
a second, and an unchanged one again every ``REPEAT_S``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from shopwatch.api.services import Fleet
from shopwatch.core.errors import SnapshotUnavailable, Unavailable

log = logging.getLogger(__name__)

BOUNDARY = "frame"
MEDIA_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
ACTIVITY_RENEW_S = 1.0  # inside ingest.activity.quiet_s (at least 1 s, default 10 s): decoding never pauses
FRAME_TIMEOUT_S = 5.0  # one keyframe interval and decode, as for a snapshot
FRAME_GRACE_S = 1.0
# An unchanged picture is sent again after this long: a browser shows a part only once the next one starts,
# and a quiet connection may be cut by a proxy.
REPEAT_S = 1.0


DELIMITER = f"--{BOUNDARY}\r\n".encode()


def mjpeg_part(jpeg: bytes) -> bytes:
    """One picture and the delimiter after it: a browser shows a part once it sees the next delimiter, so it
    is sent with the part, not with the next one."""
    head = f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
    return head + jpeg + b"\r\n" + DELIMITER


@dataclass
class LiveSlots:
    """Views streaming now, against a cap (they cost a decode at full rate and a JPEG per frame)."""

    taken: int = 0

    def take(self, cap: int) -> bool:
        if self.taken >= cap:
            return False
        self.taken += 1
        return True

    def give_back(self) -> None:
        self.taken = max(0, self.taken - 1)


class LiveViewsBusy(Unavailable):
    """Every live view slot is taken; ``retry_after_s``: when to try again."""

    retry_after_s = 2.0


async def mjpeg_stream(
    fleet: Fleet, camera_id: str, *, fps: float, seconds: float, slots: LiveSlots, cap: int
) -> AsyncIterator[bytes]:
    """MJPEG parts: the first as soon as there is a picture (``KeyError``: no such camera,
    ``SnapshotUnavailable``/``TimeoutError``: none in time, ``LiveViewsBusy``: no slot), then each new one
    until ``seconds`` have passed, the camera is removed or the client goes (the server cancels us; a stream
    dropped unread is closed by asyncio's generator finalizer). The slot is held from the first step to the
    last. A camera that stops giving frames is waited for."""
    if not slots.take(cap):
        raise LiveViewsBusy(f"{slots.taken} live views are streaming (api.live_views); try again later")
    loop = asyncio.get_running_loop()
    try:
        end = loop.time() + seconds
        fleet.request_activity(camera_id, "live view")
        renew_at = loop.time() + ACTIVITY_RENEW_S
        async with asyncio.timeout(FRAME_TIMEOUT_S + FRAME_GRACE_S):  # a fleet that overruns its own timeout
            last = await fleet.snapshot_jpeg(camera_id, timeout_s=FRAME_TIMEOUT_S)
        sent_at = loop.time()
        yield DELIMITER + mjpeg_part(last)
        while (now := loop.time()) < end:
            await asyncio.sleep(min(1.0 / fps, end - now))
            if loop.time() >= renew_at:
                fleet.request_activity(camera_id, "live view")
                renew_at = loop.time() + ACTIVITY_RENEW_S
            try:
                async with asyncio.timeout(FRAME_TIMEOUT_S + FRAME_GRACE_S):
                    jpeg = await fleet.snapshot_jpeg(camera_id, timeout_s=FRAME_TIMEOUT_S)
            except KeyError:  # removed from the fleet
                return
            except (SnapshotUnavailable, TimeoutError) as exc:
                log.debug("live view of %s: %s", camera_id, exc or "no frame in time")
                continue
            if jpeg != last or loop.time() - sent_at >= REPEAT_S:
                last, sent_at = jpeg, loop.time()
                yield mjpeg_part(jpeg)
    finally:
        slots.give_back()


async def prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for part in rest:
        yield part
