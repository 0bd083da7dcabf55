"""``ygt stock report [--org CODE] [--date D] [--days N] [--format table|json|csv]`` — the stock of every
institution (库存报告), as the system actor.

Per institution (all of the county, or ``--org`` — an institution code, or a division code — and the
institutions below it): the items on its tier's list, how many are out of stock (缺货) or below the
reorder level (低于补货线), the quantity and value expiring within ``--days`` (近效期, default 90) and
already expired (已过期), and the value on hand; then the ledger check (``services.ledger_check``).
Values are at the batches' price (零差率), exact to the fen (strings in JSON and CSV).

Exit codes: 0; 1 when the ledger does not balance (the report is printed all the same, followed by one
line on stderr); 2 on bad input (an unknown org, a bad date, negative days) — one line, never a trace.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from argparse import ArgumentParser
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from yigongti.core.clock import today
from yigongti.core.tree import subtree_q
from yigongti.medicines.selectors import stock
from yigongti.medicines.services import ledger_check
from yigongti.registry.models import Division, Institution

FORMATS = ("table", "json", "csv")
MAX_DAYS = 3650
CENT = Decimal("0.01")
COLUMNS = ("code", "name", "tier", "listed", "out", "low", "expiring_quantity", "expiring_value", "expired_quantity",
           "expired_value", "on_hand", "value")


class Command(BaseCommand):
    help = "ygt stock report [--org CODE] [--date D] [--days N] [--format table|json|csv] — stock per institution"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser("report", help=_("各机构库存：缺货、低于补货线、近效期、已过期，账务核对"))
        report.add_argument("--org", default="", help=_("机构代码或区划代码（默认：全县）"))
        report.add_argument("--date", default="", help=_("日期 YYYY-MM-DD（默认：今天）"))
        report.add_argument("--days", default="90", help=_("近效期天数（默认 90）"))
        report.add_argument("--format", choices=FORMATS, default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        day = _date(options.get("date") or "")
        days = _days(str(options.get("days") or "90"))
        institutions = _institutions(str(options.get("org") or ""))
        data = report_data(institutions, day, days)
        fmt = options.get("format") or "table"
        if fmt == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=1))
        elif fmt == "csv":
            self.stdout.write(csv_text(data), ending="")
        else:
            self.stdout.write(table_text(data), ending="")
        ledger = data["ledger"]
        if not ledger["ok"]:
            line = _("库存账不平：%(negative)s 处结存为负，%(amounts)s 条流水金额不符，"
                     "%(transfers)s 条调拨收发不符，%(stale)s 处结存或月消耗与流水合计不符") % {
                "negative": len(ledger["negative"]), "amounts": len(ledger["bad_amount"]),
                "transfers": len(ledger["unmatched_transfers"]),
                "stale": len(ledger["stale_balances"]) + len(ledger["stale_use"])}
            self.stderr.write(f"ygt stock: {line}")
            raise SystemExit(1)


def _date(text: str) -> dt.date:
    if not text.strip():
        return today()
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(_("日期无效（应为 YYYY-MM-DD）：%(value)s") % {"value": text}) from None


def _days(text: str) -> int:
    if not text.strip().isdigit() or int(text) > MAX_DAYS:
        raise CommandError(_("近效期天数应为 0 至 %(max)s 的整数：%(value)s") % {"max": MAX_DAYS, "value": text})
    return int(text)


def _institutions(code: str) -> QuerySet[Institution]:
    """Every institution, or the one of ``code`` (an institution or division code) and those below it."""
    institutions = Institution.objects.all()
    code = code.strip()
    if code:
        root = Institution.objects.filter(code=code).first() or Division.objects.filter(code=code).first()
        if root is None:
            raise CommandError(_("没有代码为“%(code)s”的机构或区划。") % {"code": code})
        institutions = institutions.filter(subtree_q(root.path, "path"))
    return institutions.order_by("path", "code")


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def institution_row(institution: Institution, day: dt.date, days: int) -> dict[str, Any]:
    """One institution's figures (stock as of ``day``: the sum of the movements up to it)."""
    horizon = day + dt.timedelta(days=days)
    row: dict[str, Any] = {"code": institution.code, "name": institution.name, "tier": institution.tier,
                           "listed": 0, "out": [], "low": [], "expiring_quantity": 0, "expiring_value": Decimal(0),
                           "expired_quantity": 0, "expired_value": Decimal(0), "on_hand": 0, "value": Decimal(0)}
    for line in stock(institution, day, expiring_days=days, until=day):
        row["listed"] += int(line.listed)
        if line.out:
            row["out"].append(line.medicine.code)
        elif line.low:
            row["low"].append(line.medicine.code)
        row["on_hand"] += line.on_hand
        row["value"] += line.value
        for batch, quantity in line.batches:
            if batch.expiry < day:
                row["expired_quantity"] += quantity
                row["expired_value"] += batch.unit_price * quantity
            elif batch.expiry <= horizon:
                row["expiring_quantity"] += quantity
                row["expiring_value"] += batch.unit_price * quantity
    for name in ("expiring_value", "expired_value", "value"):
        row[name] = _money(row[name])
    return row


