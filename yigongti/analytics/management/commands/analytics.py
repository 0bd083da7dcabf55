"""``ygt analytics refresh [--full] [--engine duckdb|spark]`` — bring the indicator values up to date.

Exports the months whose source rows changed since the last run (all months with ``--full``) to
Parquet, computes the indicators for the periods those months touch, and stores the values in one
transaction (see :mod:`yigongti.analytics.refresh`). Prints what it rewrote and how long it took.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yigongti.analytics.refresh import refresh


class Command(BaseCommand):
    help = "ygt analytics refresh [--full] [--engine duckdb|spark]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["refresh"])
        parser.add_argument("--full", action="store_true", help="rebuild every partition and period")
        parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["quiet"]

        def say(message: str) -> None:
            if not quiet:
                self.stderr.write(message)

        report = refresh(full=options["full"], engine=options["engine"], progress=say)
        months = sum(len(m) for m in report.months.values())
        self.stdout.write(_("指标刷新完成（%(engine)s%(full)s）：重写 %(months)d 个分区，计算 %(periods)d 个周期，"
                            "写入 %(values)d 个指标值，用时 %(seconds).1f 秒。") % {
            "engine": report.engine, "full": _("，全量") if report.full else "", "months": months,
            "periods": report.periods, "values": report.values, "seconds": report.seconds})
        for code, reason in sorted(report.skipped.items()):
            self.stderr.write(_("跳过 %(code)s：%(reason)s") % {"code": code, "reason": reason})
        if report.indicators == 0 and not report.skipped:
            raise CommandError(_("没有指标定义，请先运行 ygt rules load。"))
