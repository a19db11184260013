"""``shopwatch cameras onboard`` (one host, or a hosts CSV) and ``shopwatch cameras discover``.

Onboarding writes to the registry only the devices that answered with a usable stream; every host gets one
report line (ok / unreachable / auth refused / clock skew / not ONVIF / no usable stream). Exit status 0 when
every host onboarded, 3 when some did not, 2 for invalid input, 1 when the database cannot be used."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from shopwatch.cli.cameras_registry import _registry
from shopwatch.cli.common import ConfigOption, settings_or_exit
from shopwatch.core.errors import ConfigError
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.onvif.bulk import HostResult, OnboardRequest, make_request, onboard_many, read_hosts
from shopwatch.onvif.discovery import Discovered, discover
from shopwatch.onvif.onboard import OnboardOutcome
from shopwatch.store.cameras import CameraRepository, SecretNotSet

EXIT_SOME_FAILED = 3


def _line(result: HostResult) -> list[str]:
    report, who = result.report, result.request.who
    findings = report.findings
    streams = ""
    if findings is not None:
        detect, record = findings.choice.detect, findings.choice.record
        streams = f"{detect.encoding} {detect.width}x{detect.height} / {record.encoding} {record.width}x{record.height}"
        streams += (
            f" ({findings.media}{', events' if findings.events else ''}{', speaker' if findings.backchannel else ''})"
        )
    return [report.target, who.camera_id, report.outcome.value, result.saved, streams, report.detail]


def _print(console: Console, results: list[HostResult]) -> None:
    table = Table(title="ONVIF onboarding")
    for column in ("host", "camera", "result", "registry", "detect / record", "detail"):
        table.add_column(column, overflow="fold")
    for result in results:
        style = "green" if result.report.outcome is OnboardOutcome.OK else "red"
        cells = [escape(c) for c in _line(result)]
        cells[2] = f"[{style}]{cells[2]}[/]"
        table.add_row(*cells)
    console.print(table)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.report.outcome.value] = counts.get(result.report.outcome.value, 0) + 1
    console.print(", ".join(f"{n} {outcome}" for outcome, n in counts.items()), markup=False, highlight=False)


def onboard_cmd(
    host: Annotated[str | None, typer.Argument(help="HOST or HOST:PORT of the device's ONVIF service.")] = None,
    user: Annotated[str, typer.Option("--user", "-u", help="Device login.")] = "",
    password: Annotated[
        str, typer.Option("--password", "-p", help="Password, or ${SHOPWATCH_...} (stored as the reference).")
    ] = "",
    camera_id: Annotated[str | None, typer.Option("--id", help="Camera id (default onvif-<host>).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Camera name shown to operators.")] = None,
    grid: Annotated[str | None, typer.Option("--grid", "-g", help="Grid (needed for a new camera).")] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Hosts CSV: host,username,password,id,name,grid.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Onboard cameras over ONVIF into the registry: streams, snapshot URL, speaker, motion events."""
    settings = settings_or_exit(config)
    if (host is None) == (csv_file is None):
        typer.echo("give either HOST[:PORT] or --csv hosts.csv", err=True)
        raise typer.Exit(2)
    try:
        if csv_file is not None:
            requests = read_hosts(csv_file)
        else:
            assert host is not None
            requests = [make_request(host, user, password, os.environ, camera_id=camera_id, name=name, grid=grid)]
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"{exc.source}: {problem}", err=True)
        raise typer.Exit(2) from None
    except (ValueError, SecretNotSet, OSError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    with _registry(settings) as repo:
        results = asyncio.run(_run(requests, repo, settings.onvif))
    _print(Console(), results)
    if any(r.report.outcome is not OnboardOutcome.OK or r.saved.startswith("not saved") for r in results):
        raise typer.Exit(EXIT_SOME_FAILED)


async def _run(requests: list[OnboardRequest], repo: CameraRepository, settings: OnvifSettings) -> list[HostResult]:
    columns = (TextColumn("onboarding"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("", total=len(requests))

        def done(result: HostResult) -> None:
            progress.update(task, advance=1, description=f"{result.report.target} {result.report.outcome.value}")

        return await onboard_many(requests, repo, settings, done)


def discover_cmd(
    interface: Annotated[str | None, typer.Option("--interface", "-i", help="Network interface to probe on.")] = None,
    seconds: Annotated[
        float, typer.Option("--seconds", "-s", min=0.2, max=60, help="How long to collect answers.")
    ] = 3.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per device.")] = False,
    config: ConfigOption = None,
) -> None:
    """Find ONVIF devices with a WS-Discovery probe, and say which are registered already."""
    settings = settings_or_exit(config)
    try:
        devices = asyncio.run(discover(interface, seconds))
    except OSError as exc:
        typer.echo(f"cannot probe on {interface or 'the default interface'}: {exc}", err=True)
        raise typer.Exit(2) from None
    with _registry(settings) as repo:
        by_address = {(r.camera.host, r.camera.onvif_port): r.camera.id for r in repo.records()}
    rows = [(d, by_address.get(d.host_port() or ("", 0))) for d in devices]
    if as_json:
        for device, registered in rows:
            typer.echo(json.dumps(_as_dict(device, registered)))
        return
    table = Table(title=f"ONVIF devices ({len(rows)}) answering on {interface or 'the default interface'}")
    for column in ("address", "name", "hardware", "location", "registered as", "endpoint"):
        table.add_column(column, overflow="fold")
    for device, registered in rows:
        address = ":".join(map(str, device.host_port() or ("?", "")))
        cells = (address, device.scope("name"), device.scope("hardware"), device.scope("location"), registered or "-")
        table.add_row(*(escape(c) for c in (*cells, device.endpoint)))
    Console().print(table)


def _as_dict(device: Discovered, registered: str | None) -> dict[str, object]:
    return {
        "endpoint": device.endpoint,
        "xaddrs": list(device.xaddrs),
        "name": device.scope("name"),
        "hardware": device.scope("hardware"),
        "location": device.scope("location"),
        "scopes": list(device.scopes),
        "registered": registered,
    }


def register(cameras: typer.Typer) -> None:
    cameras.command("onboard")(onboard_cmd)
    cameras.command("discover")(discover_cmd)
