"""What a Hikvision ISAPI refusal means, from the ``ResponseStatus`` the device answers with (no I/O).

Hikvision's device network SDK manual (``ResponseStatus``, open.hikvision.com "DEVICE_RESPONSE_STATUS") gives
``statusCode`` 1 OK, 2 Device Busy, 3 Device Error, 4 Invalid Operation, 5 Invalid XML Format, 6 Invalid XML
Content, 7 Reboot Required; ``subStatusCode`` says more (its "ISAPI error code" table). The two-way audio ones
met in the field: ``twoWayAudioInProgressPleaseWait`` (error code 0x40002068, another client holds the audio
channel), ``notSupport`` (the firmware lacks the API or channel), ``lowPrivilege`` (the account may not use it),
``invalidOperation`` (refused in the current state). Firmware answers these with HTTP 403 as often as with 200
or 400, so a 403 alone says nothing about the credentials: only a 401, or a 403 that carries no ResponseStatus,
is read as a login problem. Each meaning becomes one error of the core family with a sentence an operator can
act on; the device's own words follow in parentheses for the installer.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from shopwatch.talkback.errors import (
    NoBackchannel,
    SpeakerBusy,
    TalkbackAuthError,
    TalkbackError,
    TalkbackProtocolError,
    TalkRefused,
)

DEVICE_BUSY = 2
DEVICE_ERROR = 3
INVALID_OPERATION = 4
INVALID_XML_FORMAT = 5
INVALID_XML_CONTENT = 6
REBOOT_REQUIRED = 7


@dataclass(frozen=True, slots=True)
class ResponseStatus:
    status_code: int
    status_string: str = ""
    sub_status_code: str = ""

    def __str__(self) -> str:
        parts = [f"statusCode {self.status_code}"]
        if self.status_string:
            parts.append(self.status_string)
        if self.sub_status_code:
            parts.append(self.sub_status_code)
        return ", ".join(parts)


def parse_response_status(body: bytes) -> ResponseStatus | None:
    """The ``ResponseStatus`` in an answer body, whatever its namespace; None when there is none."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if _local(root.tag) != "ResponseStatus":
        return None
    fields = {_local(child.tag): (child.text or "").strip() for child in root}
    code = fields.get("statusCode", "")
    if not code.isdigit():
        return None
    return ResponseStatus(int(code), fields.get("statusString", ""), fields.get("subStatusCode", ""))


# subStatusCode -> (error kind, what the operator reads)
_SUB_STATUS: dict[str, tuple[type[TalkbackError], str]] = {
    "twoWayAudioInProgressPleaseWait": (
        SpeakerBusy,
        "another client is talking through this camera's speaker; try again when it has finished",
    ),
    "deviceBusy": (SpeakerBusy, "the camera is busy and cannot open its speaker now; try again shortly"),
    "notSupport": (NoBackchannel, "this camera's firmware does not offer two-way audio on this channel"),
    "lowPrivilege": (
        TalkbackAuthError,
        "the camera account shopwatch uses may not use two-way audio; grant it that permission on the camera",
    ),
}

# statusCode -> (error kind, what the operator reads), when the subStatusCode is not one of the above
_STATUS: dict[int, tuple[type[TalkbackError], str]] = {
    DEVICE_BUSY: (SpeakerBusy, "the camera is busy and cannot open its speaker now; try again shortly"),
    DEVICE_ERROR: (TalkRefused, "the camera reported an internal error and did not open its speaker"),
    INVALID_OPERATION: (TalkRefused, "the camera refused to open its speaker in its current state"),
    INVALID_XML_FORMAT: (TalkbackProtocolError, "the camera did not understand shopwatch's request"),
    INVALID_XML_CONTENT: (TalkbackProtocolError, "the camera did not accept shopwatch's request"),
    REBOOT_REQUIRED: (TalkRefused, "the camera needs a reboot before it can talk"),
}


def refusal(shown: str, what: str, http_status: int, body: bytes) -> TalkbackError:
    """The error for a non-2xx answer to ``what`` from the device shown as ``shown`` (a redacted URL)."""
    status = parse_response_status(body)
    detail = f"{what}: HTTP {http_status}" + (f", {status}" if status is not None else "")
    if http_status == 401 or (http_status == 403 and status is None):
        return TalkbackAuthError(f"{shown}: the camera refused shopwatch's login; check its user and password"
                                 f" ({detail})")  # fmt: skip
    if status is not None:
        kind, sentence = _SUB_STATUS.get(status.sub_status_code) or _STATUS.get(
            status.status_code, (TalkRefused, "the camera refused to open its speaker")
        )
        return kind(f"{shown}: {sentence} ({detail})")
    if http_status == 404:
        return NoBackchannel(f"{shown}: this camera does not offer ISAPI two-way audio ({detail})")
    if http_status == 503:
        return SpeakerBusy(f"{shown}: the camera is busy and cannot open its speaker now; try again shortly"
                           f" ({detail})")  # fmt: skip
    return TalkbackProtocolError(f"{shown}: the camera answered in a way shopwatch does not expect ({detail})")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
