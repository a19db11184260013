"""What can go wrong talking to an ONVIF device, as the onboarding report names it."""

from __future__ import annotations

from shopwatch.core.errors import AuthRefused, DeviceNotSupported, PeerProtocolError


class NotOnvif(PeerProtocolError):
    """Something answers at the port, but not an ONVIF device service (HTML, another protocol, garbage)."""


class ClockSkewRefused(AuthRefused):
    """The device refused the login, and its clock is far from ours: retried with the device's offset, refused
    again. Either the password is wrong or the device rejects even corrected timestamps: fix its clock (NTP)."""

    def __init__(self, message: str, skew_s: float) -> None:
        super().__init__(message)
        self.skew_s = skew_s


class NoUsableStream(DeviceNotSupported):
    """The device has no profile whose stream shopwatch can read (H.264/H.265, at least 320 pixels wide)."""


class OnvifOperationFailed(PeerProtocolError):
    """The device answered an operation with a SOAP fault other than an authorization refusal."""
