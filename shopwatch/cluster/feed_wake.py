"""Live consoles wake when the incidents service publishes a new feed number; events that shards stored
themselves never pass through it. ``FeedWake.check`` (the head calls it after each health pull) reads the
highest feed number and publishes it when it grew: one primary-key read a second."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from shopwatch.incidents.feed import LiveFeed
from shopwatch.store.incident_tables import FeedRow

log = logging.getLogger(__name__)


class FeedWake:
    def __init__(self, engine: Engine, feed: LiveFeed) -> None:
        self._engine = engine
        self._feed = feed

    def _last_seq(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.max(FeedRow.seq))).scalar_one_or_none() or 0)

    async def check(self) -> bool:
        """True when the feed grew (and was published)."""
        try:
            seq = await asyncio.to_thread(self._last_seq)
        except SQLAlchemyError as exc:
            log.warning("cannot read the feed's last number: %s", type(exc).__name__)
            return False
        if seq > self._feed.last_seq:
            self._feed.publish(seq)
            return True
        return False
