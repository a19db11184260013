"""The faint-card cue (``models/faint_card.py``) on small synthetic pictures of a noisy night surface.

Each case builds what the rule hands the cue: the "before" background (a mean of ``BG_FRAMES`` noisy frames of the
surface), the after-picture (a mean of ``LONG_FRAMES`` noisy frames of the surface as it is now), the latest frame
and the measured single-frame noise. The noise (sigma 12 grey levels) puts the first cue's threshold at 48: a card
20 grey levels darker than the surface never passes it, but stands ~5 sigma above the noise of the means."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from shopwatch.models.faint_card import LONG_FRAMES, LongPictures, faint_patches
from shopwatch.models.surface import PatchFinding, PatchSpec, Pictures, find_patches

SIZE = (60, 80)  # rows, cols of the touched part
SIGMA = 12.0  # grey levels: a noisy night door
BG_FRAMES = 36  # what the running background averages at 6 fps (``SurfaceBackground.mean_frames``)
SURFACE = 60.0
SPEC = PatchSpec(min_side=4, max_side=30, diff_threshold=25)
PLACE = ((100, 50), (640, 360))

Image = npt.NDArray[np.float32]


def surface() -> Image:
    return np.full((*SIZE, 3), SURFACE, np.float32)


def mean_of(scene: Image, frames: int, rng: np.random.Generator) -> Image:
    """What averaging ``frames`` noisy frames of ``scene`` gives (the noise of a mean: sigma / sqrt(n))."""
    return scene + rng.normal(0.0, SIGMA / np.sqrt(frames), scene.shape).astype(np.float32)


def pictures(before: Image, after: Image, seed: int = 0) -> LongPictures:
    rng = np.random.default_rng(seed)
    return LongPictures(
        before=mean_of(before, BG_FRAMES, rng),
        after=mean_of(after, LONG_FRAMES, rng),
        current=mean_of(after, 1, rng),
        visible=np.ones(SIZE, bool),
        noise=np.full(SIZE, SIGMA, np.float32),
        after_frames=np.full(SIZE, float(LONG_FRAMES), np.float32),
        before_frames=float(BG_FRAMES),
    )


def first_cue(p: LongPictures) -> PatchFinding:
    return find_patches(Pictures(p.before, p.after, p.current, p.visible, p.noise), SPEC, *PLACE)


def found(p: LongPictures) -> tuple[tuple[float, float, float, float], ...]:
    """The patches the faint cue adds to the first cue's."""
    first = first_cue(p)
    return tuple(b for b in faint_patches(p, SPEC, first, False, PLACE).patches if b not in first.patches)


def boxed(scene: Image, y: int, x: int, h: int, w: int, value: float | tuple[float, float, float]) -> Image:
    out = scene.copy()
    out[y : y + h, x : x + w] = value
    return out


def in_pixels(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    (ox, oy), (fw, fh) = PLACE
    return round(box[0] * fw) - ox, round(box[1] * fh) - oy, round(box[2] * fw) - ox, round(box[3] * fh) - oy


@pytest.mark.parametrize("seed", range(5))
def test_a_faint_dark_card_on_a_noisy_night_surface_is_found_where_the_first_cue_sees_nothing(seed: int) -> None:
    card = boxed(surface(), 20, 30, 6, 9, SURFACE - 20)
    p = pictures(surface(), card, seed)
    assert first_cue(p).patches == ()
    patches = found(p)
    assert len(patches) == 1
    x1, y1, x2, y2 = in_pixels(patches[0])
    assert abs(x1 - 30) <= 1 and abs(y1 - 20) <= 1 and abs(x2 - 39) <= 1 and abs(y2 - 26) <= 1


def test_the_faint_patch_carries_the_first_cues_strength_so_its_confidence_stays_low() -> None:
    p = pictures(surface(), boxed(surface(), 20, 30, 6, 9, SURFACE - 20))
    finding = faint_patches(p, SPEC, first_cue(p), False, PLACE)
    assert len(finding.strengths) == 1 and finding.strengths[0] < 1.0  # far below the firing point 1.6


def test_the_same_card_under_half_the_change_is_not_found() -> None:
    p = pictures(surface(), boxed(surface(), 20, 30, 6, 9, SURFACE - 6))
    assert found(p) == ()


def test_flickering_printed_text_is_not_a_card() -> None:
    """A sign's lettering: dark strokes before and after, a little thicker now (compression): not new."""
    text = surface()
    for row in (20, 24, 28):
        text[row : row + 2, 30:42] = 20.0
    flickered = text.copy()
    for row in (20, 24, 28):
        flickered[row - 1 : row + 3, 30:42] = 20.0  # the strokes spread over the rows between them
    assert found(pictures(text, flickered)) == ()


def test_a_moved_edge_that_turns_one_side_lighter_and_the_other_darker_is_not_a_card() -> None:
    """A light sheet pushed 4 pixels right: a strip on its left turns dark, one on its right turns light (the first
    cue sees both; neither is a faint card)."""
    sheet = boxed(surface(), 10, 20, 20, 14, 200.0)
    moved = boxed(surface(), 10, 24, 20, 14, 200.0)
    assert found(pictures(sheet, moved)) == ()


def test_a_change_that_runs_on_past_the_outline_is_not_a_card() -> None:
    """A faint shadow edge crossing the whole touched part: compact pieces of it have no closed outline."""
    shadow = surface()
    shadow[15:25, :] = SURFACE - 20
    assert found(pictures(surface(), shadow)) == ()


def test_a_card_gone_from_the_latest_frame_is_not_found() -> None:
    p = pictures(surface(), boxed(surface(), 20, 30, 6, 9, SURFACE - 20))
    gone = LongPictures(
        p.before, p.after, mean_of(surface(), 1, np.random.default_rng(9)), p.visible, p.noise, p.after_frames,
        p.before_frames,
    )  # fmt: skip
    assert found(gone) == ()


def test_a_faint_card_is_not_added_twice_where_the_first_cue_found_it() -> None:
    strong = pictures(surface(), boxed(surface(), 20, 30, 6, 9, SURFACE + 120))
    first = first_cue(strong)
    assert len(first.patches) == 1
    assert faint_patches(strong, SPEC, first, False, PLACE).patches == first.patches
