"""What every command that opens the service's database (``cli.common.migrated_database``) says when it cannot:
one line naming the database with its password masked, exit status 1, no traceback; and a camera-password key
that does not open what is stored is named (never shown), exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopwatch.cli.main import build_cli

PASSWORD = "db-Pa55-secret"
UNREACHABLE = f"postgresql+psycopg://shop:{PASSWORD}@127.0.0.1:1/shopwatch"  # port 1 on loopback: refused at once
COMMANDS = [
    ["cameras", "list"],
    ["cameras", "calibrate", "cam-1", "--minutes", "0.1"],
    ["report", "--month", "2026-11", "--out", "{tmp}/report.html"],
    ["users", "list"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_an_unusable_database_is_one_line_without_its_password(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPWATCH_DATABASE_URL", UNREACHABLE)
    config = tmp_path / "shopwatch.yaml"
    config.write_text("{}\n", encoding="utf-8")
    args = [part.format(tmp=tmp_path) for part in command]
    result = CliRunner().invoke(build_cli(), [*args, "-c", str(config)])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("cannot use the database postgresql+psycopg://shop:***@127.0.0.1:1/shopwatch: ")
    assert PASSWORD not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "report.html").exists()


def test_a_wrong_camera_password_key_is_named_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPWATCH_DATABASE_URL", "SHOPWATCH_SECRET_KEY"):  # the config's data_dir and its key file
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    config = tmp_path / "shopwatch.yaml"
    config.write_text(f"service: {{data_dir: {str(data)!r}}}\n", encoding="utf-8")
    csv = tmp_path / "merchants.csv"
    csv.write_text("id,name,grid,host,password\ncam-1,Shop 1,g1,10.0.0.1,cam-pw-1\n", encoding="utf-8")
    runner = CliRunner()
    imported = runner.invoke(build_cli(), ["cameras", "import", str(csv), "-c", str(config)])
    assert imported.exit_code == 0, imported.output
    key = data / "secret.key"
    key.write_bytes(key.read_bytes()[::-1])  # another key than the one the password was sealed with

    result = runner.invoke(build_cli(), ["cameras", "list", "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and str(key) in result.stderr
    assert "cam-pw-1" not in result.output and "Traceback" not in result.output
