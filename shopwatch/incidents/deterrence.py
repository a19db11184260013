"""Auto-deterrence: on a configured event type at a camera, play a recorded warning through its speaker.

Only strong events: an event less confident than the rule's ``min_confidence`` is recorded as ``skipped``.
A rule with ``confirm`` waits (``awaiting_confirmation``) for an operator to acknowledge the event within
``confirm.within_s``, else records ``not_played``; the wait is kept in memory, and the stored
``awaiting_confirmation`` (with its deadline) is what a restarted service waits on again (``resume``). A
``dry_run`` rule plays nothing and records ``dry_run`` with what would have happened (``would``: ``play``,
``refused``, ``cooldown``, ``failed``) and why.

It goes through the talkback service like an operator would (consent, quiet hours, one talker per speaker,
the talkback audit), as the user ``auto-deterrence``, never queued and never overriding. A per-camera
cooldown keeps one visit from triggering the warning again and again. The outcome is returned for the event:
``started`` then the session's end (``completed``, ``cancelled``...), or ``refused``/``busy``/``cooldown``/
``failed`` with the reason."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shopwatch.core.clock import Clock
from shopwatch.core.incidents_config import Deterrence
from shopwatch.core.talkback_records import TalkSession
from shopwatch.talkback.arbiter import SpeakerConflict
from shopwatch.talkback.clips import UnknownClip
from shopwatch.talkback.errors import TalkbackError
from shopwatch.talkback.policy import PolicyRefused
from shopwatch.talkback.records import Operator, Sound, TalkRequest, UnknownCamera
from shopwatch.talkback.service import TalkbackService

log = logging.getLogger(__name__)

USER = "auto-deterrence"
SESSION_GRACE_S = 30.0  # beyond the talkback session limit, before we stop waiting for the end


MAX_WAITING = 10_000  # events waiting for an operator's confirmation; past it, not played (and said so)


@dataclass(frozen=True, slots=True)
class Trigger:
    event_id: str
    camera_id: str
    type: str
    confidence: float


Record = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Waiting:
    trigger: Trigger
    rule: Deterrence
    within_s: float
    until: float  # monotonic deadline of the acknowledgement
    record: Record
    announced: asyncio.Event = field(default_factory=asyncio.Event)  # "awaiting" stored: later outcomes win


class AutoDeterrence:
    def __init__(self, rules: Sequence[Deterrence], talkback: TalkbackService | None, clock: Clock) -> None:
        self._rules = list(rules)
        self._talkback = talkback
        self._clock = clock
        self._last_played: dict[str, float] = {}  # camera id -> monotonic time of the last started warning
        self._last_dry: dict[str, float] = {}  # the same for dry runs, which must not hold back real warnings
        self._waiting: dict[str, _Waiting] = {}  # event id -> its warning, until acknowledged or too late
        for i, rule in enumerate(self._rules):
            if rule.weak:
                log.warning(
                    "deterrence rule %d (%s, clip %r) plays for events from confidence %.2f: below the measured "
                    "0.95-precision point, expect warnings at people who did nothing",
                    i, rule.type.value, rule.clip, rule.min_confidence,
                )  # fmt: skip

    def rule_for(self, camera_id: str, event_type: str) -> Deterrence | None:
        for rule in self._rules:
            if rule.type.value == event_type and (not rule.cameras or camera_id in rule.cameras):
                return rule
        return None

    async def run(self, trigger: Trigger, record: Record) -> None:
        """Play the rule's clip for ``trigger`` if one applies; ``record`` stores each outcome on the event.

        Cancelled while the clip plays (the incidents service closing), it stops the clip and still records how
        far it got, so no event is left "started" for ever."""
        try:
            await self._run(trigger, record)
        except Exception:  # a task boundary: the event keeps its last recorded outcome; the next trigger goes on
            log.exception("auto-deterrence for event %s on %s failed", trigger.event_id, trigger.camera_id)

    async def _run(self, trigger: Trigger, record: Record) -> None:
        rule = self.rule_for(trigger.camera_id, trigger.type)
        if rule is None:
            return
        base: dict[str, Any] = {"clip": rule.clip, "confidence": round(trigger.confidence, 3)}
        if trigger.confidence < rule.min_confidence:
            reason = f"confidence {trigger.confidence:.2f} is below the rule's min_confidence {rule.min_confidence}"
            await record(trigger.event_id, {**base, "outcome": "skipped", "reason": reason, "at": self._clock.wall()})
            return
        if rule.confirm is None:
            await self._go(trigger, rule, record)
            return
        within = rule.confirm.within_s
        if len(self._waiting) >= MAX_WAITING:
            reason = f"{MAX_WAITING} events are already waiting for an acknowledgement"
            outcome = {**base, "outcome": "not_played", "reason": reason, "at": self._clock.wall()}
            await record(trigger.event_id, outcome)
            return
        waiting = _Waiting(trigger, rule, within, self._clock.monotonic() + within, record)
        self._waiting[trigger.event_id] = waiting  # before any await: an acknowledgement finds it
        try:
            await record(
                trigger.event_id,
                {**base, "outcome": "awaiting_confirmation", "within_s": within, "until": self._clock.wall() + within,
                 "at": self._clock.wall()},
            )  # fmt: skip
        finally:
            waiting.announced.set()

    # -- confirmation by an operator -----------------------------------------------------------------------

    def waiting(self) -> list[str]:
        """Ids of the events whose warning waits for an acknowledgement."""
        return list(self._waiting)

    async def acknowledged(self, event_id: str, user: str) -> None:
        """An operator acknowledged ``event_id``: its warning plays if it was waiting and is still in time."""
        waiting = self._waiting.pop(event_id, None)
        if waiting is None:
            return
        try:
            if self._clock.monotonic() > waiting.until:
                await self._not_played(waiting, f"acknowledged by {user} after the {waiting.within_s:.0f} s")
                return
            log.info("auto-deterrence for event %s confirmed by %s", event_id, user)
            await waiting.announced.wait()
            await self._go(waiting.trigger, waiting.rule, waiting.record, confirmed_by=user)
        except Exception:  # a task boundary, as in run()
            log.exception("auto-deterrence for event %s on %s failed", event_id, waiting.trigger.camera_id)

    async def resume(self, trigger: Trigger, outcome: dict[str, Any], record: Record) -> None:
        """A warning that waited for an acknowledgement when the service stopped (``outcome``: the
        ``awaiting_confirmation`` stored on its event): it waits again for the time it had left, or, when that
        time is over or the camera's rule no longer asks for a confirmation, is recorded as not played."""
        rule = self.rule_for(trigger.camera_id, trigger.type)
        within = float(outcome.get("within_s", 0.0))
        left = float(outcome.get("until", 0.0)) - self._clock.wall()
        waiting = _Waiting(trigger, rule, within, self._clock.monotonic() + left, record) if rule else None
        if waiting is None or rule is None or rule.confirm is None or left <= 0:
            reason = (
                f"not acknowledged within {within:.0f} s (the service restarted meanwhile)"
                if left <= 0
                else "the camera's deterrence rule no longer waits for a confirmation"
            )
            base = {"clip": outcome.get("clip"), "confidence": round(trigger.confidence, 3), "at": self._clock.wall()}
            await record(trigger.event_id, {**base, "outcome": "not_played", "reason": reason})
            return
        waiting.announced.set()  # its "awaiting_confirmation" is stored already
        self._waiting[trigger.event_id] = waiting

    async def dismissed(self, event_id: str, status: str) -> None:
        """The event was closed without an acknowledgement (``false_positive``): its warning never plays."""
        waiting = self._waiting.pop(event_id, None)
        if waiting is None:
            return
        try:
            await self._not_played(waiting, f"the event was marked {status}")
        except Exception:  # a task boundary, as in run()
            log.exception("auto-deterrence for event %s on %s failed", event_id, waiting.trigger.camera_id)

    async def expire_due(self) -> list[str]:
        """Record every warning whose acknowledgement did not come in time as not played; returns their ids."""
        now = self._clock.monotonic()
        late = [w for w in self._waiting.values() if now > w.until]
        for waiting in late:
            del self._waiting[waiting.trigger.event_id]
            await self._not_played(waiting, f"not acknowledged within {waiting.within_s:.0f} s")
        return [w.trigger.event_id for w in late]

    async def _not_played(self, waiting: _Waiting, reason: str) -> None:
        await waiting.announced.wait()
        outcome = {
            "clip": waiting.rule.clip,
            "confidence": round(waiting.trigger.confidence, 3),
            "outcome": "not_played",
            "reason": reason,
            "at": self._clock.wall(),
        }
        await waiting.record(waiting.trigger.event_id, outcome)

    # -- playing -------------------------------------------------------------------------------------------

    async def _go(self, trigger: Trigger, rule: Deterrence, record: Record, confirmed_by: str | None = None) -> None:
        if rule.dry_run:
            await record(trigger.event_id, await self._dry_run(trigger, rule, confirmed_by))
            return
        outcome = await self._start(trigger, rule)
        if confirmed_by is not None:
            outcome["confirmed_by"] = confirmed_by
        await record(trigger.event_id, outcome)
        session_id = outcome.get("session_id")
        if outcome["outcome"] != "started" or self._talkback is None or not isinstance(session_id, str):
            return
        session = self._talkback.session(session_id)
        limit = self._talkback.settings.max_session_s + SESSION_GRACE_S
        try:
            async with asyncio.timeout(limit):
                session = await self._talkback.wait_ended(session_id)
        except TimeoutError:
            log.error("auto-deterrence session %s did not end within %.0f s", session_id, limit)
            return
        except asyncio.CancelledError:
            await asyncio.shield(self._stop(trigger, outcome, session, record))
            raise
        await record(trigger.event_id, self._ended(outcome, session))

    async def _stop(self, trigger: Trigger, started: dict[str, Any], session: TalkSession, record: Record) -> None:
        assert self._talkback is not None
        ended = await self._talkback.cancel(session.id)  # returns once the speaker is released
        await record(trigger.event_id, self._ended(started, ended))

    def _ended(self, started: dict[str, Any], session: TalkSession) -> dict[str, Any]:
        return {
            **started,
            "outcome": session.outcome.value,
            "played_s": round(session.played_s, 2),
            "error": session.error,
            "at": self._clock.wall(),
        }

    async def _start(self, trigger: Trigger, rule: Deterrence) -> dict[str, Any]:
        base: dict[str, Any] = {"clip": rule.clip, "at": self._clock.wall()}
        if self._talkback is None:
            return {**base, "outcome": "failed", "reason": "talkback is not set up"}
        last = self._last_played.get(trigger.camera_id)
        now = self._clock.monotonic()
        if last is not None and now - last < rule.cooldown_s:
            return {
                **base,
                "outcome": "cooldown",
                "reason": f"played {now - last:.0f} s ago (cooldown {rule.cooldown_s:.0f} s)",
            }
        # Claimed before the first await: events right behind this one (a burst is stored, and triggers, in one
        # batch) see the cooldown instead of racing to the speaker; given back if nothing was played.
        self._last_played[trigger.camera_id] = now
        outcome = await self._play(self._talkback, trigger, rule, base)
        if outcome["outcome"] != "started" and self._last_played.get(trigger.camera_id) == now:
            if last is None:
                del self._last_played[trigger.camera_id]
            else:
                self._last_played[trigger.camera_id] = last
        return outcome

    async def _dry_run(self, trigger: Trigger, rule: Deterrence, confirmed_by: str | None) -> dict[str, Any]:
        """What ``_start`` would have done, without a sound: the cooldown (of dry runs), the clip, the policy."""
        base: dict[str, Any] = {"clip": rule.clip, "outcome": "dry_run", "at": self._clock.wall()}
        if confirmed_by is not None:
            base["confirmed_by"] = confirmed_by
        last = self._last_dry.get(trigger.camera_id)
        now = self._clock.monotonic()
        if last is not None and now - last < rule.cooldown_s:
            return {**base, "would": "cooldown", "reason": f"would have played {now - last:.0f} s ago"}
        self._last_dry[trigger.camera_id] = now  # claimed before the first await, as _start does
        would, reason = await self._would(trigger, rule)
        if would != "play" and self._last_dry.get(trigger.camera_id) == now:
            if last is None:
                del self._last_dry[trigger.camera_id]
            else:
                self._last_dry[trigger.camera_id] = last
        log.info("auto-deterrence dry run on %s: %s (%s)", trigger.camera_id, would, reason)
        return {**base, "would": would, "reason": reason}

    async def _would(self, trigger: Trigger, rule: Deterrence) -> tuple[str, str]:
        if self._talkback is None:
            return "failed", "talkback is not set up"
        if not [c for c in await self._talkback.library.list() if c.name == rule.clip]:
            return "failed", f"no talkback clip named {rule.clip!r}"
        try:
            self._talkback.admissible(trigger.camera_id)
        except PolicyRefused as exc:
            return "refused", exc.reason
        except UnknownCamera as exc:
            return "failed", str(exc)
        return "play", f"would have played clip {rule.clip!r} on {trigger.camera_id}"

    @staticmethod
    async def _play(
        talkback: TalkbackService, trigger: Trigger, rule: Deterrence, base: dict[str, Any]
    ) -> dict[str, Any]:
        clips = [c for c in await talkback.library.list() if c.name == rule.clip]
        if not clips:
            return {**base, "outcome": "failed", "reason": f"no talkback clip named {rule.clip!r}"}
        request = TalkRequest(Operator(USER))
        try:
            session = await talkback.play(trigger.camera_id, Sound.clip(clips[0].id), request)
        except PolicyRefused as exc:
            return {**base, "outcome": "refused", "reason": exc.reason}
        except SpeakerConflict as exc:
            return {**base, "outcome": "busy", "reason": exc.reason}
        except (UnknownCamera, UnknownClip, TalkbackError) as exc:
            return {**base, "outcome": "failed", "reason": str(exc)}
        log.info("auto-deterrence on %s: clip %r (session %s)", trigger.camera_id, rule.clip, session.id)
        return {**base, "outcome": "started", "session_id": session.id}
