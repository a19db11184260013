from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from shopwatch.core.config import Activity
from shopwatch.core.health import ActivityMode
from shopwatch.ingest.activity import (
    ActivityGate,
    FrameSelector,
    KeyframeMotion,
    PacketActivity,
    PacketTuning,
    downscale_luma,
)

GOP = 24
Packets = list[tuple[int, bool]]


def idle_gop(rng: np.random.Generator, scale: float = 1.0) -> Packets:
    """One GOP as an encoder makes it for a static, noisy scene: a big keyframe, P-frames that start large
    (QP ramp after the keyframe) and settle near 110 bytes, ±25 % noise."""
    sizes = [(3600, True)]
    for position in range(1, GOP):
        expected = 110 + 150 * np.exp(-(position - 1) / 3)
        sizes.append((int(expected * scale * rng.uniform(0.75, 1.25)), False))
    return sizes


def tiny_wandering_gop(rng: np.random.Generator) -> Packets:
    """A near-static stream whose P-frames are tiny and wander from GOP to GOP (the sim's old clips: per-GOP
    means of 60-170 bytes, single frames ±40 %): a ratio of such numbers is noise."""
    level = rng.uniform(60, 170)
    p_frames = [(int(level * rng.uniform(0.6, 1.4)), False) for _ in range(GOP - 1)]
    return [(int(rng.uniform(2200, 4200)), True), *p_frames]


def realistic_gop(rng: np.random.Generator, scale: float = 1.0, added: int = 0, from_position: int = 1) -> Packets:
    """A 384 kbit/s substream of a static scene (INGEST_FACTS): ~27 KB keyframes, ~2.6 KB P-frames of sensor
    grain (±12 %); ``added`` bytes per P-frame from ``from_position`` on (a person walking in adds 1.2-2.5 KB)."""
    sizes = [(int(27_000 * rng.uniform(0.97, 1.03)), True)]
    for position in range(1, GOP):
        extra = added if position >= from_position else 0
        sizes.append((int(2600 * scale * rng.normal(1.0, 0.12)) + extra, False))
    return sizes


def feed(detector: PacketActivity, packets: Packets, *, active: bool = False) -> list[bool]:
    return [detector.update(size, key, active=active) for size, key in packets]


def warm(detector: PacketActivity, make: Callable[[], Packets], gops: int = 6) -> None:
    for _ in range(gops):
        assert not any(feed(detector, make()))
    assert detector.warmed_up


@pytest.mark.parametrize("seed", range(5))
def test_a_static_scene_never_fires_despite_the_big_p_frames_after_each_keyframe(seed: int) -> None:
    rng = np.random.default_rng(seed)
    detector = PacketActivity(Activity())
    fired = [f for _ in range(40) for f in feed(detector, idle_gop(rng))]
    assert not any(fired)
    assert detector.warmed_up


@pytest.mark.parametrize("seed", range(5))
def test_tiny_wandering_p_frames_never_fire(seed: int) -> None:
    rng = np.random.default_rng(seed)
    detector = PacketActivity(Activity())
    fired = [f for _ in range(150) for f in feed(detector, tiny_wandering_gop(rng))]  # five minutes
    assert not any(fired)


def test_a_strong_bump_after_each_keyframe_is_learned_per_position() -> None:
    rng = np.random.default_rng(7)
    bump = {1: 6.0, 2: 3.0, 3: 1.5}  # the first P-frames after a keyframe, relative to the settled size

    def gop() -> Packets:
        return [(27_000, True)] + [(int(2600 * bump.get(p, 1.0) * rng.normal(1.0, 0.12)), False) for p in range(1, GOP)]

    detector = PacketActivity(Activity())
    assert not any(f for _ in range(60) for f in feed(detector, gop()))
    assert detector.baseline(1) == pytest.approx(6 * 2600, rel=0.1)


@pytest.mark.parametrize(("added", "at"), [(250, 10), (250, 1), (400, 20)])
def test_a_step_in_small_p_frames_fires_within_one_window(added: int, at: int) -> None:
    rng = np.random.default_rng(0)
    settings = Activity(pframe_window=6, pframe_ratio=1.8)
    detector = PacketActivity(settings)
    warm(detector, lambda: idle_gop(rng), gops=5)
    # Someone walks in at P-frame ``at``: P-frames grow by ~250 bytes (the sim's old walker clip: 110 -> 350).
    moving = [(size + added if i >= at else size, key) for i, (size, key) in enumerate(idle_gop(rng))]
    fired = feed(detector, moving + idle_gop(rng, scale=1.0)[:1])
    first = fired.index(True)
    assert at <= first <= at + settings.pframe_window - 1


@pytest.mark.parametrize("added", [2300, 4000])
def test_a_person_walking_into_a_realistic_stream_fires_within_one_window_and_dates_the_rise(added: int) -> None:
    rng = np.random.default_rng(1)
    settings = Activity()
    detector = PacketActivity(settings)
    warm(detector, lambda: realistic_gop(rng))
    at = 9
    packets = realistic_gop(rng, added=added, from_position=at) + realistic_gop(rng, added=added)
    first = next(i for i, (size, key) in enumerate(packets) if detector.update(size, key, active=False))
    assert at <= first <= at + settings.pframe_window - 1
    # The rise began at the step: where decoding has to restart from (the keyframe before it).
    assert detector.rise_frames == first - at + 1


