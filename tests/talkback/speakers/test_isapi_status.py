"""Hikvision ResponseStatus -> error kind and operator sentence (statusCode/subStatusCode from the SDK manual)."""

import pytest

from shopwatch.core.errors import AuthRefused, DeviceBusy, DeviceNotSupported, DeviceRefused, PeerProtocolError
from shopwatch.talkback.speakers.isapi_status import ResponseStatus, parse_response_status, refusal


def status(code, sub="", text=""):
    return (f'<ResponseStatus version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema"><statusCode>{code}'
            f"</statusCode><statusString>{text}</statusString><subStatusCode>{sub}</subStatusCode>"
            "</ResponseStatus>").encode()  # fmt: skip


@pytest.mark.parametrize(
    ("http", "body", "kind", "sentence"),
    [
        (403, status(4, "twoWayAudioInProgressPleaseWait"), DeviceBusy, "another client is talking"),
        (403, status(2, "deviceBusy", "Device Busy"), DeviceBusy, "busy"),
        (200, status(2, "", "Device Busy"), DeviceBusy, "busy"),
        (403, status(4, "notSupport"), DeviceNotSupported, "does not offer two-way audio"),
        (403, status(4, "lowPrivilege"), AuthRefused, "may not use two-way audio"),
        (403, status(4, "invalidOperation"), DeviceRefused, "refused to open its speaker"),
        (500, status(3, "", "Device Error"), DeviceRefused, "internal error"),
        (400, status(5, "badXmlFormat"), PeerProtocolError, "did not understand"),
        (403, status(7, "", "Reboot Required"), DeviceRefused, "needs a reboot"),
        (401, status(4, "", "Invalid Operation"), AuthRefused, "refused shopwatch's login"),
        (403, b"<html>Forbidden</html>", AuthRefused, "refused shopwatch's login"),
        (404, b"", DeviceNotSupported, "does not offer ISAPI two-way audio"),
        (503, b"", DeviceBusy, "busy"),
        (502, b"", PeerProtocolError, "does not expect"),
    ],
)
def test_refusal_kinds_and_sentences(http, body, kind, sentence):
    error = refusal("isapi://admin:***@cam", "open two-way audio", http, body)
    assert isinstance(error, kind), type(error)
    assert sentence in str(error) and str(error).startswith("isapi://admin:***@cam: ")
    assert f"HTTP {http}" in str(error)


def test_response_status_parsing():
    assert parse_response_status(status(4, "notSupport", "Invalid Operation")) == ResponseStatus(
        4, "Invalid Operation", "notSupport"
    )
    assert parse_response_status(b"<TwoWayAudioSession/>") is None
    assert parse_response_status(b"not xml") is None
    assert parse_response_status(b"<ResponseStatus><statusCode>x</statusCode></ResponseStatus>") is None
