"""``ygt import KIND FILE [--dry-run] [--format table|json]`` — thin over :mod:`yigongti.interop.importers`.

All-or-nothing: a file with any bad row writes nothing, and the CLI prints every row error
(:class:`~yigongti.core.errors.ImportRejected` propagates to :mod:`yigongti.cli`, exit 2).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from yigongti.interop.importers import IMPORTERS, ImportResult, importer_for
from yigongti.interop.tabular import FileUnreadable

PROGRESS_FROM_ROWS = 2000  # smaller files finish before a bar would be worth drawing


class _ProgressBar:
    """A Rich progress bar on stderr, started on the first report of a long enough run."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.progress: Progress | None = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if total <= PROGRESS_FROM_ROWS:
            return
        if self.progress is None:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=total)
        self.progress.update(self.task, completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


class Command(BaseCommand):
    help = ("导入 CSV 或 XLSX 文件：divisions（行政区划）、institutions（机构）、staff（人员）；"
            "全部成功或全部不写入。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help=_("导入类型：%(kinds)s") % {"kinds": " | ".join(IMPORTERS)})
        parser.add_argument("file", help=_(".csv（UTF-8 或 GB18030）或 .xlsx（第一个工作表）"))
        parser.add_argument("--dry-run", action="store_true", help=_("只检查并统计，不写入"))
        parser.add_argument("--format", choices=["table", "json"], default="table", help=_("输出格式"))

    def handle(self, *args: Any, **options: Any) -> None:
        importer = importer_for(options["kind"])
        path = Path(options["file"])
        if not path.is_file():
            raise FileUnreadable(name=str(path), reason=_("文件不存在"))
        bar = _ProgressBar(_("导入 %(kind)s") % {"kind": importer.kind})
        try:
            result = importer.run(path, dry_run=options["dry_run"], progress=bar)
        finally:
            bar.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(render_summary(result), ending="")


def render_summary(result: ImportResult) -> str:
    """The summary as text: one line about the file, then created / updated / unchanged per model."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, force_terminal=False)
    head = _("导入 %(kind)s：%(file)s，%(rows)s 行") % {"kind": result.kind, "file": result.file, "rows": result.rows}
    console.print(head, markup=False, highlight=False)
    table = Table(show_edge=False, box=None, pad_edge=False)
    table.add_column(_("对象"))
    for label in (_("新增"), _("修改"), _("未变")):
        table.add_column(label, justify="right")
    for key, counts in result.counts.items():
        table.add_row(result.labels.get(key, key), *(str(counts[o]) for o in ("created", "updated", "unchanged")))
    console.print(table)
    if result.ignored_columns:
        console.print(_("已忽略的列：%(columns)s") % {"columns": "、".join(result.ignored_columns)},
                      markup=False, highlight=False)
    if result.dry_run:
        console.print(_("试运行，未写入"), markup=False, highlight=False)
    return buffer.getvalue()
