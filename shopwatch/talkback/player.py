"""Play one audio source through one speaker: connect, negotiate the codec, pace 20 ms frames, tear down.

This is the interface the talkback service and the CLI use; protocol modules stay behind it. A talk ends
when the source ends, when ``max_s`` is reached, or when the calling task is cancelled (the device session
is closed, then ``CancelledError`` propagates). Failures raise ``TalkbackError`` subclasses whose messages
are redacted; once frames went out, the error carries the partial ``TalkResult`` in ``.result``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shopwatch.core.talkback_records import TalkResult
from shopwatch.talkback import g711
from shopwatch.talkback.audio import FRAME_BYTES, AudioSource
from shopwatch.talkback.errors import TalkbackError
from shopwatch.talkback.pacing import LoopClock, Pacer, PacingClock
from shopwatch.talkback.speakers.link import EncodedFrame, SpeakerLink
from shopwatch.talkback.target import TalkTarget

log = logging.getLogger(__name__)

PREFERRED_CODECS: tuple[g711.Codec, ...] = ("PCMU", "PCMA")


def open_link(target: TalkTarget) -> SpeakerLink:
    """The protocol module for a target (imported here so each stays independent of the others)."""
    if target.protocol == "rtsp":
        from shopwatch.talkback.speakers.rtsp.backchannel import RtspBackchannel

        return RtspBackchannel(target)
    if target.protocol == "isapi":
        from shopwatch.talkback.speakers.isapi import IsapiLink

        return IsapiLink(target)
    from shopwatch.talkback.speakers.dahua import DahuaLink

    return DahuaLink(target)


async def talk(
    target: TalkTarget,
    source: AudioSource,
    *,
    max_s: float | None = None,
    on_started: Callable[[str], None] | None = None,
    clock: PacingClock | None = None,
    link: SpeakerLink | None = None,
) -> TalkResult:
    """Play ``source`` on ``target``'s speaker once; see the module doc. ``on_started(codec)`` is called right
    after the first frame went out. ``link`` replaces the protocol module (tests, benchmarks)."""
    if max_s is not None and max_s <= 0:
        raise ValueError(f"expected max_s > 0, found {max_s}")
    speaker = link if link is not None else open_link(target)
    pacer = Pacer(clock if clock is not None else LoopClock())
    result = TalkResult(target.protocol, "", 0, 0, 0.0)
    played_until: float | None = None
    try:
        result.codec = await speaker.open(PREFERRED_CODECS)
        codec: g711.Codec = "PCMU" if result.codec == "PCMU" else "PCMA"
        async for pcm in source:
            if max_s is not None and result.packets * 0.02 >= max_s - 1e-9:
                break
            if len(pcm) != FRAME_BYTES:
                pcm = _pad(pcm)
            timestamp, marker = await pacer.wait()
            await speaker.send(EncodedFrame(g711.encode(codec, pcm), timestamp, marker))
            result.packets += 1
            result.bytes_sent += len(pcm) // 2
            if result.packets == 1 and on_started is not None:
                on_started(result.codec)
        if pacer.started_at is not None:
            await speaker.flush()
            # Let the last frame play, then the device's playback buffer empty, before tearing down: devices
            # discard what they have not played when the session closes (scrypted waits ~1 s for the same).
            await pacer.clock.sleep_until(pacer.audio_end)
            played_until = pacer.clock.monotonic()  # the last frame's audio has ended (as measured)
            await pacer.clock.sleep_until(pacer.audio_end + target.drain_s)
    except TalkbackError as exc:
        result.error = str(exc)
        if result.packets:
            exc.result = result
        raise
    finally:
        if pacer.started_at is not None:
            ended = played_until if played_until is not None else pacer.clock.monotonic()
            result.played_s = ended - pacer.started_at
        await speaker.close()
    log.info(
        "talk to %s: %s, %d packets, %.2f s", target, result.codec, result.packets, result.played_s
    )
    return result


def _pad(pcm: bytes) -> bytes:
    """A short last frame padded with silence; a longer one is a caller bug worth saying so."""
    if len(pcm) > FRAME_BYTES or len(pcm) % 2:
        raise ValueError(f"expected frames of at most {FRAME_BYTES} bytes of whole samples, found {len(pcm)}")
    return pcm + bytes(FRAME_BYTES - len(pcm))
