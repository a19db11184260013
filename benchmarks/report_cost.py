"""What ``shopwatch report`` costs over a year of events on PostgreSQL, printed as one table.

Fills a schema of its own on the test PostgreSQL server with ~500k events for 1,204 cameras over the year before
now (``stats_latency.fill``: bulk COPY, ANALYZEd; dropped afterwards), then makes the report of the last whole
month (in the station's zone) ``--runs`` times: the numbers (``build_report``: four calls of the stats function
behind ``GET /api/stats``: the month, the month before, a year earlier, the month's card postings), the HTML,
and the PDF by headless Chromium. Heavy: run it under ``flock /tmp/shopwatch-bench.lock nice -n 5``.

    python benchmarks/report_cost.py [--events 500000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stats_latency import CAMERAS, GRIDS, fill  # noqa: E402

from benchmarks._pg_scratch import scratch_engine  # noqa: E402
from shopwatch.report.html import render_html  # noqa: E402
from shopwatch.report.model import ReportInputs, build_report  # noqa: E402
from shopwatch.report.month import Month  # noqa: E402
from shopwatch.report.pdf import find_chromium, print_pdf  # noqa: E402
from shopwatch.store.events import EventRepository  # noqa: E402
from tests.api.fakes import make_camera  # noqa: E402

ZONE = "Asia/Shanghai"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cameras = {c.id: c for c in (make_camera(i, f"grid-{i % GRIDS:02d}") for i in range(1, CAMERAS + 1))}
    inputs = ReportInputs("长街派出所", ZONE, cameras, [], deterrence_from=4)
    now = datetime.now(UTC).replace(microsecond=0)
    local = now.astimezone(ZoneInfo(ZONE))
    month = Month(local.year, local.month).previous()  # the last whole month
    took: dict[str, list[float]] = {"numbers": [], "html": [], "pdf": []}
    chromium = find_chromium(None)
    with scratch_engine() as engine:
        fill_s = fill(engine, args.events, now)
        print(f"# {args.events} events, {CAMERAS} cameras: COPY + ANALYZE {fill_s:.1f} s; report of {month}")
        stats = EventRepository(engine).stats
        with tempfile.TemporaryDirectory() as tmp:
            pdf = Path(tmp) / "report.pdf"
            for _ in range(args.runs):
                began = time.perf_counter()
                report = build_report(stats, month, inputs, local)
                took["numbers"].append(time.perf_counter() - began)
                began = time.perf_counter()
                page = render_html(report)
                took["html"].append(time.perf_counter() - began)
                began = time.perf_counter()
                print_pdf(chromium, page, pdf, 300)
                took["pdf"].append(time.perf_counter() - began)
            data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    print(f"# month's events {report.total.current.events}; cameras in the precision table {len(report.cameras)}; "
          f"hot spots {len(report.hot_spots)}; HTML {len(page.encode()) // 1024} KiB; PDF {len(data) // 1024} KiB, "
          f"{pages} pages; load {os.getloadavg()}")  # fmt: skip
    print("| step | runs | median s | max s |")
    print("|---|---|---|---|")
    for step, seconds in took.items():
        print(f"| {step} | {len(seconds)} | {statistics.median(seconds):.2f} | {max(seconds):.2f} |")


if __name__ == "__main__":
    main()
