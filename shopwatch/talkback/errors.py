"""Talkback errors, each a kind of the ``core.errors`` family. Messages say what was expected and what was
found, with URLs and secrets redacted; device errors carry the sentence an operator reads in the session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopwatch.core.errors import (
    AuthRefused,
    DeviceBusy,
    DeviceError,
    DeviceNotSupported,
    DeviceRefused,
    DeviceUnreachable,
    Invalid,
    PeerProtocolError,
    UnsupportedCodec,
)

if TYPE_CHECKING:
    from shopwatch.core.talkback_records import TalkResult


class TalkbackError(DeviceError):
    """A talk could not start or broke off. ``result`` holds what was played before, once a talk was under way."""

    result: TalkResult | None = None


class NoBackchannel(TalkbackError, DeviceNotSupported):
    """The device has no audio backchannel (RTSP 551, no sendonly track) or no two-way audio channel."""


class TalkbackAuthError(TalkbackError, AuthRefused):
    """The device refused the credentials (401, or 403 that names no other reason)."""


class SpeakerBusy(TalkbackError, DeviceBusy):
    """The device says its speaker is in use by another client."""


class TalkRefused(TalkbackError, DeviceRefused):
    """The device understood the request and refused the operation (not busy, not an authentication problem)."""


class TalkbackUnreachable(TalkbackError, DeviceUnreachable):
    """The device did not answer, or the connection broke (refused, timed out, closed mid-talk)."""


class TalkbackProtocolError(TalkbackError, PeerProtocolError):
    """The device answered, but not as the protocol says (malformed reply, unexpected status)."""


class UnsupportedTalkCodec(TalkbackError, UnsupportedCodec):
    """The device offers only audio codecs shopwatch cannot encode (G.711 PCMU/PCMA are supported)."""


class AudioDecodeError(Invalid):
    """An audio file could not be decoded (not audio, unknown format, damaged)."""


class TtsError(Invalid):
    """Text-to-speech failed for this text or voice (engine missing, unknown voice, engine error): answered 422."""
