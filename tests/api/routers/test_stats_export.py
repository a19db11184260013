"""``GET /api/stats/export`` over the hand-counted week (tests/store/stats_fixture.py): the XLSX opens with
openpyxl and every sheet's cells equal the JSON answer of ``GET /api/stats`` (flattened here from the JSON, not
from the exporter's tables), headed in Chinese for ``lang=zh`` or a Chinese ``Accept-Language``, in English
otherwise; the CSV zip holds one UTF-8 (with BOM) file per table with the same cells; a grid-scoped operator
exports only its grid; a patrol may not; a bad format answers 422."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import httpx
from openpyxl import load_workbook

from shopwatch.core.principal import Role
from shopwatch.store.events import EventRepository
from shopwatch.store.tips import TipRepository
from tests.api.auth_fixtures import AuthKit
from tests.store.stats_fixture import SINCE, UNTIL, store_fixture, store_tips

WEEK = {"from": SINCE.isoformat(), "to": UNTIL.isoformat()}
ZH_SHEETS = ["统计期间", "总计", "按网格", "按类型", "按小时", "按星期", "热点", "各摄像头准确率", "线索"]
EN_SHEETS = ["Period", "Total", "By grid", "By type", "By hour", "By weekday", "Hot spots", "Camera precision", "Tips"]
EVENTS = ("events", "confirmed", "false_positives", "incidents")
TIPS = ("filed", "confirmed", "led_to_case")


def _counts(row: dict[str, Any], fields: tuple[str, ...]) -> list[Any]:
    changes = [v for f in fields for v in (row["change"][f]["count"], row["change"][f]["percent"])]
    return [row["current"][f] for f in fields] + [row["previous"][f] for f in fields] + changes


def expected_sheets(stats: dict[str, Any], dimensions: list[str]) -> list[list[list[Any]]]:
    """The rows (headers left out) each sheet must hold, straight from the JSON answer."""
    period = [[stats["from"]], [stats["to"]], [stats["previous_from"]], [stats["timezone"]]]
    sheets = [period]
    for rows in ([stats["total"]], stats["by_grid"], stats["by_type"], stats["by_hour"], stats["by_weekday"]):
        sheets.append([[r["key"], *_counts(r, EVENTS)] for r in rows])
    sheets.append([[s["camera_id"], s["grid"], s["zone"], s["card_postings"]] for s in stats["hot_spots"]])
    sheets.append(
        [[c["camera_id"], c["grid"], c["events"], c["confirmed"], c["false_positives"], c["precision"]]
         for c in stats["cameras"]]
    )  # fmt: skip
    tips = stats["tips"]
    tip_tables = [[tips["total"]], tips["by_grid"], tips["by_type"], tips["by_hour"], tips["by_weekday"]]
    pairs = zip(dimensions, tip_tables, strict=True)
    sheets.append([[d, r["key"], *_counts(r, TIPS)] for d, rows in pairs for r in rows])
    return sheets


def _sheet_rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


async def _fixture(client: httpx.AsyncClient, auth_kit: AuthKit, **params: str) -> dict[str, Any]:
    store_fixture(EventRepository(auth_kit.engine))
    store_tips(TipRepository(auth_kit.engine))
    answer = await client.get("/api/stats", params={**WEEK, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_xlsx_in_chinese_equals_the_json(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    stats = await _fixture(client, auth_kit)
    answer = await client.get("/api/stats/export", params={**WEEK, "format": "xlsx", "lang": "zh"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert 'filename="shopwatch-stats-20261109-20261116.xlsx"' in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ZH_SHEETS
    sheets = [_sheet_rows(book[name]) for name in ZH_SHEETS]
    wanted = expected_sheets(stats, ["总计", "按网格", "按类型", "按小时", "按星期"])
    period = sheets[0]
    assert period[0] == ["项目", "值"] and [row[1:] for row in period[1:]] == wanted[0]
    for name, rows, rows_wanted in zip(ZH_SHEETS[1:], sheets[1:], wanted[1:], strict=True):
        assert rows[1:] == rows_wanted, name
    assert sheets[2][0][:5] == ["网格", "告警数", "确认数", "误报数", "警情数"]
    # hand-counted: north had 5 events (3 confirmed) against 1; cam-a's wall had 3 card postings
    assert sheets[2][1][:6] == ["north", 5, 3, 1, 1, 1]
    assert sheets[6][1] == ["cam-a", "north", "wall", 3]
    assert sheets[8][0][:5] == ["分类", "项", "线索数", "采纳数", "成案数"]
    assert sheets[8][4][:8] == ["按网格", None, 1, 0, 0, 0, 0, 0]  # the tip whose place was not resolved


async def test_english_unless_chinese_is_asked(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    await _fixture(client, auth_kit)
    english = await client.get("/api/stats/export", params=WEEK, headers={"Accept-Language": "en-US,zh;q=0.5"})
    book = load_workbook(io.BytesIO(english.content))
    assert book.sheetnames == EN_SHEETS and _sheet_rows(book["By grid"])[0][:3] == ["Grid", "Events", "Confirmed"]
    chinese = await client.get("/api/stats/export", params=WEEK, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert load_workbook(io.BytesIO(chinese.content)).sheetnames == ZH_SHEETS
    plain = await client.get("/api/stats/export", params=WEEK)
    assert load_workbook(io.BytesIO(plain.content)).sheetnames == EN_SHEETS


async def test_csv_zip_equals_the_json(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    stats = await _fixture(client, auth_kit)
    answer = await client.get("/api/stats/export", params={**WEEK, "format": "csv", "lang": "zh"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        names = archive.namelist()
        raw = [archive.read(name) for name in names]
    assert names == [f"{n:02d} {name}.csv" for n, name in enumerate(ZH_SHEETS, start=1)]
    assert all(data.startswith(b"\xef\xbb\xbf") for data in raw)  # the BOM Excel needs for UTF-8
    tables = [list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) for data in raw]
    wanted = expected_sheets(stats, ["总计", "按网格", "按类型", "按小时", "按星期"])
    assert [row[1:] for row in tables[0][1:]] == wanted[0]
    for name, rows, rows_wanted in zip(ZH_SHEETS[1:], tables[1:], wanted[1:], strict=True):
        assert rows[1:] == [["" if v is None else str(v) for v in row] for row in rows_wanted], name
    assert tables[2][1][:3] == ["north", "5", "3"]


async def test_grid_scoped_export(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    await _fixture(client, auth_kit)
    south_desk = auth_kit.headers("south-desk", Role.OPERATOR, ("south",))
    answer = await client.get("/api/stats/export", params={**WEEK, "lang": "en"}, headers=south_desk)
    book = load_workbook(io.BytesIO(answer.content))
    assert [r[0] for r in _sheet_rows(book["By grid"])[1:]] == ["south"]
    assert _sheet_rows(book["Total"])[1][1] == 3
    assert [r[0] for r in _sheet_rows(book["Camera precision"])[1:]] == ["cam-c", "cam-d"]
    assert [r[1] for r in _sheet_rows(book["Tips"])[1:] if r[0] == "By grid"] == ["south"]
    patrol = auth_kit.headers("south-1", Role.PATROL, ("south",))
    assert (await client.get("/api/stats/export", params=WEEK, headers=patrol)).status_code == 403


async def test_bad_format_and_period_answer_422(client: httpx.AsyncClient) -> None:
    pdf = await client.get("/api/stats/export", params={**WEEK, "format": "pdf"})
    assert pdf.status_code == 422 and "format" in str(pdf.json()["detail"])
    backwards = await client.get("/api/stats/export", params={"from": WEEK["to"], "to": WEEK["from"]})
    assert backwards.status_code == 422 and "'from'" in backwards.json()["detail"]
