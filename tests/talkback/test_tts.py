import shutil

import pytest

from shopwatch.talkback import audio
from shopwatch.talkback.errors import TtsError
from shopwatch.talkback.tts import parse_stream_wav, synthesize
from tests.talkback.spectrum import voiced_span_s

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian package espeak-ng missing")


@needs_espeak
@pytest.mark.parametrize(
    ("text", "voice", "min_s"),
    [("你好，请不要张贴卡片。", "cmn", 1.5), ("You are being recorded, stop posting cards.", "en", 1.5)],
)
async def test_speech_comes_out_as_8khz_pcm_with_voice_in_it(text, voice, min_s):
    pcm = await synthesize(text, voice)
    assert min_s < audio.duration_s(pcm) < 15
    start, end = voiced_span_s(pcm)
    assert end - start > min_s * 0.8


@needs_espeak
async def test_text_starting_with_a_dash_is_spoken_not_parsed_as_an_option():
    assert audio.duration_s(await synthesize("-v is not a flag", "en")) > 0.5


@pytest.mark.parametrize(
    ("text", "voice", "error"),
    [("", "en", "empty"), ("x" * 1001, "en", "at most 1000"), ("hi", "en; rm -rf", "voice name")],
)
async def test_bad_input_is_refused_before_running_anything(text, voice, error):
    with pytest.raises(TtsError, match=error):
        await synthesize(text, voice)


@needs_espeak
async def test_unknown_voice_says_so():
    with pytest.raises(TtsError, match="zz-nope"):
        await synthesize("hello", "zz-nope")


def test_wav_parsing_refuses_garbage():
    with pytest.raises(TtsError, match="expected a WAV stream"):
        parse_stream_wav(b"garbage" * 10)
