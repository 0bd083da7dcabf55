"""``ygt indicators [--org CODE] [--period P] [--indicator CODE] [--format table|json|csv]`` — stored values.

JSON is a list of ``{indicator, org, period, numerator, denominator, value}`` (``value`` null when
the denominator is 0); CSV has the same columns; the table adds the names and shows "—". Reads the
values the last ``ygt analytics refresh`` stored; computes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from yigongti.analytics.formatting import format_number
from yigongti.analytics.models import Indicator
from yigongti.analytics.periods import parse
from yigongti.analytics.selectors import cells, default_period, org_for
from yigongti.core.errors import NotFound
from yigongti.core.scope import SYSTEM

COLUMNS = ("indicator", "org", "period", "numerator", "denominator", "value")


def _count(number: float) -> str:
    """A numerator or denominator: whole numbers without decimals, others (money, scaled) with two."""
    return format_number(number, 0 if float(number).is_integer() else 2)


class Command(BaseCommand):
    help = "ygt indicators [--org CODE] [--period 2025|2025Q1|202503|202503R12] [--format table|json|csv]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", help="division code (county, township or village); default the county")
        parser.add_argument("--period", help="2025, 2025Q1, 202503 or 202503R12; default the latest year")
        parser.add_argument("--indicator", action="append", help="indicator code (repeatable)")
        parser.add_argument("--format", default="table", choices=["table", "json", "csv"])

    def handle(self, *args: Any, **options: Any) -> None:
        period = parse(options["period"]) if options["period"] else default_period("year")
        if options["org"]:
            try:
                org = org_for(user=SYSTEM, code=options["org"].strip()).code
            except NotFound as exc:
                raise CommandError(_("没有区划代码为“%(code)s”的单位。") % {"code": options["org"]}) from exc
        else:
            from yigongti.registry.models import Division

            county = Division.objects.filter(level="county").order_by("code").first()
            if county is None:
                raise CommandError(_("还没有区划数据。"))
            org = county.code
        if options["indicator"]:
            known = set(Indicator.objects.filter(code__in=options["indicator"]).values_list("code", flat=True))
            unknown = sorted(set(options["indicator"]) - known)
            if unknown:
                raise CommandError(_("没有代码为“%(code)s”的指标。") % {"code": ", ".join(unknown)})
        found = cells(user=SYSTEM, org=org, period=period.key, codes=options["indicator"])
        rows = [c.as_dict() for c in found]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
        elif options["format"] == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
            self.stdout.write(buffer.getvalue(), ending="")
        else:
            self.stdout.write(self._table(found, org, period.label()))

    def _table(self, found: list[Any], org: str, label: str) -> str:
        names = {i.code: i for i in Indicator.objects.all()}
        buffer = io.StringIO()
        console = Console(file=buffer, width=150, color_system=None, force_terminal=False)
        table = Table(title=f"{org} · {label}", box=None, show_edge=False, title_justify="left")
        for header in (_("指标"), _("代码"), _("分子"), _("分母"), _("指标值")):
            table.add_column(header)
        for cell in found:
            indicator = names[cell.indicator]
            table.add_row(indicator.name, cell.indicator, _count(cell.numerator),
                          "" if cell.denominator is None else _count(cell.denominator),
                          format_number(cell.value, indicator.decimals, indicator.unit))
        if not found:
            console.print(_("没有已计算的指标值：请先运行 ygt analytics refresh。"), markup=False)
        else:
            console.print(table)
        return buffer.getvalue()
