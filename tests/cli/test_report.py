"""``shopwatch report`` end to end on SQLite and PostgreSQL: hand-made events of November 2026, October 2026 and
November 2025 are stored, the command writes the report, and its tables hold the numbers counted by hand from
the table below (not computed); an empty month; bad input; the PDF is a real PDF; the page renders in Chromium
(a screenshot for people in test-artefacts/)."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer
from playwright.async_api import async_playwright
from typer.testing import CliRunner, Result

from shopwatch.cli.report_cmd import register
from shopwatch.core.incident_records import Incident
from shopwatch.store.db import create_engine_for, migrate
from shopwatch.store.events import EventRepository
from shopwatch.store.tips import TipRepository
from tests.store.test_events import make_event
from tests.store.test_tips import tip

CST = timezone(timedelta(hours=8))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"  # screenshots for people; git-ignored
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make deps installs it)")

# id, camera, grid, type, local time (year, month, day, hour, minute), status, zone, incident
ROWS = [
    # November 2026
    ("n1", "cam-a", "north", "card_posting", (2026, 11, 3, 22, 10), "resolved", "wall", "I1"),  # Tuesday
    ("n2", "cam-a", "north", "card_posting", (2026, 11, 3, 22, 40), "dispatched", "wall", "I1"),
    ("n3", "cam-a", "north", "card_posting", (2026, 11, 10, 23, 5), "false_positive", "wall", None),  # Tuesday
    ("n4", "cam-a", "north", "card_posting", (2026, 11, 17, 22, 20), "new", "wall", None),  # Tuesday
    ("n5", "cam-a", "north", "card_posting", (2026, 11, 24, 22, 50), "new", "wall", None),  # Tuesday
    ("n6", "cam-b", "north", "loitering", (2026, 11, 14, 14, 0), "resolved", "door", None),  # Saturday
    ("n7", "cam-c", "south", "card_posting", (2026, 11, 30, 23, 59), "false_positive", "wall", None),  # Monday
    ("n8", "cam-c", "south", "card_posting", (2026, 11, 1, 0, 0), "new", "wall", None),  # Sunday, first instant
    ("n9", "cam-d", "south", "intrusion", (2026, 11, 15, 3, 0), "acknowledged", "gate", "I2"),  # Sunday
    # October 2026
    ("p1", "cam-a", "north", "card_posting", (2026, 10, 12, 22, 15), "resolved", "wall", None),  # Monday
    ("p2", "cam-c", "south", "card_posting", (2026, 10, 31, 23, 59), "false_positive", "wall", None),  # Saturday
    ("p3", "cam-d", "south", "intrusion", (2026, 10, 1, 0, 0), "new", "gate", "I3"),  # Thursday
    # November 2025
    ("y1", "cam-a", "north", "card_posting", (2025, 11, 5, 21, 0), "resolved", "wall", None),
    ("y2", "cam-a", "north", "card_posting", (2025, 11, 6, 21, 0), "dispatched", "wall", None),
    ("y3", "cam-c", "south", "card_posting", (2025, 11, 7, 21, 0), "false_positive", "wall", None),
    # in none of them
    ("o1", "cam-a", "north", "card_posting", (2026, 12, 1, 0, 0), "resolved", "wall", None),  # the end is excluded
    ("o2", "cam-b", "north", "card_posting", (2026, 9, 30, 23, 59), "resolved", "wall", None),
]

# tips: id, grid (None: place unresolved), type, local time seen (year, month, day, hour, minute), status, led to case
TIPS = [
    ("t1", "north", "card_posting", (2026, 11, 3, 22, 30), "confirmed", True),
    ("t2", "north", "card_posting", (2026, 11, 20, 21, 0), "merged", False),
    ("t3", "south", "suspicious_person", (2026, 11, 14, 10, 0), "closed", False),
    ("t4", None, "other", (2026, 11, 25, 10, 0), "candidate", False),
    ("q1", "north", "card_posting", (2026, 10, 10, 22, 0), "confirmed", True),  # October
    ("x1", "north", "card_posting", (2026, 12, 1, 0, 0), "confirmed", True),  # December: in none
]


class Tables(HTMLParser):
    """Every ``<table id=...>`` of the page as rows of cell texts (header row first), and the texts by id."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._id: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs).get("id")
        if tag == "table" and found:
            self._table = found
            self.tables[found] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif found:
            self._id = found
            self.ids[found] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif self._id and tag in ("p", "h1"):
            self._id = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._id:
            self.ids[self._id] += data


