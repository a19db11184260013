"""The two ways an alert leaves: MQTT (QoS 1: sent once the broker's PUBACK came back) and webhooks (sent
once the receiver answered 2xx). Each raises ``DeliveryError`` saying whether trying again can help.

Both send the same bytes: the payload as compact UTF-8 JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import uuid
from typing import Any, Protocol

import aiohttp
import aiomqtt

from shopwatch.core.errors import Unavailable
from shopwatch.core.incident_records import Delivery
from shopwatch.core.incidents_config import Mqtt, MqttTls
from shopwatch.core.redact import redact_text
from shopwatch.incidents.alerts import (
    DELIVERY_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    body_signature,
)

log = logging.getLogger(__name__)


class DeliveryError(Unavailable):
    """``retry_after_s``: the receiver says when to try again (a robot's rate); else the outbox's backoff."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


class Sender(Protocol):
    async def send(self, delivery: Delivery) -> None:
        """Return once the receiver confirmed it; raise ``DeliveryError`` otherwise."""
        ...

    async def close(self) -> None: ...


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _tls_context(tls: MqttTls | None) -> ssl.SSLContext | None:
    """The broker verified against ``tls.ca`` (name and chain), with our client certificate when given."""
    if tls is None:
        return None
    try:
        context = ssl.create_default_context(cafile=tls.ca)
        if tls.cert:
            context.load_cert_chain(tls.cert, tls.key)
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"MQTT TLS files ({tls.ca}, {tls.cert or 'no client certificate'}): {exc}") from None
    return context


class MqttSender:
    """One broker connection, opened on first use and re-opened after it failed; publishes share it."""

    def __init__(self, settings: Mqtt, timeout_s: float, max_inflight: int) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._max_inflight = max_inflight
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()
        self.connects = 0

    async def _connected(self) -> aiomqtt.Client:
        async with self._lock:
            if self._client is not None:
                return self._client
            s = self._settings
            client = aiomqtt.Client(
                s.host,
                s.port,
                username=s.username or None,
                password=s.password.get_secret_value() or None,
                identifier=s.client_id or f"shopwatch-{uuid.uuid4().hex[:12]}",
                keepalive=s.keepalive_s,
                timeout=self._timeout_s,
                max_inflight_messages=self._max_inflight,
                tls_context=_tls_context(s.tls),
            )
            try:
                await client.__aenter__()
            except aiomqtt.MqttError as exc:
                raise DeliveryError(f"MQTT broker {s.host}:{s.port} unreachable: {redact_text(str(exc))}") from None
            self._client = client
            self.connects += 1
            log.info("connected to MQTT broker %s:%d", s.host, s.port)
            return client

    async def send(self, delivery: Delivery) -> None:
        client = await self._connected()
        try:
            await client.publish(delivery.target, encode(delivery.payload), qos=1, timeout=self._timeout_s)
        except aiomqtt.MqttError as exc:
            await self._drop(client)
            raise DeliveryError(f"MQTT publish to {delivery.target} failed: {redact_text(str(exc))}") from None

    async def _drop(self, client: aiomqtt.Client) -> None:
        """Forget a failed connection (once, however many publishes saw it fail)."""
        async with self._lock:
            if self._client is not client:
                return
            self._client = None
        try:
            await client.__aexit__(None, None, None)
        except (aiomqtt.MqttError, OSError, RuntimeError):
            pass  # it was broken already: that is why it is dropped

    async def close(self) -> None:
        if self._client is not None:
            await self._drop(self._client)


class WebhookSender:
    """POST the payload with its HMAC signature; the delivery id is the idempotency key, so a receiver that
    saw a delivery before (an answer lost on the way back) can tell.

    aiohttp rather than httpx: httpcore's pool checks every pooled connection (a poll() each) for every
    request it places, which at the dispatcher's 16 parallel sends in a burst cost more CPU than the rest of
    the delivery path together."""

    def __init__(self, secret_for: SecretLookup, timeout_s: float, wall: WallClock, max_connections: int) -> None:
        self._secret_for = secret_for
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None  # made on first use: it needs the running loop
        self._wall = wall

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            # trust_env: HTTP(S)_PROXY / NO_PROXY apply, as they did with httpx
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, trust_env=True)
        return self._session

    async def send(self, delivery: Delivery) -> None:
        secret = self._secret_for(delivery.team, delivery.target)
        if secret is None:
            raise DeliveryError(
                f"webhook {delivery.target} is no longer configured for {delivery.team}", permanent=True
            )
        body = encode(delivery.payload)
        sent_at = int(self._wall())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: body_signature(secret, body, sent_at),
            DELIVERY_HEADER: delivery.id,
            IDEMPOTENCY_HEADER: delivery.id,
            TIMESTAMP_HEADER: str(sent_at),
        }
        try:
            async with self._client().post(
                delivery.target, data=body, headers=headers, allow_redirects=False
            ) as answer:
                await answer.read()  # the connection goes back to the pool only once the answer was read
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"webhook {delivery.target}: {type(exc).__name__}: {redact_text(str(exc))}") from None
        if 200 <= status < 300:
            return
        # 408/429 and 5xx are the receiver's passing trouble; any other 4xx will not change by retrying.
        retry = status in (408, 429) or status >= 500
        raise DeliveryError(f"webhook {delivery.target} answered {status}", permanent=not retry)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class SecretLookup(Protocol):
    def __call__(self, team: str, url: str) -> bytes | None: ...


class WallClock(Protocol):
    def __call__(self) -> float: ...
