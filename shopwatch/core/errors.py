"""The error hierarchy. Each error says what was expected and what was found, never a secret."""

from __future__ import annotations

from dataclasses import dataclass


class ShopwatchError(Exception):
    """Base of every error shopwatch raises on purpose.

    Every package subclasses one of the kinds below, so that callers (the API's one exception handler, the CLI)
    can answer by kind without knowing the package: a missing thing, a state conflict, a refusal by policy or
    role, bad input, a dependency that is down, or a device that misbehaved. ``reasons``: short codes of why
    (``quiet_hours``...), for clients that say it in their own words (the console's message catalogue).
    """

    reasons: tuple[str, ...] = ()


# --- what the caller asked for -------------------------------------------------------------------------------


class NotFound(ShopwatchError, LookupError):
    """The thing named does not exist (or is outside the caller's scope, which must look the same)."""


class Conflict(ShopwatchError):
    """The request is valid but clashes with the current state (a taken name, an illegal transition, busy)."""


class Forbidden(ShopwatchError):
    """The caller may not do this: role, grid scope, consent or policy says no."""


class Invalid(ShopwatchError, ValueError):
    """The input is malformed or out of bounds; the message names the field and what was expected."""


class RateLimited(ShopwatchError):
    """The caller asked too often or holds too much at once; ``retry_after_s``: when trying again may work."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooLarge(Invalid):
    """The input is bigger than the limit (a body, a file); refused before it is held whole."""


class UnsupportedMedia(Invalid):
    """The input is not of a kind accepted here (a photo that is not a JPEG, PNG or WebP picture)."""


class Unavailable(ShopwatchError):
    """A dependency needed to answer is down or saturated right now; trying again later may work."""


class SnapshotUnavailable(Unavailable):
    """No decoded frame could be produced in time (camera offline, no keyframe yet)."""


# --- what a device did ---------------------------------------------------------------------------------------


class DeviceError(ShopwatchError):
    """A camera, speaker or other device did not do what we asked."""


class DeviceUnreachable(DeviceError):
    """The camera's host or port did not answer (refused, timed out, no route)."""


class AuthRefused(DeviceError):
    """The camera answered 401/403: wrong or missing credentials."""


class DeviceBusy(DeviceError):
    """The device says the resource (speaker, stream slot) is in use by another client."""


class DeviceRefused(DeviceError):
    """The device understood the request and refused the operation (not an authentication problem)."""


class DeviceNotSupported(DeviceError):
    """The device does not offer what was asked (no backchannel, no such feature)."""


class UnsupportedCodec(DeviceError):
    """The stream carries a codec shopwatch cannot decode."""


class PeerProtocolError(DeviceError):
    """The peer spoke, but not the protocol we expected (garbage, malformed answers)."""


class StreamTimeout(DeviceError):
    """The connection is open but no data arrived in time."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration or import file."""

    where: str  # "cameras[3].port" or "row 7"
    message: str
    line: int | None = None  # 1-based line in the source file, where known

    def __str__(self) -> str:
        at = f"line {self.line}: " if self.line is not None else ""
        return f"{at}{self.where}: {self.message}"


class ConfigError(Invalid):
    """A configuration or import file is invalid. Carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in {source}:\n{lines}")