@pytest.fixture
def config(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOPWATCH_DATABASE_URL", db_url)
    monkeypatch.delenv("SHOPWATCH_CONFIG", raising=False)
    path = tmp_path / "shopwatch.yaml"
    path.write_text(
        f"service:\n  data_dir: {tmp_path / 'data'}\n"
        "report:\n  station_name: 长街派出所\n"
        "cameras:\n"
        "  - {id: cam-a, name: 如家大堂, merchant: {name: 如家酒店, kind: 宾馆}, address: 长街1号, grid: north,"
        " host: 10.9.0.1, talkback: {capable: true, allowed: true}}\n"
        "  - {id: cam-c, name: 串店门口, merchant: {name: 老王串店}, address: 长街9号, grid: south, host: 10.9.0.3}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def stored(config: Path, db_url: str) -> Path:
    engine = create_engine_for(db_url)
    try:
        migrate(engine)
        events = EventRepository(engine)
        for n, (event_id, camera, grid, type_, (y, mo, d, h, mi), status, zone, incident) in enumerate(ROWS):
            start = datetime(y, mo, d, h, mi, tzinfo=CST)
            event = make_event(n, camera=camera, grid=grid, type_=type_)
            event = replace(event, id=event_id, start=start, status=status, zone=zone, incident_id=incident)
            events.add(event, [], None if incident is None else Incident(incident, type_, start, start, {}))
        tips = TipRepository(engine)
        for n, (tip_id, grid, type_, (y, mo, d, h, mi), status, led_to_case) in enumerate(TIPS):
            seen = datetime(y, mo, d, h, mi, tzinfo=CST)
            tips.add(
                tip(n, "vol-li", id=tip_id, grid=grid, type=type_, seen_at=seen, filed_at=seen + timedelta(hours=1),
                    status=status, led_to_case=led_to_case, place_from="unresolved" if grid is None else "camera")
            )  # fmt: skip
    finally:
        engine.dispose()
    return config


def run(config: Path, *args: str) -> Result:
    app = typer.Typer()
    register(app)
    app.command("unused")(lambda: None)  # two commands: the app keeps "report" as a subcommand name
    return CliRunner().invoke(app, ["report", *args, "--config", str(config)])


def test_the_tables_hold_the_hand_counted_november(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run(stored, "--month", "2026-11", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"{out}: 2026-11, 9 events" in result.stdout
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    found = Tables(page)
    assert "长街派出所 2026年11月 案情分析月报" in page
    assert "no-data" not in found.ids
    assert "统计周期：2026-11-01 至 2026-11-30（Asia/Shanghai），环比对象：2026-10" in page
    assert found.tables["summary"][1:] == [
        ["事件数", "9", "3", "+6 (+200.0%)"],
        ["确认案事件", "3", "1", "+2 (+200.0%)"],
        ["误报", "2", "1", "+1 (+100.0%)"],
        ["警情数", "2", "1", "+1 (+100.0%)"],
    ]
    assert found.tables["case-rate"][1:] == [["确认案事件", "3", "1", "+2 (+200.0%)", "2", "+1 (+50.0%)"]]
    assert found.tables["by-grid"][1:] == [
        ["north", "6", "1", "+5 (+500.0%)", "3", "1", "1"],
        ["south", "3", "2", "+1 (+50.0%)", "0", "1", "1"],
        ["合计", "9", "3", "+6 (+200.0%)", "3", "2", "2"],
    ]
    assert found.tables["by-type"][1:] == [
        ["贴卡", "7", "2", "+5 (+250.0%)", "2", "2", "1"],
        ["闯入", "1", "1", "0", "0", "0", "1"],
        ["徘徊", "1", "0", "+1 (新增)", "1", "0", "0"],
        ["合计", "9", "3", "+6 (+200.0%)", "3", "2", "2"],
    ]
    hours = {row[0]: row[1:3] for row in found.tables["by-hour"][1:]}
    assert len(hours) == 24
    assert {h: v for h, v in hours.items() if v != ["0", "0"]} == {
        "00": ["1", "1"], "03": ["1", "0"], "14": ["1", "0"], "22": ["4", "1"], "23": ["2", "1"],
    }  # fmt: skip
    days = {row[0]: row[1:3] for row in found.tables["by-weekday"][1:]}
    assert days == {
        "周一": ["1", "1"], "周二": ["5", "0"], "周三": ["0", "0"], "周四": ["0", "1"], "周五": ["0", "0"],
        "周六": ["1", "1"], "周日": ["2", "0"],
    }  # fmt: skip
    assert found.ids["card-hours"] == "贴卡高发时段（建议巡逻时间）：22时（4起）、23时（2起）、00时（1起）"
    assert found.tables["hot-spots"][1:] == [
        ["如家大堂 (cam-a)", "如家酒店", "长街1号", "north", "wall", "5", "建议巡逻、建议自动劝阻"],
        ["串店门口 (cam-c)", "老王串店", "长街9号", "south", "wall", "2", "建议巡逻"],
    ]
    assert found.tables["precision"][1:] == [  # the least precise first, no verdict last
        ["串店门口 (cam-c)", "老王串店", "长街9号", "south", "2", "0", "1", "0.0%"],
        ["如家大堂 (cam-a)", "如家酒店", "长街1号", "north", "5", "2", "1", "66.7%"],
        ["cam-b", "", "", "north", "1", "1", "0", "100.0%"],
        ["cam-d", "", "", "south", "1", "0", "0", "—"],
    ]
    assert found.ids["precision-overall"] == "本月总体准确率：60.0%（确认 3，误报 2）。"
    assert found.tables["tips"][1:] == [
        ["线索数", "4", "1", "+3 (+300.0%)"],
        ["已确认", "2", "1", "+1 (+100.0%)"],
        ["促成破案", "1", "1", "0"],
    ]
    assert found.tables["tips-by-type"][1:] == [
        ["贴卡", "2", "1", "+1 (+100.0%)", "2", "1"],
        ["其他", "1", "0", "+1 (新增)", "0", "0"],
        ["可疑人员", "1", "0", "+1 (新增)", "0", "0"],
    ]
    assert found.tables["tips-by-grid"][1:] == [
        ["north", "2", "1", "+1 (+100.0%)", "2", "1"],
        ["south", "1", "0", "+1 (新增)", "0", "0"],
        ["未定位", "1", "0", "+1 (新增)", "0", "0"],
    ]
    assert page.count("<svg") == 5  # a chart per grid, type, hour and weekday, and the tips' types


def test_one_grid_and_english(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "south.html"
    result = run(stored, "--month", "2026-11", "--out", str(out), "--grid", "south", "--lang", "en")
    assert result.exit_code == 0, result.output
    found = Tables(out.read_text(encoding="utf-8"))
    assert found.ids["grids"] == "Grids: south"
    assert found.ids["card-hours"] == "Busiest card-posting hours (when to patrol): 00:00 (1), 23:00 (1)"
    assert found.tables["summary"][1] == ["Events", "3", "2", "+1 (+50.0%)"]
    assert [row[0] for row in found.tables["by-grid"][1:]] == ["south", "Total"]
    assert [row[0] for row in found.tables["precision"][1:]] == ["串店门口 (cam-c)", "cam-d"]
    assert found.ids["precision-overall"] == "Precision this month: 0.0% (0 confirmed, 1 false positives)."
    assert found.tables["tips-by-grid"][1:] == [["south", "1", "0", "+1 (new)", "0", "0"]]


def test_the_precision_table_lists_the_least_precise_cameras_only(stored: Path, tmp_path: Path) -> None:
    cfg = stored.read_text(encoding="utf-8").replace("station_name: 长街派出所", "precision_rows: 2")
    stored.write_text(cfg, encoding="utf-8")
    out = tmp_path / "cut.html"
    assert run(stored, "--month", "2026-11", "--out", str(out)).exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert [row[0] for row in Tables(page).tables["precision"][1:]] == ["串店门口 (cam-c)", "如家大堂 (cam-a)"]
    assert "本月共 4 路摄像头有事件，此处列出准确率最低的 2 路；完整列表见统计导出（XLSX/CSV）。" in page


def test_a_month_without_data_is_an_empty_report(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty.html"
    result = run(stored, "--month", "2027-03", "--out", str(out))
    assert result.exit_code == 0, result.output
    found = Tables(out.read_text(encoding="utf-8"))
    assert found.ids["no-data"] == "本月无数据"
    assert found.tables["summary"][1:] == [[name, "0", "0", "0"] for name in ("事件数", "确认案事件", "误报", "警情数")]
    assert all(row[1:3] == ["0", "0"] for row in found.tables["by-hour"][1:])
    assert "by-grid" not in found.tables and "hot-spots-none" in found.ids and "precision-none" in found.ids
    assert "card-hours" not in found.ids
    assert found.tables["tips"][1:] == [[name, "0", "0", "0"] for name in ("线索数", "已确认", "促成破案")]
    assert found.ids["tips-none"] == "本月无群众线索。"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--month", "2026-13", "--out", "r.html"],
            "--month: expected a month as YYYY-MM (e.g. 2026-11), found '2026-13'",
        ),
        (["--month", "11/2026", "--out", "r.html"], "found '11/2026'"),
        (["--month", "2026-11", "--out", "r.docx"], "--out: expected a file ending in .html or .pdf, found 'r.docx'"),
        (["--month", "2026-11", "--out", "r.html", "--lang", "fr"], "--lang: expected zh or en, found 'fr'"),
    ],
)
def test_bad_input_is_one_sentence_and_status_2(config: Path, tmp_path: Path, args: list[str], expected: str) -> None:
    result = run(config, *args)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_no_chromium_for_a_pdf_says_so(config: Path, tmp_path: Path) -> None:
    cfg = config.read_text(encoding="utf-8").replace("station_name: 长街派出所", "chromium: /nowhere/chromium")
    config.write_text(cfg, encoding="utf-8")
    result = run(config, "--month", "2026-11", "--out", str(tmp_path / "r.pdf"))
    assert result.exit_code == 2
    assert "report.chromium: no executable '/nowhere/chromium'" in result.stderr
    assert not (tmp_path / "r.pdf").exists()


@needs_chromium
def test_the_pdf_is_a_real_pdf(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = run(stored, "--month", "2026-11", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 1
    assert data.rstrip().endswith(b"%%EOF")


@needs_chromium
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_page_renders_in_chromium(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert run(stored, "--month", "2026-11", "--out", str(out)).exit_code == 0
    ARTEFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 760, "height": 1000})
            await page.goto(out.as_uri())
            assert await page.title() == "长街派出所 2026年11月 案情分析月报"
            await page.screenshot(path=str(ARTEFACTS / "report-2026-11.png"), full_page=True)
            bars = await page.locator("svg.chart rect[fill='#c0392b']").count()
            assert bars >= 2 + 3 + 24 + 7  # this month's bar of every grid, type, hour and weekday
            box = await page.locator("#by-hour").bounding_box()
            assert box is not None and box["width"] > 300
        finally:
            await browser.close()
