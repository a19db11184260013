"""Camera passwords at rest: encrypted in the database under a key outside it (``store.secret_box``).

Byte-level, on real files: after ``cameras onboard`` (a simulated ONVIF camera) and after ``cameras import`` (a
CSV), no file of the database (SQLite file, WAL, shared memory) holds the password; a restart with the key file
reads it back and the password still logs in to the camera; without the key, or with another one, the command
stops with one sentence naming the key file; ``secrets rotate`` leaves every row under a new key so the old key
opens nothing; the migration encrypts plain rows and its downgrade decrypts them. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from typer.testing import CliRunner, Result

from shopwatch.cli.main import build_cli
from shopwatch.onvif.device import OnvifTarget
from shopwatch.onvif.onboard import OnboardOutcome, onboard
from shopwatch.registry.csv_import import import_csv
from shopwatch.sim.onvif.server import OnvifSimServer
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.db import alembic_config, create_engine_for, migrate
from shopwatch.store.secret_box import ENV_SECRET_KEY, SEALED, KeySource, SecretBox, SecretKeyError
from tests.onvif.conftest import PASSWORD, USER, spec
from tests.registry.csv_rows import SECRET, merchant_row, write_csv
from tests.store.db_fixtures import key_file_box


@pytest.fixture(name="home")
def home_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose data directory holds the SQLite database and (once a password is stored) the key file."""
    data = tmp_path / "data"
    monkeypatch.delenv("SHOPWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv(ENV_SECRET_KEY, raising=False)
    monkeypatch.delenv("SHOPWATCH_CONFIG", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    (tmp_path / "shopwatch.yaml").write_text(f"service:\n  data_dir: {data}\nonvif:\n  timeout_s: 5\n")
    return tmp_path


def shopwatch(home: Path, *args: str) -> Result:
    result = CliRunner().invoke(build_cli(), [*args, "--config", str(home / "shopwatch.yaml")])
    assert PASSWORD not in result.output and SECRET not in result.output
    return result


def database_bytes(data: Path) -> bytes:
    """Every file of the SQLite database: the file, its WAL and its shared memory."""
    files = sorted(data.glob("shopwatch.db*"))
    assert data / "shopwatch.db" in files
    return b"".join(f.read_bytes() for f in files)


@pytest.fixture(name="sim")
def sim_fixture() -> Iterator[OnvifSimServer]:
    with OnvifSimServer() as server:
        yield server


def registry(data: Path) -> CameraRepository:
    """What a restarted service reads: a new engine on the same files, the key file from the data directory."""
    engine = create_engine_for(f"sqlite:///{data / 'shopwatch.db'}")
    migrate(engine)
    return CameraRepository(engine)


def test_onboarded_password_is_only_ciphertext_on_disk_and_logs_in_after_a_restart(
    home: Path, sim: OnvifSimServer
) -> None:
    device = sim.add_device(spec())
    where = device.base_url.removeprefix("http://")
    result = shopwatch(home, "cameras", "onboard", where, "-u", USER, "-p", PASSWORD, "--id", "cam-7", "--grid", "g")
    assert result.exit_code == 0, result.output
    data = home / "data"
    on_disk = database_bytes(data)
    assert PASSWORD.encode() not in on_disk and SEALED.encode() in on_disk

    key_file = data / "secret.key"  # made by the first password stored, the owner's only
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and PASSWORD.encode() not in key_file.read_bytes()

    camera = registry(data).get("cam-7")  # "restarted": nothing kept from the command above
    assert camera is not None and camera.credentials.password.get_secret_value() == PASSWORD
    host, port = where.rsplit(":", 1)
    target = OnvifTarget(host, int(port), camera.credentials.username, camera.credentials.password.get_secret_value())
    report = asyncio.run(onboard(target, timeout_s=5, clock_tolerance_s=5))  # the camera takes the decrypted password
    assert report.outcome is OnboardOutcome.OK, report.detail


def test_imported_passwords_are_only_ciphertext_on_disk(home: Path) -> None:
    csv_path = write_csv(home / "merchants.csv", [merchant_row(n) for n in range(1, 4)])
    result = shopwatch(home, "cameras", "import", str(csv_path))
    assert result.exit_code == 0, result.output
    data = home / "data"
    assert SECRET.encode() not in database_bytes(data)
    cameras = registry(data).list()
    assert [c.credentials.password.get_secret_value() for c in cameras] == [SECRET] * 3


@pytest.mark.parametrize(
    "command",
    [
        ("cameras", "list"),
        ("cameras", "check"),
        ("users", "list"),
        ("report", "--month", "2026-11", "--out", "/nonexistent/report.html"),
    ],
)
@pytest.mark.parametrize("how", ["missing", "another key", "not a key"])
def test_without_the_right_key_a_command_stops_with_one_sentence_naming_the_key_file(
    home: Path, how: str, command: tuple[str, ...]
) -> None:
    csv_path = write_csv(home / "merchants.csv", [merchant_row(1)])
    assert shopwatch(home, "cameras", "import", str(csv_path)).exit_code == 0
    key_file = home / "data" / "secret.key"
    if how == "missing":
        key_file.unlink()
    elif how == "another key":
        key_file.write_text(Fernet.generate_key().decode() + "\n")
    else:
        key_file.write_text("not-a-key\n")
    result = shopwatch(home, *command)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and str(key_file) in result.stderr
    expected = {"missing": "does not exist", "another key": "does not open", "not a key": "not a list of Fernet keys"}
    assert expected[how] in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_key_can_come_from_the_environment_instead(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(ENV_SECRET_KEY, key)
    csv_path = write_csv(home / "merchants.csv", [merchant_row(1)])
    assert shopwatch(home, "cameras", "import", str(csv_path)).exit_code == 0
    assert not (home / "data" / "secret.key").exists()  # no key file when the environment holds the key
    assert SECRET.encode() not in database_bytes(home / "data")
    monkeypatch.delenv(ENV_SECRET_KEY)
    result = shopwatch(home, "cameras", "list")
    assert result.exit_code == 2 and ENV_SECRET_KEY in result.stderr and key not in result.output


def test_rotate_leaves_every_row_under_a_new_key_and_the_old_key_opens_nothing(home: Path) -> None:
    csv_path = write_csv(home / "merchants.csv", [merchant_row(n) for n in range(1, 6)])
    assert shopwatch(home, "cameras", "import", str(csv_path)).exit_code == 0
    data = home / "data"
    key_file = data / "secret.key"
    old_key = key_file.read_text().strip()
    before = database_bytes(data)

    rotated = shopwatch(home, "secrets", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted 5 camera password(s)" in rotated.stdout
    new_keys = key_file.read_text().split()
    assert len(new_keys) == 1 and new_keys[0] != old_key  # the old key is gone from the file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    with_old = SecretBox(KeySource({ENV_SECRET_KEY: old_key}, None))
    engine = create_engine_for(f"sqlite:///{data / 'shopwatch.db'}", with_old)
    with pytest.raises(SecretKeyError, match="does not open"):
        CameraRepository(engine).list()  # the old key is no longer needed, and no longer enough
    engine.dispose()
    assert [c.credentials.password.get_secret_value() for c in registry(data).list()] == [SECRET] * 5
    assert SECRET.encode() not in database_bytes(data) and database_bytes(data) != before


def test_a_rotation_cut_short_leaves_every_row_readable_and_a_second_run_finishes_it(home: Path) -> None:
    csv_path = write_csv(home / "merchants.csv", [merchant_row(n) for n in range(1, 5)])
    assert shopwatch(home, "cameras", "import", str(csv_path)).exit_code == 0
    data = home / "data"
    source = KeySource({}, data / "secret.key")
    old = source.load()
    assert old is not None and len(old) == 1
    source.write([Fernet.generate_key(), *old])  # what rotate does first; then two rows, then "the process died"
    box = SecretBox(source)
    engine = create_engine_for(f"sqlite:///{data / 'shopwatch.db'}", box)
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, password FROM cameras ORDER BY id LIMIT 2")).all()
        for camera_id, stored in rows:
            moved = {"p": box.reseal(stored), "i": camera_id}
            conn.execute(text("UPDATE cameras SET password = :p WHERE id = :i"), moved)
    engine.dispose()
    assert [box.sealed_with_first_key(v) for v in stored_passwords(data)] == [True, True, False, False]
    assert [c.credentials.password.get_secret_value() for c in registry(data).list()] == [SECRET] * 4  # both keys

    assert shopwatch(home, "secrets", "rotate").exit_code == 0  # run again: a third key, every row moved to it
    keys = source.load()
    assert keys is not None and len(keys) == 1 and keys[0] not in old
    assert [c.credentials.password.get_secret_value() for c in registry(data).list()] == [SECRET] * 4


def stored_passwords(data: Path) -> list[str]:
    engine = create_engine_for(f"sqlite:///{data / 'shopwatch.db'}")
    with engine.connect() as conn:
        values = [str(v) for v in conn.execute(text("SELECT password FROM cameras ORDER BY id")).scalars()]
    engine.dispose()
    return values


def test_rows_are_sealed_in_the_database_and_the_migration_encrypts_and_decrypts(db_url: str, tmp_path: Path) -> None:
    """SQLite and PostgreSQL: the column holds ``fernet:`` tokens; down to 0007 holds the passwords in clear
    again (what the version before read), and up again encrypts them."""
    box = key_file_box(tmp_path / "keys" / "secret.key")
    engine: Engine = create_engine_for(db_url, box)
    migrate(engine)
    imported = import_csv(CameraRepository(engine), write_csv(tmp_path / "m.csv", [merchant_row(n) for n in (1, 2, 3)]))
    assert len(imported.created) == 3

    def stored() -> list[str]:
        with engine.connect() as conn:
            return [str(v) for v in conn.execute(text("SELECT password FROM cameras ORDER BY id")).scalars()]

    assert all(v.startswith(SEALED) and SECRET not in v for v in stored())
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["secrets"] = box
        command.downgrade(cfg, "0007")
    assert stored() == [SECRET] * 3
    migrate(engine)  # up again: the plain rows are encrypted
    assert all(v.startswith(SEALED) and SECRET not in v for v in stored())
    assert [c.credentials.password.get_secret_value() for c in CameraRepository(engine).list()] == [SECRET] * 3
    engine.dispose()


@pytest.mark.parametrize("how", ["missing", "another key"])
def test_serve_refuses_to_start_without_the_right_key_in_one_sentence(
    home: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv_path = write_csv(home / "merchants.csv", [merchant_row(1)])
    assert shopwatch(home, "cameras", "import", str(csv_path)).exit_code == 0
    key_file = home / "data" / "secret.key"
    old_key = key_file.read_text()
    if how == "missing":
        key_file.unlink()
    else:
        key_file.write_text(Fernet.generate_key().decode() + "\n")
    monkeypatch.setenv("COLUMNS", "400")  # the sentence on one line
    result = shopwatch(home, "serve")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and f"the key file {key_file}" in result.output
    assert old_key.strip() not in result.output
    assert not key_file.exists() or key_file.read_text().strip() not in result.output
    assert (how == "missing") == (not key_file.exists())  # no new key made over encrypted rows
