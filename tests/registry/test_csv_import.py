"""Merchant CSV import: parsing and validation of every row, then all-or-nothing writes to the registry."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from shopwatch.core.errors import ConfigError
from shopwatch.registry.csv_import import import_csv, parse_csv, parse_csv_text
from shopwatch.store.cameras import CameraRepository
from tests.registry.csv_rows import SECRET, csv_text, merchant_row, ten_rows_two_bad, write_csv

# -- parsing -----------------------------------------------------------------------------------------------


def test_bom_and_chinese_text_parse(tmp_path: Path) -> None:
    parsed = parse_csv(write_csv(tmp_path / "merchants.csv", [merchant_row(1), merchant_row(3)], bom=True))
    assert parsed.problems == []
    cam, hotel = parsed.cameras
    assert (cam.merchant.kind, hotel.merchant.kind) == ("", "宾馆")  # what group-chat rules match
    assert cam.id == "cam-001"  # not "\ufeffid"
    assert (cam.name, cam.merchant.name, cam.grid) == ("门口 1", "老王烟酒店 1号", "西湖-3")
    assert cam.location is not None and (cam.location.lat, cam.location.lon) == (30.27, 120.15)
    assert cam.talkback.capable and not cam.talkback.allowed
    assert cam.talkback.quiet_hours is not None
    assert (cam.talkback.quiet_hours.start, cam.talkback.quiet_hours.end) == (time(22, 0), time(7, 0))
    assert cam.credentials.password.get_secret_value() == SECRET
    assert cam.streams.record is None


def test_only_required_columns_in_any_order_take_config_defaults() -> None:
    parsed = parse_csv_text("host,grid,name,id\n10.0.0.5,g1,Shop,cam-a\n")
    assert parsed.problems == []
    (cam,) = parsed.cameras
    assert (cam.id, cam.host, cam.port, cam.onvif_port, cam.enabled, cam.location) == (
        "cam-a", "10.0.0.5", 554, 80, True, None,
    )  # fmt: skip


def test_every_bad_row_is_reported_with_its_line_and_column() -> None:
    parsed = parse_csv_text(csv_text(ten_rows_two_bad()))
    assert len(parsed.cameras) == 8
    assert parsed.bad_lines == [4, 9]
    messages = {p.line: (p.where, p.message) for p in parsed.problems}
    assert messages[4][0] == "row 4"
    assert messages[4][1].startswith("column port:") and "'abc'" in messages[4][1]
    assert messages[9] == ("row 9", "column lat/lon: lat and lon go together: lat is given but lon is empty")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"id": "Cam 1"},
            "column id: expected lower-case letters, digits, '-' and '_' (1-63, starting with a letter or digit),"
            " found 'Cam 1'",
        ),
        ({"name": ""}, "column name: required column is empty"),
        ({"enabled": "maybe"}, "column enabled: expected yes/no/true/false/1/0, found 'maybe'"),
        ({"talkback_allowed": "Y"}, "column talkback_allowed: expected yes/no/true/false/1/0, found 'Y'"),
        ({"quiet_hours": "22-7"}, "column quiet_hours: expected HH:MM-HH:MM such as 22:00-07:00, found '22-7'"),
        ({"quiet_hours": "25:00-07:00"}, "column quiet_hours: expected HH:MM-HH:MM"),
        ({"vendor": "acme"}, "column vendor: Input should be 'hikvision'"),
        ({"transport": "sctp"}, "column transport: Input should be 'tcp' or 'udp' (found 'sctp')"),
        ({"port": "70000"}, "column port: Input should be less than or equal to 65535 (found '70000')"),
        ({"lat": "91"}, "column lat: Input should be less than or equal to 90 (found '91')"),
        ({"merchant_phone": "call me"}, "column merchant_phone: String should match pattern"),
        ({"detect_url": "http://10.0.0.1/x"}, "column detect_url: expected an rtsp:// or rtsps:// URL"),
    ],
)
def test_row_problems_name_the_column_and_what_was_found(overrides: dict[str, str], expected: str) -> None:
    parsed = parse_csv_text(csv_text([merchant_row(1, **overrides)]))
    assert parsed.cameras == []
    assert [p.line for p in parsed.problems] == [2]
    assert parsed.problems[0].message.startswith(expected), parsed.problems[0].message


def test_uppercase_vendor_and_words_for_booleans_are_accepted() -> None:
    parsed = parse_csv_text(csv_text([merchant_row(1, vendor="Dahua", enabled="No", talkback_capable="TRUE")]))
    (cam,) = parsed.cameras
    assert (cam.vendor.value, cam.enabled, cam.talkback.capable) == ("dahua", False, True)


def test_passwords_never_appear_in_problems() -> None:
    rows = [
        merchant_row(1, detect_url=f"http://admin:{SECRET}@10.0.0.1/x"),  # wrong scheme, credentials inside
        merchant_row(2, record_url=f"rtsp://admin:{SECRET}@10.0.0.2/ch1", port="x", name=""),
        merchant_row(3, username="u" * 200),
    ]
    parsed = parse_csv_text(csv_text(rows))
    assert parsed.bad_lines == [2, 3, 4]
    assert not any(SECRET in str(p) for p in parsed.problems)


def test_duplicate_id_is_an_error_on_the_second_row() -> None:
    parsed = parse_csv_text(csv_text([merchant_row(1), merchant_row(2), merchant_row(3, id="cam-001")]))
    assert [c.id for c in parsed.cameras] == ["cam-001", "cam-002"]
    (problem,) = parsed.problems
    assert (problem.line, problem.message) == (4, "column id: camera id 'cam-001' already used on line 2")


def test_unknown_and_missing_columns_are_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_csv_text("id,name,hots,owner\ncam-1,Shop,10.0.0.1,x\n", "m.csv")
    messages = [p.message for p in caught.value.problems]
    assert messages[0].startswith("unknown column(s) hots, owner;")
    assert messages[1] == "required column(s) missing: grid, host"
    assert all(p.line == 1 for p in caught.value.problems)


def test_line_numbers_follow_the_file_across_blank_lines_and_quoted_newlines() -> None:
    text = csv_text([merchant_row(1, address="解放路 1 号\n二楼"), merchant_row(2, port="bad")])
    text = text.replace("\r\ncam-002", "\r\n\r\ncam-002")  # a blank line before the second row
    parsed = parse_csv_text(text)
    assert [c.address for c in parsed.cameras] == ["解放路 1 号\n二楼"]
    assert parsed.bad_lines == [5]  # header 1, first row 2-3, blank 4
    assert parsed.rows == 2


def test_a_row_with_the_wrong_number_of_fields() -> None:
    parsed = parse_csv_text("id,name,grid,host\ncam-1,Shop,g1\ncam-2,Shop,g1,h,extra\n")
    assert [(p.line, p.message) for p in parsed.problems] == [
        (2, "expected 4 fields as in the header, found 3"),
        (3, "expected 4 fields as in the header, found 5"),
    ]


@pytest.mark.parametrize(
    ("data", "where", "expected"),
    [
        (b"", "header", "expected a header row, found an empty file"),
        ("id,name,grid,host\ncam-1,老王,g1,h\n".encode("gbk"), "(file)", "expected UTF-8 text, found byte 0xc0"),
    ],
)
def test_unreadable_files(tmp_path: Path, data: bytes, where: str, expected: str) -> None:
    path = tmp_path / "merchants.csv"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        parse_csv(path)
    (problem,) = caught.value.problems
    assert (problem.where, problem.message[: len(expected)]) == (where, expected)
    if where == "(file)":
        assert problem.line == 2


# -- import into the registry ------------------------------------------------------------------------------


@pytest.fixture
def repo(engine: Engine) -> CameraRepository:
    return CameraRepository(engine, env={})


def test_import_creates_then_reimport_updates_in_place(repo: CameraRepository, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "merchants.csv", [merchant_row(n) for n in range(1, 11)])
    first = import_csv(repo, path)
    assert (len(first.created), first.updated, first.skipped) == (10, (), ())
    assert repo.revision() == 1
    assert [r.camera.merchant.name for r in repo.records()][:2] == ["老王烟酒店 1号", "老王烟酒店 2号"]

    write_csv(path, [merchant_row(n, enabled="no" if n == 5 else "yes") for n in range(1, 11)])
    second = import_csv(repo, path)
    assert (second.created, second.updated, len(second.unchanged)) == ((), ("cam-005",), 9)
    assert repo.revision() == 2
    assert [r.camera.id for r in repo.records(enabled=False)] == ["cam-005"]


def test_a_file_with_bad_rows_writes_nothing(repo: CameraRepository, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "merchants.csv", ten_rows_two_bad())
    with pytest.raises(ConfigError) as caught:
        import_csv(repo, path)
    assert caught.value.source == str(path)
    assert [(p.where, p.line) for p in caught.value.problems] == [("row 4", 4), ("row 9", 9)]
    assert "column port" in caught.value.problems[0].message
    assert "column lat/lon" in caught.value.problems[1].message
    assert repo.records() == []
    assert repo.revision() == 0


def test_skip_invalid_imports_the_valid_rows_and_names_the_rest(repo: CameraRepository, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "merchants.csv", ten_rows_two_bad())
    result = import_csv(repo, path, skip_invalid=True)
    assert len(result.created) == 8
    assert result.skipped_lines == [4, 9]
    assert {p.line: p.message.split(":")[0] for p in result.skipped} == {4: "column port", 9: "column lat/lon"}
    assert [r.camera.id for r in repo.records()] == [f"cam-{n:03d}" for n in range(1, 11) if n not in (3, 8)]
