"""``shopwatch tls make-cert``: a self-signed certificate for HTTPS on the station's LAN (docs/TLS.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shopwatch.core.errors import ShopwatchError

console = Console()


def make_cert(
    host: Annotated[list[str] | None, typer.Option("--host", help="A name the operators type (repeatable).")] = None,
    ip: Annotated[list[str] | None, typer.Option("--ip", help="An address the operators type (repeatable).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for shopwatch.crt and shopwatch.key.")] = Path("tls"),
    days: Annotated[int, typer.Option(help="Days it lasts (at most 825).")] = 825,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing pair.")] = False,
) -> None:
    """Make a self-signed certificate and key (0600) for `api.tls`, naming every --host and --ip."""
    from shopwatch.api.tls_cert import make_cert as make  # cryptography loads only for this command

    try:
        made = make(out, host or [], ip or [], days=days, overwrite=overwrite)
    except ShopwatchError as exc:
        console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"certificate  {made.cert}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"key (0600)   {made.key}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"names        {', '.join(made.names)}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"valid until  {made.not_after:%Y-%m-%d %H:%M} UTC", markup=False, highlight=False, soft_wrap=True)
    console.print(f"SHA-256      {made.sha256}", markup=False, highlight=False, soft_wrap=True)
    say = f"In the config:  api: {{tls: {{cert: {made.cert}, key: {made.key}}}}}"
    console.print(say, markup=False, highlight=False, soft_wrap=True)
    console.print("Then import the certificate on every operator machine (docs/TLS.md).", markup=False)


def register(app: typer.Typer) -> None:
    tls = typer.Typer(help="HTTPS for the API: a self-signed certificate for the LAN.", no_args_is_help=True)
    tls.command("make-cert")(make_cert)
    app.add_typer(tls, name="tls")
