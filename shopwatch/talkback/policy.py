"""May this speaker be used now? Merchant consent and quiet hours per camera, with an admin override.

Pure rules over a camera's config and an injected clock: quiet hours are read in camera-local time (the
service-wide ``talkback.timezone``), so a test moves a ``ManualClock`` across midnight instead of sleeping.
A refusal carries the reason an operator is shown; what an admin override set aside is returned so the
caller can audit it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from shopwatch.core.clock import Clock
from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import Forbidden


class PolicyRefused(Forbidden):
    """Talkback on this camera is not allowed now. ``overridable``: an admin override would set it aside."""

    def __init__(self, reason: str, *, overridable: bool, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.overridable = overridable
        self.reasons = reasons  # no_speaker, no_consent, quiet_hours


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """Talkback may go ahead; ``overridden`` lists the refusals an admin override set aside (empty: none)."""

    overridden: tuple[str, ...] = ()


class SpeakerPolicy:
    def __init__(self, clock: Clock, timezone: str) -> None:
        self._clock = clock
        self._zone = ZoneInfo(timezone)

    def local_now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.wall(), self._zone)

    def check(self, camera: CameraConfig, *, override: bool = False) -> PolicyDecision:
        """Raise ``PolicyRefused`` with the first reason that applies, unless ``override`` sets it aside.

        A camera without a speaker is refused even with an override: there is nothing to override."""
        talkback = camera.talkback
        if not talkback.capable:
            raise PolicyRefused(
                f"camera {camera.id!r} has no speaker (talkback.capable is false)", overridable=False,
                reasons=("no_speaker",),
            )
        refusals: list[str] = []
        codes: list[str] = []
        if not talkback.allowed:
            refusals.append(f"the merchant has not consented to talkback on camera {camera.id!r}")
            codes.append("no_consent")
        quiet = talkback.quiet_hours
        if quiet is not None:
            now = self.local_now()
            if quiet.contains(now.time()):
                refusals.append(
                    f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M} on camera {camera.id!r}"
                    f" (local time {now:%H:%M} {self._zone.key})"
                )
                codes.append("quiet_hours")
        if refusals and not override:
            raise PolicyRefused("; ".join(refusals), overridable=True, reasons=tuple(codes))
        return PolicyDecision(overridden=tuple(refusals))
