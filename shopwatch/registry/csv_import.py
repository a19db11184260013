"""Import merchant cameras from ``merchants.csv`` into the registry.

The file is UTF-8 (a BOM, as Excel writes it, is fine), with a header row naming the columns in any order.
Every row is validated through ``CameraConfig``; every problem is reported with its line number (the header
is line 1), the column, and what was found, but never a password. Nothing is written unless the whole file
is valid, or, with ``skip_invalid``, the valid rows are written and the skipped ones are returned."""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import ConfigError, ConfigProblem, Invalid
from shopwatch.core.redact import redact_text, redact_url
from shopwatch.store.cameras import CameraRepository, Source

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("id", "name", "grid", "host")
OPTIONAL_COLUMNS = (
    "merchant_name", "merchant_phone", "address", "lat", "lon", "vendor", "port", "onvif_port", "username",
    "password", "detect_url", "record_url", "transport", "talkback_capable", "talkback_allowed", "quiet_hours",
    "enabled", "merchant_kind",
)  # fmt: skip
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_BOOL_COLUMNS = ("talkback_capable", "talkback_allowed", "enabled")
_URL_COLUMNS = ("detect_url", "record_url")
_TRUE = {"yes", "true", "1"}
_FALSE = {"no", "false", "0"}
_QUIET_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

# CameraConfig field path -> CSV column, for naming the column in pydantic's errors
_FIELD_COLUMN: dict[tuple[str, ...], str] = {
    ("merchant", "name"): "merchant_name",
    ("merchant", "phone"): "merchant_phone",
    ("merchant", "kind"): "merchant_kind",
    ("location", "lat"): "lat",
    ("location", "lon"): "lon",
    ("location",): "lat/lon",
    ("credentials", "username"): "username",
    ("credentials", "password"): "password",
    ("streams", "detect"): "detect_url",
    ("streams", "record"): "record_url",
    ("talkback", "capable"): "talkback_capable",
    ("talkback", "allowed"): "talkback_allowed",
    ("talkback", "quiet_hours"): "quiet_hours",
}


@dataclass(frozen=True)
class ParsedCsv:
    """Valid cameras in file order, and every problem of the rows that are not valid."""

    cameras: list[CameraConfig]
    problems: list[ConfigProblem]
    rows: int  # data rows read (blank lines not counted)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.problems if p.line is not None})


@dataclass(frozen=True)
class ImportResult:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[ConfigProblem, ...]  # only with skip_invalid: why each skipped row was left out

    @property
    def skipped_lines(self) -> list[int]:
        return sorted({p.line for p in self.skipped if p.line is not None})


class _RowError(Invalid):
    def __init__(self, column: str, message: str) -> None:
        self.column, self.message = column, message


def _flag(column: str, raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _RowError(column, f"expected yes/no/true/false/1/0, found {raw!r}")


def _quiet_hours(raw: str) -> dict[str, time]:
    match = _QUIET_RE.match(raw)
    try:
        if match is None:
            raise ValueError
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return {"start": time(h1, m1), "end": time(h2, m2)}
    except ValueError:
        raise _RowError("quiet_hours", f"expected HH:MM-HH:MM such as 22:00-07:00, found {raw!r}") from None


def _row_to_doc(cells: dict[str, str]) -> dict[str, Any]:
    """The non-empty cells of one row shaped like ``CameraConfig``; empty cells take the config default."""
    got = {k: v for k, v in cells.items() if v}
    doc: dict[str, Any] = {
        k: got[k] for k in ("id", "name", "grid", "host", "address", "port", "onvif_port") if k in got
    }
    for key in ("vendor", "transport"):
        if key in got:
            doc[key] = got[key].lower()
    doc["merchant"] = {k: got[f"merchant_{k}"] for k in ("name", "phone", "kind") if f"merchant_{k}" in got}
    if ("lat" in got) != ("lon" in got):
        given, empty = ("lat", "lon") if "lat" in got else ("lon", "lat")
        raise _RowError("lat/lon", f"lat and lon go together: {given} is given but {empty} is empty")
    if "lat" in got:
        doc["location"] = {"lat": got["lat"], "lon": got["lon"]}
    doc["credentials"] = {k: got[k] for k in ("username", "password") if k in got}
    doc["streams"] = {k: got[f"{k}_url"] for k in ("detect", "record") if f"{k}_url" in got}
    talkback: dict[str, Any] = {}
    for key in ("capable", "allowed"):
        if f"talkback_{key}" in got:
            talkback[key] = _flag(f"talkback_{key}", got[f"talkback_{key}"])
    if "quiet_hours" in got:
        talkback["quiet_hours"] = _quiet_hours(got["quiet_hours"])
    doc["talkback"] = talkback
    if "enabled" in got:
        doc["enabled"] = _flag("enabled", got["enabled"])
    return doc


def _column_of(loc: tuple[int | str, ...]) -> str:
    path = tuple(str(part) for part in loc)
    for end in range(len(path), 0, -1):
        if path[:end] in _FIELD_COLUMN:
            return _FIELD_COLUMN[path[:end]]
    return path[0] if path else "(row)"


def _shown(raw: str, limit: int = 60) -> str:
    value = redact_url(raw)
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _describe(err: Any, cells: dict[str, str], column: str) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    raw = cells.get(column)
    if column == "id" and err["type"] == "string_pattern_mismatch":
        message = "expected lower-case letters, digits, '-' and '_' (1-63, starting with a letter or digit)"
    if column == "password" or raw is None or "found" in message:
        return message
    return f"{message}, found {_shown(raw)}" if message.startswith("expected") else f"{message} (found {_shown(raw)})"


def _validate_row(line: int, cells: dict[str, str]) -> CameraConfig | list[ConfigProblem]:
    where = f"row {line}"
    secrets = (cells["password"],) if cells.get("password") else ()
    try:
        return CameraConfig.model_validate(_row_to_doc(cells))
    except _RowError as exc:
        problems = [(exc.column, exc.message)]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            column = _column_of(tuple(err["loc"]))
            message = "required column is empty" if err["type"] == "missing" else _describe(err, cells, column)
            problems.append((column, message))
    # belt and braces: whatever the message quotes, the row's password never leaves this function
    return [ConfigProblem(where, redact_text(f"column {col}: {msg}", secrets), line) for col, msg in problems]


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [ConfigProblem("(file)", f"cannot read: {exc.strerror}")]) from None
    try:
        return data.decode("utf-8-sig")  # strips the BOM Excel puts in front of UTF-8 CSV
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"expected UTF-8 text, found byte 0x{data[exc.start]:02x} (save the file as 'CSV UTF-8')"
        raise ConfigError(str(path), [ConfigProblem("(file)", message, line)]) from None


