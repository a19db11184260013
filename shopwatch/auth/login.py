"""Login and per-request authentication.

A login checks the rate limits first (per client address: every attempt; per existing user: failures), then the
argon2id hash, and answers a fresh random token stored as its SHA-256 with the user and an expiry. Every request
presents a token or an API key and gets a ``Principal`` back only if the token is unexpired and its user enabled,
or the key is not revoked: both are read from the database each time, so a disabled user or revoked key stops
working at once, whichever process made the change.

Blocking (argon2id costs tens of milliseconds by design, and the database is read): call from a thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property

from argon2 import PasswordHasher

from shopwatch.auth.ratelimit import SlidingWindow
from shopwatch.auth.secrets import (
    KEY_PREFIX,
    TOKEN_PREFIX,
    digest,
    hash_password,
    key_id_of,
    new_token,
    same_digest,
    verify_password,
)
from shopwatch.auth.users import Accounts, now_utc, principal_of_key, principal_of_user
from shopwatch.core.access_config import AuthSettings
from shopwatch.core.clock import Clock
from shopwatch.core.errors import Forbidden, RateLimited
from shopwatch.core.principal import Principal
from shopwatch.store.accounts import AccountRepository

log = logging.getLogger(__name__)


class LoginRefused(Forbidden):
    """Wrong user name or password, or a disabled user (one answer for all, so names cannot be probed)."""


class LoginLimited(RateLimited):
    """Too many attempts; try again after ``retry_after_s``."""

    def __init__(self, retry_after_s: float, scope: str) -> None:
        super().__init__(f"too many login attempts ({scope}); retry after {retry_after_s:.0f} s", retry_after_s)
        self.scope = scope  # "user" or "address"


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    expires_at: datetime
    principal: Principal


class LoginService:
    def __init__(
        self, repo: AccountRepository, settings: AuthSettings, clock: Clock, hasher: PasswordHasher | None = None
    ) -> None:
        self.settings = settings
        self._repo = repo
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        self.accounts = Accounts(repo, self._hasher, clock, settings.password_min_length)
        limits = settings.login_rate
        self._by_user = SlidingWindow(limits.user_failures, limits.window_s, limits.tracked, clock)
        self._by_address = SlidingWindow(limits.address_attempts, limits.window_s, limits.tracked, clock)
        self._limits_lock = threading.Lock()  # logins run in worker threads

    @cached_property
    def _dummy_hash(self) -> str:
        # Unknown users cost one argon2id verification too, so timing does not tell which names exist.
        return hash_password(self._hasher, "not a password of anyone")

    def login(self, username: str, password: str, client: str) -> LoginResult:
        """A token for the user, or ``LoginLimited`` / ``LoginRefused``.

        Failures are counted per (user name, client address), not per user: an attacker guessing alice's
        password from one address is stopped there while alice, from her own desk, still signs in (a lock per
        user would be a lock the attacker holds). Every attempt also counts against the address. Unknown names
        are counted like known ones, so neither the answer nor the limit tells which names exist."""
        pair = f"{username}\n{client}"
        with self._limits_lock:
            waits = [(self._by_address.retry_after(client), "address"), (self._by_user.retry_after(pair), "user")]
            limited = [(w, scope) for w, scope in waits if w is not None]
            if limited:
                raise LoginLimited(*max(limited))
            self._by_address.hit(client)
        user = self._repo.user_named(username)
        if user is None:
            verify_password(self._hasher, self._dummy_hash, password)
        if user is None or not verify_password(self._hasher, user.password_hash, password) or not user.enabled:
            with self._limits_lock:
                self._by_user.hit(pair)
            raise LoginRefused("wrong user name or password")
        with self._limits_lock:
            self._by_user.reset(pair)
        if self._hasher.check_needs_rehash(user.password_hash):  # parameters were raised since it was hashed
            rehashed = replace(user, password_hash=hash_password(self._hasher, password))
            self._repo.update_user(rehashed, revoke_tokens=False)
        now = now_utc(self._clock)
        token = new_token()
        expires_at = now + timedelta(seconds=self.settings.token_ttl_s)
        self._repo.delete_expired_tokens(now)
        self._repo.add_token(digest(token), user.id, now, expires_at)
        return LoginResult(token, expires_at, principal_of_user(user))

    def authenticate(self, credential: str) -> Principal | None:
        """The caller behind a token or API key, or None (unknown, expired, revoked, disabled)."""
        if credential.startswith(TOKEN_PREFIX):
            user = self._repo.token_user(digest(credential), now_utc(self._clock))
            return None if user is None else principal_of_user(user)
        if credential.startswith(KEY_PREFIX):
            key_id = key_id_of(credential)
            key = None if key_id is None else self._repo.key(key_id)
            if key is None or key.revoked_at is not None or not same_digest(credential, key.secret_hash):
                return None
            return principal_of_key(key)
        return None

    def logout(self, token: str) -> bool:
        return token.startswith(TOKEN_PREFIX) and self._repo.delete_token(digest(token))
