"""The camera wall's still pictures: one JPEG per camera kept for ``max_age_s``, shared by every console.

A wall of 36 tiles on ten operators' screens asks for the same cameras again and again; each ask of the fleet
crosses to the ingest worker and encodes a JPEG there. Here the first ask within ``max_age_s`` goes to the fleet
and every other one (concurrent ones included: they wait for the same fetch) gets the kept picture, with an
``ETag`` (a hash of its bytes) so a browser that has it already gets ``304`` and no body. Bounded: at most
``max_entries`` cameras kept, the least recently asked dropped first. Nothing is decoded for the wall: the fleet
answers from the ingest's latest decoded keyframe (``Fleet.snapshot_jpeg``)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

DEFAULT_MAX_AGE_S = 2.0
DEFAULT_MAX_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class Still:
    jpeg: bytes
    etag: str  # quoted, as the header carries it
    taken_at: float  # monotonic


class StillCache:
    def __init__(
        self,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age_s = max_age_s
        self.max_entries = max_entries
        self._clock = clock
        self._kept: OrderedDict[str, Still] = OrderedDict()
        self._fetching: dict[str, asyncio.Future[Still]] = {}
        self.fetches = 0  # asks that went to the fleet (for tests and metrics)

    async def get(self, camera_id: str, fetch: Callable[[], Awaitable[bytes]]) -> Still:
        """The camera's kept still if young enough, else a new one from ``fetch`` (one fetch per camera at once;
        its error reaches every waiter and nothing is kept)."""
        kept = self._kept.get(camera_id)
        if kept is not None and self._clock() - kept.taken_at < self.max_age_s:
            self._kept.move_to_end(camera_id)
            return kept
        running = self._fetching.get(camera_id)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Still] = asyncio.get_running_loop().create_future()
        self._fetching[camera_id] = future
        try:
            self.fetches += 1
            jpeg = await fetch()
            still = Still(jpeg, '"' + hashlib.blake2b(jpeg, digest_size=12).hexdigest() + '"', self._clock())
            self._keep(camera_id, still)
            future.set_result(still)
            return still
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._fetching[camera_id]

    def _keep(self, camera_id: str, still: Still) -> None:
        self._kept[camera_id] = still
        self._kept.move_to_end(camera_id)
        while len(self._kept) > self.max_entries:
            self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)
