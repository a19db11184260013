"""The TTS cache: keyed by (voice, text), bounded in bytes (least recently used goes), shared in-flight,
kept across restarts. The synthesizer is espeak-ng where the subject is speech, a counting function where
the subject is the cache's bookkeeping."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from shopwatch.talkback import audio, tts
from shopwatch.talkback.errors import TtsError
from shopwatch.talkback.tts_cache import TtsCache, cache_key


class Counting:
    """Returns 0.1 s of a distinct tone per sentence and counts the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, text: str, voice: str) -> bytes:
        self.calls.append((text, voice))
        await self.gate.wait()
        if text == "fail":
            raise TtsError("engine failed")
        return audio.tone(200 + 10 * len(text), 0.1)  # 1,600 bytes


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian package espeak-ng missing")
async def test_real_speech_is_cached_on_disk_by_voice_and_text(tmp_path: Path) -> None:
    cache = TtsCache(tmp_path, tts.synthesize, 10_000_000)
    cache.load()
    first = await cache.speech("请不要张贴小广告", "cmn")
    again = await cache.speech("  请不要张贴小广告 ", "cmn")  # surrounding blanks do not matter
    english = await cache.speech("请不要张贴小广告", "en")
    assert first == again and audio.duration_s(first) > 1.0
    assert english != first
    assert (cache.hits, cache.misses, len(cache)) == (1, 2, 2)
    assert (tmp_path / f"{cache_key('请不要张贴小广告', 'cmn')}.pcm").read_bytes() == first


async def test_least_recently_used_is_evicted_past_the_byte_bound(tmp_path: Path) -> None:
    synth = Counting()
    cache = TtsCache(tmp_path, synth, max_bytes=3 * 1600)
    cache.load()
    for text in ("a", "bb", "ccc"):
        await cache.speech(text, "en")
    await cache.speech("a", "en")  # "a" is now the most recently used
    await cache.speech("dddd", "en")  # over the bound: "bb" goes
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{cache_key(t, 'en')}.pcm" for t in ("a", "ccc", "dddd")
    )
    await cache.speech("bb", "en")
    assert [t for t, _ in synth.calls] == ["a", "bb", "ccc", "dddd", "bb"]
    assert cache.size_bytes <= cache.max_bytes


async def test_concurrent_requests_share_one_synthesis_and_errors_are_not_cached(tmp_path: Path) -> None:
    synth = Counting()
    synth.gate.clear()
    cache = TtsCache(tmp_path, synth, max_bytes=1_000_000)
    waiting = [asyncio.create_task(cache.speech("same", "cmn")) for _ in range(5)]
    await asyncio.sleep(0)
    synth.gate.set()
    results = await asyncio.gather(*waiting)
    assert len(set(results)) == 1 and synth.calls == [("same", "cmn")]

    for _ in range(2):
        with pytest.raises(TtsError):
            await cache.speech("fail", "cmn")
    assert synth.calls.count(("fail", "cmn")) == 2
    assert len(cache) == 1


async def test_the_cache_survives_a_restart_in_its_use_order(tmp_path: Path) -> None:
    synth = Counting()
    first = TtsCache(tmp_path, synth, max_bytes=10 * 1600)
    for i, text in enumerate(("old", "new")):
        await first.speech(text, "en")
        os.utime(tmp_path / f"{cache_key(text, 'en')}.pcm", (1_000 + i, 1_000 + i))
    second = TtsCache(tmp_path, synth, max_bytes=1600)  # a smaller bound after a config change
    second.load()
    assert list(p.stem for p in tmp_path.iterdir()) == [cache_key("new", "en")]
    await second.speech("new", "en")
    assert (second.hits, len(synth.calls)) == (1, 2)


async def test_a_zero_bound_caches_nothing(tmp_path: Path) -> None:
    synth = Counting()
    cache = TtsCache(tmp_path, synth, max_bytes=0)
    await cache.speech("x", "en")
    await cache.speech("x", "en")
    assert len(synth.calls) == 2 and list(tmp_path.iterdir()) == []
