"""A bounded local spool of events on their way to the database: a SQLite file of its own beside the shard.

Each event is one row (``seq`` in arrival order, the event as a JSON document), committed with
``synchronous=FULL`` so an append is on disk when ``append`` returns and survives a crash or a restart of the
process. ``head`` gives the oldest events for a replay in order; ``remove`` deletes those the database took.
Bounded: appending past ``capacity`` deletes the oldest rows and counts them (``dropped``, kept in the file, so
a restart does not forget what was lost). Not shared between processes: one spool file per writer.

Blocking; one connection per spool, used under a lock (the writer's thread and a health read may meet)."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from shopwatch.core.incident_records import Incident, NewDelivery, NewEvent, StoredEvent
from shopwatch.core.private_files import DIR_MODE, private_file

log = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, body TEXT "
    "NOT NULL)",
    "CREATE TABLE IF NOT EXISTS spool_state (id INTEGER PRIMARY KEY CHECK (id = 1), dropped INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO spool_state (id, dropped) VALUES (1, 0)",
)
_TIMES = {
    "start", "end", "detected_at", "stored_at", "escalate_at", "escalated_at", "updated_at", "created_at", "first_at",
    "last_at",
}


class EventSpool:
    def __init__(self, path: Path, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"expected a spool capacity of at least 1 event, found {capacity}")
        self.path = path
        self.capacity = capacity
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        private_file(path)  # events name cameras and carry alert payloads: the owner's only
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")  # a committed append is on disk (fsync), not just in the WAL
        for statement in _SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, items: Sequence[NewEvent]) -> int:
        """Add events after the others, in one fsynced transaction; returns how many of the oldest were dropped
        to stay within ``capacity``."""
        if not items:
            return 0
        rows = [(item.event.id, json.dumps(encode(item), ensure_ascii=False)) for item in items]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO spool (event_id, body) VALUES (?, ?)", rows)
                (count,) = self._db.execute("SELECT count(*) FROM spool").fetchone()
                over = max(0, int(count) - self.capacity)
                if over:
                    self._db.execute(
                        "DELETE FROM spool WHERE seq IN (SELECT seq FROM spool ORDER BY seq LIMIT ?)", (over,)
                    )
                    self._db.execute("UPDATE spool_state SET dropped = dropped + ? WHERE id = 1", (over,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return over

    def head(self, limit: int) -> list[tuple[int, NewEvent]]:
        """The oldest ``limit`` events with their spool numbers, oldest first. A row that does not read back as
        an event (the file was edited or damaged) is logged, deleted and counted as dropped."""
        with self._lock:
            rows = self._db.execute("SELECT seq, body FROM spool ORDER BY seq LIMIT ?", (limit,)).fetchall()
        out: list[tuple[int, NewEvent]] = []
        bad: list[int] = []
        for seq, body in rows:
            try:
                out.append((int(seq), decode(json.loads(body))))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("spool %s row %s: expected a spooled event, found %s: dropped", self.path, seq, exc)
                bad.append(int(seq))
        if bad:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("DELETE FROM spool WHERE seq = ?", [(s,) for s in bad])
                self._db.execute("UPDATE spool_state SET dropped = dropped + ? WHERE id = 1", (len(bad),))
                self._db.execute("COMMIT")
        return out

    def remove(self, seqs: Sequence[int]) -> None:
        """Forget events the database took (or refused for good)."""
        if not seqs:
            return
        with self._lock:
            self._db.executemany("DELETE FROM spool WHERE seq = ?", [(s,) for s in seqs])

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM spool").fetchone()[0])

    @property
    def dropped(self) -> int:
        """Events dropped, ever, to keep the spool within its capacity."""
        with self._lock:
            return int(self._db.execute("SELECT dropped FROM spool_state WHERE id = 1").fetchone()[0])


# -- the event as a JSON document --------------------------------------------------------------------------


def encode(item: NewEvent) -> dict[str, Any]:
    """``NewEvent`` as JSON values (times as ISO 8601 with their offset)."""
    return {
        "event": _plain(item.event),
        "deliveries": [_plain(d) for d in item.deliveries],
        "incident": None if item.incident is None else _plain(item.incident),
    }


def decode(doc: dict[str, Any]) -> NewEvent:
    incident = doc["incident"]
    return NewEvent(
        StoredEvent(**_timed(doc["event"], StoredEvent)),
        [NewDelivery(**_timed(d, NewDelivery)) for d in doc["deliveries"]],
        None if incident is None else Incident(**_timed(incident, Incident)),
    )


def _plain(record: Any) -> dict[str, Any]:
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _timed(doc: dict[str, Any], kind: type) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    if set(doc) != names:
        raise KeyError(f"fields {sorted(set(doc) ^ names)} of {kind.__name__}")
    return {k: datetime.fromisoformat(v) if k in _TIMES and v is not None else v for k, v in doc.items()}
