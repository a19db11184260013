"""``shopwatch cameras import`` (merchant CSV into the registry) and ``shopwatch cameras list``.

Both find the database through the config (``service.data_dir``/``service.database_url``) or
``SHOPWATCH_DATABASE_URL`` and bring its schema up to date first. Passwords are never printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shopwatch.cli.common import EXIT_INVALID, ConfigOption, migrated_database, settings_or_exit
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.errors import ConfigError
from shopwatch.core.redact import redact_url
from shopwatch.registry.csv_import import import_csv
from shopwatch.store.cameras import CameraRepository


@contextmanager
def _registry(settings: Settings) -> Iterator[CameraRepository]:
    """The migrated registry, or a message and exit status 1 when the database cannot be used."""
    with migrated_database(settings) as engine:
        yield CameraRepository(engine)


def import_cmd(
    csv_file: Annotated[Path, typer.Argument(help="merchants.csv (UTF-8, header row).")],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows and list the skipped ones.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Import (create or update by id) the cameras of a merchant CSV file; all rows or nothing."""
    settings = settings_or_exit(config)
    with _registry(settings) as repo:
        try:
            result = import_csv(repo, csv_file, skip_invalid=skip_invalid)
        except ConfigError as exc:
            for problem in exc.problems:
                typer.echo(f"{exc.source}: {problem}", err=True)
            typer.echo(f"{csv_file}: {len(exc.problems)} problem(s); nothing was imported", err=True)
            raise typer.Exit(EXIT_INVALID) from None
    typer.echo(
        f"{csv_file}: {len(result.created)} created, {len(result.updated)} updated, {len(result.unchanged)} unchanged"
    )
    shadowed = sorted({c.id for c in settings.cameras} & {*result.created, *result.updated, *result.unchanged})
    if shadowed:
        typer.echo(
            f"note: the config file also defines {', '.join(shadowed)}; its definition is the one used", err=True
        )
    if result.skipped:
        lines = ", ".join(str(n) for n in result.skipped_lines)
        typer.echo(f"skipped {len(result.skipped_lines)} invalid row(s) (lines {lines}):")
        for problem in result.skipped:
            typer.echo(f"  {problem}")


@dataclass(frozen=True)
class _Listed:
    camera: CameraConfig
    source: str


def _listed(settings: Settings, repo: CameraRepository, grid: str | None) -> list[_Listed]:
    # Same rule as the running service: a camera in the config file wins over a registry record of that id.
    rows = {rec.camera.id: _Listed(rec.camera, rec.source.value) for rec in repo.records(grid=grid)}
    rows.update({cam.id: _Listed(cam, "yaml") for cam in settings.cameras if grid is None or cam.grid == grid})
    return [rows[key] for key in sorted(rows)]


def public_camera(camera: CameraConfig) -> dict[str, Any]:
    """The camera as JSON without secrets: no password, no credentials inside URLs."""
    doc = camera.model_dump(mode="json")
    doc["credentials"] = {"username": camera.credentials.username}
    for key in ("detect", "record"):
        if doc["streams"][key]:
            doc["streams"][key] = redact_url(doc["streams"][key])
    if doc["talkback"]["url"]:
        doc["talkback"]["url"] = redact_url(doc["talkback"]["url"])
    return doc


def list_cmd(
    grid: Annotated[str | None, typer.Option(help="Only cameras of this grid.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array (no secrets) instead of a table.")] = False,
    config: ConfigOption = None,
) -> None:
    """List registered cameras (registry records and cameras of the config file)."""
    settings = settings_or_exit(config)
    with _registry(settings) as repo:
        listed = _listed(settings, repo, grid)
    if as_json:
        docs = [{**public_camera(item.camera), "source": item.source} for item in listed]
        typer.echo(json.dumps(docs, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(listed)} camera(s)" + (f" in grid {grid}" if grid else ""))
    for column in ("id", "name", "merchant", "grid", "host", "enabled", "source"):
        table.add_column(column, overflow="fold")
    for item in listed:
        cam = item.camera
        cells = (cam.id, cam.name, cam.merchant.name, cam.grid, cam.host, "yes" if cam.enabled else "no", item.source)
        table.add_row(*(escape(cell) for cell in cells))
    Console().print(table)


def register(cameras_app: typer.Typer) -> None:
    cameras_app.command("import")(import_cmd)
    cameras_app.command("list")(list_cmd)
