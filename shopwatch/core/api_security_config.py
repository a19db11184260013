"""Who may read the API's description, and the browser-facing rules: the response headers' policy and the
origins allowed to make cookie-authenticated changes and open WebSockets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApiSecurity(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    docs: bool = Field(
        True, description="Serve /openapi.json, /docs and /redoc to signed-in admins (401/403 to anyone else); "
        "false: not served at all.",
    )  # fmt: skip
    hsts_max_age_s: int = Field(
        31_536_000, ge=0, le=63_072_000,
        description="Strict-Transport-Security max-age sent on HTTPS answers (0: none).",
    )  # fmt: skip
