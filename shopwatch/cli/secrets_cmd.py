"""``shopwatch secrets rotate``: encrypt every camera password in the database again, under a new key.

With the key file (``service.secret_key_file`` or ``<data_dir>/secret.key``): a new key is put first in the file,
the old ones kept after it; every row is re-encrypted with the new key (batch by batch, each row either under the
old key or the new one, never half); once every row opens with the new key alone, the old keys are dropped from
the file. A crash at any point leaves a file that opens every row; running ``rotate`` again finishes the job.

With ``SHOPWATCH_SECRET_KEY``: the environment cannot be rewritten from here. Put a new key (``shopwatch secrets
new-key``) first in the variable and the old one after a comma, run ``rotate`` (it re-encrypts with the first
key), then drop the old key from the variable."""

from __future__ import annotations

import typer
from cryptography.fernet import Fernet

from shopwatch.cli.cameras_registry import _registry
from shopwatch.cli.common import ConfigOption, settings_or_exit
from shopwatch.store.secret_box import SecretKeyError

EXIT_INVALID = 2


def rotate(config: ConfigOption = None) -> None:
    """Re-encrypt every stored camera password under a new key; the old key is kept until none needs it."""
    settings = settings_or_exit(config)
    with _registry(settings) as repo:
        box = repo.secrets
        source = box.source
        try:
            if not source.from_env:
                old = source.load() or []
                source.write([Fernet.generate_key(), *old])  # from here, rows under either key open
                box.reload()
            rewritten = repo.reseal_all()
            left = repo.unopened()
            if left:  # changed meanwhile by a writer with the old key loaded: keep the old key, say so
                typer.echo(f"{len(left)} password(s) still under an old key (changed meanwhile): run rotate again")
                raise typer.Exit(1)
            if not source.from_env:
                keys = source.load()
                assert keys is not None
                source.write(keys[:1])  # the old keys are no longer needed
                box.reload()
        except SecretKeyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_INVALID) from None
    where = source.describe()
    typer.echo(f"re-encrypted {rewritten} camera password(s); every one now opens with the first key of {where}")
    if source.from_env:
        typer.echo("the old key may now be removed from SHOPWATCH_SECRET_KEY")


def new_key() -> None:
    """Print a new Fernet key (for SHOPWATCH_SECRET_KEY); nothing is stored."""
    typer.echo(Fernet.generate_key().decode())


def register(app: typer.Typer) -> None:
    secrets = typer.Typer(help="The key of the camera passwords stored in the database.", no_args_is_help=True)
    secrets.command("rotate")(rotate)
    secrets.command("new-key")(new_key)
    app.add_typer(secrets, name="secrets")

