"""The console's case-analysis view (统计分析) in a real browser (Debian's chromium through Playwright, under the
API's real Content-Security-Policy) against the real API server over the hand-counted week of
tests/store/stats_fixture.py: the totals with their change, the four charts drawn (Chart.js, vendored) with the
fixture's numbers, the hot spots and the precision per camera, in Chinese and in English; the period presets on
the browser's injected clock and days picked by hand; a grid-scoped operator's page counting its grid only; a hot
spot opening its camera on the map and its events. Also two small console defects: the camera table's shop
column of a shop left unnamed, and one spelling of an event type in English."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Page

from shopwatch.api.console import STATIC
from shopwatch.core.health import CameraState
from shopwatch.core.principal import Role
from shopwatch.store.events import EventRepository
from shopwatch.store.tips import TipRepository
from tests.api.auth_fixtures import AuthKit
from tests.api.fakes import FakeFleet, make_camera, make_health
from tests.api.test_console import ARTEFACTS, CHROMIUM, EN, WAIT_MS, ZH, sign_in
from tests.api.test_console_map import browser_fixture, csp_watch, server_fixture  # noqa: F401
from tests.store.stats_fixture import CST, store_fixture, store_tips

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make deps installs Debian's)"),
    pytest.mark.timeout(120),
]
WEEK_END = datetime(2026, 11, 16, tzinfo=CST)  # "now" on the page's clock: the last 7 days are the fixture's week
SHOWN_WEEK = "2026-11-08T16:00:00+00:00/2026-11-15T16:00:00+00:00"  # the week, as the API gives it back
ACCENT = (224, 165, 38)  # this period's bars (charts.js)
SHOWN = "#stats-view[data-shown]:not([data-loading])"  # the numbers asked for have arrived and are drawn

# The fixture's cameras: cam-b's shop has no name (the tables fall back to the camera's own name).
CAMERAS = {"cam-a": (1, "north"), "cam-b": (2, "north"), "cam-c": (4, "south"), "cam-d": (5, "south")}


@pytest.fixture
def fleet() -> FakeFleet:
    cameras = []
    for camera_id, (n, grid) in CAMERAS.items():
        camera = make_camera(n, grid).model_copy(update={"id": camera_id})
        if camera_id == "cam-b":
            camera = camera.model_copy(update={"merchant": camera.merchant.model_copy(update={"name": ""})})
        cameras.append(camera)
    return FakeFleet(cameras, [make_health(c, CameraState.ONLINE) for c in cameras])


async def open_stats(page: Page, url: str, user: str, now: datetime = WEEK_END) -> None:
    await page.clock.set_fixed_time(now)  # the page's Date: the presets count back from it
    await sign_in(page, url, user)
    await page.click("#show-stats", timeout=WAIT_MS)
    await page.wait_for_selector(SHOWN, timeout=WAIT_MS)
    await page.wait_for_selector("#cameras tbody tr", state="attached", timeout=WAIT_MS)  # the names in the tables


class StatsPage(NamedTuple):
    page: Page
    errors: list[str]  # what the browser said about the page's policy or scripts (csp_watch): must stay empty


OpenStats = Callable[..., Awaitable[StatsPage]]


@pytest.fixture
def stats_page(server: str, browser: Browser, auth_kit: AuthKit) -> OpenStats:
    """The hand-counted week stored; then ``await stats_page(user, grids, now=..., **page options)`` signs ``user``
    (an operator, of ``grids`` or all) in on a new page under the real CSP (no bypass) and opens the view."""
    store_fixture(EventRepository(auth_kit.engine))

    async def open_as(
        user: str, grids: tuple[str, ...] | None = None, now: datetime = WEEK_END, **options: Any
    ) -> StatsPage:
        auth_kit.user(user, Role.OPERATOR, grids)
        page = await browser.new_page(**{"viewport": {"width": 1600, "height": 1000}, **options})
        errors = csp_watch(page)
        await open_stats(page, server, user, now)
        return StatsPage(page, errors)

    return open_as


async def events_listed(page: Page, query: str) -> None:
    """The work view's event list has been loaded for ``query`` (console.js: ``data-shown``), none newer pending."""
    await page.wait_for_selector(f"#event-list[data-shown='{query}']:not([data-loading])", state="attached",
                                 timeout=WAIT_MS)  # fmt: skip


