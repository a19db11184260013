"""Audit rows a crashed service left ``queued`` or ``active`` are marked ``interrupted`` when the talkback
service is built at the next start; ended rows stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shopwatch.core.talkback_records import Outcome, SourceKind, TalkSession
from shopwatch.store.db import create_engine_for, migrate
from shopwatch.store.talkback import AuditQuery, TalkbackRepository
from tests.api.fakes import FakeFleet
from tests.talkback.harness import DAYTIME_WALL, MemorySpeakers, build_service

BEFORE = datetime(2027, 1, 15, 7, 0, tzinfo=UTC)


def entry(entry_id: str, outcome: Outcome, **extra: object) -> TalkSession:
    return TalkSession(entry_id, BEFORE, "alice", "cam-0001", SourceKind.CLIP, outcome, clip_id="c1", **extra)  # type: ignore[arg-type]


async def test_rows_left_running_by_a_crash_are_interrupted_at_start(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'talk.db'}")
    migrate(engine)
    repo = TalkbackRepository(engine)
    repo.record(entry("talking", Outcome.ACTIVE, started_at=BEFORE, codec="PCMU", protocol="rtsp", packets=50))
    repo.record(entry("waiting", Outcome.QUEUED))
    done = entry("done", Outcome.COMPLETED, started_at=BEFORE, ended_at=BEFORE, played_s=2.0, packets=100)
    repo.record(done)

    service = build_service(FakeFleet([]), engine, tmp_path, access=MemorySpeakers().access())
    service.start()
    try:
        rows = {e.id: e for e in await service.audit_entries(AuditQuery())}
        interrupted = await service.audit_entries(AuditQuery(outcome=Outcome.INTERRUPTED))
    finally:
        await service.close()
    started_at = datetime.fromtimestamp(DAYTIME_WALL, UTC)
    assert sorted(e.id for e in interrupted) == ["talking", "waiting"]
    for entry_id in ("talking", "waiting"):
        row = rows[entry_id]
        assert row.ended_at == started_at and row.error is not None and "service stopped" in row.error
    assert (rows["talking"].codec, rows["talking"].packets) == ("PCMU", 50)  # what was known stays
    assert rows["done"] == done
    assert repo.mark_interrupted(started_at) == 0  # nothing left running
    engine.dispose()
