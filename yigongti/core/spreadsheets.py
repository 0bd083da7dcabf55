"""Excel downloads (.xlsx) of any table a page shows — users live in Excel.

Cells keep their type where Excel can use it (numbers sum, dates sort); text never becomes a
formula (a leading ``= + - @`` is escaped: spreadsheet injection). Columns are sized to their
content.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as an Excel cell: numbers, dates and empties as they are, anything else as text
    that cannot start a formula."""
    if value is None or isinstance(value, bool | int | float | dt.date):
        return value
    if isinstance(value, Decimal):
        return float(value)
    shown = str(value)
    return "'" + shown if shown[:1] in FORMULA_STARTS else shown


def xlsx_response(sheets: Sequence[tuple[Any, Sequence[Sequence[Any]]]], name: str) -> HttpResponse:
    """A download of one workbook: ``sheets`` is (title, rows) per sheet, the first row the header."""
    from openpyxl import Workbook  # loaded on the first download only: the web process starts faster

    book = Workbook()
    for index, (title, rows) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = str(title)[:31]  # Excel's limit on a sheet name
        for row in rows:
            sheet.append([safe_cell(value) for value in row])
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 4, 10), 40)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response
