import warnings

import numpy as np
import pytest

from shopwatch.talkback import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the deprecated reference implementation: our tables must give the same bytes

EVERY_SAMPLE = np.arange(-32768, 32768, dtype="<i2").tobytes()


@pytest.mark.parametrize(
    ("codec", "reference_encode", "reference_decode"),
    [("PCMU", audioop.lin2ulaw, audioop.ulaw2lin), ("PCMA", audioop.lin2alaw, audioop.alaw2lin)],
)
def test_every_sample_and_code_match_the_reference(codec, reference_encode, reference_decode):
    assert g711.encode(codec, EVERY_SAMPLE) == reference_encode(EVERY_SAMPLE, 2)
    codes = bytes(range(256))
    assert g711.decode(codec, codes) == reference_decode(codes, 2)


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_round_trip_error_is_within_the_law_step(codec):
    pcm = np.frombuffer(EVERY_SAMPLE, dtype="<i2").astype(np.int32)
    back = np.frombuffer(g711.decode(codec, g711.encode(codec, EVERY_SAMPLE)), dtype="<i2").astype(np.int32)
    # logarithmic quantisation: the error grows with the magnitude, ~1/32 of it at most (plus the clip)
    assert np.all(np.abs(back - pcm) <= np.maximum(np.abs(pcm) / 16, 16) + 128)


@pytest.mark.parametrize(("codec", "silence"), [("PCMU", 0xFF), ("PCMA", 0xD5)])
def test_silence_code(codec, silence):
    assert g711.encode(codec, bytes(320)) == bytes([silence]) * 160
    assert g711.SILENCE[codec] == silence


def test_odd_byte_count_is_refused():
    with pytest.raises(ValueError, match="whole 16-bit samples"):
        g711.encode("PCMU", b"\x00\x01\x02")
