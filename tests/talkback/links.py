"""A speaker link that records what ``talk`` hands it, for tests of the session loop itself.

The protocol modules are tested against real peers (GStreamer backchannel server, fake ISAPI/Dahua
devices); this one stands in only where the subject is pacing and lifecycle, not a protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shopwatch.talkback.errors import TalkbackError
from shopwatch.talkback.g711 import Codec
from shopwatch.talkback.pacing import ManualPacingClock
from shopwatch.talkback.speakers.link import EncodedFrame


@dataclass
class RecordingLink:
    clock: ManualPacingClock
    offers: tuple[Codec, ...] = ("PCMA",)
    fail_after: int | None = None  # raise on the send after this many frames
    protocol: str = "rtsp"
    sent: list[tuple[float, EncodedFrame]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    async def open(self, codecs: tuple[Codec, ...]) -> Codec:
        self.calls.append("open")
        for codec in codecs:
            if codec in self.offers:
                return codec
        raise TalkbackError("no common codec")

    async def send(self, frame: EncodedFrame) -> None:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise TalkbackError("peer went away")
        self.sent.append((self.clock.monotonic(), frame))

    async def flush(self) -> None:
        """Nothing is held back: each frame went out as it came."""

    async def close(self) -> None:
        self.calls.append("close")