async def texts(page: Page, selector: str) -> list[str]:
    return [(t or "").strip() for t in await page.locator(selector).all_inner_texts()]


async def table(page: Page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tbody tr")
    return [await texts(page, f"{selector} tbody tr:nth-child({i + 1}) td") for i in range(await rows.count())]


async def chart(page: Page, canvas: str) -> dict[str, object]:
    """What Chart.js was given to draw on the canvas and how many of its pixels are this period's colour."""
    data = await page.eval_on_selector(
        canvas,
        "c => { const d = window.Chart.getChart(c).data; return {labels: d.labels, "
        "datasets: d.datasets.map(s => [s.label, s.data])}; }",
    )
    accent = await page.eval_on_selector(
        canvas,
        "(c, rgb) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; "
        "for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1]) "
        "+ Math.abs(d[i + 2] - rgb[2]) < 12 && d[i + 3] > 200) n++; return n; }",
        list(ACCENT),
    )
    return {**data, "accent_pixels": accent}


def bars(drawn: dict[str, object]) -> dict[str, tuple[int, int]]:
    """label -> (previous, current), as drawn."""
    labels, datasets = drawn["labels"], drawn["datasets"]
    assert isinstance(labels, list) and isinstance(datasets, list)
    (_, previous), (_, current) = datasets
    return {str(label): (p, c) for label, p, c in zip(labels, previous, current, strict=True) if p or c}


async def test_the_week_in_chinese_then_english_with_its_charts_hot_spots_and_precision(
    stats_page: OpenStats, auth_kit: AuthKit
) -> None:
    store_tips(TipRepository(auth_kit.engine))
    page, errors = await stats_page("olga", viewport={"width": 1920, "height": 1080})
    assert await page.get_attribute("#stats-view", "data-shown") == SHOWN_WEEK  # 近 7 天, the default
    range_text = await page.text_content("#stats-range") or ""
    assert all(d in range_text for d in ("2026-11-09 00:00", "2026-11-16 00:00", "2026-11-02 00:00")), range_text

    # The totals, hand-counted: 8 events (3 the week before), 3 confirmed (1), 2 false positives (1), 2 incidents (1).
    assert await texts(page, "#stats-totals .total-value") == ["8", "3", "2", "2"]
    assert await texts(page, "#stats-totals .total-change") == ["▲ 5（+166.7%）", "▲ 2（+200.0%）", "▲ 1（+100.0%）",
                                                           "▲ 1（+100.0%）"]  # fmt: skip
    assert await texts(page, "#stats-totals .total-before") == ["上期 3", "上期 1", "上期 1", "上期 1"]
    assert await page.locator("#stats-totals .total-change.up").count() == 4  # more than before: drawn red
    colour = "e => getComputedStyle(e).color"
    up, down = [await page.eval_on_selector(f".stats-legend .{kind}", colour) for kind in ("up", "down")]
    assert await page.eval_on_selector(".total-change.up", colour) == up != down  # the legend says what red means

    # Tips from people, hand-counted: t1-t4 filed (q1, q2 before), t1 and t2 confirmed or merged (q1), t1 led to a
    # case (q1). Their change is blue, not red: more tips are welcome.
    assert await texts(page, ".total.tip .total-value") == ["4", "2", "1"]
    assert await texts(page, ".total.tip .total-change") == [
        "▲ 2（+100.0%）",
        "▲ 1（+100.0%）",
        ZH["stats.change.same"],
    ]
    tip_up = await page.eval_on_selector(".total.tip .total-change.up", colour)
    assert tip_up not in (up, down)

    by_type = await chart(page, "#chart-type")
    assert by_type["datasets"][0][0] == "上期" and by_type["datasets"][1][0] == "本期"  # type: ignore[index]
    assert bars(by_type) == {"张贴小广告": (2, 6), "徘徊逗留": (0, 1), "非法闯入": (1, 1)}
    assert bars(await chart(page, "#chart-grid")) == {"north": (1, 5), "south": (2, 3)}
    by_hour = await chart(page, "#chart-hour")
    assert by_hour["labels"] == [f"{h:02d}时" for h in range(24)]
    assert bars(by_hour) == {"00时": (1, 0), "02时": (0, 1), "03时": (0, 1), "07时": (0, 1), "08时": (1, 0),
                             "14时": (0, 1), "22时": (1, 2), "23时": (0, 2)}  # fmt: skip
    by_weekday = await chart(page, "#chart-weekday")
    assert bars(by_weekday) == {"周一": (1, 2), "周二": (1, 0), "周三": (0, 2), "周五": (0, 1), "周六": (1, 1),
                                "周日": (0, 2)}  # fmt: skip
    for drawn in (by_type, by_hour, by_weekday):
        assert drawn["accent_pixels"] > 200  # the bars are on the canvas, not only in its data  # type: ignore[operator]
    await page.select_option("#stats-metric", "tips")  # the charts of the tips filed, by the tips' own types
    assert bars(await chart(page, "#chart-type")) == {"张贴小广告": (1, 2), "可疑人员": (0, 1), "安全隐患": (1, 0),
                                                      "其他": (0, 1)}  # fmt: skip
    assert bars(await chart(page, "#chart-grid")) == {"north": (1, 2), "south": (1, 1), "位置未确定": (0, 1)}
    await page.select_option("#stats-metric", "events")

    assert await table(page, "#hot-spots") == [
        ["Merchant 1 · Shop 1 entrance", "north", "wall", "3", "地图事件"],
        ["Merchant 4 · Shop 4 entrance", "south", "wall", "2", "地图事件"],
    ]
    assert await table(page, "#precision") == [  # the worst first; no verdicts last
        ["Merchant 4 · Shop 4 entrance", "south", "2", "0", "1", "0.0%"],
        ["Merchant 1 · Shop 1 entrance", "north", "4", "2", "1", "66.7%"],
        ["Shop 2 entrance", "north", "1", "1", "0", "100.0%"],  # an unnamed shop: the camera's name
        ["Merchant 5 · Shop 5 entrance", "south", "1", "0", "0", "—"],
    ]
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTEFACTS / "console-stats-zh.png", full_page=True)

    await page.select_option("#lang", "en")
    await page.wait_for_selector("#show-stats >> text=" + EN["view.stats"], timeout=WAIT_MS)
    assert await texts(page, "#stats-totals .total-label") == ["Events", "Confirmed", "False positives", "Incidents"]
    assert (await texts(page, "#stats-totals .total-change"))[0] == "▲ 5 (+166.7%)"
    assert "compared with 2026-11-02 00:00" in (await page.text_content("#stats-range") or "")
    assert bars(await chart(page, "#chart-type")) == {"Card posting": (2, 6), "Loitering": (0, 1),
                                                      "Intrusion": (1, 1)}  # fmt: skip
    assert (await chart(page, "#chart-weekday"))["labels"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert (await chart(page, "#chart-hour"))["labels"][22] == "22:00"  # type: ignore[index]
    assert (await table(page, "#hot-spots"))[0][-1] == "MapEvents"
    for key in ("stats.hot_spots", "stats.precision", "stats.by_hour"):
        assert await page.locator(f"[data-i18n='{key}']").inner_text() == EN[key]
    await page.screenshot(path=ARTEFACTS / "console-stats-en.png", full_page=True)
    assert errors == []


async def test_the_presets_count_in_the_station_zone_and_days_are_picked_year_first(stats_page: OpenStats) -> None:
    page, errors = await stats_page("olga", now=datetime(2026, 12, 5, 9, 30, tzinfo=CST))
    await page.select_option("#stats-period", "last_month")  # November in the station: every row of the fixture
    await page.wait_for_selector("#stats-view[data-shown^='2026-10-31T16:00:00+00:00/2026-11-30T16:00:00']")
    assert (await texts(page, "#stats-totals .total-value"))[0] == "13"
    assert (await texts(page, "#stats-totals .total-change"))[0] == "▲ 13（上期为 0）"  # October had none: no percent

    await page.select_option("#stats-period", "month")  # 1 December up to now: nothing yet
    await page.wait_for_selector("#stats-view[data-shown^='2026-11-30T16:00:00+00:00/2026-12-05T01:30:00']")
    assert await texts(page, "#stats-totals .total-value") == ["0", "0", "0", "0"]
    assert (await texts(page, "#stats-totals .total-change"))[0] == ZH["stats.change.same"]  # none 26-30 Nov either
    assert await table(page, "#hot-spots") == [[ZH["stats.no_hot_spots"]]]

    await page.select_option("#stats-period", "custom")
    await page.fill("#stats-first", "2026-11-31")  # no such day: said, nothing asked
    await page.fill("#stats-last", "2026-11-15")
    await page.click("#stats-apply")
    await page.wait_for_selector("#stats-message:has-text('2026-11-09')", timeout=WAIT_MS)
    assert await page.text_content("#stats-message") == ZH["stats.error.date"]
    await page.fill("#stats-first", "2026-11-16")
    await page.click("#stats-apply")
    await page.wait_for_selector(f"#stats-message:has-text('{ZH['stats.error.order']}')", timeout=WAIT_MS)
    await page.fill("#stats-first", "2026-11-09")  # the last day is included
    await page.click("#stats-apply")
    await page.wait_for_selector(f"#stats-view[data-shown='{SHOWN_WEEK}']", timeout=WAIT_MS)
    assert await page.text_content("#stats-message") == ""
    assert (await texts(page, "#stats-totals .total-value"))[0] == "8"
    assert errors == []


async def test_a_grid_scoped_operator_sees_its_grid_only(stats_page: OpenStats) -> None:
    page, errors = await stats_page("south-desk", ("south",))
    assert await page.get_attribute("#stats-view", "data-shown") == SHOWN_WEEK
    assert await texts(page, "#stats-totals .total-value") == ["3", "0", "1", "1"]  # e6, e7, e8
    assert (await texts(page, "#stats-totals .total-change"))[0] == "▲ 1（+50.0%）"  # against p2, p3
    assert bars(await chart(page, "#chart-grid")) == {"south": (2, 3)}
    assert [row[0] for row in await table(page, "#hot-spots")] == ["Merchant 4 · Shop 4 entrance"]
    assert {row[1] for row in await table(page, "#precision")} == {"south"}
    assert await page.locator("#stats-grid option").all_inner_texts() == [ZH["stats.all_grids"], "south"]
    assert errors == []


async def download(page: Page, link: str, folder: Path) -> tuple[str, bytes]:
    """Clicks an export link as an operator would: the file the browser saves, and its suggested name."""
    async with page.expect_download(timeout=WAIT_MS) as started:
        await page.click(link)
    got = await started.value
    assert await got.failure() is None
    path = folder / got.suggested_filename
    await got.save_as(path)
    return got.suggested_filename, path.read_bytes()


async def test_the_export_buttons_download_the_numbers_shown(stats_page: OpenStats, tmp_path: Path) -> None:
    page, errors = await stats_page("south-desk", ("south",), accept_downloads=True)
    name, body = await download(page, "#stats-xlsx", tmp_path)
    assert name == "shopwatch-stats-20261108-20261115.xlsx"  # the period's days in UTC, as the API names it
    book = load_workbook(io.BytesIO(body), read_only=True)
    assert {"按网格", "按类型", "热点"} <= set(book.sheetnames)  # the page's language: Chinese headings
    grids = [row for row in book["按网格"].iter_rows(min_row=2, values_only=True) if any(row)]
    assert [row[0] for row in grids] == ["south"]  # the grid-scoped operator's own grid only
    spots = [row for row in book["热点"].iter_rows(min_row=2, values_only=True) if any(row)]
    assert [(r[0], r[2], r[3]) for r in spots] == [("cam-c", "wall", 2)]  # as in the page's hot-spot table

    await page.select_option("#lang", "en")
    await page.wait_for_selector("#show-stats >> text=" + EN["view.stats"], timeout=WAIT_MS)
    name, body = await download(page, "#stats-csv", tmp_path)
    assert name.endswith(".csv.zip")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = archive.namelist()
        assert any(n.endswith("By grid.csv") for n in names), names
        hot = next(n for n in names if n.endswith("Hot spots.csv"))
        text = archive.read(hot).decode("utf-8-sig")
    assert "cam-c" in text and "cam-a" not in text
    assert errors == []


async def test_a_patrol_has_no_case_analysis(server: str, browser: Browser, auth_kit: AuthKit) -> None:
    auth_kit.user("pat", Role.PATROL, ("south",))  # GET /api/stats answers a patrol 403
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    await sign_in(page, server, "pat")
    await page.wait_for_selector("#show-wall", state="visible", timeout=WAIT_MS)
    assert await page.is_hidden("#show-stats")


async def test_a_hot_spot_opens_its_camera_on_the_map_and_its_events(stats_page: OpenStats) -> None:
    page, errors = await stats_page("olga")
    await page.click("#hot-spots tr[data-camera='cam-a'] .to-map")
    await page.wait_for_selector("#map[data-revealed='cam-a']", timeout=WAIT_MS)
    await page.wait_for_selector("#map-camera", state="visible", timeout=WAIT_MS)
    assert await page.text_content("#map-camera-name") == "Merchant 1 · Shop 1 entrance"
    await page.wait_for_selector(".pin-dot[data-camera='cam-a']", state="visible", timeout=WAIT_MS)
    await page.click("#map-camera-events")  # the panel's "its events": the list of this camera's, every type
    await page.wait_for_selector("#camera-filter", state="visible", timeout=WAIT_MS)
    assert await page.input_value("#filters select[name=type]") == ""
    await events_listed(page, "limit=50&camera=cam-a")  # not the list from before, still on the page
    assert await page.locator("#event-list li").count() == 6  # e1-e4, p1, o1: all of cam-a's
    await page.click("#camera-filter-clear")

    await page.click("#show-stats")  # the view asks for its numbers again: its tables are drawn anew
    await page.wait_for_selector(SHOWN, timeout=WAIT_MS)
    await page.click("#hot-spots tr[data-camera='cam-a'] .to-events")
    await page.wait_for_selector("#app-view", state="visible", timeout=WAIT_MS)
    await page.wait_for_selector("#camera-filter", state="visible", timeout=WAIT_MS)
    assert await page.text_content("#camera-filter-name") == "Merchant 1 · Shop 1 entrance"
    rows = page.locator("#event-list li")
    await events_listed(page, "limit=50&type=card_posting&camera=cam-a")
    ids = {await rows.nth(i).get_attribute("data-event") for i in range(await rows.count())}
    assert ids == {"e1", "e2", "e3", "e4", "p1", "o1"}  # every card posting of cam-a, none of cam-b's
    await page.click("#camera-filter-clear")
    await events_listed(page, "limit=50&type=card_posting")
    assert await page.locator("#event-list li").count() == 10  # every camera's 10 card postings
    assert await page.is_hidden("#camera-filter")
    assert await page.input_value("#filters select[name=type]") == "card_posting"  # the type stays chosen
    assert errors == []


async def test_an_unnamed_shop_and_an_event_type_read_the_same_everywhere(
    server: str, browser: Browser, auth_kit: AuthKit
) -> None:
    store_fixture(EventRepository(auth_kit.engine))
    auth_kit.user("olga", Role.OPERATOR)
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    await sign_in(page, server, "olga")
    await page.wait_for_selector("#wall figcaption >> text=Shop 2 entrance", timeout=WAIT_MS)
    assert "Shop 2 entrance" in await texts(page, "#wall figcaption")  # not " · Shop 2 entrance"
    await page.click("#show-work", timeout=WAIT_MS)
    await page.wait_for_selector("#cameras tbody tr[data-camera='cam-b']", timeout=WAIT_MS)
    shops = dict(zip(await texts(page, "#cameras tbody tr td:nth-child(1)"),
                     await texts(page, "#cameras tbody tr td:nth-child(2)"), strict=True))  # fmt: skip
    assert shops["Shop 2 entrance"] == "Shop 2 entrance"  # the merchant left the shop's name empty
    assert shops["Shop 1 entrance"] == "Merchant 1"

    await page.select_option("#lang", "en")
    row = page.locator("[data-event='e1']")
    await row.click(timeout=WAIT_MS)
    await page.wait_for_selector("#detail", state="visible", timeout=WAIT_MS)
    listed = await row.locator(".type").inner_text()  # as drawn, the style sheet included
    assert listed == EN["type.card_posting"] == "Card posting"
    assert (await page.inner_text("#detail-title")).startswith(listed + " at ")


def test_the_vendored_chart_library_is_the_one_recorded() -> None:
    recorded = {}
    for line in (STATIC / "vendor" / "VERSIONS").read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            recorded[parts[1]] = parts[0]
    for name in ("chart.js/chart.umd.min.js", "chart.js/LICENSE.md"):
        assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == recorded[name], name
    assert "v4.6.2" in (STATIC / "vendor" / "chart.js" / "chart.umd.min.js").read_text()[:200]
