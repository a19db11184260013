"""``shopwatch serve`` and ``shopwatch demo``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from shopwatch.cli.cameras_registry import _registry
from shopwatch.cli.common import ConfigOption, settings_or_exit
from shopwatch.core.config import Settings
from shopwatch.core.errors import ShopwatchError
from shopwatch.core.logging import configure_logging

if TYPE_CHECKING:
    from shopwatch.onvif.bulk import HostResult
    from shopwatch.sim.demo_login import DemoLogin

console = Console()


async def _serve_until_signal(
    settings: Settings,
    config_path: Path | None,
    banner: str | None,
    login: DemoLogin | None = None,
    ray_address: str | None = None,
) -> None:
    from shopwatch.app import run_service  # the composition root, imported when the command runs

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def ready(url: str) -> None:
        console.print(f"[bold green]shopwatch[/] is up: {url}")
        if login is not None:
            console.print(login.banner(url), markup=False, soft_wrap=True)
        else:
            console.print(f"  console              {url}/console/  (users: `shopwatch users create-admin NAME`)")
        console.print(f"  cameras and health   {url}/api/cameras")
        console.print(f"  one snapshot         {url}/api/cameras/<id>/snapshot.jpg")
        console.print(f"  metrics              {url}/metrics")
        if banner:
            console.print(banner, soft_wrap=True)
        console.print("Ctrl-C stops it.")

    await run_service(settings, config_path, stop=stop, on_ready=ready, ray_address=ray_address)


def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Override api.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Override api.port.")] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run ingest as shards on the Ray cluster whose head is at ADDRESS (host:port); see docs/FLEET.md.",
        ),
    ] = None,
) -> None:
    """Run the service: ingest every configured camera and serve the API."""
    settings = settings_or_exit(config)
    api = settings.api.model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v is not None})
    settings = settings.model_copy(update={"api": api})
    _run(settings, config, None, ray_address=ray)


def _run(
    settings: Settings,
    config_path: Path | None,
    banner: str | None,
    login: DemoLogin | None = None,
    ray_address: str | None = None,
) -> None:
    """Run until a signal; a start-up failure we can explain (a missing model, say) is one line, exit status 2."""
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_until_signal(settings, config_path, banner, login, ray_address))
    except ShopwatchError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def demo(
    config: Annotated[Path, typer.Option("--config", "-c", help="Demo configuration.")] = Path("config/demo.yaml"),
) -> None:
    """Start the simulated cameras of the demo config, onboard them over ONVIF, then serve them."""
    from shopwatch.sim.demo import demo_fleet, onboard_fleet, served_settings  # only the demo imports sim code
    from shopwatch.sim.demo_login import demo_login
    from shopwatch.sim.demo_scenes import with_available_model

    settings = settings_or_exit(config)
    configure_logging("warning")  # onboarding's HTTP client logs every request at info (the service sets its own)
    try:
        served, no_model = with_available_model(served_settings(settings))  # checks the simulated cameras first
        if no_model:
            console.print(no_model, markup=False)
        with demo_fleet(settings) as fleet:
            with _registry(settings) as repo:
                results = asyncio.run(onboard_fleet(fleet, repo, settings.onvif))
            _print_onboarding(results)
            # The simulated cameras now come from the registry, as onboarded; edits to the file do not reload.
            _run(served, None, fleet.description, demo_login(served))
    except (OSError, ValueError) as exc:  # a port in use, a camera the demo cannot simulate
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _print_onboarding(results: list[HostResult]) -> None:
    from shopwatch.onvif.onboard import OnboardOutcome

    ok = [r for r in results if r.report.outcome is OnboardOutcome.OK and not r.saved.startswith("not saved")]
    console.print(f"onboarded over ONVIF: {len(ok)} of {len(results)} simulated cameras")
    for result in results:
        if result not in ok:
            why = result.saved or result.report.detail
            console.print(f"  {result.request.who.camera_id}: {result.report.outcome.value} {why}", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(demo)
