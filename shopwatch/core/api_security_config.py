"""Who may read the API's description, and the browser-facing rules: the response headers' policy and the
origins allowed to make cookie-authenticated changes and open WebSockets."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from pydantic import BaseModel, ConfigDict, Field


class ApiTls(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    cert: str = Field(min_length=1, description="PEM certificate chain file (the server's first, then intermediates).")
    key: str = Field(min_length=1, description="PEM private key file of that certificate (keep it 0600).")


class ApiSecurity(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    docs: bool = Field(
        True, description="Serve /openapi.json, /docs and /redoc to signed-in admins (401/403 to anyone else); "
        "false: not served at all.",
    )  # fmt: skip
    allowed_origins: list[str] = Field(
        default_factory=list, max_length=64,
        description="Origins (scheme://host[:port]) besides the service's own that may make cookie-authenticated "
        "changes and open WebSockets, e.g. a reverse proxy's public name. Default: same origin only.",
    )  # fmt: skip
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(
        default_factory=list, max_length=64,
        description="Reverse proxies (addresses or networks) whose X-Forwarded-For is believed for the client "
        "address (login limits, audit). Default: none; the peer address is the client.",
    )  # fmt: skip
    hsts_max_age_s: int = Field(
        31_536_000, ge=0, le=63_072_000,
        description="Strict-Transport-Security max-age sent on HTTPS answers (0: none).",
    )  # fmt: skip
