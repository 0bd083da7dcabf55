"""``ygt worklist`` — the worklist of a village, township or county (工作清单), for printing or a spreadsheet.

    ygt worklist --org 522399101201 [--date 2026-06-15] [--programme hypertension]
                 [--format table|json|csv|xlsx] [-o FILE]

Sections: due this week, overdue, not seen this year — each sorted by urgency (referred first,
then the longest overdue, then the earliest due). Acts for the whole county (the command line has
full scope); the read is audited with no user, channel ``cli``. ``xlsx`` writes to ``-o FILE`` (or
to a binary stdout).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from openpyxl import Workbook
from rich.console import Console
from rich.table import Table

from yigongti.core.clock import today
from yigongti.core.scope import SYSTEM
from yigongti.programmes.selectors import Worklist, WorklistRow, worklist_for_org

FORMATS = ("table", "json", "csv", "xlsx")
COLUMNS = ("section", "record_no", "name", "sex", "birth_date", "village_code", "village_name", "programme_code",
           "programme_name", "item", "due", "window_start", "window_end", "days_overdue", "refer", "classification",
           "last_visit_on")
TABLE_WIDTH = 160


def sections() -> tuple[tuple[str, str], ...]:
    return (("due", _("本周应服务")), ("overdue", _("逾期未服务")), ("unseen", _("本年度未服务")))


def _cell(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return ""
    return value


def rows_of(worklist: Worklist) -> list[dict[str, Any]]:
    out = []
    for key, _label in sections():
        row: WorklistRow
        for row in getattr(worklist, key):
            out.append({"section": key, **{c: _cell(getattr(row, c)) for c in COLUMNS[1:]}})
    return out


def render_table(worklist: Worklist) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=TABLE_WIDTH, color_system=None, force_terminal=False)
    console.print(_("%(org)s 工作清单：%(on)s 至 %(end)s") % {
        "org": worklist.org.name, "on": worklist.on.isoformat(), "end": worklist.week_end.isoformat()},
        markup=False, highlight=False)
    for key, label in sections():
        rows: list[WorklistRow] = getattr(worklist, key)
        total = worklist.counts()[key]
        shown = f"{len(rows)}/{total}" if total > len(rows) else str(total)
        table = Table(title=f"{label}（{shown}）", show_edge=False, box=None, pad_edge=False, title_justify="left")
        for header in (_("档案编号"), _("姓名"), _("村"), _("项目"), _("服务项"), _("应服务日期"), _("窗口结束"),
                       _("逾期天数"), _("转诊"), _("最近服务")):
            table.add_column(header)
        for r in rows:
            table.add_row(r.record_no, r.name, r.village_name, r.programme_name, r.item, _cell(r.due),
                          _cell(r.window_end), str(r.days_overdue) if r.days_overdue else "",
                          _("是") if r.refer else "", _cell(r.last_visit_on))
        console.print(table)
    return buffer.getvalue()


def render_csv(worklist: Worklist) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows_of(worklist))
    return buffer.getvalue()


def render_json(worklist: Worklist) -> str:
    body = {"org": worklist.org.code, "org_name": worklist.org.name, "date": worklist.on.isoformat(),
            "week_end": worklist.week_end.isoformat(), "programme": worklist.programme, "counts": worklist.counts(),
            "truncated": worklist.truncated,
            **{key: [{c: _cell(getattr(r, c)) for c in COLUMNS[1:]} for r in getattr(worklist, key)]
               for key, _label in sections()}}
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


def render_xlsx(worklist: Worklist) -> bytes:
    book = Workbook()
    first = True
    for key, label in sections():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = str(label)
        sheet.append(list(COLUMNS[1:]))
        for r in getattr(worklist, key):
            sheet.append([_cell(getattr(r, c)) for c in COLUMNS[1:]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("日期无效（应为 YYYY-MM-DD）：%(value)s") % {"value": text}) from None


class Command(BaseCommand):
    help = "工作清单：ygt worklist --org CODE [--date D] [--programme P] [--format table|json|csv|xlsx] [-o FILE]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", required=True, help=_("村、乡镇或县的区划代码"))
        parser.add_argument("--date", help=_("清单日期 YYYY-MM-DD（默认今天）"))
        parser.add_argument("--programme", help=_("只列一个项目，如 hypertension"))
        parser.add_argument("--format", choices=FORMATS, default="table", help=_("输出格式"))
        parser.add_argument("-o", "--output", help=_("写入文件而不是标准输出"))
        parser.add_argument("--limit", type=int, default=None,
                            help=_("每部分最多列出的行数（最紧急的在前；默认全部）"))

    def handle(self, *args: Any, **options: Any) -> None:
        on = _date(options["date"]) if options.get("date") else today()
        worklist = worklist_for_org(user=SYSTEM, org_code=options["org"], on=on, programme=options.get("programme"),
                                    limit=options.get("limit"))
        fmt, output = options["format"], options.get("output")
        if fmt == "xlsx":
            data = render_xlsx(worklist)
            if output:
                Path(output).write_bytes(data)
                return
            binary = getattr(getattr(self.stdout, "_out", None), "buffer", None)
            if binary is None:
                raise CommandError(_("xlsx 格式请用 -o 指定输出文件"))
            binary.write(data)
            binary.flush()
            return
        text = {"table": render_table, "json": render_json, "csv": render_csv}[fmt](worklist)
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
