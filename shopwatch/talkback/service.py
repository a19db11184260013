"""The talkback service the API uses: start a session from a clip, text or live audio; list, cancel, broadcast.

Everything above ``session.talk``: the camera lookup, the speaker policy (consent, quiet hours, admin override),
one talker per speaker (``arbiter``), the prepared sounds (clip library, TTS cache), the session's task and its
audit. Each session runs as one task; ``talk`` is called only once the session holds the speaker, and the
speaker is handed on only after that task has ended (the device session is torn down)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

from shopwatch.core.clock import Clock
from shopwatch.core.config import CameraConfig
from shopwatch.core.directory import CameraDirectory
from shopwatch.core.redact import redact_text
from shopwatch.core.talkback_config import TalkbackSettings
from shopwatch.store.talkback import AuditEntry, AuditQuery, Outcome
from shopwatch.talkback import session as talk_session
from shopwatch.talkback import target as talk_target
from shopwatch.talkback.arbiter import Claim, ClaimKind, Granted, Preempting, Queued, SpeakerArbiter, SpeakerConflict
from shopwatch.talkback.audio import AudioSource, duration_s, iter_frames
from shopwatch.talkback.audit import AuditLog
from shopwatch.talkback.clips import ClipLibrary, UnknownClip
from shopwatch.talkback.errors import TalkbackError, TtsError
from shopwatch.talkback.live import LiveAudio, LiveInput
from shopwatch.talkback.policy import PolicyRefused, SpeakerPolicy
from shopwatch.talkback.session import TalkResult
from shopwatch.talkback.sessions import (
    CountingSource,
    OverrideNotAllowed,
    Sound,
    SourceKind,
    TalkbackStats,
    TalkRequest,
    TalkSession,
    UnknownCamera,
    UnknownSession,
)
from shopwatch.talkback.target import TalkTarget
from shopwatch.talkback.tts_cache import TtsCache

log = logging.getLogger(__name__)

HANDOVER_TIMEOUT_S = 10.0  # a preempted clip must have torn down by then (links close within bounded time)
CONNECT_ALLOWANCE_S = 30.0  # on top of max_session_s: connecting and the last frame's play-out


class TalkFn(Protocol):
    def __call__(
        self,
        target: TalkTarget,
        source: AudioSource,
        *,
        max_s: float | None = None,
        on_started: Callable[[str], None] | None = None,
    ) -> Awaitable[TalkResult]: ...


@dataclass(frozen=True, slots=True)
class SpeakerAccess:
    """The protocol layer the service drives (``session.talk`` and ``target.target_for_camera`` by default)."""

    talk: TalkFn = talk_session.talk
    target_for_camera: Callable[[CameraConfig], TalkTarget | None] = talk_target.target_for_camera


class TalkbackService:
    def __init__(
        self,
        fleet: CameraDirectory,
        settings: TalkbackSettings,
        library: ClipLibrary,
        tts: TtsCache,
        audit: AuditLog,
        *,
        clock: Clock,
        access: SpeakerAccess | None = None,
    ) -> None:
        self._fleet = fleet
        self.settings = settings
        self.library = library
        self.tts = tts
        self.audit = audit
        self._clock = clock
        self._access = access or SpeakerAccess()
        self.policy = SpeakerPolicy(clock, settings.timezone)
        self.arbiter = SpeakerArbiter(settings.queue_size)
        self._active: dict[str, tuple[TalkSession, Claim, asyncio.Task[None]]] = {}
        self._granted: dict[str, asyncio.Event] = {}
        self._cancel_as: dict[str, Outcome] = {}
        self._history: deque[TalkSession] = deque(maxlen=settings.history)
        self._live: dict[str, LiveAudio] = {}  # live sessions' inputs, for their dropped-frame counts
        self._live_dropped = 0  # by live sessions that ended

    def start(self) -> None:
        self.audit.start()

    async def close(self) -> None:
        """Cancel every session (each tears its device session down), then write the audit."""
        tasks = [task for _, _, task in self._active.values()]
        for session_id in list(self._active):
            self._cancel_as[session_id] = Outcome.CANCELLED
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.audit.close()

    # -- sounds --------------------------------------------------------------------------------------------

    async def prepare(self, sound: Sound) -> Sound:
        """``sound`` with its PCM: the clip's prepared file or the (cached) speech. ``UnknownClip`` and
        ``TtsError`` pass on."""
        if sound.pcm or sound.kind is SourceKind.LIVE:
            return sound
        if sound.kind is SourceKind.CLIP:
            assert sound.clip_id is not None
            return replace(sound, pcm=await self.library.pcm(sound.clip_id))
        assert sound.text is not None and sound.voice is not None
        return replace(sound, pcm=await self.tts.speech(sound.text, sound.voice))

    # -- starting ------------------------------------------------------------------------------------------

    async def play(
        self, camera_id: str, sound: Sound, request: TalkRequest, broadcast_id: str | None = None
    ) -> TalkSession:
        """Start playing a prepared sound. Raises ``UnknownCamera``, ``PolicyRefused`` (also for a camera
        without a talkback target), ``SpeakerConflict``; those refused are audited."""
        camera, session, target = await self._admit(camera_id, sound, request, broadcast_id)
        try:
            session.sound = sound = await self.prepare(sound)
        except (UnknownClip, TtsError) as exc:
            await self._refuse(session, Outcome.FAILED, str(exc))
            raise
        claim = Claim(session.id, camera.id, ClaimKind.CLIP, request.operator.name)
        try:
            answer = self.arbiter.request(claim, queue=request.queue)
        except SpeakerConflict as exc:
            await self._refuse(session, Outcome.BUSY, exc.reason)
            raise
        granted = asyncio.Event()
        if isinstance(answer, Granted):
            granted.set()
        else:
            assert isinstance(answer, Queued)
            session.outcome = Outcome.QUEUED
        source = iter_frames(sound.pcm)
        await self._launch(session, claim, granted, partial(self._talk, session, target, source, camera))
        return session

    async def open_live(self, camera_id: str, spec: LiveInput, request: TalkRequest) -> tuple[TalkSession, LiveAudio]:
        """Take the speaker for live audio (a clip playing there is stopped first); the caller pushes the
        client's audio into the returned ``LiveAudio`` and ends it when the client is gone."""
        camera, session, target = await self._admit(camera_id, Sound.live(), request, None)
        claim = Claim(session.id, camera.id, ClaimKind.LIVE, request.operator.name)
        try:
            answer = self.arbiter.request(claim, queue=False)
        except SpeakerConflict as exc:
            await self._refuse(session, Outcome.BUSY, exc.reason)
            raise
        granted = asyncio.Event()
        if isinstance(answer, Preempting):
            self._stop(answer.victim.session_id, Outcome.PREEMPTED)
        else:
            granted.set()
        live = self._live[session.id] = LiveAudio(spec, self.settings.live_buffer_ms)
        await self._launch(session, claim, granted, partial(self._talk, session, target, live, camera))
        return session, live

    async def _admit(
        self, camera_id: str, sound: Sound, request: TalkRequest, broadcast_id: str | None
    ) -> tuple[CameraConfig, TalkSession, TalkTarget]:
        camera = self._fleet.camera(camera_id)
        if camera is None:
            raise UnknownCamera(camera_id)
        session = TalkSession(
            id=uuid.uuid4().hex,
            camera_id=camera.id,
            user=request.operator.name,
            sound=sound,
            requested_at=self._clock.wall(),
            broadcast_id=broadcast_id,
        )
        try:
            if request.override and not request.operator.admin:
                raise OverrideNotAllowed("an override needs an admin operator", overridable=False)
            session.overridden = self.policy.check(camera, override=request.override).overridden
            target = self._access.target_for_camera(camera)
            if target is None:
                raise PolicyRefused(
                    f"camera {camera.id!r} has no talkback target (set talkback.url, or a vendor with a known"
                    " talkback protocol and stream URLs)",
                    overridable=False,
                )
        except PolicyRefused as exc:
            await self._refuse(session, Outcome.REFUSED, exc.reason)
            raise
        if session.overridden:
            log.warning("talkback override by %s on %s: %s", session.user, camera.id, "; ".join(session.overridden))
        return camera, session, target

    async def _refuse(self, session: TalkSession, outcome: Outcome, reason: str) -> None:
        session.outcome = outcome
        session.error = reason
        session.ended_at = session.requested_at
        self._history.append(session)
        await self.audit.submit(session.audit_entry())

    async def _launch(
        self, session: TalkSession, claim: Claim, granted: asyncio.Event, body: Callable[[], Awaitable[None]]
    ) -> None:
        self._granted[session.id] = granted
        task = asyncio.create_task(self._run(session, claim, granted, body), name=f"talkback-{session.id[:8]}")
        self._active[session.id] = (session, claim, task)
        await self.audit.submit(session.audit_entry())

    # -- running -------------------------------------------------------------------------------------------

    async def _run(
        self, session: TalkSession, claim: Claim, granted: asyncio.Event, body: Callable[[], Awaitable[None]]
    ) -> None:
        try:
            if not granted.is_set():
                await granted.wait()
                session.outcome = Outcome.ACTIVE
                await self.audit.submit(session.audit_entry())
            await body()
        except asyncio.CancelledError:
            session.outcome = self._cancel_as.get(session.id, Outcome.CANCELLED)
        except Exception as exc:  # task boundary: the session fails, the speaker is released
            log.exception("talkback session %s failed", session.id)
            session.outcome, session.error = Outcome.FAILED, f"internal error: {type(exc).__name__}"
        finally:
            await self._finish(session, claim)

    async def _talk(
        self, session: TalkSession, target: TalkTarget, source: AudioSource, camera: CameraConfig
    ) -> None:
        loop = asyncio.get_running_loop()
        counted = CountingSource(source)
        session.protocol = target.protocol
        started_mono: list[float] = []

        def on_started(codec: str) -> None:
            session.codec = codec
            session.started_at = self._clock.wall()
            started_mono.append(loop.time())
            session.started.set()

        max_s = self.settings.max_session_s
        try:
            async with asyncio.timeout(max_s + CONNECT_ALLOWANCE_S):
                result = await self._access.talk(target, counted, max_s=max_s, on_started=on_started)
        except TalkbackError as exc:
            session.outcome = Outcome.FAILED
            session.error = redact_text(str(exc), camera.secrets())
            self._record_played(session, exc.result, counted, started_mono, loop.time())
            return
        except TimeoutError:
            session.outcome, session.error = Outcome.FAILED, f"the talk did not end within {max_s:g} s"
            self._record_played(session, None, counted, started_mono, loop.time())
            return
        except asyncio.CancelledError:
            self._record_played(session, None, counted, started_mono, loop.time())
            raise
        self._record_played(session, result, counted, started_mono, loop.time())
        longer = session.kind is SourceKind.LIVE or duration_s(session.sound.pcm) > max_s
        session.outcome = Outcome.TRUNCATED if longer and result.played_s >= max_s - 0.05 else Outcome.COMPLETED

    @staticmethod
    def _record_played(
        session: TalkSession, result: TalkResult | None, source: CountingSource, started: list[float], now: float
    ) -> None:
        if result is not None:
            session.codec = result.codec or session.codec
            session.packets, session.played_s = result.packets, result.played_s
            return
        # Cancelled mid-talk: talk() re-raises without a result; what went out is bounded by the frames the
        # sender took from the source and by the time since the first packet.
        session.packets = source.frames
        session.played_s = min(source.frames * 0.02, now - started[0]) if started else 0.0

    async def _finish(self, session: TalkSession, claim: Claim) -> None:
        session.ended_at = self._clock.wall()
        self._active.pop(session.id, None)
        self._granted.pop(session.id, None)
        self._cancel_as.pop(session.id, None)
        if (live := self._live.pop(session.id, None)) is not None:
            self._live_dropped += live.frames_dropped
        following = self.arbiter.release(claim)
        if following is not None:
            event = self._granted.get(following.session_id)
            if event is not None:
                event.set()
        self._history.append(session)
        session.finished.set()
        log.info(
            "talkback %s on %s by %s: %s, %.2f s%s",
            session.id[:8], session.camera_id, session.user, session.outcome.value, session.played_s,
            f" ({session.error})" if session.error else "",
        )  # fmt: skip
        await self.audit.submit(session.audit_entry())

    # -- control -------------------------------------------------------------------------------------------

    def _stop(self, session_id: str, outcome: Outcome) -> None:
        entry = self._active.get(session_id)
        if entry is not None:
            self._cancel_as.setdefault(session_id, outcome)
            entry[2].cancel()

    async def cancel(self, session_id: str) -> TalkSession:
        """Stop a session (playing or queued) and wait until it has released the speaker. A session that
        already ended is returned as it is; ``UnknownSession`` when there is none with this id."""
        entry = self._active.get(session_id)
        if entry is None:
            return self.session(session_id)
        self._stop(session_id, Outcome.CANCELLED)
        await asyncio.shield(entry[0].finished.wait())
        return entry[0]

    def session(self, session_id: str) -> TalkSession:
        entry = self._active.get(session_id)
        if entry is not None:
            return entry[0]
        for past in self._history:
            if past.id == session_id:
                return past
        raise UnknownSession(session_id)

    def sessions(self) -> tuple[list[TalkSession], list[TalkSession]]:
        """(active and queued, oldest first; recent ended, newest first)."""
        active = sorted((s for s, _, _ in self._active.values()), key=lambda s: s.requested_at)
        return active, list(reversed(self._history))

    def queue_position(self, session: TalkSession) -> int | None:
        if session.outcome is not Outcome.QUEUED:
            return None
        waiting = [c.session_id for c in self.arbiter.waiting(session.camera_id)]
        return waiting.index(session.id) + 1 if session.id in waiting else None

    def stats(self) -> TalkbackStats:
        queued = sum(1 for s, _, _ in self._active.values() if s.outcome is Outcome.QUEUED)
        return TalkbackStats(
            active=len(self._active) - queued,
            queued=queued,
            queue_lengths=self.arbiter.queue_lengths(),
            live_frames_dropped=self._live_dropped + sum(live.frames_dropped for live in self._live.values()),
            audit_pending=self.audit.pending,
            audit_written=self.audit.written,
            audit_write_failures=self.audit.failed,
        )

    async def audit_entries(self, query: AuditQuery) -> list[AuditEntry]:
        return await self.audit.query(query)

    # -- broadcast -----------------------------------------------------------------------------------------

    def cameras_in(self, camera_ids: Sequence[str], grid: str | None) -> list[str]:
        """The cameras a broadcast addresses: the listed ids (unknown ones kept, they fail one by one) and
        every enabled camera with a speaker in ``grid``."""
        selected = list(dict.fromkeys(camera_ids))
        if grid is not None:
            selected += [
                c.id
                for c in self._fleet.cameras()
                if c.grid == grid and c.enabled and c.talkback.capable and c.id not in selected
            ]
        return selected

    async def broadcast(
        self, camera_ids: Sequence[str], sound: Sound, request: TalkRequest
    ) -> tuple[str, list[tuple[str, TalkSession | Exception]]]:
        """Play one sound on many speakers; each camera gets its session or the error that refused it. The
        sound is prepared once (``UnknownClip``/``TtsError`` refuse the whole broadcast)."""
        sound = await self.prepare(sound)
        broadcast_id = uuid.uuid4().hex
        results: list[tuple[str, TalkSession | Exception]] = []
        for camera_id in camera_ids:
            try:
                results.append((camera_id, await self.play(camera_id, sound, request, broadcast_id)))
            except (UnknownCamera, PolicyRefused, SpeakerConflict) as exc:
                results.append((camera_id, exc))
        return broadcast_id, results
