"""The error hierarchy. Each error says what was expected and what was found, never a secret."""

from __future__ import annotations

from dataclasses import dataclass


class ShopwatchError(Exception):
    """Base of every error shopwatch raises on purpose."""


class DeviceUnreachable(ShopwatchError):
    """The camera's host or port did not answer (refused, timed out, no route)."""


class AuthRefused(ShopwatchError):
    """The camera answered 401/403: wrong or missing credentials."""


class UnsupportedCodec(ShopwatchError):
    """The stream carries a codec shopwatch cannot decode."""


class PeerProtocolError(ShopwatchError):
    """The peer spoke, but not the protocol we expected (garbage, malformed answers)."""


class StreamTimeout(ShopwatchError):
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


class ConfigError(ShopwatchError):
    """A configuration or import file is invalid. Carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {source}: {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in {source}:\n{lines}")
