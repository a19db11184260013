"""The ``shopwatch`` command line (typer + rich)."""
