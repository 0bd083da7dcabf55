"""The series a user brings to ``ygt alerts --series FILE.csv``: one count per row, optionally with a
date column, read and checked before any method runs.

- One column: the counts, day after day (``t`` = 1, 2, …). Two columns: a date (``YYYY-MM-DD``) and
  the count, in any order of rows; ``t`` is then the date.
- A first row that is not data is a header; with a header the columns may come in any order, named
  ``date``/``日期`` and ``count``/``observed``/``cases``/``病例数``/``计数``.
- An empty count (in a one-column file, a blank line between counts), ``NA`` or ``-`` is a missing
  day (left out of baselines, not judged). With dates,
  a day with no row is missing too and is printed with an empty ``observed``. Two rows for one date,
  a negative or non-numeric count, or a bad date name their row and stop the run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from .errors import SeriesInvalid

MISSING = {"", "na", "nan", "null", "-", "—"}
DATE_NAMES = {"date", "day", "日期", "报告日期", "发病日期"}
COUNT_NAMES = {"count", "counts", "observed", "cases", "n", "value", "病例数", "计数", "数量", "发病数"}
MAX_ROWS = 200_000


@dataclass(frozen=True)
class Series:
    labels: list[str]  # "1", "2", … or the dates
    values: list[float | None]
    dated: bool


def _number(text: str) -> float | None:
    if text.strip().lower() in MISSING:
        return None
    try:
        value = float(text.strip().replace(",", ""))
    except ValueError:
        raise ValueError(text) from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(text)
    return value


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text.strip().replace("/", "-"))


def _is_data(cell: str) -> bool:
    try:
        _number(cell)
        return True
    except ValueError:
        pass
    try:
        _date(cell)
        return True
    except ValueError:
        return False


def read_series(path: str | Path) -> Series:
    """The series in ``path`` (CSV, UTF-8 with or without BOM), or :class:`SeriesInvalid` naming the row."""
    file = Path(path)
    if not file.is_file():
        raise SeriesInvalid(reason=_("找不到文件：%(file)s") % {"file": file})
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SeriesInvalid(reason=_("文件不是 UTF-8 编码的 CSV：%(file)s") % {"file": file}) from None
    every = list(enumerate(csv.reader(io.StringIO(text)), start=1))
    filled = [i for i, (_n, row) in enumerate(every) if any(cell.strip() for cell in row)]
    if not filled:
        raise SeriesInvalid(reason=_("文件中没有数据：%(file)s") % {"file": file})
    width = max(len(every[i][1]) for i in filled)
    # One column: a blank line between counts is an empty count (a missing day, as a spreadsheet
    # exports an empty cell); skipping it would move every later count one day earlier.
    rows = every[filled[0]: filled[-1] + 1] if width == 1 else [every[i] for i in filled]
    if len(rows) > MAX_ROWS:
        raise SeriesInvalid(reason=_("数据超过 %(max)s 行。") % {"max": MAX_ROWS})
    date_col: int | None = None
    count_col = 0
    first_number, first = rows[0]
    if not all(_is_data(cell) for cell in first if cell.strip()):
        names = [cell.strip().lower() for cell in first]
        dates = [i for i, name in enumerate(names) if name in DATE_NAMES]
        counts = [i for i, name in enumerate(names) if name in COUNT_NAMES]
        if width == 1:
            counts = [0]
        elif not counts:
            counts = [i for i in range(len(names)) if i not in dates][-1:]
        if len(counts) != 1 or len(dates) > 1:
            message = _("第 %(row)s 行（表头）：无法确定计数列，请命名为 count 或 病例数，日期列为 date。")
            raise SeriesInvalid(reason=message % {"row": first_number})
        count_col, date_col = counts[0], (dates[0] if dates else None)
        rows = rows[1:]
    elif width == 2:
        date_col, count_col = 0, 1
    elif width > 2:
        wide = next(number for number, row in rows if len(row) > 2)
        raise SeriesInvalid(reason=_("第 %(row)s 行：每行应为一个计数，或“日期,计数”两列（或带表头指明列名）。") % {
            "row": wide})
    parsed: list[tuple[int, dt.date | None, float | None]] = []
    for number, row in rows:
        cells = row + [""] * (width - len(row))
        try:
            value = _number(cells[count_col])
        except ValueError:
            raise SeriesInvalid(reason=_("第 %(row)s 行：计数“%(value)s”不是非负数。") % {
                "row": number, "value": cells[count_col]}) from None
        day = None
        if date_col is not None:
            try:
                day = _date(cells[date_col])
            except ValueError:
                raise SeriesInvalid(reason=_("第 %(row)s 行：日期“%(value)s”无效（应为 YYYY-MM-DD）。") % {
                    "row": number, "value": cells[date_col]}) from None
        parsed.append((number, day, value))
    if not parsed:
        raise SeriesInvalid(reason=_("文件中没有数据：%(file)s") % {"file": file})
    if date_col is None:
        return Series([str(i) for i in range(1, len(parsed) + 1)], [v for _n, _d, v in parsed], dated=False)
    by_day: dict[dt.date, float | None] = {}
    for number, day, value in parsed:
        assert day is not None
        if day in by_day:
            raise SeriesInvalid(reason=_("第 %(row)s 行：日期 %(day)s 重复。") % {"row": number, "day": day})
        by_day[day] = value
    start, end = min(by_day), max(by_day)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    if len(days) > MAX_ROWS:
        raise SeriesInvalid(reason=_("日期跨度超过 %(max)s 天。") % {"max": MAX_ROWS})
    return Series([d.isoformat() for d in days], [by_day.get(d) for d in days], dated=True)
