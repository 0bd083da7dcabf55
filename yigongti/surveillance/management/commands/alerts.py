"""``ygt alerts`` — the early warning.

- ``ygt alerts [--date D] [--until D] [--format table|json|csv]``: run the daily early warning for
  every township × disease (for ``D``, today by default, or each day ``D`` … ``--until``), write the
  signals to the county CDC's queue and print the new ones. Re-running a day writes nothing new.
- ``ygt alerts --series FILE.csv --method c1|c2|c3|percentile|cusum [--alpha A] [--percentile P]
  [--min-sigma S] [--baseline N] [--format csv|json|table]``: no database; run one method on any
  series (:mod:`yigongti.surveillance.series`) and print per row ``t,observed,expected,upperbound,
  alarm`` (empty where the method could not judge the row; for ``percentile`` ``observed`` is the
  7-day sum ending on the row).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from yigongti.core.clock import today
from yigongti.surveillance import methods
from yigongti.surveillance.errors import SeriesTooShort
from yigongti.surveillance.series import read_series

SERIES_COLUMNS = ("t", "observed", "expected", "upperbound", "alarm")
SIGNAL_COLUMNS = ("date", "township", "township_name", "disease", "disease_name", "method", "observed", "expected",
                  "threshold")


def _date(text: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("%(flag)s 应为日期 YYYY-MM-DD，收到“%(value)s”。") % {
            "flag": flag, "value": text}) from None


def _num(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".") if not float(value).is_integer() else str(int(value))


class Command(BaseCommand):
    help = "ygt alerts [--date D] | --series FILE.csv --method c1|c2|c3|percentile|cusum [--alpha A]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--date", help="the day to evaluate (default today)")
        parser.add_argument("--until", help="evaluate every day from --date to this day")
        parser.add_argument("--series", help="a CSV of counts (one per row, optionally date,count)")
        parser.add_argument("--method", choices=methods.METHODS, help="with --series: the method")
        parser.add_argument("--alpha", type=float, help="EARS: the threshold is the normal quantile 1-alpha "
                                                        "(default 0.001 for C1/C2, 0.025 for C3)")
        parser.add_argument("--percentile", type=float, default=50, help="moving percentile: P (default 50)")
        parser.add_argument("--min-cases", type=float, default=1, help="moving percentile: least 7-day count to alarm")
        parser.add_argument("--min-sigma", type=float, default=0.0, help="EARS/CUSUM: floor on the baseline's sd")
        parser.add_argument("--baseline", type=int, default=7, help="EARS/CUSUM: days of baseline (default 7)")
        parser.add_argument("--k", type=float, default=0.5, help="CUSUM reference value (default 0.5)")
        parser.add_argument("--h", type=float, default=4.0, help="CUSUM decision interval (default 4)")
        parser.add_argument("--format", choices=["csv", "json", "table"], help="default csv with --series, else table")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["series"]:
            self._series(options)
            return
        if options["method"]:
            raise CommandError(_("--method 只用于 --series（县内每日预警按病种目录中的方法运行）。"))
        self._run(options)

    # ------------------------------------------------------------ any series

    def _series(self, options: dict[str, Any]) -> None:
        method = options["method"]
        if not method:
            raise CommandError(_("请用 --method 指定方法：%(methods)s") % {"methods": "、".join(methods.METHODS)})
        alpha = options["alpha"]
        if alpha is not None and not 0 < alpha < 1:
            raise CommandError(_("--alpha 应在 0 与 1 之间，收到 %(value)s。") % {"value": alpha})
        if options["min_sigma"] < 0:
            raise CommandError(_("--min-sigma 不能为负数。"))
        if options["baseline"] < methods.MIN_BASELINE_VALUES:
            raise CommandError(_("--baseline 至少为 %(n)s。") % {"n": methods.MIN_BASELINE_VALUES})
        if not 0 <= options["percentile"] <= 100:
            raise CommandError(_("--percentile 应在 0 与 100 之间。"))
        series = read_series(options["series"])
        try:
            result = methods.evaluate(series.values, method, alpha=alpha, baseline=options["baseline"],
                                      min_sigma=options["min_sigma"], percentile=options["percentile"],
                                      min_cases=options["min_cases"], k=options["k"], h=options["h"])
        except methods.SeriesTooShort as exc:
            raise SeriesTooShort(method=method, needs=exc.needs + 1, length=exc.length) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        rows = []
        for index, label in enumerate(series.labels):
            ready = bool(result.ready[index])
            rows.append({
                "t": label,
                "observed": None if math.isnan(result.observed[index]) else float(result.observed[index]),
                "expected": float(result.expected[index]) if ready else None,
                # C3 has no bound when the two days before alone alarm (empty, the row still alarms).
                "upperbound": float(result.upperbound[index])
                if ready and not math.isnan(result.upperbound[index]) else None,
                "alarm": bool(result.alarm[index]) if ready else None,
            })
        self._print(rows, options["format"] or "csv", SERIES_COLUMNS)
        if not result.ready.any():
            self.stderr.write(_("序列太短，无法建立基线：%(method)s 在任何一行都无法判断。") % {"method": method})

    # ------------------------------------------------------------ the county's daily run

    def _run(self, options: dict[str, Any]) -> None:
        from yigongti.surveillance.alerts import alerts_run

        day = _date(options["date"], "--date") if options["date"] else today()
        until = _date(options["until"], "--until") if options["until"] else None
        if day > today() or (until is not None and until > today()):
            raise CommandError(_("不能对将来的日期运行预警。"))
        if until is not None and (until - day).days > 3660:
            raise CommandError(_("--until 与 --date 相隔不能超过 10 年。"))
        summary = alerts_run(day=day, until=until)
        rows = [{"date": s.date.isoformat(), "township": s.township.code, "township_name": s.township.name,
                 "disease": s.disease.code, "disease_name": s.disease.name, "method": s.method,
                 "observed": s.observed, "expected": s.expected, "threshold": s.threshold} for s in summary.created]
        self._print(rows, options["format"] or "table", SIGNAL_COLUMNS)
        span = day.isoformat() if until is None else f"{summary.start}…{summary.end}"
        self.stderr.write(_("%(span)s：%(townships)s 个乡镇 × %(diseases)s 个病种，评估 %(series)s 个序列，新预警信号 "
                            "%(new)s 个（已有 %(old)s 个），用时 %(seconds).1f 秒。") % {
            "span": span, "townships": summary.townships, "diseases": summary.diseases, "series": summary.series,
            "new": len(summary.created), "old": summary.already, "seconds": summary.seconds})
        for method, count in sorted(summary.too_short.items()):
            self.stderr.write(_("%(method)s：%(count)s 个序列历史数据不足，无法建立基线，未作判断。") % {
                "method": method, "count": count})

    # ------------------------------------------------------------ output

    def _print(self, rows: list[dict[str, Any]], fmt: str, columns: tuple[str, ...]) -> None:
        if fmt == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        if fmt == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([self._cell(row[c]) for c in columns])
            return
        table = Table(*columns)
        for row in rows:
            table.add_row(*[self._cell(row[c]) for c in columns])
        buffer = io.StringIO()
        Console(file=buffer, width=160, color_system=None, force_terminal=False).print(table)
        self.stdout.write(buffer.getvalue(), ending="")

    @staticmethod
    def _cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return _num(value)
        return str(value)
