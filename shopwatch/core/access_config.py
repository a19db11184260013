"""Settings of operator authentication: token lifetime, the login cookie, login rate limits, password rules.

Users, API keys and their roles live in the database (``shopwatch users`` / ``shopwatch keys``), never in the
YAML file: there is no default account and no password in configuration."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class LoginRateLimit(_Strict):
    window_s: float = Field(300.0, gt=0, le=86_400, description="Sliding window the login limits count over.")
    user_failures: int = Field(
        5, ge=1, le=1000,
        description="Failed logins of one user name from one client address in the window before that pair is "
        "refused (429); the same user from another address is not.",
    )
    address_attempts: int = Field(
        30, ge=1, le=100_000, description="Login attempts from one client address in the window before it is refused."
    )
    tracked: int = Field(
        10_000,
        ge=100,
        le=1_000_000,
        description="Users and addresses remembered at most per limit (bounded memory; the stalest is forgotten).",
    )


class AuthSettings(_Strict):
    token_ttl_s: float = Field(
        12 * 3600.0, ge=60, le=30 * 86_400, description="How long a login token stays valid (a shift, by default)."
    )
    cookie_name: str = Field(
        "shopwatch_token", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Name of the HttpOnly login cookie."
    )
    cookie_secure: bool = Field(
        True, description="Send the login cookie over HTTPS only (turn off only for plain-HTTP test setups)."
    )
    cookie_samesite: Literal["strict", "lax"] = Field(
        "strict", description="SameSite of the login cookie; 'strict' keeps other sites from using it (CSRF)."
    )
    password_min_length: int = Field(10, ge=8, le=128, description="Shortest password accepted for a user.")
    login_rate: LoginRateLimit = Field(
        default_factory=LoginRateLimit, description="Login rate limits per user and per client address."
    )