def report_data(institutions: QuerySet[Institution], day: dt.date, days: int) -> dict[str, Any]:
    rows = [institution_row(i, day, days) for i in institutions]
    check = ledger_check()
    return {
        "date": day.isoformat(), "days": days, "institutions": rows,
        "ledger": {"ok": check.ok,
                   "negative": [{"institution": i, "batch": b, "quantity": q} for i, b, q in check.negative],
                   "bad_amount": check.bad_amount, "unmatched_transfers": check.unmatched_transfers,
                   "stale_balances": [{"institution": i, "batch": b, "kept": k, "sum": t}
                                      for i, b, k, t in check.stale_balances],
                   "stale_use": [{"institution": i, "medicine": m, "month": month.isoformat()}
                                 for i, m, month in check.stale_use]},
    }


def csv_text(data: dict[str, Any]) -> str:
    """One row per institution (``out``/``low`` counted; the item codes in ``out_items``/``low_items``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((*COLUMNS, "out_items", "low_items"))
    for row in data["institutions"]:
        writer.writerow([len(row[c]) if c in ("out", "low") else row[c] for c in COLUMNS]
                        + [" ".join(row["out"]), " ".join(row["low"])])
    return buffer.getvalue()


def table_text(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, color_system=None, force_terminal=False)
    console.print(_("药品库存报告 · %(date)s（近效期：%(days)s 天内）") % {"date": data["date"], "days": data["days"]},
                  markup=False, highlight=False)
    table = Table(box=None, show_edge=False, pad_edge=False)
    headers = (_("机构"), _("目录品种"), _("缺货"), _("低于补货线"), _("近效期数量"), _("近效期金额"), _("已过期数量"),
               _("已过期金额"), _("库存金额"))
    for header in headers:
        table.add_column(header, justify="left" if header == headers[0] else "right")
    for row in data["institutions"]:
        table.add_row(f"{row['name']} {row['code']}", str(row["listed"]), str(len(row["out"])), str(len(row["low"])),
                      str(row["expiring_quantity"]), row["expiring_value"], str(row["expired_quantity"]),
                      row["expired_value"], row["value"])
    if not data["institutions"]:
        table.add_row(_("（无机构）"), *[""] * (len(headers) - 1))
    console.print(table)
    ledger = data["ledger"]
    console.print(_("账务核对：%(result)s（结存为负 %(negative)s，金额不符 %(amounts)s，"
                    "调拨收发不符 %(transfers)s，结存或月消耗与流水不符 %(stale)s）") % {
        "result": _("平衡") if ledger["ok"] else _("不平"), "negative": len(ledger["negative"]),
        "amounts": len(ledger["bad_amount"]), "transfers": len(ledger["unmatched_transfers"]),
        "stale": len(ledger["stale_balances"]) + len(ledger["stale_use"])},
        markup=False, highlight=False)
    return buffer.getvalue()
