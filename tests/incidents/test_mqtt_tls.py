"""MQTT over TLS against a mosquitto of our own with a test CA: the broker requires a client certificate from
that CA and a password; the sender verifies the broker (chain and name) and publishes; a subscriber over TLS gets
the alert. Without a client certificate, with the wrong password, or to a broker whose certificate another CA
signed, the send fails as a delivery error (retried), never as plain text."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest

from shopwatch.core.incident_records import Delivery
from shopwatch.core.incidents_config import Mqtt, MqttTls
from shopwatch.incidents.senders import DeliveryError, MqttSender
from tests.incidents.peers import MOSQUITTO, free_port

PASSWORD = "broker-password-for-tests"
pytestmark = pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def issue(d: Path, ca: str, name: str, cn: str, san: str | None = None) -> None:
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", *ec, "-subj", f"/CN={cn}", "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"))
    extra = []
    if san:
        (d / f"{name}.cnf").write_text(f"subjectAltName={san}\n")
        extra = ["-extfile", str(d / f"{name}.cnf")]
    openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / f"{ca}.pem"), "-CAkey",
            str(d / f"{ca}.key"), "-CAcreateserial", "-days", "2", *extra, "-out", str(d / f"{name}.pem"))  # fmt: skip


@pytest.fixture(name="pki", scope="module")
def pki_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("mqtt-pki")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", f"/CN={ca}", "-keyout", str(d / f"{ca}.key"), "-out", str(d / f"{ca}.pem"))  # fmt: skip
    issue(d, "ca", "broker", "127.0.0.1", "IP:127.0.0.1")
    issue(d, "other-ca", "impostor", "127.0.0.1", "IP:127.0.0.1")
    issue(d, "ca", "client", "shopwatch")
    return d


@dataclass
class Broker:
    port: int
    proc: subprocess.Popen[bytes]


async def start_broker(pki: Path, workdir: Path, cert: str) -> Broker:
    port = free_port()
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(workdir / "passwd"), "shopwatch", PASSWORD], check=True)
    os.chmod(workdir / "passwd", 0o600)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\ncafile {pki / 'ca.pem'}\ncertfile {pki / cert}.pem\nkeyfile {pki / cert}.key\n"
        f"require_certificate true\nallow_anonymous false\npassword_file {workdir / 'passwd'}\n"
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Broker(port, proc)
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, "mosquitto did not start"
            await asyncio.sleep(0.05)


@pytest.fixture(name="broker")
async def broker_fixture(pki: Path, tmp_path: Path) -> AsyncIterator[Broker]:
    broker = await start_broker(pki, tmp_path, "broker")
    yield broker
    broker.proc.terminate()
    await asyncio.to_thread(broker.proc.wait, 10)


def settings(port: int, pki: Path, *, client_cert: bool = True, password: str = PASSWORD, ca: str = "ca") -> Mqtt:
    cert = {"cert": str(pki / "client.pem"), "key": str(pki / "client.key")} if client_cert else {}
    return Mqtt(host="127.0.0.1", port=port, username="shopwatch", password=password,  # type: ignore[arg-type]
                tls=MqttTls(ca=str(pki / f"{ca}.pem"), **cert))  # fmt: skip


def delivery(topic: str) -> Delivery:
    now = datetime.now(UTC)
    return Delivery(
        id="d-1", event_id="e-1", reason="alert", team="north", channel="mqtt", target=topic,
        payload={"delivery_id": "d-1", "type": "card_posting"}, state="pending", attempts=0, created_at=now,
        next_attempt_at=now, delivered_at=None, last_error=None,
    )  # fmt: skip


async def test_an_alert_goes_over_tls_with_a_client_certificate_and_password(broker: Broker, pki: Path) -> None:
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    context.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
    subscriber = aiomqtt.Client("127.0.0.1", broker.port, username="shopwatch", password=PASSWORD, tls_context=context)
    sender = MqttSender(settings(broker.port, pki), timeout_s=5, max_inflight=4)
    async with subscriber:
        await subscriber.subscribe("shopwatch/alerts/#", qos=1)
        await sender.send(delivery("shopwatch/alerts/north/card_posting"))
        async with asyncio.timeout(10):
            message = await anext(subscriber.messages)
    await sender.close()
    assert str(message.topic) == "shopwatch/alerts/north/card_posting"
    assert isinstance(message.payload, bytes) and b'"d-1"' in message.payload


@pytest.mark.parametrize(
    "how", ["no client certificate", "wrong password", "plain MQTT to the TLS port"]
)
async def test_a_sender_the_broker_does_not_trust_fails_the_delivery(broker: Broker, pki: Path, how: str) -> None:
    if how == "no client certificate":
        mqtt = settings(broker.port, pki, client_cert=False)
    elif how == "wrong password":
        mqtt = settings(broker.port, pki, password="not-it")
    else:
        mqtt = Mqtt(host="127.0.0.1", port=broker.port, username="shopwatch", password=PASSWORD)  # type: ignore[arg-type]
    sender = MqttSender(mqtt, timeout_s=3, max_inflight=4)
    with pytest.raises(DeliveryError):
        await sender.send(delivery("shopwatch/alerts/north/card_posting"))
    await sender.close()


async def test_a_broker_with_a_certificate_from_another_ca_is_refused(pki: Path, tmp_path: Path) -> None:
    impostor = await start_broker(pki, tmp_path, "impostor")
    try:
        sender = MqttSender(settings(impostor.port, pki), timeout_s=3, max_inflight=4)
        with pytest.raises(DeliveryError):
            await sender.send(delivery("shopwatch/alerts/north/card_posting"))
        await sender.close()
    finally:
        impostor.proc.terminate()
        await asyncio.to_thread(impostor.proc.wait, 10)
