"""ONVIF settings: per camera (what onboarding found) and service-wide (timeouts, event subscriptions)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class OnvifCamera(Strict):
    events: bool = Field(
        False, description="Subscribe to the device's motion events (PullPoint); set by onboarding when offered."
    )
    snapshot_url: str | None = Field(
        None, description="Device snapshot URL (no credentials), fetched when the stream is down. Set by onboarding."
    )
    detect_profile: str | None = Field(None, max_length=64, description="Media profile token of the detect stream.")
    record_profile: str | None = Field(None, max_length=64, description="Media profile token of the record stream.")
    backchannel: bool = Field(False, description="A media profile carries an audio output (audio backchannel).")

    @field_validator("snapshot_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s@]+", value):
            raise ValueError(f"expected an http:// or https:// URL without credentials, found {value.split('@')[-1]!r}")
        return value


class OnvifEvents(Strict):
    enabled: bool = Field(True, description="Run PullPoint subscriptions for cameras with onvif.events set.")
    max_subscriptions: int = Field(
        1500, ge=0, le=10000, description="Most subscriptions this service process holds; the rest are reported."
    )
    pull_timeout_s: float = Field(10.0, ge=0.5, le=60, description="How long one PullMessages waits on the device.")
    subscription_s: float = Field(
        60.0, ge=10, le=3600, description="Termination time asked for each subscription (renewed before it ends)."
    )
    renew_fraction: float = Field(
        0.7, ge=0.3, le=0.95, description="Renew once this fraction of the granted time has passed."
    )
    retry_initial_s: float = Field(2.0, gt=0, le=60, description="First wait before re-creating a failed subscription.")
    retry_max_s: float = Field(120.0, gt=0, le=3600, description="Cap on the wait between re-creation attempts.")

    @model_validator(mode="after")
    def _pull_fits_before_expiry(self) -> OnvifEvents:
        margin = self.subscription_s * (1 - self.renew_fraction)
        if self.pull_timeout_s >= margin:
            raise ValueError(
                f"pull_timeout_s ({self.pull_timeout_s}) must be below subscription_s x (1 - renew_fraction)"
                f" ({margin:g}), or a pull can outlast the subscription before it is renewed"
            )
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError(f"retry_max_s ({self.retry_max_s}) must be >= retry_initial_s ({self.retry_initial_s})")
        return self


class OnvifSettings(Strict):
    timeout_s: float = Field(10.0, gt=0, le=120, description="Time allowed for each ONVIF request.")
    clock_tolerance_s: float = Field(
        5.0, ge=0, le=3600, description="Device clock further off than this is reported and compensated."
    )
    onboard_parallel: int = Field(8, ge=1, le=64, description="Devices onboarded at once by a bulk onboarding.")
    events: OnvifEvents = Field(default_factory=OnvifEvents, description="PullPoint motion events.")
    allowed_hosts: list[str] = Field(
        default_factory=list, max_length=256,
        description="Hosts besides the camera's own that a URL the camera reports (snapshot, streams, Media2, "
        "PullPoint) may point at, e.g. an NVR serving its snapshots. Default: the camera's own host only.",
    )  # fmt: skip
    allow_basic_auth: bool = Field(
        False, description="Answer an HTTP Basic challenge from a camera's snapshot URL (the password travels "
        "in clear); default: Digest only.",
    )  # fmt: skip
