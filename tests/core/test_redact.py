from __future__ import annotations

import logging

import pytest

from shopwatch.core.redact import (
    RedactingFilter,
    mask_query,
    redact_text,
    redact_url,
    strip_credentials,
    with_credentials,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/Streaming/101", "rtsp://admin:***@10.0.0.5:554/Streaming/101"),
        ("rtsp://10.0.0.5/live", "rtsp://10.0.0.5/live"),
        ("error opening 'rtsp://u:p%40ss@h/x': 401", "error opening 'rtsp://u:***@h/x': 401"),
        ("isapi://admin:pw@cam dahua://a:b@c", "isapi://admin:***@cam dahua://a:***@c"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_with_and_strip_credentials_round_trip() -> None:
    url = with_credentials("rtsp://10.0.0.5:554/live", "admin", "p@ss:w/rd")
    assert url == "rtsp://admin:p%40ss%3Aw%2Frd@10.0.0.5:554/live"
    assert strip_credentials(url) == "rtsp://10.0.0.5:554/live"
    assert with_credentials("rtsp://x:y@h/p", "admin", "other") == "rtsp://x:y@h/p"
    assert with_credentials("rtsp://h/p", "", "") == "rtsp://h/p"


def test_redact_text_masks_known_secrets_anywhere() -> None:
    assert redact_text("auth failed for pw hunter22 on cam", ("hunter22",)) == "auth failed for pw *** on cam"


def test_logging_filter_masks_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    redactor = RedactingFilter()
    redactor.add_secret("topsecret")
    caplog.handler.addFilter(redactor)
    try:
        raise RuntimeError("could not open rtsp://admin:topsecret@h/x")
    except RuntimeError:
        logger.exception("camera %s failed with %s", "cam-1", "topsecret")
    text = caplog.text
    assert "topsecret" not in text
    assert "rtsp://admin:***@h/x" in text and "cam-1 failed with ***" in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h.example/in?token=abc&x=1", "https://h.example/in?token=***&x=***"),
        ("https://user:pw@h.example/in", "https://user:***@h.example/in"),
        ("https://tok@h.example/in", "https://***@h.example/in"),
        ("https://h.example/in", "https://h.example/in"),
    ],
)
def test_mask_query_hides_query_values_and_userinfo(url: str, shown: str) -> None:
    assert mask_query(url) == shown
