"""Auto-deterrence: on a configured event type at a camera, play a recorded warning through its speaker.

It goes through the talkback service like an operator would (consent, quiet hours, one talker per speaker,
the talkback audit), as the user ``auto-deterrence``, never queued and never overriding. A per-camera
cooldown keeps one visit from triggering the warning again and again. The outcome is returned for the event:
``started`` then the session's end (``completed``, ``cancelled``...), or ``refused``/``busy``/``cooldown``/
``failed`` with the reason."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Trigger:
    event_id: str
    camera_id: str
    type: str


Record = Callable[[str, dict[str, Any]], Awaitable[None]]


class AutoDeterrence:
    def __init__(self, rules: Sequence[Deterrence], talkback: TalkbackService | None, clock: Clock) -> None:
        self._rules = list(rules)
        self._talkback = talkback
        self._clock = clock
        self._last_played: dict[str, float] = {}  # camera id -> monotonic time of the last started warning

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
        outcome = await self._start(trigger, rule)
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
