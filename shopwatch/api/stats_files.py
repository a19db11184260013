"""Spreadsheet files of the case-analysis tables (api/stats_tables.py): an XLSX workbook written with openpyxl,
one sheet per table; or a zip of one CSV per table, UTF-8 with a byte-order mark so that Excel opens Chinese
correctly. Blocking CPU work: call from a thread."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

from shopwatch.api.stats_tables import Table

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_TYPE = "application/zip"
_SHEET_NAME_MAX = 31  # Excel's limit


def xlsx(tables: Sequence[Table]) -> bytes:
    book = Workbook()
    if book.active is not None:
        book.remove(book.active)
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(table.name[:_SHEET_NAME_MAX])
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_zip(tables: Sequence[Table]) -> bytes:
    """One ``NN name.csv`` per table, in the order of the workbook's sheets."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, table in enumerate(tables, start=1):
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(table.headers)
            writer.writerows(["" if v is None else v for v in row] for row in table.rows)
            archive.writestr(f"{n:02d} {table.name}.csv", text.getvalue().encode("utf-8-sig"))
    return out.getvalue()
