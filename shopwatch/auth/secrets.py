"""Passwords, login tokens and API keys: how they are made, hashed and checked.

Passwords: argon2id (RFC 9106) through argon2-cffi, with its default parameters (3 passes over 64 MiB, 4 lanes),
salted per password, the parameters stored in the encoded hash so they can be raised later (``needs_rehash``).
argon2id rather than ``hashlib.scrypt``: it is the OWASP first choice, resists GPU and side-channel attacks,
and the library checks and upgrades parameters for us.

Tokens and API key secrets are 32 random bytes (``secrets``): guessing one is hopeless, so they are stored as
SHA-256 (fast, so every request can check one) and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "swt_"
KEY_PREFIX = "swk_"
_KEY_ID_HEX = 12


def new_hasher() -> PasswordHasher:
    """The production hasher (argon2id, RFC 9106 low-memory profile)."""
    return PasswordHasher()


def hash_password(hasher: PasswordHasher, password: str) -> str:
    return hasher.hash(password)


def verify_password(hasher: PasswordHasher, encoded: str, password: str) -> bool:
    try:
        return hasher.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class NewKey:
    id: str
    plaintext: str  # shown once, at creation; never stored

    @property
    def secret_hash(self) -> str:
        return digest(self.plaintext)


def new_key() -> NewKey:
    key_id = secrets.token_hex(_KEY_ID_HEX // 2)
    return NewKey(key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}")


def key_id_of(plaintext: str) -> str | None:
    """The id part of an API key (``swk_<id>_<secret>``), or None when it is not shaped like one."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != _KEY_ID_HEX or not secret:
        return None
    return key_id


def same_digest(plaintext: str, stored: str) -> bool:
    return hmac.compare_digest(digest(plaintext), stored)
