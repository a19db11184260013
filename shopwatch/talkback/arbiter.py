"""One talker per speaker: who holds each camera's speaker, who waits, who is refused.

A pure state machine (no tasks, no I/O): the service asks, acts on the answer (cancel the preempted clip, wake
the claim that was handed the speaker) and reports releases. The rules, from the operators' point of view:

- a free speaker is granted at once;
- a live operator preempts a clip (the clip is stopped, the live voice gets the speaker next, before any
  queued clip); a second live operator is refused with the holder named;
- a clip (or TTS) request on a busy speaker either waits in a bounded queue or is refused, as the caller
  chooses; a full queue is a refusal naming the holder and the queue length.

Many cameras refuse a second backchannel SETUP (TALKBACK_PROTOCOLS.md, "One talker per camera"), so the speaker
is handed over only after the previous session has released it (torn down), never overlapped."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from shopwatch.core.errors import Conflict


class ClaimKind(StrEnum):
    LIVE = "live"
    CLIP = "clip"  # a prepared sound: clip library or TTS


@dataclass(frozen=True, slots=True)
class Claim:
    """One session's wish to use a camera's speaker."""

    session_id: str
    camera_id: str
    kind: ClaimKind
    user: str

    def describe(self) -> str:
        who = "live operator" if self.kind is ClaimKind.LIVE else "a clip started by"
        return f"{who} {self.user!r} (session {self.session_id})"


class SpeakerConflict(Conflict):
    """The speaker is busy and the request may not wait. ``holder`` is who has (or is about to have) it."""

    def __init__(self, holder: Claim, reason: str) -> None:
        super().__init__(reason)
        self.holder = holder
        self.reason = reason
        self.reasons = ("busy_live",) if holder.kind is ClaimKind.LIVE else ("busy",)


@dataclass(frozen=True, slots=True)
class Granted:
    """The claim holds the speaker now."""


@dataclass(frozen=True, slots=True)
class Queued:
    """The claim waits; ``position`` 1 plays next."""

    position: int


@dataclass(frozen=True, slots=True)
class Preempting:
    """The claim gets the speaker as soon as ``victim`` (a clip, to be stopped now) releases it."""

    victim: Claim


Answer = Granted | Queued | Preempting


@dataclass
class _Speaker:
    holder: Claim | None = None
    next_live: Claim | None = None  # a live claim waiting for the preempted clip to tear down
    queue: deque[Claim] = field(default_factory=deque)

    def idle(self) -> bool:
        return self.holder is None and self.next_live is None and not self.queue


class SpeakerArbiter:
    def __init__(self, queue_size: int) -> None:
        if queue_size < 0:
            raise ValueError(f"queue_size must be >= 0, found {queue_size}")
        self.queue_size = queue_size
        self._speakers: dict[str, _Speaker] = {}

    def request(self, claim: Claim, *, queue: bool) -> Answer:
        """Decide on ``claim``; raise ``SpeakerConflict`` when it is refused."""
        speaker = self._speakers.setdefault(claim.camera_id, _Speaker())
        if speaker.holder is None:
            speaker.holder = claim
            return Granted()
        if claim.kind is ClaimKind.LIVE:
            return self._request_live(speaker, claim)
        holder = speaker.holder
        if not queue:
            raise SpeakerConflict(holder, f"speaker of camera {claim.camera_id!r} is in use by {holder.describe()}")
        if len(speaker.queue) >= self.queue_size:
            raise SpeakerConflict(
                holder,
                f"speaker of camera {claim.camera_id!r} is in use by {holder.describe()} and its queue is full"
                f" ({len(speaker.queue)} of {self.queue_size} waiting)",
            )
        speaker.queue.append(claim)
        return Queued(position=len(speaker.queue))

    def _request_live(self, speaker: _Speaker, claim: Claim) -> Answer:
        holder = speaker.holder
        assert holder is not None
        live = speaker.next_live or (holder if holder.kind is ClaimKind.LIVE else None)
        if live is not None:
            raise SpeakerConflict(
                live, f"speaker of camera {claim.camera_id!r} is held by {live.describe()}"
            )
        speaker.next_live = claim
        return Preempting(victim=holder)

    def release(self, claim: Claim) -> Claim | None:
        """``claim`` is done (ended, failed, cancelled, given up while waiting). Returns the claim that now holds
        the speaker, if the release handed it on. Releasing twice is harmless."""
        speaker = self._speakers.get(claim.camera_id)
        if speaker is None:
            return None
        granted: Claim | None = None
        if speaker.holder == claim:
            if speaker.next_live is not None:
                granted, speaker.next_live = speaker.next_live, None
            elif speaker.queue:
                granted = speaker.queue.popleft()
            speaker.holder = granted
        elif speaker.next_live == claim:
            speaker.next_live = None
        elif claim in speaker.queue:
            speaker.queue.remove(claim)
        if speaker.idle():
            del self._speakers[claim.camera_id]
        return granted

    def holder(self, camera_id: str) -> Claim | None:
        speaker = self._speakers.get(camera_id)
        return speaker.holder if speaker is not None else None

    def waiting(self, camera_id: str) -> list[Claim]:
        """Claims waiting for the speaker, in the order they will get it."""
        speaker = self._speakers.get(camera_id)
        if speaker is None:
            return []
        first = [speaker.next_live] if speaker.next_live is not None else []
        return first + list(speaker.queue)

    def queue_lengths(self) -> dict[str, int]:
        """Claims waiting, per speaker that has any (for metrics)."""
        return {camera_id: n for camera_id in self._speakers if (n := len(self.waiting(camera_id)))}
