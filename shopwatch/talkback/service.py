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
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

from shopwatch.core.clock import Clock
from shopwatch.core.config import CameraConfig
from shopwatch.core.directory import CameraDirectory
from shopwatch.core.redact import redact_text
from shopwatch.core.talkback_config import TalkbackSettings
from shopwatch.core.talkback_records import Outcome, SourceKind, TalkResult, TalkSession
from shopwatch.store.talkback import AuditQuery
from shopwatch.talkback.access import SpeakerAccess
from shopwatch.talkback.arbiter import Claim, ClaimKind, Granted, Preempting, Queued, SpeakerArbiter, SpeakerConflict
from shopwatch.talkback.audio import AudioSource, duration_s, iter_frames
from shopwatch.talkback.audit import TalkAudit
from shopwatch.talkback.clips import ClipLibrary, UnknownClip
from shopwatch.talkback.errors import TalkbackError, TtsError
from shopwatch.talkback.live import LiveAudio, LiveInput
from shopwatch.talkback.policy import PolicyRefused, SpeakerPolicy
from shopwatch.talkback.records import (
    CountingSource,
    OverrideNotAllowed,
    Sound,
    TalkbackStats,
    TalkRequest,
    UnknownCamera,
    UnknownSession,
)
from shopwatch.talkback.running import RunningTalk
from shopwatch.talkback.target import TalkTarget
from shopwatch.talkback.tts_cache import TtsCache

log = logging.getLogger(__name__)

HANDOVER_TIMEOUT_S = 10.0  # a preempted clip must have torn down by then (links close within bounded time)
CONNECT_ALLOWANCE_S = 30.0  # on top of max_session_s: connecting and the last frame's play-out


