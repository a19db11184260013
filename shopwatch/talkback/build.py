"""Wiring of the talkback service from settings (called by the composition root, and by tests with their
own speaker access)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from shopwatch.core.clock import Clock
from shopwatch.core.directory import CameraDirectory
from shopwatch.core.talkback_config import TalkbackSettings
from shopwatch.store.talkback import TalkbackRepository
from shopwatch.talkback import tts
from shopwatch.talkback.access import SpeakerAccess
from shopwatch.talkback.audit import TalkAudit
from shopwatch.talkback.clips import ClipLibrary
from shopwatch.talkback.service import TalkbackService
from shopwatch.talkback.tts_cache import Synthesizer, TtsCache

log = logging.getLogger(__name__)
MB = 1_000_000


def build_talkback(
    fleet: CameraDirectory,
    settings: TalkbackSettings,
    engine: Engine,
    data_dir: Path,
    clock: Clock,
    *,
    access: SpeakerAccess | None = None,
    synthesize: Synthesizer = tts.synthesize,
) -> TalkbackService:
    """Clips under ``<data_dir>/talkback/clips``, speech under ``<data_dir>/talkback/tts``; blocking (it
    indexes the TTS cache): call it from a thread in async code, then ``start()`` the service on the loop.

    Audit rows a crashed service left queued or active are marked interrupted first (one service process per
    database: a second running instance's talks would be marked too)."""
    repo = TalkbackRepository(engine)
    interrupted = repo.mark_interrupted(datetime.fromtimestamp(clock.wall(), UTC))
    if interrupted:
        log.warning("talkback: %d talk(s) cut off when the service last stopped: audited interrupted", interrupted)
    root = data_dir / "talkback"
    library = ClipLibrary(
        root / "clips", repo, clock, max_bytes=int(settings.clip_max_mb * MB), max_seconds=settings.clip_max_s
    )
    cache = TtsCache(root / "tts", synthesize, int(settings.tts_cache_mb * MB))
    cache.load()
    return TalkbackService(fleet, settings, library, cache, TalkAudit(repo), clock=clock, access=access)
