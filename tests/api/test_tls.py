"""HTTPS for the API (``api.tls``): a real server with a test CA's certificate answers over TLS (HSTS on, the
certificate verified against the CA); a mismatched, unreadable or non-PEM pair is refused with a sentence naming
the file, and ``shopwatch serve`` stops on it with exit status 2 before starting anything."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from shopwatch.api.server import ApiServer
from shopwatch.api.tls import TlsProblem, check_tls
from shopwatch.cli.main import build_cli
from shopwatch.core.api_security_config import ApiTls


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(name="pki", scope="module")
def pki_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test CA, a server certificate for 127.0.0.1 signed by it, and a second key that belongs to nothing."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=shopwatch test CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))  # fmt: skip
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext.cnf"), "-out", str(d / "server.pem"))  # fmt: skip
    openssl("genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(d / "other.key"))
    return d


async def test_the_api_answers_over_tls_with_hsts(app: FastAPI, pki: Path) -> None:
    server = ApiServer(app, "127.0.0.1", 0, tls=ApiTls(cert=str(pki / "server.pem"), key=str(pki / "server.key")))
    assert server.url.startswith("https://")
    task = asyncio.create_task(server.serve())
    try:
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(pki / "ca.pem"))) as client:
            for _ in range(50):
                try:
                    answer = await client.get(server.url + "/healthz")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert answer.status_code == 200
            assert answer.headers["strict-transport-security"].startswith("max-age=")
        async with httpx.AsyncClient(verify=True) as stranger:  # not signed by a CA the system trusts
            with pytest.raises(httpx.ConnectError):
                await stranger.get(server.url + "/healthz")
    finally:
        server.stop()
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize(
    ("cert", "key", "named"),
    [
        ("server.pem", "other.key", "other.key does not belong to the certificate"),
        ("server.pem", "missing.key", "cannot read the key file"),
        ("missing.pem", "server.key", "cannot read the certificate file"),
        ("ext.cnf", "server.key", "is not a PEM"),
    ],
)
def test_a_bad_pair_is_a_sentence_naming_the_file(pki: Path, cert: str, key: str, named: str) -> None:
    with pytest.raises(TlsProblem) as refused:
        check_tls(ApiTls(cert=str(pki / cert), key=str(pki / key)))
    assert named in str(refused.value) and str(refused.value).startswith("api.tls: ")


def test_serve_stops_on_a_mismatched_pair_naming_the_key(pki: Path, tmp_path: Path) -> None:
    config = tmp_path / "shopwatch.yaml"
    config.write_text(
        f"service: {{data_dir: {tmp_path / 'data'}}}\n"
        f"api: {{port: 0, tls: {{cert: {pki / 'server.pem'}, key: {pki / 'other.key'}}}}}\n"
    )
    result = CliRunner().invoke(build_cli(), ["serve", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{pki / 'other.key'} does not belong to the certificate" in " ".join(result.output.split())
