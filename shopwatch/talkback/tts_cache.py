"""Synthesized speech kept on disk by (voice, text), so a warning typed twice plays at once the second time.

Operators repeat the same few sentences ("You are being recorded, stop posting cards"): espeak-ng takes tens to
hundreds of milliseconds per sentence, a cached sentence is one file read. Entries are 8 kHz PCM16 files named
by the SHA-256 of (voice, text) under ``<data_dir>/talkback/tts``; the cache is bounded in bytes and evicts the
least recently used, and it survives restarts (the index is rebuilt from the files, oldest use first).
Concurrent requests for the same sentence share one synthesis."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)

Synthesizer = Callable[[str, str], Awaitable[bytes]]
"""``(text, voice) -> 8 kHz mono PCM16``, e.g. ``shopwatch.talkback.tts.synthesize``."""

_SUFFIX = ".pcm"


def cache_key(text: str, voice: str) -> str:
    return hashlib.sha256(f"{voice}\x00{text}".encode()).hexdigest()


class TtsCache:
    def __init__(self, directory: Path, synthesize: Synthesizer, max_bytes: int) -> None:
        self._dir = directory
        self._synthesize = synthesize
        self.max_bytes = max_bytes
        self._sizes: OrderedDict[str, int] = OrderedDict()  # key -> bytes, least recently used first
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self.hits = 0
        self.misses = 0

    def load(self) -> None:
        """Index the files already on disk (blocking; called once at start-up)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        found = [(p.stat().st_mtime, p.stem, p.stat().st_size) for p in self._dir.glob(f"*{_SUFFIX}")]
        for _, key, size in sorted(found):
            self._sizes[key] = size
        self._evict()

    @property
    def size_bytes(self) -> int:
        return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._sizes)

    async def speech(self, text: str, voice: str) -> bytes:
        """PCM for ``text`` in ``voice``, from the cache or synthesized (errors of the synthesizer pass on)."""
        text = text.strip()
        key = cache_key(text, voice)
        if key in self._sizes:
            pcm = await asyncio.to_thread(self._read, key)
            if pcm is not None:
                self.hits += 1
                self._sizes.move_to_end(key)
                return pcm
            self._sizes.pop(key, None)  # removed behind our back: synthesize again
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            pcm = await self._synthesize(text, voice)
            if self.max_bytes > 0 and len(pcm) <= self.max_bytes:
                await asyncio.to_thread(self._write, key, pcm)
                self._sizes[key] = len(pcm)
                self._evict()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # waiters get it; no "exception never retrieved" when nobody else waited
            raise
        finally:
            del self._pending[key]
        future.set_result(pcm)
        return pcm

    def _path(self, key: str) -> Path:
        return self._dir / f"{key}{_SUFFIX}"

    def _read(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            pcm = path.read_bytes()
            os.utime(path)  # the file's mtime is its last use, for the order after a restart
        except FileNotFoundError:
            return None
        return pcm

    def _write(self, key: str, pcm: bytes) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        tmp = self._path(key).with_suffix(".tmp")
        tmp.write_bytes(pcm)
        tmp.replace(self._path(key))  # atomic: a crash never leaves half a sentence under the real name

    def _evict(self) -> None:
        total = self.size_bytes
        while total > self.max_bytes and self._sizes:
            key, size = self._sizes.popitem(last=False)
            total -= size
            try:
                self._path(key).unlink()
            except FileNotFoundError:
                pass
            log.debug("TTS cache: evicted %s (%d bytes)", key[:12], size)