def _check_header(header: list[str], source: str) -> None:
    problems: list[ConfigProblem] = []
    unknown = [name or f"(no name, position {i + 1})" for i, name in enumerate(header) if name not in COLUMNS]
    if unknown:
        listed = ", ".join(unknown)
        problems.append(ConfigProblem("header", f"unknown column(s) {listed}; known: {', '.join(COLUMNS)}", 1))
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        problems.append(ConfigProblem("header", f"column(s) given more than once: {', '.join(twice)}", 1))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        problems.append(ConfigProblem("header", f"required column(s) missing: {', '.join(missing)}", 1))
    if problems:
        raise ConfigError(source, problems)


def parse_csv_text(text: str, source: str = "<csv>") -> ParsedCsv:
    """Validate every row. File-level problems (header) raise ``ConfigError``; row problems are returned."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ConfigError(source, [ConfigProblem("header", "expected a header row, found an empty file", 1)]) from None
    except csv.Error as exc:
        raise ConfigError(source, [ConfigProblem("header", f"not valid CSV: {exc}", 1)]) from None
    _check_header(header, source)
    cameras: list[CameraConfig] = []
    problems: list[ConfigProblem] = []
    first_line_of: dict[str, int] = {}
    rows, line = 0, reader.line_num + 1
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as exc:
            problems.append(ConfigProblem(f"row {line}", f"not valid CSV: {exc}", line))
            break
        if fields is None:
            break
        start, line = line, reader.line_num + 1  # a quoted field may span lines: a row starts after the last
        if not any(f.strip() for f in fields):
            continue
        rows += 1
        if len(fields) != len(header):
            message = f"expected {len(header)} fields as in the header, found {len(fields)}"
            problems.append(ConfigProblem(f"row {start}", message, start))
            continue
        cells = {name: value.strip() for name, value in zip(header, fields, strict=True)}
        result = _validate_row(start, cells)
        if isinstance(result, list):
            problems.extend(result)
        elif result.id in first_line_of:
            message = f"column id: camera id {result.id!r} already used on line {first_line_of[result.id]}"
            problems.append(ConfigProblem(f"row {start}", message, start))
        else:
            first_line_of[result.id] = start
            cameras.append(result)
    return ParsedCsv(cameras, problems, rows)


def parse_csv(path: str | Path) -> ParsedCsv:
    path = Path(path)
    return parse_csv_text(_read_text(path), str(path))


def import_csv(repo: CameraRepository, path: str | Path, skip_invalid: bool = False) -> ImportResult:
    """Validate the whole file, then upsert its cameras in one transaction.

    Any bad row raises ``ConfigError`` listing every problem, and nothing is written; with ``skip_invalid``
    the valid rows are written and the result names the skipped rows and why."""
    parsed = parse_csv(path)
    if parsed.problems and not skip_invalid:
        raise ConfigError(str(path), parsed.problems)
    result = repo.upsert_many(parsed.cameras, Source.CSV)
    log.info(
        "imported %s: %d created, %d updated, %d unchanged, %d row(s) skipped",
        path, len(result.created), len(result.updated), len(result.unchanged), len(parsed.bad_lines),
    )  # fmt: skip
    return ImportResult(result.created, result.updated, result.unchanged, tuple(parsed.problems))
