"""Which idle keyframes are worth decoding, from their sizes alone."""

import pytest

from shopwatch.ingest.keyframe_sizes import KeyframeSizeWatch


def test_the_first_keyframe_is_always_decoded() -> None:
    assert KeyframeSizeWatch(0.02, 30.0).worth_decoding(27_000, now=0.0)


def test_a_keyframe_within_the_noise_of_the_reference_is_skipped_until_the_max_interval() -> None:
    watch = KeyframeSizeWatch(0.02, 30.0)
    watch.observe(27_000)
    watch.decoded(27_000, now=0.0)
    for t, size in [(2.0, 27_150), (4.0, 26_900), (6.0, 27_300)]:  # within 2 %
        watch.observe(size)
        assert not watch.worth_decoding(size, now=t)
    assert watch.worth_decoding(27_100, now=30.0)


def test_a_changed_scene_changes_the_keyframe_size() -> None:
    watch = KeyframeSizeWatch(0.02, 30.0)
    watch.decoded(27_000, now=0.0)
    assert watch.worth_decoding(32_000, now=2.0)  # a figure in view: +18 %
    assert watch.worth_decoding(24_000, now=2.0)  # or a smoother object hiding texture: -11 %


def test_a_noisy_stream_needs_a_bigger_change() -> None:
    watch = KeyframeSizeWatch(0.02, 30.0)
    for size in [20_000, 21_200, 20_100, 21_300, 20_000, 21_100]:  # ~6 % apart: a grainy night picture
        watch.observe(size)
    assert watch.threshold() == pytest.approx(3 * 0.0597, abs=0.001)  # 3 x the median step
    watch.decoded(20_000, now=0.0)
    assert not watch.worth_decoding(22_000, now=2.0)  # +10 %: noise here
    assert watch.worth_decoding(24_500, now=2.0)  # +22 %


@pytest.mark.parametrize(("min_change", "max_interval_s"), [(0.0, 30.0), (1.5, 30.0), (0.02, 0.0)])
def test_bad_settings_are_refused(min_change: float, max_interval_s: float) -> None:
    with pytest.raises(ValueError, match="expected 0 < min_change"):
        KeyframeSizeWatch(min_change, max_interval_s)
