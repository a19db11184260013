"""Hysteresis on a patch's hold: a card whose strength wavers around the firing point (compression and sensor
noise make every real measurement waver) is held once it passed MIN_STRENGTH and fires; a change that never
reaches MIN_STRENGTH starts no hold, however long it stays. These are the first cue's rules: the second cue (a faint
card against the noise of the averaged picture, ``models/faint_card.py``) would find these clean cards on a
noise-free wall whatever their strength, so it is left out here (tests/models/test_faint_card.py covers it)."""

from __future__ import annotations

import numpy as np
import pytest

from shopwatch.models.rules import card_posting
from shopwatch.models.surface import MIN_STRENGTH
from tests.models.handmade import H, W, path, person_at
from tests.models.test_card_posting import CARD, scene

GREY = 120.0  # a plain wall: every pixel's threshold is the rule's diff_threshold
FLOOR = 25  # the rule's default diff_threshold: a card differing by k * FLOOR has strength ~k


@pytest.fixture(autouse=True)
def first_cue_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(card_posting, "faint_patches", lambda _p, _spec, found, _held, _place: found)


def test_the_second_cue_finds_the_card_the_first_cue_never_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a noise-free wall a card 1.5 thresholds off is plain to see: the faint-card cue raises it."""
    monkeypatch.undo()
    assert posted(BELOW) == 1


def posted(strengths: list[float]) -> int:
    """A visit leaves a card whose difference from the wall cycles through ``strengths`` (in units of the
    threshold), frame by frame from the moment the actor steps away; the number of events after 10 s."""
    s = scene(diff_threshold=FLOOR)
    s.background = np.full((H, W, 3), GREY, np.float32)
    s.noise, s._noise = 0.0, []
    s.idle(2)
    s.walk(1, person_at(0.9), person_at(0.3), 1.5)
    s.stand(1, person_at(0.3), 2.0)
    s.stuck.append((CARD, (0, 0, 0)))
    frames = [*path(person_at(0.3), person_at(-0.2), 1.5)] + [None] * 60
    for k, box in enumerate(frames):
        level = round(GREY + strengths[k % len(strengths)] * FLOOR)
        s.stuck[-1] = (CARD, (level, level, level))
        s.step([(1, box)] if box is not None else [])
    return len(s.events)


WAVERING = [1.66, 1.66, 1.54, 1.54]  # around the firing point 1.6, never below HOLD_STRENGTH 1.5
BELOW = [1.56, 1.56, 1.46, 1.46]  # close to the firing point, never reaching it


def test_a_patch_wavering_around_the_firing_point_after_passing_it_is_held_and_fires() -> None:
    assert posted(WAVERING) == 1


def test_without_the_hysteresis_the_same_wavering_patch_is_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the hysteresis is for: held at MIN_STRENGTH, the hold restarts at every dip and never lasts hold_s."""
    monkeypatch.setattr(card_posting, "HOLD_STRENGTH", MIN_STRENGTH)
    assert posted(WAVERING) == 0


@pytest.mark.parametrize("strengths", [BELOW, [1.55]])
def test_a_patch_that_never_reaches_the_firing_point_starts_no_hold(strengths: list[float]) -> None:
    assert posted(strengths) == 0
