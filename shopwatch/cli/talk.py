"""``shopwatch talk URL``: play a clip, a sentence or a tone once through one speaker, for integrators.

Prints the codec chosen, packets sent and the duration played; on failure a redacted message and exit
status 1 (2 for bad arguments).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from shopwatch.core.redact import redact_text

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def talk_cmd(
    url: Annotated[str, typer.Argument(help="rtsp://, isapi:// or dahua:// URL with credentials.")],
    clip: Annotated[Path | None, typer.Option(help="Audio file to play (WAV, MP3, AAC, OGG...).")] = None,
    say: Annotated[str | None, typer.Option(help="Text to speak (espeak-ng).")] = None,
    voice: Annotated[str, typer.Option(help="espeak-ng voice for --say: cmn (Mandarin), en...")] = "cmn",
    tone: Annotated[float | None, typer.Option(help="Play a sine tone of this frequency (Hz).")] = None,
    seconds: Annotated[float, typer.Option(min=0.02, max=600, help="Length of --tone, in seconds.")] = 3.0,
    udp: Annotated[bool, typer.Option(help="RTP over UDP instead of interleaved TCP (rtsp:// only).")] = False,
) -> None:
    """Play audio once through a camera speaker and print what happened."""
    from shopwatch.talkback import audio
    from shopwatch.talkback.errors import AudioDecodeError, TalkbackError, TtsError
    from shopwatch.talkback.player import talk
    from shopwatch.talkback.target import parse_target
    from shopwatch.talkback.tts import synthesize

    if sum(x is not None for x in (clip, say, tone)) != 1:
        raise typer.BadParameter("give exactly one of --clip, --say or --tone")
    transport: Literal["tcp", "udp"] = "udp" if udp else "tcp"
    try:
        target = parse_target(url, transport)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    async def run() -> None:
        if clip is not None:
            pcm = await asyncio.to_thread(audio.pcm_from_file, clip)
        elif say is not None:
            pcm = await synthesize(say, voice)
        else:
            assert tone is not None
            pcm = audio.tone(tone, seconds)
        console.print(f"talking to {target}: {audio.duration_s(pcm):.2f} s of audio")
        result = await talk(target, audio.iter_frames(pcm))
        sent = f"{result.packets} packets ({result.bytes_sent} bytes)"
        console.print(f"codec {result.codec}, {sent}, played {result.played_s:.2f} s")

    try:
        asyncio.run(run())
    except (TalkbackError, AudioDecodeError, TtsError, ValueError) as exc:
        err_console.print(f"talk failed: {type(exc).__name__}: {redact_text(str(exc))}", markup=False)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.command("talk")(talk_cmd)
