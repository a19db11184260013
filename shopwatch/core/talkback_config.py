"""Settings of the talkback service: session limits, speaker queues, quiet-hours time zone, clip and TTS storage.

Per-camera consent and quiet hours live on each camera (``cameras[].talkback``); these are the service-wide
rules that apply to every speaker."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shopwatch.core.time_zone import TimeZoneName

DEFAULT_DRAIN_MS = 1000


class RtpProfile(BaseModel):
    """How a camera wants its backchannel RTP shaped. The default is the standard (RFC 3551: 20 ms of G.711,
    160 bytes, marker on the first packet of a talkspurt); some doorbells (Reolink, go2rtc#331) play only
    1024-byte packets with the marker set on each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    packet_bytes: int = Field(
        160, ge=80, le=1400, description="G.711 bytes per RTP packet (160 = 20 ms, 1024 = 128 ms)."
    )
    marker: Literal["talkspurt", "every", "never"] = Field(
        "talkspurt",
        description="RTP marker bit: on a talkspurt's first packet (standard), on every packet, or never.",
    )

    @property
    def standard(self) -> bool:
        return self.packet_bytes == 160 and self.marker == "talkspurt"

    def describe(self) -> str:
        ms = self.packet_bytes // 8
        return f"{self.packet_bytes}-byte packets ({ms} ms), marker {self.marker}" + (
            " (standard)" if self.standard else ""
        )


class TalkbackSettings(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    max_session_s: float = Field(
        120.0, gt=0, le=3600, description="Longest a single talk session may last; it is ended there."
    )
    queue_size: int = Field(
        3, ge=0, le=50, description="Clip/TTS requests that may wait per speaker when the caller asks to queue."
    )
    timezone: TimeZoneName = Field(
        "Asia/Shanghai", min_length=1, max_length=64, description="IANA time zone the cameras' quiet hours are in."
    )
    live_buffer_ms: int = Field(
        200,
        ge=40,
        le=2000,
        description="Live push-to-talk audio held at most before the oldest is dropped (keeps latency low).",
    )
    clip_max_mb: float = Field(20.0, gt=0, le=500, description="Largest clip file accepted for upload.")
    clip_max_s: float = Field(300.0, gt=0, le=3600, description="Longest clip accepted for upload.")
    tts_cache_mb: float = Field(
        64.0, ge=0, le=10_000, description="Disk kept for synthesized speech; least recently used is evicted."
    )
    history: int = Field(
        200, ge=10, le=10_000, description="Finished sessions kept in memory for GET /api/talkback/sessions."
    )

