"""``shopwatch tls make-cert``: the certificate names every --host and --ip (read back with ``cryptography`` and
``openssl``), the key is 0600 and belongs to the certificate, the API serves HTTPS with the pair to a client that
trusts only that certificate, and bad input (an address that is not one, a pair already there) is a sentence with
exit status 2 that replaces nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import stat
import subprocess
from pathlib import Path

import httpx
from cryptography import x509
from fastapi import FastAPI
from typer.testing import CliRunner

from shopwatch.api.server import ApiServer
from shopwatch.api.tls import check_tls
from shopwatch.cli.main import build_cli
from shopwatch.core.api_security_config import ApiTls


def make(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_cli(), ["tls", "make-cert", *args])
    return result.exit_code, " ".join(result.output.split())


def test_the_certificate_names_every_host_and_address_and_the_key_is_private(tmp_path: Path) -> None:
    out = tmp_path / "tls"
    code, said = make(
        "--host", "station.local", "--host", "zhihui", "--ip", "192.168.10.5", "--ip", "127.0.0.1", "--out", str(out)
    )
    assert code == 0, said
    cert = x509.load_pem_x509_certificate((out / "shopwatch.crt").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["station.local", "zhihui"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.168.10.5"),
        ipaddress.ip_address("127.0.0.1"),
    ]
    assert stat.S_IMODE((out / "shopwatch.key").stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in said and str(out / "shopwatch.key") in said
    text = subprocess.run(
        ["openssl", "x509", "-in", str(out / "shopwatch.crt"), "-noout", "-ext", "subjectAltName"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert "DNS:station.local" in text and "IP Address:192.168.10.5" in text
    assert check_tls(ApiTls(cert=str(out / "shopwatch.crt"), key=str(out / "shopwatch.key"))) is not None


async def test_serve_with_the_made_pair_answers_over_tls(app: FastAPI, tmp_path: Path) -> None:
    code, said = make("--ip", "127.0.0.1", "--out", str(tmp_path))
    assert code == 0, said
    cert, key = tmp_path / "shopwatch.crt", tmp_path / "shopwatch.key"
    server = ApiServer(app, "127.0.0.1", 0, tls=ApiTls(cert=str(cert), key=str(key)))
    task = asyncio.create_task(server.serve())
    try:
        trusting = ssl.create_default_context(cafile=str(cert))  # an operator machine that imported it
        async with httpx.AsyncClient(verify=trusting) as client:
            for _ in range(50):
                try:
                    answer = await client.get(server.url + "/healthz")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert answer.status_code == 200
            assert server.url.startswith("https://127.0.0.1:")
    finally:
        server.stop()
        await asyncio.wait_for(task, 10)


def test_bad_input_is_a_sentence_and_replaces_nothing(tmp_path: Path) -> None:
    code, said = make("--ip", "192.168.1", "--out", str(tmp_path))
    assert code == 2 and "'192.168.1' is not an IP address" in said
    assert not (tmp_path / "shopwatch.key").exists()
    code, said = make("--out", str(tmp_path))
    assert code == 2 and "at least one --host or --ip" in said
    assert make("--host", "station.local", "--out", str(tmp_path))[0] == 0
    first = (tmp_path / "shopwatch.crt").read_bytes()
    code, said = make("--host", "other.local", "--out", str(tmp_path))
    assert code == 2 and "exists: pass --overwrite" in said
    assert (tmp_path / "shopwatch.crt").read_bytes() == first
    assert make("--host", "other.local", "--out", str(tmp_path), "--overwrite")[0] == 0
    assert (tmp_path / "shopwatch.crt").read_bytes() != first
