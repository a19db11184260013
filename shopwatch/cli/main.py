"""Entry point of the ``shopwatch`` command. Each command lives in its own module with a ``register``."""

from __future__ import annotations

import typer

from shopwatch.cli import (
    analyze,
    cameras_calibrate,
    cameras_check,
    cameras_onvif,
    cameras_registry,
    report_cmd,
    secrets_cmd,
    serve,
    sim_cmd,
    talk,
    tls_cmd,
    users,
)


def build_cli() -> typer.Typer:
    app = typer.Typer(
        name="shopwatch",
        help="Merchant cameras into the command room: ingest, detection, alerts, talkback.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,  # locals may hold camera passwords
    )
    cameras = typer.Typer(help="The camera registry: import, list, check, onboard, discover.", no_args_is_help=True)
    cameras_registry.register(cameras)
    cameras_check.register(cameras)
    cameras_onvif.register(cameras)
    cameras_calibrate.register(cameras)
    app.add_typer(cameras, name="cameras")
    serve.register(app)
    analyze.register(app)
    sim_cmd.register(app)
    talk.register(app)
    users.register(app)  # users and keys
    tls_cmd.register(app)
    secrets_cmd.register(app)  # the key of the camera passwords
    report_cmd.register(app)  # the monthly case-analysis report
    return app


def main() -> None:
    build_cli()()