class TalkbackService:
    def __init__(
        self,
        fleet: CameraDirectory,
        settings: TalkbackSettings,
        library: ClipLibrary,
        tts: TtsCache,
        audit: TalkAudit,
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
        self._running: dict[str, RunningTalk] = {}
        self._history: deque[TalkSession] = deque(maxlen=settings.history)
        self._live_dropped = 0  # by live sessions that ended

    def start(self) -> None:
        self.audit.start()

    async def close(self) -> None:
        """Cancel every session (each tears its device session down), then write the audit."""
        running = list(self._running.values())
        for talk in running:
            talk.stop(Outcome.CANCELLED)
        await asyncio.gather(*(t.task for t in running if t.task is not None), return_exceptions=True)
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
            sound = await self.prepare(sound)
        except (UnknownClip, TtsError) as exc:
            await self._refuse(session, Outcome.FAILED, str(exc))
            raise
        claim = Claim(session.id, camera.id, ClaimKind.CLIP, request.operator.name)
        try:
            answer = self.arbiter.request(claim, queue=request.queue)
        except SpeakerConflict as exc:
            await self._refuse(session, Outcome.BUSY, exc.reason)
            raise
        talk = RunningTalk(session, sound, claim)
        if isinstance(answer, Granted):
            talk.granted.set()
        else:
            assert isinstance(answer, Queued)
            talk.update(outcome=Outcome.QUEUED)
        source = iter_frames(sound.pcm)
        return await self._launch(talk, partial(self._talk, talk, target, source, camera))

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
        talk = RunningTalk(session, Sound.live(), claim)
        if isinstance(answer, Preempting):
            self._stop(answer.victim.session_id, Outcome.PREEMPTED)
        else:
            talk.granted.set()
        live = talk.live = LiveAudio(spec, self.settings.live_buffer_ms)
        return await self._launch(talk, partial(self._talk, talk, target, live, camera)), live

    async def _admit(
        self, camera_id: str, sound: Sound, request: TalkRequest, broadcast_id: str | None
    ) -> tuple[CameraConfig, TalkSession, TalkTarget]:
        camera = self._fleet.camera(camera_id)
        if camera is None:
            raise UnknownCamera(camera_id)
        session = TalkSession(
            id=uuid.uuid4().hex,
            requested_at=self._now(),
            user=request.operator.name,
            camera_id=camera.id,
            source=sound.kind,
            outcome=Outcome.ACTIVE,
            clip_id=sound.clip_id,
            text=sound.text,
            voice=sound.voice,
            broadcast_id=broadcast_id,
        )
        try:
            if request.override and not request.operator.admin:
                raise OverrideNotAllowed("an override needs an admin operator", overridable=False)
            overridden, target = self._check(camera, override=request.override)
            session = replace(session, overridden=overridden)
        except PolicyRefused as exc:
            await self._refuse(session, Outcome.REFUSED, exc.reason)
            raise
        if session.overridden:
            log.warning("talkback override by %s on %s: %s", session.user, camera.id, "; ".join(session.overridden))
        return camera, session, target

    def _check(self, camera: CameraConfig, *, override: bool) -> tuple[tuple[str, ...], TalkTarget]:
        """The policy's decision and the camera's talkback target; ``PolicyRefused`` when it may not talk."""
        overridden = self.policy.check(camera, override=override).overridden
        target = self._access.target_for_camera(camera)
        if target is None:
            raise PolicyRefused(
                f"camera {camera.id!r} has no talkback target (set talkback.url, or a vendor with a known"
                " talkback protocol and stream URLs)",
                overridable=False,
            )
        return overridden, target

    def admissible(self, camera_id: str) -> None:
        """Raise what ``play`` would refuse ``camera_id`` with now (``UnknownCamera``, ``PolicyRefused``), without
        starting or auditing anything: the answer of a dry run. A busy speaker is not checked."""
        camera = self._fleet.camera(camera_id)
        if camera is None:
            raise UnknownCamera(camera_id)
        self._check(camera, override=False)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.wall(), UTC)

    async def _refuse(self, session: TalkSession, outcome: Outcome, reason: str) -> None:
        session = replace(session, outcome=outcome, error=reason, ended_at=session.requested_at)
        self._history.append(session)
        await self.audit.submit(session)

    async def _launch(self, talk: RunningTalk, body: Callable[[], Awaitable[None]]) -> TalkSession:
        talk.task = asyncio.create_task(self._run(talk, body), name=f"talkback-{talk.id[:8]}")
        self._running[talk.id] = talk
        await self.audit.submit(talk.session)
        return talk.session

    # -- running -------------------------------------------------------------------------------------------

    async def _run(self, talk: RunningTalk, body: Callable[[], Awaitable[None]]) -> None:
        try:
            if not talk.granted.is_set():
                await talk.granted.wait()
                await self.audit.submit(talk.update(outcome=Outcome.ACTIVE))
            await body()
        except asyncio.CancelledError:
            talk.update(outcome=talk.cancel_as or Outcome.CANCELLED)
        except Exception as exc:  # task boundary: the session fails, the speaker is released
            log.exception("talkback session %s failed", talk.id)
            talk.update(outcome=Outcome.FAILED, error=f"internal error: {type(exc).__name__}")
        finally:
            await self._finish(talk)

    async def _talk(self, talk: RunningTalk, target: TalkTarget, source: AudioSource, camera: CameraConfig) -> None:
        loop = asyncio.get_running_loop()
        counted = CountingSource(source)
        talk.update(protocol=target.protocol)
        started_mono: list[float] = []

        def on_started(codec: str) -> None:
            talk.update(codec=codec, started_at=self._now())
            started_mono.append(loop.time())
            talk.started.set()

        max_s = self.settings.max_session_s
        try:
            async with asyncio.timeout(max_s + CONNECT_ALLOWANCE_S):
                result = await self._access.talk(target, counted, max_s=max_s, on_started=on_started)
        except TalkbackError as exc:
            talk.update(outcome=Outcome.FAILED, error=redact_text(str(exc), camera.secrets()))
            self._record_played(talk, exc.result, counted, started_mono, loop.time())
            return
        except TimeoutError:
            talk.update(outcome=Outcome.FAILED, error=f"the talk did not end within {max_s:g} s")
            self._record_played(talk, None, counted, started_mono, loop.time())
            return
        except asyncio.CancelledError:
            self._record_played(talk, None, counted, started_mono, loop.time())
            raise
        self._record_played(talk, result, counted, started_mono, loop.time())
        longer = talk.sound.kind is SourceKind.LIVE or duration_s(talk.sound.pcm) > max_s
        truncated = longer and result.played_s >= max_s - 0.05
        talk.update(outcome=Outcome.TRUNCATED if truncated else Outcome.COMPLETED)

    @staticmethod
    def _record_played(
        talk: RunningTalk, result: TalkResult | None, source: CountingSource, started: list[float], now: float
    ) -> None:
        if result is not None:
            talk.update(codec=result.codec or talk.session.codec, packets=result.packets, played_s=result.played_s)
            return
        # Cancelled mid-talk: talk() re-raises without a result; what went out is bounded by the frames the
        # sender took from the source and by the time since the first packet.
        played_s = min(source.frames * 0.02, now - started[0]) if started else 0.0
        talk.update(packets=source.frames, played_s=played_s)

    async def _finish(self, talk: RunningTalk) -> None:
        session = talk.update(ended_at=self._now())
        self._running.pop(talk.id, None)
        if talk.live is not None:
            self._live_dropped += talk.live.frames_dropped
        following = self.arbiter.release(talk.claim)
        if following is not None and (next_talk := self._running.get(following.session_id)) is not None:
            next_talk.granted.set()
        self._history.append(session)
        talk.finished.set()
        log.info(
            "talkback %s on %s by %s: %s, %.2f s%s",
            session.id[:8], session.camera_id, session.user, session.outcome.value, session.played_s,
            f" ({session.error})" if session.error else "",
        )  # fmt: skip
        await self.audit.submit(session)

    # -- control -------------------------------------------------------------------------------------------

    def _stop(self, session_id: str, outcome: Outcome) -> None:
        talk = self._running.get(session_id)
        if talk is not None:
            talk.stop(outcome)

    async def cancel(self, session_id: str) -> TalkSession:
        """Stop a session (playing or queued) and wait until it has released the speaker. A session that
        already ended is returned as it is; ``UnknownSession`` when there is none with this id."""
        talk = self._running.get(session_id)
        if talk is None:
            return self.session(session_id)
        talk.stop(Outcome.CANCELLED)
        await asyncio.shield(talk.finished.wait())
        return talk.session

    async def wait_started(self, session_id: str) -> TalkSession:
        """The session once its first packet went out; returns at once for one that is not running (it will
        not start any more). ``UnknownSession`` when there is none with this id."""
        talk = self._running.get(session_id)
        if talk is not None:
            await talk.started.wait()
            return talk.session
        return self.session(session_id)

    async def wait_ended(self, session_id: str) -> TalkSession:
        """The session once it has ended and released the speaker. ``UnknownSession`` when there is none."""
        talk = self._running.get(session_id)
        if talk is not None:
            await talk.finished.wait()
            return talk.session
        return self.session(session_id)

    def session(self, session_id: str) -> TalkSession:
        talk = self._running.get(session_id)
        if talk is not None:
            return talk.session
        for past in self._history:
            if past.id == session_id:
                return past
        raise UnknownSession(session_id)

    def sessions(self) -> tuple[list[TalkSession], list[TalkSession]]:
        """(active and queued, oldest first; recent ended, newest first)."""
        active = sorted((t.session for t in self._running.values()), key=lambda s: s.requested_at)
        return active, list(reversed(self._history))

    def queue_position(self, session: TalkSession) -> int | None:
        current = self._running.get(session.id)
        if current is None or current.session.outcome is not Outcome.QUEUED:
            return None
        waiting = [c.session_id for c in self.arbiter.waiting(session.camera_id)]
        return waiting.index(session.id) + 1 if session.id in waiting else None

    def stats(self) -> TalkbackStats:
        queued = sum(1 for t in self._running.values() if t.session.outcome is Outcome.QUEUED)
        live_now = sum(t.live.frames_dropped for t in self._running.values() if t.live is not None)
        return TalkbackStats(
            active=len(self._running) - queued,
            queued=queued,
            queue_lengths=self.arbiter.queue_lengths(),
            live_frames_dropped=self._live_dropped + live_now,
            audit_pending=self.audit.pending,
            audit_written=self.audit.written,
            audit_write_failures=self.audit.failed,
        )

    async def audit_entries(self, query: AuditQuery) -> list[TalkSession]:
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
