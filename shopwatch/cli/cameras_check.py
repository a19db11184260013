"""``shopwatch cameras check``: probe every camera once, in parallel, and print what each one delivers."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from shopwatch.cli.common import ConfigOption, settings_or_exit
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.ingest.probe import ProbeResult, probe_camera
from shopwatch.store.secret_box import SecretKeyError

console = Console()


def _registered_cameras(settings: Settings) -> list[CameraConfig]:
    from shopwatch.camera_source import merge_cameras, registry_cameras
    from shopwatch.store.cameras import CameraRepository
    from shopwatch.store.db import engine_for_settings, migrate

    engine = engine_for_settings(settings, os.environ)
    try:
        migrate(engine)
        return merge_cameras(settings.cameras, registry_cameras(CameraRepository(engine), os.environ))
    finally:
        engine.dispose()


def _fmt(value: float | int | None, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def check(
    config: ConfigOption = None,
    seconds: Annotated[float, typer.Option(min=0.5, max=60, help="How long to read each camera.")] = 3.0,
    parallel: Annotated[int, typer.Option(min=1, max=256, help="Cameras probed at once.")] = 32,
    grid: Annotated[str | None, typer.Option(help="Only cameras of this grid.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per camera instead of a table.")] = False,
) -> None:
    """Probe every enabled camera once and print state, codec, resolution, fps, bitrate, time to first frame."""
    settings = settings_or_exit(config)
    try:
        registered = _registered_cameras(settings)
    except SecretKeyError as exc:  # one sentence naming the key file or variable, never a key
        Console(stderr=True).print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    cameras = [c for c in registered if c.enabled and (grid is None or c.grid == grid)]
    results: dict[str, ProbeResult] = {}
    progress = Progress(
        TextColumn("probing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), disable=as_json,
    )
    with progress, ThreadPoolExecutor(max_workers=min(parallel, max(1, len(cameras)))) as pool:
        task = progress.add_task("cameras", total=len(cameras))
        futures = {pool.submit(probe_camera, cam, settings.ingest, seconds): cam.id for cam in cameras}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            progress.advance(task)
    ordered = [(cam, results[cam.id]) for cam in cameras]
    if as_json:
        for cam, res in ordered:
            typer.echo(json.dumps({"id": cam.id, **res.to_dict()}, ensure_ascii=False))
    else:
        _print_table(ordered)
    ok = sum(1 for _, res in ordered if res.error is None)
    console.print(f"{ok} of {len(ordered)} cameras deliver video", highlight=False)
    if ok < len(ordered):
        raise typer.Exit(1)


def _print_table(rows: list[tuple[CameraConfig, ProbeResult]]) -> None:
    table = Table(title="camera check")
    for column in ("camera", "grid", "state", "codec", "resolution", "fps", "kbit/s", "first frame", "error"):
        table.add_column(column, overflow="fold")
    for cam, res in rows:
        resolution = f"{res.width}x{res.height}" if res.width else "-"
        first = "-" if res.time_to_first_frame_s is None else f"{res.time_to_first_frame_s:.2f} s"
        style = "green" if res.error is None else "red"
        table.add_row(
            cam.id, cam.grid, f"[{style}]{res.state.value}[/]", res.codec or "-", resolution,
            _fmt(res.fps, ".1f"), _fmt(res.kbit_per_s, ".0f"), first, Text(res.error or ""),
        )
    console.print(table)


def register(cameras_app: typer.Typer) -> None:
    cameras_app.command()(check)
