"""Options and helpers every command shares."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shopwatch.core.config import Settings
from shopwatch.core.config_loader import load_settings
from shopwatch.core.errors import ConfigError

DEFAULT_CONFIG = "config/shopwatch.yaml"

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=f"YAML configuration file (env SHOPWATCH_CONFIG; default {DEFAULT_CONFIG} when it exists).",
        envvar="SHOPWATCH_CONFIG",
    ),
]

err_console = Console(stderr=True)


def settings_or_exit(path: Path | None) -> Settings:
    """Load and validate the config, or print every problem (key path and line) and exit with status 2."""
    if path is None:
        default = Path(DEFAULT_CONFIG)
        if not default.exists():
            return Settings()
        path = default
    try:
        return load_settings(path, os.environ)
    except ConfigError as exc:
        # markup off: "cameras[3].port" must print as written, not as a rich tag
        err_console.print(f"invalid configuration: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
