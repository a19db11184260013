"""The webhook signature covers the timestamp, and the documented receiver check (``verify_delivery``) refuses a
replay outside the window, a timestamp moved to make a replay look fresh, and a changed body."""

from __future__ import annotations

import pytest

from shopwatch.incidents.alerts import REPLAY_WINDOW_S, body_signature, verify_delivery

SECRET = b"a-signing-secret-of-32-characters"
BODY = b'{"event_id": "a3c0", "type": "card_posting"}'
SENT = 1_800_000_000


def test_a_fresh_delivery_is_accepted() -> None:
    assert verify_delivery(SECRET, BODY, body_signature(SECRET, BODY, SENT), str(SENT), SENT + 2)


@pytest.mark.parametrize(
    ("body", "timestamp", "now", "why"),
    [
        (BODY, SENT, SENT + REPLAY_WINDOW_S + 1, "replayed after the window"),
        (BODY, SENT, SENT - REPLAY_WINDOW_S - 1, "from the future"),
        (BODY, SENT + 3600, SENT + 3600, "captured an hour ago, timestamp header rewritten to now"),
        (BODY + b" ", SENT, SENT, "body changed"),
    ],
)
def test_the_receiver_refuses(body: bytes, timestamp: int, now: int, why: str) -> None:
    captured = body_signature(SECRET, BODY, SENT)  # what an eavesdropper holds
    assert not verify_delivery(SECRET, body, captured, str(timestamp), now), why


@pytest.mark.parametrize(("signature", "timestamp"), [(None, str(SENT)), ("sha256=00", None), ("x", "1e9"), ("é", "1")])
def test_missing_or_malformed_headers_are_refused_not_errors(signature: str | None, timestamp: str | None) -> None:
    assert not verify_delivery(SECRET, BODY, signature, timestamp, SENT)


def test_the_signature_depends_on_the_timestamp() -> None:
    assert body_signature(SECRET, BODY, SENT) != body_signature(SECRET, BODY, SENT + 1)


def test_a_webhook_is_https_unless_its_team_allows_plain_http() -> None:
    from pydantic import ValidationError

    from shopwatch.core.incidents_config import Webhook

    secret = SECRET.decode()
    assert Webhook(url="https://hooks.example/in", secret=secret).url  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="expected an https:// webhook URL"):
        Webhook(url="http://hooks.example/in?token=x", secret=secret)  # type: ignore[arg-type]
    assert Webhook(url="http://10.0.0.9/in", secret=secret, allow_plain_http=True).allow_plain_http  # type: ignore[arg-type]
