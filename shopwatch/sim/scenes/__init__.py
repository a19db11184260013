"""Scenario clips with exact ground truth: card posting, loitering, after-hours intrusion, and the look-alikes
that must not fire (``shopwatch sim scenes``).

Per clip ``NAME.mp4`` (H.264, 640x360, 12 fps, GOP 24, no B-frames), ``NAME.camera.yaml`` (zones and rules in
the per-camera config format) and ``NAME.json`` (ground truth, see ``truth``). The same seed gives byte-identical
files. Modules: ``figure`` draws people, ``shopfront`` the facade, zones and light, ``props`` cards, posters,
a bicycle and rain, ``script`` moves people through time, ``actors`` says what each kind of person does,
``catalog`` lists the scenes, ``render`` draws frames, ``truth`` derives the events, ``writer`` writes files.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from shopwatch.sim.scenes.catalog import SCENES

__all__ = ["SCENE_NAMES", "generate"]

SCENE_NAMES: tuple[str, ...] = tuple(SCENES)


def generate(out_dir: Path, seed: int, *, names: Sequence[str] | None = None, workers: int = 0) -> list[Path]:
    """Write the scenes ``names`` (default: all) for ``seed`` into ``out_dir``; returns their JSON paths in
    the order of ``names``. ``workers`` processes render clips side by side (0: one per core)."""
    chosen = list(names) if names is not None else list(SCENE_NAMES)
    unknown = sorted(set(chosen) - set(SCENE_NAMES))
    if unknown:
        raise ValueError(f"unknown scene names {unknown}; expected some of {list(SCENE_NAMES)}")
    count = min(len(chosen), workers or os.cpu_count() or 1)
    if count <= 1:
        return [_write(name, seed, out_dir) for name in chosen]
    # spawn: a fresh interpreter per worker, no inherited threads or encoder state
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_write, chosen, [seed] * len(chosen), [out_dir] * len(chosen)))


def _write(name: str, seed: int, out_dir: Path) -> Path:
    from shopwatch.sim.scenes.catalog import build
    from shopwatch.sim.scenes.writer import write_scene

    return write_scene(build(name, seed), seed, out_dir)
