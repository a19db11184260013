"""A self-signed certificate for a station without its own CA (``shopwatch tls make-cert``).

Browsers give the microphone (push-to-talk) only to secure pages, and ``http://<LAN address>`` is not one. The
certificate names every host name and address the operators type (subject alternative names: Chromium ignores
the common name), lasts ``days`` (default 825, the longest Apple and Chromium accept for a server certificate),
and is its own CA (``CA:TRUE``), so it can be imported into an operator machine's trust store as an authority
(docs/TLS.md). The private key is an ECDSA P-256 key written with mode 0600, never printed."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shopwatch.core.errors import Conflict, Invalid

MAX_DAYS = 825


@dataclass(frozen=True, slots=True)
class MadeCert:
    cert: Path
    key: Path
    names: tuple[str, ...]  # every subject alternative name, as written
    not_after: dt.datetime
    sha256: str  # the certificate's fingerprint, to compare on the operators' machines


def _addresses(ips: list[str]) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    out = []
    for ip in ips:
        try:
            out.append(ipaddress.ip_address(ip))
        except ValueError:
            raise Invalid(f"--ip {ip!r} is not an IP address (a name goes in --host)") from None
    return out


def _hosts(hosts: list[str]) -> list[str]:
    for host in hosts:
        label = host.removeprefix("*.")
        if not label or len(host) > 253 or any(c in host for c in " /:@") or label.startswith((".", "-")):
            raise Invalid(f"--host {host!r} is not a DNS name (an address goes in --ip)")
    return hosts


def make_cert(
    out: Path,
    hosts: list[str],
    ips: list[str],
    *,
    days: int = MAX_DAYS,
    overwrite: bool = False,
    now: dt.datetime | None = None,
) -> MadeCert:
    """Writes ``out/shopwatch.crt`` and ``out/shopwatch.key`` (0600); refuses to replace them unless told."""
    if not hosts and not ips:
        raise Invalid("name at least one --host or --ip: browsers check the address against the certificate")
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"--days must be 1 to {MAX_DAYS} (browsers refuse longer server certificates)")
    names, addresses = _hosts(hosts), _addresses(ips)
    cert_path, key_path = out / "shopwatch.crt", out / "shopwatch.key"
    if not overwrite:
        for path in (cert_path, key_path):
            if path.exists():
                raise Conflict(f"{path} exists: pass --overwrite to replace it (operators trusting it must re-import)")
    key = ec.generate_private_key(ec.SECP256R1())
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)  # a little slack for clocks behind
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, (names or [str(a) for a in addresses])[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shopwatch (self-signed)"),
        ]
    )
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    sans += [x509.IPAddress(a) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    out.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_path.unlink(missing_ok=True)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even briefly
    with os.fdopen(fd, "wb") as f:
        f.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return MadeCert(
        cert=cert_path,
        key=key_path,
        names=tuple(names) + tuple(str(a) for a in addresses),
        not_after=cert.not_valid_after_utc,
        sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    )