@pytest.mark.parametrize(
    ("name", "scale_at"),
    [
        ("dusk: bytes double over four minutes", lambda gop: 1.0 + gop / 120),
        ("bitrate drift: +50 % in one minute", lambda gop: 1.0 + min(gop, 30) / 60),
        ("bitrate drift: -40 % in one minute, then back", lambda gop: 1.0 - 0.4 * min(gop, 60 - gop, 30) / 30),
    ],
)
def test_slow_drift_does_not_fire(name: str, scale_at: Callable[[int], float]) -> None:
    for make in (idle_gop, realistic_gop):
        rng = np.random.default_rng(3)
        detector = PacketActivity(Activity())
        fired = [f for gop in range(120) for f in feed(detector, make(rng, scale=scale_at(gop)))]
        assert not any(fired), f"{name} ({make.__name__})"


def test_nothing_fires_during_warm_up() -> None:
    rng = np.random.default_rng(1)
    detector = PacketActivity(Activity(), PacketTuning(warmup_gops=2))
    assert not any(feed(detector, idle_gop(rng, scale=1.0)))
    assert not any(feed(detector, idle_gop(rng, scale=5.0)[:5]))  # second GOP, huge, but positions not warm
    assert not detector.warmed_up


def test_packets_before_the_first_keyframe_are_ignored() -> None:
    detector = PacketActivity(Activity())
    assert not any(feed(detector, [(5000, False)] * 100))
    assert not detector.warmed_up


def test_a_long_activity_does_not_become_the_new_normal_within_a_minute() -> None:
    rng = np.random.default_rng(2)
    detector = PacketActivity(Activity())
    warm(detector, lambda: realistic_gop(rng))
    before = detector.baseline(12)
    for _ in range(30):  # a minute of someone moving about, reported while active
        assert any(feed(detector, realistic_gop(rng, added=2500), active=True))
    assert detector.baseline(12) == pytest.approx(before, rel=0.15)
    assert any(feed(detector, realistic_gop(rng, added=2500)))


def test_a_lasting_change_becomes_the_new_normal_after_a_few_minutes() -> None:
    # Night mode (or rain, or a screen in the shop window): P-frames stay 2x bigger. The camera must not stay
    # active for ever: while active, the baseline still learns, slowly.
    rng = np.random.default_rng(5)
    detector = PacketActivity(Activity())
    warm(detector, lambda: realistic_gop(rng))
    still_firing = []
    for _ in range(120):  # four minutes
        still_firing.append(any(feed(detector, realistic_gop(rng, scale=2.0), active=True)))
    assert still_firing[0] and not any(still_firing[-30:])
    assert not any(f for _ in range(30) for f in feed(detector, realistic_gop(rng, scale=2.0)))


def test_a_near_empty_stream_does_not_fire_on_a_few_bytes() -> None:
    detector = PacketActivity(Activity(), PacketTuning(min_baseline_bytes=64))
    quiet = [(400, True)] + [(12, False)] * (GOP - 1)
    for _ in range(6):
        feed(detector, quiet)
    blip = [(400, True)] + [(12, False)] * 5 + [(60, False)] * 6 + [(12, False)] * 12
    assert not any(feed(detector, blip))


