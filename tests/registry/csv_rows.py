"""Merchant CSV rows for the registry and CLI tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from shopwatch.registry.csv_import import COLUMNS

SECRET = "Tr0ub4dor&3"  # the password of every camera below; must never show up in a message


def merchant_row(n: int, **overrides: str) -> dict[str, str]:
    row = {
        "id": f"cam-{n:03d}",
        "name": f"门口 {n}",
        "merchant_name": f"老王烟酒店 {n}号",
        "merchant_phone": "0571-8888 0000",
        "merchant_kind": "宾馆" if n % 3 == 0 else "",
        "address": f"解放路 {n} 号",
        "grid": "西湖-3" if n % 2 else "上城-1",
        "lat": "30.27",
        "lon": "120.15",
        "vendor": "hikvision",
        "host": f"10.0.0.{n}",
        "port": "554",
        "onvif_port": "80",
        "username": "admin",
        "password": SECRET,
        "detect_url": f"rtsp://10.0.0.{n}/Streaming/Channels/102",
        "record_url": "",
        "transport": "tcp",
        "talkback_capable": "yes",
        "talkback_allowed": "no",
        "quiet_hours": "22:00-07:00",
        "enabled": "1",
    }
    row.update(overrides)
    return row


def csv_text(rows: list[dict[str, str]], columns: tuple[str, ...] | list[str] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_csv(path: Path, rows: list[dict[str, str]], bom: bool = True) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + csv_text(rows).encode("utf-8"))
    return path


BAD_ROWS = {4: {"port": "abc"}, 9: {"lat": "30.1", "lon": ""}}  # data rows 3 and 8 -> file lines 4 and 9


def ten_rows_two_bad() -> list[dict[str, str]]:
    return [merchant_row(n, **BAD_ROWS.get(n + 1, {})) for n in range(1, 11)]
