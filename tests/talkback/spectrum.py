"""Checks on received audio: the dominant frequency and where speech energy is."""

from __future__ import annotations

import numpy as np

from shopwatch.talkback.audio import SAMPLE_RATE


def peak_hz(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)[int(np.argmax(spectrum))])


def voiced_span_s(pcm: bytes, *, window_s: float = 0.05, threshold: float = 500.0) -> tuple[float, float]:
    """(first, last) time in seconds of a window whose RMS exceeds ``threshold`` (full scale 32767)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    size = int(window_s * SAMPLE_RATE)
    count = len(samples) // size
    rms = np.sqrt(np.mean(samples[: count * size].reshape(count, size) ** 2, axis=1))
    loud = np.nonzero(rms > threshold)[0]
    if not len(loud):
        return (0.0, 0.0)
    return (float(loud[0] * window_s), float((loud[-1] + 1) * window_s))
