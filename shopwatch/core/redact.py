"""Keep secrets out of logs, API answers, CLI output and exceptions."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, urlsplit, urlunsplit

MASK = "***"

# userinfo with a password inside any URL-looking text: scheme://user:pass@host
_USERINFO_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@")


def redact_url(url: str) -> str:
    """``rtsp://admin:secret@10.0.0.5/Streaming`` -> ``rtsp://admin:***@10.0.0.5/Streaming``."""
    return _USERINFO_RE.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", url)


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask passwords in URLs and every known secret value anywhere in ``text``."""
    out = redact_url(text)
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, MASK)
    return out


def with_credentials(url: str, username: str | None, password: str | None) -> str:
    """Put credentials into a URL that has none; a URL that carries its own keeps them."""
    parts = urlsplit(url)
    if parts.username is not None or not username:
        return url
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{userinfo}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def strip_credentials(url: str) -> str:
    """The URL without any userinfo, for display and storage next to separate credentials."""
    parts = urlsplit(url)
    if parts.username is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedactingFilter(logging.Filter):
    """A logging filter that masks URL passwords and registered secrets in every record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add_secret(self, secret: str | None) -> None:
        if secret and len(secret) >= 3:
            self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message, tuple(self._secrets))
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions from FFmpeg carry the URL they tried: render and redact the traceback once.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(formatted, tuple(self._secrets))
            record.exc_info = None
        return True


def mask_query(url: str) -> str:
    """A URL for people who may know where it points but not hold its tokens: the userinfo and every query
    value masked (``https://hooks.example/in?token=abc`` -> ``https://hooks.example/in?token=***``)."""
    parts = urlsplit(redact_url(url))
    if parts.username is not None and parts.password is None:  # a bare token as the user name
        parts = parts._replace(netloc=f"{MASK}@{parts.netloc.rpartition('@')[2]}")
    query = "&".join(f"{pair.partition('=')[0]}={MASK}" for pair in parts.query.split("&") if pair)
    return urlunsplit(parts._replace(query=query))

