"""``ygt registry check [--format table|json|csv] [--date D] [--org CODE]`` — 三建成 / 三合格 / 三达标.

Prints every division and institution that falls short of a standard and why, grouped by
category, then a count line. Findings are not an error: the exit code is 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from argparse import ArgumentParser
from dataclasses import asdict, fields
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from yigongti.registry.selectors import division_for_org
from yigongti.registry.standards import Finding, standards_check

FORMATS = ("table", "json", "csv")


class Command(BaseCommand):
    help = "Registry: ygt registry check [--format table|json|csv] [--date YYYY-MM-DD] [--org CODE]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", metavar="check")
        check = sub.add_parser("check", help="三建成 / 三合格 / 三达标: every shortfall and why")
        check.add_argument("--format", choices=FORMATS, default="table")
        check.add_argument("--date", help="check on this date (default: today)")
        check.add_argument("--org", help="only under this division (or institution) code")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") != "check":
            raise CommandError(_("用法：ygt registry check [--format table|json|csv] [--date 日期] [--org 代码]"))
        on = None
        if options.get("date"):
            try:
                on = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(_("日期无效（应为 YYYY-MM-DD）：%(value)s") % {"value": options["date"]}) from exc
        root = division_for_org(code=options["org"]) if options.get("org") else None
        findings = standards_check(root=root, on=on)
        fmt = options["format"]
        if fmt == "json":
            self.stdout.write(json.dumps([asdict(f) for f in findings], ensure_ascii=False, indent=2))
        elif fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow([f.name for f in fields(Finding)])
            writer.writerows([list(asdict(f).values()) for f in findings])
            self.stdout.write(buffer.getvalue(), ending="")
        else:
            self._table(findings)
        count = _("共 %(n)s 项不达标") % {"n": len(findings)} if findings else _("未发现不达标项")
        # json/csv stay machine-readable on stdout; the count line goes to stderr there.
        (self.stdout if fmt == "table" else self.stderr).write(count)

    def _table(self, findings: list[Finding]) -> None:
        buffer = io.StringIO()
        tty = self.stdout.isatty()
        console = Console(file=buffer, force_terminal=tty, width=shutil.get_terminal_size().columns if tty else 160)
        groups: dict[str, list[Finding]] = {}
        for finding in findings:
            groups.setdefault(finding.category_label, []).append(finding)
        for label, group in groups.items():
            table = Table(title=f"{label}（{len(group)}）", title_justify="left", show_lines=False)
            # CJK text has no spaces to wrap at: fold long cells rather than cut them short.
            table.add_column(_("规则"), no_wrap=True)
            table.add_column(_("标准"), overflow="fold", ratio=2)
            table.add_column(_("区划"), overflow="fold", ratio=1)
            table.add_column(_("机构"), overflow="fold", ratio=2)
            table.add_column(_("原因"), overflow="fold", ratio=3)
            for f in group:
                table.add_row(f.rule, f.title, f"{f.division_name} {f.division_code}",
                              f"{f.institution_name} {f.institution_code}" if f.institution_code else "—", f.reason)
            console.print(table)
        self.stdout.write(buffer.getvalue(), ending="")
