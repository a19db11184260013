"""HTTPS for the API (``api.tls``): the certificate chain and key are checked before anything starts, so a
wrong, unreadable or mismatched pair stops ``shopwatch serve`` with one sentence naming the file, instead of
uvicorn failing inside its start-up."""

from __future__ import annotations

import ssl
from pathlib import Path

from shopwatch.core.api_security_config import ApiTls
from shopwatch.core.errors import Invalid


class TlsProblem(Invalid):
    """``api.tls`` names files that cannot serve HTTPS."""


def check_tls(tls: ApiTls | None) -> ssl.SSLContext | None:
    """A server context from ``tls`` (None: plain HTTP), or ``TlsProblem`` naming the file at fault."""
    if tls is None:
        return None
    for label, path in (("certificate", tls.cert), ("key", tls.key)):
        try:
            Path(path).open("rb").close()
        except OSError as exc:
            raise TlsProblem(f"api.tls: cannot read the {label} file {path}: {exc.strerror or exc}") from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(tls.cert, tls.key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            why = f"the key file {tls.key} does not belong to the certificate in {tls.cert}"
        elif "PEM" in str(exc) or "NO_START_LINE" in str(exc):
            why = f"{tls.cert} or {tls.key} is not a PEM certificate chain and private key ({exc.reason})"
        else:
            why = f"{tls.cert} with {tls.key}: {exc.reason or exc}"
        raise TlsProblem(f"api.tls: {why}") from None
    return context
