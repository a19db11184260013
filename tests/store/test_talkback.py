"""Talkback audit and clip catalogue, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from shopwatch.core.talkback_records import Outcome, SourceKind, TalkSession
from shopwatch.store.talkback import AuditQuery, ClipRecord, TalkbackRepository

T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def _attempt(n: int, **changes: object) -> TalkSession:
    base = TalkSession(
        id=f"s{n:04d}",
        requested_at=T0 + timedelta(minutes=n),
        user="alice",
        camera_id="cam-1",
        source=SourceKind.TTS,
        outcome=Outcome.ACTIVE,
        text="请不要在此张贴小广告",
        voice="cmn",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_attempt_is_stored_then_updated_with_what_was_played(engine: Engine) -> None:
    repo = TalkbackRepository(engine)
    repo.record(_attempt(1, overridden=("quiet hours 22:00-07:00", "consent withdrawn")))
    ended = _attempt(
        1,
        overridden=("quiet hours 22:00-07:00", "consent withdrawn"),
        outcome=Outcome.FAILED,
        started_at=T0 + timedelta(seconds=61),
        ended_at=T0 + timedelta(seconds=64),
        codec="PCMA",
        protocol="rtsp",
        played_s=2.98,
        packets=149,
        error="connection reset by rtsp://admin:***@10.0.0.1",
    )
    repo.record(ended)

    assert repo.audit_entry("s0001") == ended
    assert repo.audit(AuditQuery()) == [ended]
    assert repo.audit_entry("nope") is None


def test_audit_query_filters_newest_first(engine: Engine) -> None:
    repo = TalkbackRepository(engine)
    repo.record(_attempt(1))
    repo.record(_attempt(2, user="bob", outcome=Outcome.REFUSED, error="quiet hours"))
    live = SourceKind.LIVE
    repo.record(_attempt(3, camera_id="cam-2", source=live, text=None, voice=None, outcome=Outcome.COMPLETED))
    repo.record(_attempt(4, source=SourceKind.CLIP, clip_id="c1", text=None, voice=None, outcome=Outcome.BUSY))

    def ids(**query: object) -> list[str]:
        return [e.id for e in repo.audit(AuditQuery(**query))]  # type: ignore[arg-type]

    assert ids() == ["s0004", "s0003", "s0002", "s0001"]
    assert ids(camera_id="cam-1") == ["s0004", "s0002", "s0001"]
    assert ids(user="bob") == ["s0002"]
    assert ids(outcome=Outcome.BUSY) == ["s0004"]
    assert ids(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4)) == ["s0003", "s0002"]
    assert ids(limit=2, offset=1) == ["s0003", "s0002"]


def test_clip_catalogue_crud(engine: Engine) -> None:
    repo = TalkbackRepository(engine)
    warning = ClipRecord("c1", "请勿张贴", "warning.mp3", 3.5, "ab" * 32, 12_345, T0, "alice")
    closing = ClipRecord("c2", "closing time", "closing.wav", 10.0, "cd" * 32, 160_044, T0, "bob")
    repo.add_clip(closing)
    repo.add_clip(warning)

    assert repo.clips() == [closing, warning]  # by name
    assert repo.clip("c1") == warning
    assert repo.rename_clip("c1", "stop posting cards") == replace(warning, name="stop posting cards")
    assert repo.rename_clip("nope", "x") is None
    assert repo.delete_clip("c2") is True
    assert repo.delete_clip("c2") is False
    assert [c.id for c in repo.clips()] == ["c1"]
