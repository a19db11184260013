"""Bad config says which key on which line; good config loads with defaults and env references."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopwatch.core.config import Settings
from shopwatch.core.config_loader import load_settings, settings_from_text
from shopwatch.core.errors import ConfigError

GOOD = """\
service:
  data_dir: ./data
ingest:
  cameras_per_worker: 50
cameras:
  - id: hotel-7
    name: Seven Days Hotel entrance
    merchant: {name: 七天酒店, phone: "+86 21 5555 0101"}
    address: 12 Nanjing Rd
    grid: grid-3
    location: {lat: 31.2304, lon: 121.4737}
    vendor: hikvision
    host: 10.1.2.3
    credentials:
      username: admin
      password: ${SHOPWATCH_HOTEL7_PW}
    streams:
      detect: rtsp://10.1.2.3:554/Streaming/Channels/102
    talkback:
      capable: true
      allowed: true
      quiet_hours: {start: "22:00", end: "07:00"}
"""


def test_good_config_loads_with_defaults_and_env_password() -> None:
    settings = settings_from_text(GOOD, "good.yaml", env={"SHOPWATCH_HOTEL7_PW": "s3cret-pw"})
    cam = settings.cameras[0]
    assert cam.credentials.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(cam) and "s3cret-pw" not in str(settings.model_dump())
    assert cam.merchant.name == "七天酒店"
    assert cam.port == 554 and cam.enabled and cam.transport is None
    assert settings.ingest.cameras_per_worker == 50
    assert settings.ingest.backoff.max_s == 30.0
    assert cam.talkback.quiet_hours is not None


@pytest.mark.parametrize(
    ("edit", "line", "where", "message"),
    [
        (("cameras_per_worker: 50", "cameras_per_worker: 500"), 4, "ingest.cameras_per_worker", "less than or equal"),
        (("vendor: hikvision", "vendor: sony"), 12, "cameras[0].vendor", "found 'sony'"),
        (("address: 12 Nanjing Rd", "adress: 12 Nanjing Rd"), 9, "cameras[0].adress", "unknown key"),
        (("id: hotel-7", "id: Hotel 7!"), 6, "cameras[0].id", "should match pattern"),
        (("lat: 31.2304", "lat: 131.2"), 11, "cameras[0].location.lat", "less than or equal to 90"),
        (("detect: rtsp://", "detect: http://"), 18, "cameras[0].streams.detect", "expected an rtsp://"),
        (("    host: 10.1.2.3\n", ""), 6, "cameras[0].host", "required key is missing"),
        (("start: \"22:00\"", "start: \"25:00\""), 22, "cameras[0].talkback.quiet_hours.start", "time"),
    ],
)
def test_bad_config_names_key_and_line(edit: tuple[str, str], line: int, where: str, message: str) -> None:
    text = GOOD.replace(*edit)
    with pytest.raises(ConfigError) as info:
        settings_from_text(text, "bad.yaml", env={"SHOPWATCH_HOTEL7_PW": "x"})
    problems = info.value.problems
    assert [(p.where, p.line) for p in problems] == [(where, line)]
    assert message in problems[0].message
    assert f"bad.yaml: line {line}: {where}" in str(info.value)


def test_missing_env_var_and_duplicate_id_are_all_reported() -> None:
    second = GOOD.split("cameras:\n", 1)[1].replace("password: ${SHOPWATCH_HOTEL7_PW}", "password: plain-pw")
    text = GOOD + second
    with pytest.raises(ConfigError) as info:
        settings_from_text(text, "dup.yaml", env={})
    got = [(p.where, p.line, p.message) for p in info.value.problems]
    assert got == [
        ("cameras[0].credentials.password", 16, "environment variable SHOPWATCH_HOTEL7_PW is not set"),
        ("cameras[1].id", 23, "camera id 'hotel-7' already used by cameras[0]"),
    ]
    assert "plain-pw" not in str(info.value)


def test_a_reference_outside_the_prefix_is_refused_with_its_key_and_line() -> None:
    text = GOOD.replace("${SHOPWATCH_HOTEL7_PW}", "${DATABASE_URL}")
    with pytest.raises(ConfigError) as info:
        settings_from_text(text, "leak.yaml", env={"DATABASE_URL": "postgresql://u:dbsecret@db/x"})
    got = [(p.where, p.line) for p in info.value.problems]
    assert got == [("cameras[0].credentials.password", 16)]
    message = str(info.value)
    assert "leak.yaml: line 16: cameras[0].credentials.password" in message
    assert "DATABASE_URL may not be referenced" in message and "SHOPWATCH_" in message and "dbsecret" not in message


def test_stall_must_come_before_read_timeout() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_text("ingest:\n  stall_after_s: 9\n  read_timeout_s: 6\n", "x.yaml")
    assert info.value.problems[0].where == "ingest" and info.value.problems[0].line == 1
    assert "stall_after_s (9.0) must be < read_timeout_s (6.0)" in info.value.problems[0].message


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("cameras: [\n", "not valid YAML", 2),
        ("- just\n- a list\n", "expected a mapping of sections", 1),
        ("ingest:\n  workers: 1\n  workers: 2\n", "key given twice", 3),
    ],
)
def test_unparseable_files(text: str, message: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_text(text, "x.yaml")
    assert message in info.value.problems[0].message
    assert info.value.problems[0].line == line


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_settings(path) == Settings()


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml")


class _AnyEnv(dict[str, str]):
    """Every ${VAR} reference resolves: the shipped files reference passwords that only deployments have."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return "placeholder"


def test_shipped_configs_are_valid() -> None:
    paths = sorted(Path("config").glob("*.yaml"))
    assert paths, "config/ must ship an example and the demo fleet"
    for path in paths:
        assert load_settings(path, env=_AnyEnv()).cameras


def test_configuration_reference_is_current() -> None:
    from shopwatch.core.config_doc import render

    reference = Path("docs/CONFIGURATION.md").read_text(encoding="utf-8")
    block = reference.split("<!-- config-reference:start -->\n", 1)[1].split("<!-- config-reference:end -->", 1)[0]
    assert block == render(), "stale: put python -m shopwatch.core.config_doc between the markers"
