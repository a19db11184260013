"""Offline text-to-speech with espeak-ng (Debian package ``espeak-ng``), to 8 kHz mono PCM16.

espeak-ng speaks Mandarin (``cmn``) and English (``en``) and many more, offline, in tens of milliseconds per
sentence. It sounds robotic; a better engine plugs in by writing another ``async (text, voice) -> bytes``
that returns 8 kHz mono PCM16 (``audio.resample_pcm16`` converts from any rate). Caching by (voice, text)
is the caller's job (the talkback service keeps one).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import struct

from shopwatch.talkback.audio import resample_pcm16
from shopwatch.talkback.errors import TtsError

VOICES = ("cmn", "en")  # tested; any other espeak-ng voice name is passed through
MAX_TEXT_CHARS = 1000
TIMEOUT_S = 20.0
_VOICE_RE = re.compile(r"^[A-Za-z0-9_+-]{1,40}$")


async def synthesize(text: str, voice: str = "cmn", *, timeout_s: float = TIMEOUT_S) -> bytes:
    """Speak ``text`` with espeak-ng voice ``voice``; raises ``TtsError`` on bad input or an engine failure."""
    text = text.strip()
    if not text:
        raise TtsError("expected text to speak, found an empty string")
    if len(text) > MAX_TEXT_CHARS:
        raise TtsError(f"expected at most {MAX_TEXT_CHARS} characters to speak, found {len(text)}")
    if not _VOICE_RE.match(voice):
        raise TtsError(f"expected a voice name like 'cmn' or 'en', found {voice!r}")
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise TtsError("espeak-ng is not installed (Debian package espeak-ng; `make deps` installs it)")
    # The text goes on stdin, never argv: text starting with '-' is not taken for an option.
    proc = await asyncio.create_subprocess_exec(
        exe, "-v", voice, "--stdout",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(timeout_s):  # not wait_for: on 3.11 it can drop a cancel
            wav, err = await proc.communicate(text.encode("utf-8"))
    except TimeoutError:
        raise TtsError(f"espeak-ng did not finish within {timeout_s} s") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
        raise TtsError(f"espeak-ng failed for voice {voice!r}: {detail}")
    rate, pcm = parse_stream_wav(wav)
    return await asyncio.to_thread(resample_pcm16, pcm, rate)


def parse_stream_wav(wav: bytes) -> tuple[int, bytes]:
    """(sample rate, PCM16 mono samples) of a WAV written to a pipe.

    espeak-ng writes its WAV header before it knows the length, so the RIFF and data sizes are 0x7FFFF...:
    everything after the ``data`` chunk header is samples.
    """
    if len(wav) < 44 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise TtsError(f"expected a WAV stream from espeak-ng, found {len(wav)} bytes starting {wav[:4]!r}")
    pos = 12
    rate = channels = bits = 0
    while pos + 8 <= len(wav):
        chunk_id, size = wav[pos : pos + 4], struct.unpack_from("<I", wav, pos + 4)[0]
        if chunk_id == b"fmt ":
            _fmt, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", wav, pos + 8)
        elif chunk_id == b"data":
            if (channels, bits) != (1, 16) or not rate:
                raise TtsError(f"expected mono 16-bit WAV, found {channels} channel(s) of {bits} bits at {rate} Hz")
            samples = wav[pos + 8 :]
            return rate, samples[: len(samples) - len(samples) % 2]
        pos += 8 + size + (size & 1)
    raise TtsError("expected a data chunk in espeak-ng's WAV, found none")
