"""Bounds on what one caller may make the API hold: request bodies, headers, WebSocket messages and streams
held open at once, and how often a long stream checks that its credential still works."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

KIB = 1024


class RequestLimits(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    body_kib: int = Field(
        256, ge=1, le=64 * KIB,
        description="Largest request body of a JSON route, KiB; 413 at once past it (uploads have their own limit).",
    )  # fmt: skip
    header_kib: int = Field(
        16, ge=4, le=256, description="Largest request line and headers together, KiB (431 past it)."
    )
    ws_message_kib: int = Field(
        256, ge=1, le=16 * KIB, description="Largest WebSocket message, KiB; the socket is closed (1009) past it."
    )
    streams_per_caller: int = Field(
        4, ge=1, le=100,
        description="Long streams (event stream, live views, live talk) one user or key may hold open at once.",
    )  # fmt: skip
    recheck_s: float = Field(
        10.0, gt=0, le=15,
        description="A long stream checks its credential this often (before its next write) and ends once the "
        "user is disabled, the token expired or the key revoked: within 25 s by default.",
    )  # fmt: skip

    @property
    def body_bytes(self) -> int:
        return self.body_kib * KIB

    @property
    def header_bytes(self) -> int:
        return self.header_kib * KIB

    @property
    def ws_message_bytes(self) -> int:
        return self.ws_message_kib * KIB
