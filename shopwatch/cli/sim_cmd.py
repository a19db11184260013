"""``shopwatch sim``: serve a fleet of simulated RTSP cameras until Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console
from rich.table import Table

from shopwatch.cli import sim_scenes
from shopwatch.core.redact import MASK

console = Console()
SHOWN = 5  # URLs listed before "... and N more"


def sim(
    ctx: typer.Context,
    cameras: Annotated[int, typer.Option(min=1, max=9999, help="Number of cameras (cam-01 ..).")] = 10,
    port: Annotated[int, typer.Option(min=0, max=65535, help="RTSP port on 127.0.0.1 (0: any free port).")] = 8554,
    clips_dir: Annotated[Path, typer.Option(help="Where generated clips are cached.")] = Path("data/sim"),
    walker_every: Annotated[int, typer.Option(min=0, help="Every N-th camera has a walker; 0: none.")] = 5,
    username: Annotated[str | None, typer.Option(help="Login every camera requires (HTTP Basic).")] = None,
    password: Annotated[str | None, typer.Option(help="Password for --username.")] = None,
    write_config: Annotated[
        Path | None, typer.Option(help="Write a shopwatch config with these cameras to this file.")
    ] = None,
    scenes: Annotated[
        Path | None, typer.Option(help="Cameras play the scenario clips in this directory (`sim scenes --out`).")
    ] = None,
    fps: Annotated[
        int, typer.Option(min=1, max=30, help="Frames per second of every camera: fewer fit more cameras.")
    ] = 12,
    engine: Annotated[
        str, typer.Option(help="gst: GStreamer server (UDP, faults); light: one thread, RTSP/TCP only, for big fleets.")
    ] = "gst",
) -> None:
    """Serve simulated shop cameras over RTSP (static shop fronts, some with a person walking past).

    `shopwatch sim scenes` writes the scenario clips instead."""
    if ctx.invoked_subcommand is not None:
        return
    # imported when the command runs: only this command needs GStreamer
    from shopwatch.sim.fleet import FleetOptions
    from shopwatch.sim.runner import ENGINES, Engine, ServeOptions, running_fleet, stop_on_signals, wait_until

    if engine not in ENGINES:
        raise typer.BadParameter(f"expected one of {', '.join(ENGINES)}, found {engine!r}", param_hint="--engine")
    if password and not username:
        raise typer.BadParameter("--password needs --username")
    if scenes is not None and not any(scenes.glob("*.mp4")):
        raise typer.BadParameter(f"expected scenario clips (*.mp4) in {scenes}, found none", param_hint="--scenes")
    fleet = FleetOptions(
        cameras=cameras, walker_every=walker_every, username=username, password=password, scenes_dir=scenes, fps=fps
    )
    options = ServeOptions(
        fleet=fleet, clips_dir=clips_dir, port=port, config_path=write_config, engine=cast(Engine, engine)
    )
    console.print(f"preparing clips in {clips_dir} ...", highlight=False)
    try:
        with stop_on_signals() as stop, running_fleet(options) as running:
            _print_fleet(running.urls, running.fleet.label_of, username)
            console.print(f"serving {len(running.urls)} cameras on [bold]{running.base_url}[/]")
            if running.config_path is not None:
                console.print(f"config written to [bold]{running.config_path}[/]", highlight=False)
            console.print("Ctrl-C stops it.")
            wait_until(stop)
    except OSError as exc:
        console.print(f"[red]cannot serve the simulated cameras[/] on 127.0.0.1:{port}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print("stopped.")


def _print_fleet(urls: dict[str, str], kind_of: Callable[[str], str], username: str | None) -> None:
    table = Table("camera", "kind", "url")
    for camera_id, url in list(urls.items())[:SHOWN]:
        shown = url.replace("rtsp://", f"rtsp://{username}:{MASK}@", 1) if username else url  # no password
        table.add_row(camera_id, kind_of(camera_id), shown)
    if len(urls) > SHOWN:
        table.add_row("...", "", f"and {len(urls) - SHOWN} more")
    console.print(table)


def register(app: typer.Typer) -> None:
    group = typer.Typer(invoke_without_command=True)
    group.callback()(sim)
    sim_scenes.register(group)
    app.add_typer(group, name="sim")
