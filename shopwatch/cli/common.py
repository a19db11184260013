"""Options and helpers every command shares."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from shopwatch.core.config import Settings
from shopwatch.core.config_loader import load_settings
from shopwatch.core.errors import ConfigError
from shopwatch.core.redact import redact_text
from shopwatch.store.db import database_url, display_url, engine_for_settings, migrate
from shopwatch.store.secret_box import SecretKeyError

DEFAULT_CONFIG = "config/shopwatch.yaml"
EXIT_DATABASE = 1  # the database cannot be used
EXIT_INVALID = 2  # what the command was given is wrong (config, arguments, the camera-password key)

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


@contextmanager
def migrated_database(settings: Settings) -> Iterator[Engine]:
    """The service's database (``service.data_dir``/``service.database_url`` or ``SHOPWATCH_DATABASE_URL``, with the
    key of the stored camera passwords), its schema brought up to date first and disposed of after the block.

    A database that cannot be used, there or inside the block, is one sentence with its password masked and exit
    status 1; a key that does not open what is stored is one sentence naming the key file or variable (never a key)
    and status 2."""
    url = database_url(settings, os.environ)
    secret = make_url(url).password
    engine = engine_for_settings(settings, os.environ)
    try:
        migrate(engine)
        yield engine
    except SQLAlchemyError as exc:
        reason = redact_text(str(getattr(exc, "orig", None) or exc).strip(), (str(secret),) if secret else ())
        typer.echo(f"cannot use the database {display_url(url)}: {reason}", err=True)
        raise typer.Exit(EXIT_DATABASE) from None
    except SecretKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    finally:
        engine.dispose()
