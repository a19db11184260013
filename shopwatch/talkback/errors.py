"""Talkback errors. Messages say what was expected and what was found, with URLs and secrets redacted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopwatch.core.errors import ShopwatchError

if TYPE_CHECKING:
    from shopwatch.talkback.session import TalkResult


class TalkbackError(ShopwatchError):
    """A talk could not start or broke off. ``result`` holds what was played before, once a talk was under way."""

    result: TalkResult | None = None


class NoBackchannel(TalkbackError):
    """The device has no audio backchannel (RTSP 551, no sendonly track) or no two-way audio channel."""


class TalkbackAuthError(TalkbackError):
    """The device refused the credentials (401/403)."""


class SpeakerBusy(TalkbackError):
    """The device says its speaker is in use by another client."""


class TalkbackUnreachable(TalkbackError):
    """The device did not answer, or the connection broke (refused, timed out, closed mid-talk)."""


class TalkbackProtocolError(TalkbackError):
    """The device answered, but not as the protocol says (malformed reply, unexpected status)."""


class UnsupportedTalkCodec(TalkbackError):
    """The device offers only audio codecs shopwatch cannot encode (G.711 PCMU/PCMA are supported)."""


class AudioDecodeError(ShopwatchError):
    """An audio file could not be decoded (not audio, unknown format, damaged)."""


class TtsError(ShopwatchError):
    """Text-to-speech failed (engine missing, unknown voice, engine error)."""
