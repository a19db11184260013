"""``shopwatch sim scenes``: write the scenario clips (MP4, camera zones and rules, ground truth JSON)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def scenes(
    out: Annotated[Path, typer.Option(help="Directory the clips are written to (created if missing).")],
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same bytes.")] = 0,
    only: Annotated[list[str] | None, typer.Option(help="Write only this scene (repeatable).")] = None,
    workers: Annotated[int, typer.Option(min=0, max=64, help="Processes rendering at once (0: one per core).")] = 0,
) -> None:
    """Write deterministic scenario clips with ground truth: card posting, loitering, intrusion and negatives."""
    from shopwatch.sim.scenes import SCENE_NAMES, generate  # the renderer loads OpenCV: only this command needs it

    if only:
        unknown = sorted(set(only) - set(SCENE_NAMES))
        if unknown:
            expected = ", ".join(SCENE_NAMES)
            raise typer.BadParameter(f"unknown scene {unknown}; expected some of {expected}", param_hint="--only")
    started = time.monotonic()
    paths = generate(out, seed, names=only or None, workers=workers)
    table = Table("scene", "seconds", "events", "tags")
    for path in paths:
        truth = json.loads(path.read_text(encoding="utf-8"))
        kinds = ", ".join(event["type"] for event in truth["events"]) or "none"
        table.add_row(truth["name"], f"{truth['duration_s']:g}", kinds, " ".join(truth["tags"]))
    console.print(table)
    elapsed = time.monotonic() - started
    console.print(f"{len(paths)} clips written to [bold]{out}[/] in {elapsed:.1f} s", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="scenes")(scenes)
