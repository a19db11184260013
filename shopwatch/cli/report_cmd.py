"""``shopwatch report --month 2026-11 --out report.pdf``: the monthly case-analysis report (``shopwatch.report``)
from the database the service uses, in Chinese (``--lang en`` for English), as HTML or PDF by the file's suffix.

The database is opened like the other commands (migrated first; the camera-password key must open what is
stored). A month without events is an empty report, not an error; a malformed month, an unknown suffix or a
missing Chromium is one sentence and exit status 2; a database that cannot be used, status 1."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from shopwatch.camera_source import merge_cameras
from shopwatch.cli.common import EXIT_INVALID, ConfigOption, migrated_database, settings_or_exit
from shopwatch.core.config import Settings
from shopwatch.core.errors import Invalid, Unavailable
from shopwatch.report.html import render_html
from shopwatch.report.labels import Lang
from shopwatch.report.model import MonthlyReport, ReportInputs, build_report
from shopwatch.report.month import Month
from shopwatch.report.pdf import find_chromium, print_pdf
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.events import EventRepository

SUFFIXES = (".html", ".htm", ".pdf")


def report(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM (the station's calendar).")],
    out: Annotated[Path, typer.Option("--out", help="report.html (self-contained) or report.pdf (by Chromium).")],
    grid: Annotated[list[str] | None, typer.Option("--grid", help="Only this grid (repeat for several).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh (default) or en.")] = "zh",
    config: ConfigOption = None,
) -> None:
    """Write the monthly report: totals with 环比, per grid, type, hour and weekday, hot spots, precision."""
    try:
        the_month = Month.parse(month)
        if lang not in ("zh", "en"):
            raise Invalid(f"--lang: expected zh or en, found {lang!r}")
        if out.suffix.lower() not in SUFFIXES:
            raise Invalid(f"--out: expected a file ending in .html or .pdf, found {out.name!r}")
    except Invalid as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_INVALID) from None
    settings = settings_or_exit(config)
    language: Lang = "zh" if lang == "zh" else "en"
    try:
        chromium = find_chromium(settings.report.chromium) if out.suffix.lower() == ".pdf" else None
        made = _report(settings, the_month, frozenset(grid) if grid else None)
        html = render_html(made, language)
        if chromium is not None:
            print_pdf(chromium, html, out, settings.report.pdf_timeout_s)
        else:
            _write(out, html)
    except (Unavailable, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    note = " (本月无数据 / no data)" if made.empty else ""
    typer.echo(f"{out}: {the_month}, {made.total.current.events} events{note}")


def _report(settings: Settings, month: Month, grids: frozenset[str] | None) -> MonthlyReport:
    with migrated_database(settings) as engine:
        registry = [record.camera for record in CameraRepository(engine).records()]  # names only: no password
        cameras = {cam.id: cam for cam in merge_cameras(settings.cameras, registry)}
        inputs = ReportInputs(
            station=settings.report.station_name,
            zone=settings.api.timezone,
            cameras=cameras,
            deterrence=settings.incidents.deterrence,
            deterrence_from=settings.report.deterrence_from,
            grids=grids,
            precision_rows=settings.report.precision_rows,
        )
        now = datetime.now(ZoneInfo(settings.api.timezone))
        return build_report(EventRepository(engine).stats, month, inputs, now)


def _write(out: Path, html: str) -> None:
    """The whole page or nothing: written beside ``out`` first, then renamed over it."""
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(out)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
