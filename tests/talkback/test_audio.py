import av
import numpy as np
import pytest

from shopwatch.talkback import audio
from shopwatch.talkback.errors import AudioDecodeError
from tests.talkback.spectrum import peak_hz


def write_tone_file(path, fmt, codec, rate, layout, seconds=1.0, hz=440.0):
    """An audio file written by PyAV: what an operator uploads (WAV, MP3, AAC, OGG...)."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        channels = 2 if layout == "stereo" else 1
        t = np.arange(int(seconds * rate)) / rate
        samples = (np.sin(2 * np.pi * hz * t) * 0.4).astype(np.float32)
        fmt_name = stream.codec_context.format.name
        for start in range(0, len(samples), 1024):
            chunk = np.tile(samples[start : start + 1024], (channels, 1))
            if not fmt_name.endswith("p"):  # packed formats: interleaved in one plane
                chunk = chunk.T.reshape(1, -1)
            if fmt_name.startswith(("s16", "s32")):
                bits = 16 if fmt_name.startswith("s16") else 32
                chunk = (chunk * (2 ** (bits - 1) - 1)).astype(np.int16 if bits == 16 else np.int32)
            frame = av.AudioFrame.from_ndarray(chunk, format=fmt_name, layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    ("name", "fmt", "codec", "rate", "layout"),
    [
        ("a.wav", "wav", "pcm_s16le", 44100, "stereo"),
        ("a.mp3", "mp3", "libmp3lame", 48000, "stereo"),
        ("a.m4a", "ipod", "aac", 44100, "mono"),
        ("a.ogg", "ogg", "libopus", 48000, "mono"),
    ],
)
def test_common_files_decode_to_8khz_mono_with_the_same_pitch_and_length(tmp_path, name, fmt, codec, rate, layout):
    path = write_tone_file(tmp_path / name, fmt, codec, rate, layout)
    pcm = audio.pcm_from_file(path)
    assert audio.duration_s(pcm) == pytest.approx(1.0, abs=0.06)  # encoders add a little priming
    assert peak_hz(pcm) == pytest.approx(440, abs=5)


def test_not_audio_and_missing_files_say_so(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all")
    with pytest.raises(AudioDecodeError, match="notes.txt"):
        audio.pcm_from_file(text)
    with pytest.raises(AudioDecodeError, match="not found"):
        audio.pcm_from_file(tmp_path / "missing.wav")


def test_too_long_files_are_refused(tmp_path):
    path = write_tone_file(tmp_path / "long.wav", "wav", "pcm_s16le", 8000, "mono", seconds=3.0)
    with pytest.raises(AudioDecodeError, match="longer than the 2 s"):
        audio.pcm_from_file(path, max_seconds=2.0)


def test_tone_frames_and_duration():
    pcm = audio.tone(1000, 0.5)
    assert audio.duration_s(pcm) == 0.5
    assert peak_hz(pcm) == pytest.approx(1000, abs=2)
    chunks = audio.frames(pcm + b"\x00\x00")
    assert [len(c) for c in chunks] == [320] * 25 + [2]
    with pytest.raises(ValueError, match="frequency"):
        audio.tone(5000, 1)


async def test_iter_frames_yields_every_frame_unpaced():
    pcm = audio.tone(300, 0.1)
    assert b"".join([f async for f in audio.iter_frames(pcm)]) == pcm


def test_resample_keeps_pitch_and_duration():
    t = np.arange(48000) / 48000
    stereo = np.repeat((np.sin(2 * np.pi * 700 * t) * 10000).astype("<i2"), 2).tobytes()
    pcm = audio.resample_pcm16(stereo, 48000, channels=2)
    assert audio.duration_s(pcm) == pytest.approx(1.0, abs=0.01)
    assert peak_hz(pcm) == pytest.approx(700, abs=3)


def test_streaming_resampler_matches_one_shot():
    t = np.arange(16000) / 16000
    pcm16k = (np.sin(2 * np.pi * 500 * t) * 8000).astype("<i2").tobytes()
    resampler = audio.PcmResampler()
    pieces = [resampler.feed(pcm16k[i : i + 640], 16000) for i in range(0, len(pcm16k), 640)]
    streamed = b"".join(pieces) + resampler.flush()
    assert len(streamed) == len(audio.resample_pcm16(pcm16k, 16000))
    assert peak_hz(streamed) == pytest.approx(500, abs=3)
