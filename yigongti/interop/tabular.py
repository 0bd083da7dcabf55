"""Read a CSV or XLSX file into a header and rows of stripped strings.

- CSV: UTF-8 with or without BOM, else GB18030 (what Excel in China writes); comma, tab or
  semicolon separated (guessed from the header line).
- XLSX: the first sheet, read-only (openpyxl); dates become ISO strings, whole numbers lose ".0".

Columns are recognised by aliases, English and Chinese, ignoring case, spaces, ``_``/``-`` and a
trailing ``*`` or parenthesised unit (``床位（张）``). Row numbers count the header as row 1, so
the first data row is row 2, as Excel shows it. A file that cannot be read raises
:class:`FileUnreadable` naming the problem — never a stack trace.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError, RowError

CSV_EXTENSIONS = {".csv", ".txt"}
_NOT_XLSX = _("不是有效的 .xlsx 工作簿（文件已损坏或不是 Excel 2007+ 格式）")
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}


class FileUnreadable(DomainError):
    """The file is not a table we can read: wrong type, corrupt, empty, or its header is wrong."""

    code = "file_unreadable"
    status = 422
    message = _("无法读取文件“%(name)s”：%(reason)s")


@dataclass(frozen=True)
class Column:
    """A column an importer knows: its canonical ``name`` and the headers that mean it."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class Row:
    """One data row: its number as Excel shows it and its values by canonical column name."""

    number: int
    values: dict[str, str]

    def get(self, name: str) -> str:
        return self.values.get(name, "")


@dataclass
class Table:
    """A file read against a set of known columns."""

    name: str
    header: list[str]
    columns: dict[str, str]  # canonical name → the header as written in the file
    rows: list[Row]
    ignored: list[str] = field(default_factory=list)  # headers no known column claims
    problems: list[RowError] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.columns

    def label(self, name: str) -> str:
        """The column's header as the user wrote it (its canonical name if absent from the file)."""
        return self.columns.get(name, name)


def normalise_header(text: str) -> str:
    """Case/space-insensitive key of a header: NFKC, lower case, no spaces, ``_``, ``-`` or trailing ``*``."""
    value = unicodedata.normalize("NFKC", text or "").strip().lower()
    value = re.sub(r"[\s_\-]+", "", value)
    return value.rstrip("*")


def _without_unit(key: str) -> str:
    return re.sub(r"\([^()]*\)$", "", key)


def read_table(source: str | Path, columns: Sequence[Column], *, data: bytes | None = None) -> Table:
    """Read ``source`` (a path; or, with ``data``, just the file name of uploaded bytes).

    Raises :class:`FileUnreadable` for an unknown extension, a file that is not text or not a
    workbook, an empty file, a missing or duplicated header, or a missing required column.
    """
    path = Path(source)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in CSV_EXTENSIONS | XLSX_EXTENSIONS:
        raise FileUnreadable(name=name, reason=_("不支持的文件类型“%(ext)s”，请使用 .csv 或 .xlsx")
                             % {"ext": suffix or "?"})
    if data is None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise FileUnreadable(name=name, reason=_("文件不存在")) from None
        except OSError as error:
            raise FileUnreadable(name=name, reason=error.strerror or str(error)) from None
    if not data.strip():
        raise FileUnreadable(name=name, reason=_("文件为空"))
    raw = _csv_rows(name, data) if suffix in CSV_EXTENSIONS else _xlsx_rows(name, data)
    return _build(name, raw, columns)


# ---------------------------------------------------------------- CSV


def _decode(name: str, data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise FileUnreadable(name=name, reason=_("这是 Excel 工作簿而不是 CSV 文本，请使用 .xlsx 扩展名"))
    if b"\x00" in data:
        raise FileUnreadable(name=name, reason=_("不是 CSV 文本文件（含二进制内容）"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileUnreadable(name=name, reason=_("不是 UTF-8 或 GB18030 编码的文本")) from None


def _csv_rows(name: str, data: bytes) -> list[list[str]]:
    text = _decode(name, data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""),
                                                                     delimiter=delimiter)]
    except csv.Error as error:
        raise FileUnreadable(name=name, reason=_("CSV 格式有误：%(detail)s") % {"detail": error}) from None


# ---------------------------------------------------------------- XLSX


def cell_text(value: Any) -> str:
    """The text of a workbook cell: dates as ISO, whole numbers without ".0", booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(name: str, data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # openpyxl is heavy; only an .xlsx import needs it

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise FileUnreadable(name=name, reason=_NOT_XLSX)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, BadZipFile, InvalidFileException …)
        raise FileUnreadable(name=name, reason=_NOT_XLSX) from None
    try:
        if not workbook.worksheets:
            raise FileUnreadable(name=name, reason=_("工作簿没有工作表"))
        sheet = workbook.worksheets[0]
        return [[cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    except FileUnreadable:
        raise
    except Exception:  # a damaged sheet part surfaces only while iterating
        raise FileUnreadable(name=name, reason=_("工作表内容已损坏，无法读取")) from None
    finally:
        workbook.close()


# ---------------------------------------------------------------- header and rows


def _alias_index(columns: Iterable[Column]) -> dict[str, str]:
    index: dict[str, str] = {}
    for column in columns:
        for alias in (column.name, *column.aliases):
            index.setdefault(normalise_header(alias), column.name)
    return index


def _build(name: str, raw: list[list[str]], columns: Sequence[Column]) -> Table:
    if not raw or not any(raw[0]):
        reason = _("文件为空") if not any(any(row) for row in raw) else _("第 1 行应为表头，但它是空的")
        raise FileUnreadable(name=name, reason=reason)
    header = raw[0]
    index = _alias_index(columns)
    mapping: dict[str, str] = {}  # canonical → header text
    positions: dict[str, int] = {}
    seen: dict[str, str] = {}
    ignored: list[str] = []
    for position, text in enumerate(header):
        if not text:
            continue
        key = normalise_header(text)
        if key in seen:
            raise FileUnreadable(name=name, reason=_("表头“%(a)s”与“%(b)s”重复") % {"a": text, "b": seen[key]})
        seen[key] = text
        canonical = index.get(key) or index.get(_without_unit(key))
        if canonical is None:
            ignored.append(text)
            continue
        if canonical in mapping:
            raise FileUnreadable(name=name, reason=_("表头“%(a)s”与“%(b)s”是同一列") % {
                "a": text, "b": mapping[canonical]})
        mapping[canonical] = text
        positions[canonical] = position
    missing = [c.name for c in columns if c.required and c.name not in mapping]
    if missing:
        wanted = "；".join(f"{c.name}（{'/'.join(c.aliases[:2])}）" if c.aliases else c.name
                          for c in columns if c.name in missing)
        raise FileUnreadable(name=name, reason=_("缺少必需的列：%(columns)s") % {"columns": wanted})

    rows: list[Row] = []
    problems: list[RowError] = []
    width = len(header)
    for number, cells in enumerate(raw[1:], start=2):
        if not any(cells):
            continue
        if any(cells[width:]):
            problems.append(RowError(number, "", str(_("该行的列数多于表头（%(n)s 列）") % {"n": width})))
        rows.append(Row(number, {c: (cells[i] if i < len(cells) else "") for c, i in positions.items()}))
    return Table(name=name, header=header, columns=mapping, rows=rows, ignored=ignored, problems=problems)