def test_reset_forgets_the_baseline() -> None:
    rng = np.random.default_rng(4)
    detector = PacketActivity(Activity())
    warm(detector, lambda: idle_gop(rng))
    detector.reset()
    assert detector.baseline(1) is None and not detector.warmed_up and detector.rise_frames == 0


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"warmup_gops": 0}, "warmup_gops"),
        ({"history": 2, "warmup_gops": 3}, "warmup_gops <= history"),
        ({"min_spread_windows": 300}, "min_spread_windows <= spread_history"),
        ({"active_learn_every": 0}, "active_learn_every >= 1"),
    ],
)
def test_bad_tuning_is_refused(kwargs: dict[str, int], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        PacketTuning(**kwargs)


# --- keyframe motion on synthetic luma -------------------------------------------------------------------

H, W = 360, 640
Luma = npt.NDArray[np.uint8]


def scene(seed: int = 0) -> Luma:
    """A textured shop front: blocks of different grey levels, like walls, shutters and windows."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(40, 200, size=(H // 40, W // 40))
    return np.kron(blocks, np.ones((40, 40))).astype(np.uint8)


def noisy(luma: Luma, seed: int, amplitude: int = 4) -> Luma:
    rng = np.random.default_rng(seed)
    return np.clip(luma.astype(np.int16) + rng.integers(-amplitude, amplitude + 1, luma.shape), 0, 255).astype(np.uint8)


def with_figure(luma: Luma, x: int, w: int = 30, h: int = 120) -> Luma:
    out = luma.copy()
    out[H - h - 20 : H - 20, x : x + w] = 25
    return out


def brighter(luma: Luma, delta: int) -> Luma:
    return np.clip(luma.astype(np.int16) + delta, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("name", "second", "motion", "recalibrated"),
    [
        ("sensor noise only", noisy(scene(), 2), False, False),
        ("a person walks in", noisy(with_figure(scene(), 300), 2), True, False),
        ("auto-exposure: whole frame +30", noisy(brighter(scene(), 30), 2), False, False),
        ("lights switched: another scene", scene(seed=9), False, True),
        ("a cat far away (6x6 px)", noisy(with_figure(scene(), 300, w=6, h=6), 2), False, False),
    ],
)
def test_keyframe_motion(name: str, second: Luma, motion: bool, recalibrated: bool) -> None:
    detector = KeyframeMotion(motion_threshold=0.004)
    first = detector.update(noisy(scene(), 1))
    assert first.recalibrated and not first.motion  # nothing to compare with yet
    result = detector.update(second)
    assert (result.motion, result.recalibrated) == (motion, recalibrated), name


def test_after_recalibration_the_new_scene_is_the_reference() -> None:
    detector = KeyframeMotion(motion_threshold=0.004)
    detector.update(scene())
    assert detector.update(scene(seed=9)).recalibrated
    assert not detector.update(noisy(scene(seed=9), 3)).motion
    assert detector.update(with_figure(scene(seed=9), 100)).motion


def test_thresholds_must_leave_room_between_motion_and_recalibration() -> None:
    with pytest.raises(ValueError, match="motion_threshold < recalibrate_fraction"):
        KeyframeMotion(motion_threshold=0.6, recalibrate_fraction=0.5)


def test_downscale_averages_blocks_and_crops_the_remainder() -> None:
    luma = np.arange(10 * 9, dtype=np.uint8).reshape(10, 9)
    small = downscale_luma(luma, 4)
    assert small.shape == (2, 2)
    assert small[0, 0] == int(luma[:4, :4].mean())


@pytest.mark.parametrize("factor", [1, 2, 3, 4, 5, 8, 16])
def test_downscale_is_the_block_mean_rounded_down_for_any_picture(factor: int) -> None:
    rng = np.random.default_rng(factor)
    luma = rng.integers(0, 256, size=(362, 644), dtype=np.uint8)[:, :641]  # a view with padded rows, as decoded
    luma[:32, :32] = 255  # saturated blocks must not overflow
    h, w = 362 - 362 % factor, 641 - 641 % factor
    blocks = luma[:h, :w].astype(np.int64).reshape(h // factor, factor, w // factor, factor)
    expected = blocks.sum(axis=(1, 3)) // (factor * factor)
    assert np.array_equal(downscale_luma(luma, factor), expected)


# --- the idle/active gate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "polls", "modes", "activations"),
    [
        ([], [0, 100], ["idle", "idle"], 0),
        ([0.0], [0.0, 9.9, 10.0], ["active", "active", "idle"], 1),
        ([0.0, 8.0], [9.9, 17.9, 18.0], ["active", "active", "idle"], 1),  # a signal while active extends it
        ([0.0, 20.0], [10.0, 20.0, 30.0], ["idle", "active", "idle"], 2),
    ],
)
def test_gate(signals: list[float], polls: list[float], modes: list[str], activations: int) -> None:
    gate = ActivityGate(quiet_s=10.0)
    events = sorted([(t, "signal") for t in signals] + [(t, "poll") for t in polls], key=lambda e: e[0])
    seen = []
    for t, kind in events:
        if kind == "signal":
            gate.on_signal(t, "test")
        else:
            seen.append(gate.poll(t).value)
    assert seen == modes
    assert gate.activations == activations


def test_on_signal_reports_only_the_switch() -> None:
    gate = ActivityGate(quiet_s=5)
    assert gate.on_signal(1.0, "packet sizes") is True
    assert gate.on_signal(2.0, "onvif") is False
    assert gate.last_reason == "onvif"
    gate.reset()
    assert gate.mode is ActivityMode.IDLE and gate.activations == 1


# --- frame selection at detect_fps ----------------------------------------------------------------------


@pytest.mark.parametrize(("source_fps", "detect_fps", "expected"), [(12, 6, 6), (12, 5, 5), (25, 6, 6), (12, 30, 12)])
def test_frames_are_picked_evenly(source_fps: int, detect_fps: float, expected: int) -> None:
    selector = FrameSelector(detect_fps)
    picked = [i / source_fps for i in range(source_fps * 10) if selector.select(i / source_fps)]
    assert abs(len(picked) - expected * 10) <= 1
    gaps = np.diff(picked)
    assert gaps.max() <= 1 / detect_fps + 1 / source_fps + 1e-9


def test_the_first_frame_is_always_picked_and_a_jump_back_reanchors() -> None:
    selector = FrameSelector(6)
    assert selector.select(100.0)
    assert not selector.select(100.05)
    assert selector.select(3.0)  # the stream restarted
    selector.reset()
    assert selector.select(3.01)
