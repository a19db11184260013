"""The service's state of one talk while it runs: its record, its claim on the speaker, its task and signals.

The record (``TalkSession``) is frozen; each change replaces it here (``update``), and whoever asks the service
gets the copy of that moment. The asyncio signals stay here, never in the record."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from shopwatch.core.talkback_records import Outcome, TalkSession
from shopwatch.talkback.arbiter import Claim
from shopwatch.talkback.live import LiveAudio
from shopwatch.talkback.records import Sound


@dataclass(eq=False)
class RunningTalk:
    """One talk from launch until its task ended and the speaker was handed on."""

    session: TalkSession
    sound: Sound  # with its PCM (clips and speech)
    claim: Claim
    granted: asyncio.Event = field(default_factory=asyncio.Event)  # the speaker is this talk's
    started: asyncio.Event = field(default_factory=asyncio.Event)  # the first packet went out
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # ended, speaker released
    task: asyncio.Task[None] | None = None
    cancel_as: Outcome | None = None  # the outcome a cancellation of ``task`` means (cancelled, preempted)
    live: LiveAudio | None = None  # the live input, for its dropped-frame count

    @property
    def id(self) -> str:
        return self.session.id

    def update(self, **changes: Any) -> TalkSession:
        self.session = replace(self.session, **changes)
        return self.session

    def stop(self, outcome: Outcome) -> None:
        """Cancel the talk's task; the first reason given is the one recorded."""
        if self.cancel_as is None:
            self.cancel_as = outcome
        if self.task is not None:
            self.task.cancel()
