"""``shopwatch talk URL``: play a clip, a sentence or a tone once through one speaker, for integrators.

Prints the codec chosen, packets sent and the duration played; on failure a redacted message and exit
status 1 (2 for bad arguments). ``--probe`` plays nothing: it prints what the device offers, the codec and RTP
profile shopwatch would use, and exits 0 when it could talk, 1 otherwise. ``--packet-bytes``, ``--marker`` and
``--drain-ms`` try the per-camera knobs (``cameras[].talkback.rtp``, ``drain_ms``) before writing them down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from shopwatch.core.redact import redact_text

if TYPE_CHECKING:
    from shopwatch.talkback.target import TalkTarget

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def talk_cmd(
    url: Annotated[str, typer.Argument(help="rtsp://, isapi:// or dahua:// URL with credentials.")],
    probe: Annotated[bool, typer.Option("--probe", help="Print what the device offers; play nothing.")] = False,
    clip: Annotated[Path | None, typer.Option(help="Audio file to play (WAV, MP3, AAC, OGG...).")] = None,
    say: Annotated[str | None, typer.Option(help="Text to speak (espeak-ng).")] = None,
    voice: Annotated[str, typer.Option(help="espeak-ng voice for --say: cmn (Mandarin), en...")] = "cmn",
    tone: Annotated[float | None, typer.Option(help="Play a sine tone of this frequency (Hz).")] = None,
    seconds: Annotated[float, typer.Option(min=0.02, max=600, help="Length of --tone, in seconds.")] = 3.0,
    udp: Annotated[bool, typer.Option(help="RTP over UDP instead of interleaved TCP (rtsp:// only).")] = False,
    packet_bytes: Annotated[int, typer.Option(min=80, max=1400, help="G.711 bytes per RTP packet.")] = 160,
    marker: Annotated[str, typer.Option(help="RTP marker: talkspurt, every or never.")] = "talkspurt",
    drain_ms: Annotated[int, typer.Option(min=0, max=5000, help="Wait after the last frame, ms.")] = 1000,
) -> None:
    """Play audio once through a camera speaker and print what happened."""
    from shopwatch.core.talkback_config import RtpProfile
    from shopwatch.talkback.target import parse_target

    if not probe and sum(x is not None for x in (clip, say, tone)) != 1:
        raise typer.BadParameter("give exactly one of --clip, --say or --tone (or --probe)")
    if marker not in ("talkspurt", "every", "never"):
        raise typer.BadParameter(f"expected --marker talkspurt, every or never, found {marker!r}")
    transport: Literal["tcp", "udp"] = "udp" if udp else "tcp"
    try:
        target = parse_target(url, transport)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    profile = RtpProfile.model_validate({"packet_bytes": packet_bytes, "marker": marker})
    target = replace(target, rtp=profile, drain_s=drain_ms / 1000)
    if probe:
        _probe(target)
    else:
        _play(target, SoundOptions(clip, say, voice, tone, seconds))


@dataclass(frozen=True)
class SoundOptions:
    """What the command line asked to play: a file, a sentence to speak, or a test tone."""

    clip: Path | None
    say: str | None
    voice: str
    tone: float | None
    seconds: float


def _play(target: TalkTarget, sound: SoundOptions) -> None:
    from shopwatch.talkback import audio
    from shopwatch.talkback.errors import AudioDecodeError, TalkbackError, TtsError
    from shopwatch.talkback.player import talk
    from shopwatch.talkback.tts import synthesize

    async def run() -> None:
        if sound.clip is not None:
            pcm = await asyncio.to_thread(audio.pcm_from_file, sound.clip)
        elif sound.say is not None:
            pcm = await synthesize(sound.say, sound.voice)
        else:
            assert sound.tone is not None
            pcm = audio.tone(sound.tone, sound.seconds)
        console.print(f"talking to {target}: {audio.duration_s(pcm):.2f} s of audio")
        result = await talk(target, audio.iter_frames(pcm))
        sent = f"{result.packets} packets ({result.bytes_sent} bytes)"
        console.print(f"codec {result.codec}, {sent}, played {result.played_s:.2f} s")

    try:
        asyncio.run(run())
    except (TalkbackError, AudioDecodeError, TtsError, ValueError) as exc:
        err_console.print(f"talk failed: {type(exc).__name__}: {redact_text(str(exc))}", markup=False)
        raise typer.Exit(1) from None


def _probe(target: TalkTarget) -> None:
    from shopwatch.talkback.probe import probe_speaker

    offer = asyncio.run(probe_speaker(target))
    for line in offer.lines():
        console.print(redact_text(line), markup=False, soft_wrap=True)
    if offer.talks is not True:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("talk")(talk_cmd)
