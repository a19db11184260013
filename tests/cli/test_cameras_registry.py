"""``shopwatch cameras import`` and ``cameras list`` through a Typer app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from shopwatch.cli.cameras_registry import register
from tests.registry.csv_rows import SECRET, merchant_row, ten_rows_two_bad, write_csv


def _app() -> typer.Typer:
    app = typer.Typer()
    cameras = typer.Typer()
    register(cameras)
    app.add_typer(cameras, name="cameras")
    return app


@pytest.fixture
def config(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file whose YAML camera uses a password, and the test database in SHOPWATCH_DATABASE_URL."""
    monkeypatch.setenv("SHOPWATCH_DATABASE_URL", db_url)
    monkeypatch.delenv("SHOPWATCH_CONFIG", raising=False)
    path = tmp_path / "shopwatch.yaml"
    path.write_text(
        f"service:\n  data_dir: {tmp_path / 'unused'}\n"
        "cameras:\n"
        f"  - {{id: yaml-cam, name: From YAML, grid: 北区, host: 10.9.0.1, credentials: {{password: '{SECRET}'}}}}\n",
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(_app(), ["cameras", *args, "--config", str(config)])
    assert SECRET not in result.output  # stdout and stderr together
    return result


def test_import_then_list(config: Path, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "merchants.csv", [merchant_row(n) for n in range(1, 4)])

    first = run(config, "import", str(csv_path))
    assert first.exit_code == 0, first.output
    assert f"{csv_path}: 3 created, 0 updated, 0 unchanged" in first.stdout

    again = run(config, "import", str(csv_path))
    assert again.exit_code == 0
    assert "0 created, 0 updated, 3 unchanged" in again.stdout

    shadow = write_csv(tmp_path / "shadow.csv", [merchant_row(9, id="yaml-cam")])
    assert "the config file also defines yaml-cam" in run(config, "import", str(shadow)).stderr

    listed = run(config, "list")
    assert listed.exit_code == 0, listed.output
    for text in ("cam-001", "cam-003", "yaml-cam", "From YAML", "csv", "yaml", "4 camera(s)"):
        assert text in listed.stdout


def test_list_json_has_no_secrets_and_filters_by_grid(config: Path, tmp_path: Path) -> None:
    rows = [merchant_row(1, detect_url=f"rtsp://admin:{SECRET}@10.0.0.1/sub"), merchant_row(2), merchant_row(3)]
    assert run(config, "import", str(write_csv(tmp_path / "m.csv", rows))).exit_code == 0

    result = run(config, "list", "--json")
    assert result.exit_code == 0, result.output
    docs = json.loads(result.stdout)
    assert [d["id"] for d in docs] == ["cam-001", "cam-002", "cam-003", "yaml-cam"]
    assert docs[0]["credentials"] == {"username": "admin"}
    assert docs[0]["streams"]["detect"] == "rtsp://admin:***@10.0.0.1/sub"
    assert (docs[0]["merchant"]["name"], docs[0]["source"], docs[3]["source"]) == ("老王烟酒店 1号", "csv", "yaml")

    north = json.loads(run(config, "list", "--json", "--grid", "西湖-3").stdout)
    assert [d["id"] for d in north] == ["cam-001", "cam-003"]


def test_invalid_file_exits_2_names_every_bad_row_and_writes_nothing(config: Path, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "merchants.csv", ten_rows_two_bad())

    result = run(config, "import", str(csv_path))

    assert result.exit_code == 2
    assert f"{csv_path}: line 4: row 4: column port:" in result.stderr
    assert f"{csv_path}: line 9: row 9: column lat/lon:" in result.stderr
    assert "2 problem(s); nothing was imported" in result.stderr
    assert json.loads(run(config, "list", "--json", "--grid", "上城-1").stdout) == []


def test_skip_invalid_exits_0_and_lists_what_was_skipped(config: Path, tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "merchants.csv", ten_rows_two_bad())

    result = run(config, "import", str(csv_path), "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "8 created, 0 updated, 0 unchanged" in result.stdout
    assert "skipped 2 invalid row(s) (lines 4, 9):" in result.stdout
    assert "line 4: row 4: column port:" in result.stdout
    assert len(json.loads(run(config, "list", "--json").stdout)) == 9  # 8 imported + the YAML camera


def test_unknown_column_and_missing_file_exit_2(config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,grid,host,owner\ncam-1,Shop,g1,10.0.0.1,me\n", encoding="utf-8")
    result = run(config, "import", str(bad))
    assert result.exit_code == 2
    assert "unknown column(s) owner" in result.stderr
    missing = run(config, "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPWATCH_DATABASE_URL", raising=False)
    data_dir = tmp_path / "var" / "shopwatch"
    config = tmp_path / "shopwatch.yaml"
    config.write_text(f"service:\n  data_dir: {data_dir}\n", encoding="utf-8")
    csv_path = write_csv(tmp_path / "m.csv", [merchant_row(1)])

    assert run(config, "import", str(csv_path)).exit_code == 0
    assert (data_dir / "shopwatch.db").is_file()
    assert "cam-001" in run(config, "list").stdout


def test_unreachable_database_exits_1_without_its_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on loopback: refused at once.
    monkeypatch.setenv("SHOPWATCH_DATABASE_URL", f"postgresql+psycopg://shop:{SECRET}@127.0.0.1:1/shopwatch")
    config = tmp_path / "shopwatch.yaml"
    config.write_text("{}\n", encoding="utf-8")

    result = run(config, "list")

    assert result.exit_code == 1
    assert "cannot use the database postgresql+psycopg://shop:***@127.0.0.1:1/shopwatch" in result.stderr
