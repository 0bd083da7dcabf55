"""``ygt insurance adjudicate CASE.json [--policy FILE]`` — a settlement with its explanation, no database;
``ygt insurance report --year Y [--format table|json|csv]`` — the year's fund report.

**adjudicate** reads one case (a JSON object: ``date``, ``kind``, ``level``, ``in_county``, ``costs`` by
category, optional ``county``, ``outside_catalogue``, ``covered``/``reason``, ``aid_category``, ``ytd``;
``-`` reads standard input), picks the shipped policy in force for its date and county (read from
``yigongti/insurance/fixtures/policy-*.yaml``) or the one of ``--policy FILE``, and prints the
settlement as JSON. Bad input is one line on stderr and exit 2. It never opens the database, so it
works before ``ygt migrate``.

**report** (as the system actor, the whole county): income (contributions, exemptions, subsidy,
人均筹资), payouts by layer, by kind, by institution and by month, 医保县域内支出占比 and 实际报销比,
参合率 per township and in total, and the ledger check. Amounts are exact to the fen (strings in
JSON and CSV). When the ledger does not balance the report is printed all the same, followed by
one line on stderr, and the exit code is 1.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from argparse import ArgumentParser
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yigongti.insurance.adjudication import adjudicate, case_from_mapping
from yigongti.insurance.money import fmt, plain
from yigongti.insurance.policy import policy_for, policy_from_file, shipped_policies

FORMATS = ("table", "json", "csv")
YEARS = (2000, 2100)
LAYERS = ("total", "basic", "catastrophic", "aid", "fund", "patient")
CSV_COLUMNS = ("section", "key", "name", "measure", "value")


class Command(BaseCommand):
    help = ("ygt insurance adjudicate CASE.json [--policy FILE] — a settlement with its explanation (JSON); "
            "ygt insurance report --year Y [--format table|json|csv] — the year's fund report")
    requires_system_checks: list[str] = []  # adjudicate is a pure computation: no checks, no database

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        adjudicate_ = sub.add_parser("adjudicate", help=_("按医保政策计算一次就诊的结算（JSON），无需数据库"))
        adjudicate_.add_argument("case", metavar="CASE.json", help=_("病例 JSON 文件（- 表示标准输入）"))
        adjudicate_.add_argument("--policy", metavar="FILE",
                                 help=_("医保政策 YAML 文件（默认：按日期和地区选用内置政策）"))
        report = sub.add_parser("report", help=_("年度基金报告：筹资、各层支付、县域内支出占比、参合率、账务核对"))
        report.add_argument("--year", type=int, required=True, help=_("年度，如 2026"))
        report.add_argument("--format", choices=FORMATS, default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") == "report":
            self._report(options["year"], options.get("format") or "table")
            return
        case = case_from_mapping(_read_json(options["case"]))
        if options.get("policy"):
            policies = [policy_from_file(options["policy"])]
        else:
            policies = shipped_policies()
        policy = policy_for(policies, county=case.county, on=case.date)
        settlement = adjudicate(case, policy)
        self.stdout.write(json.dumps(settlement.as_dict(), ensure_ascii=False, indent=1))

    # ------------------------------------------------------------ report

    def _report(self, year: int, fmt_: str) -> None:
        if not YEARS[0] <= year <= YEARS[1]:
            raise CommandError(_("年度应在 %(low)s 至 %(high)s 之间，收到 %(year)s") % {
                "low": YEARS[0], "high": YEARS[1], "year": year})
        data = report_data(year)
        if fmt_ == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=1))
        elif fmt_ == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            writer.writerows(csv_rows(data))
            self.stdout.write(buffer.getvalue(), ending="")
        else:
            self.stdout.write(table_text(data), ending="")
        ledger = data["ledger"]
        if not ledger["ok"]:
            line = _("账务不平：账户合计 %(total)s 元，%(postings)s 个凭证不平，%(people)s 项年度累计与结算不符") % {
                "total": ledger["total"], "postings": len(ledger["unbalanced"]),
                "people": len(ledger["accumulator_mismatches"])}
            self.stderr.write(f"ygt insurance: {line}")
            raise SystemExit(1)


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _layers(row: dict[str, Any]) -> dict[str, str]:
    return {name: plain(row[name]) for name in LAYERS}


def report_data(year: int) -> dict[str, Any]:
    """The report of ``year`` as JSON-ready data (amounts as strings, ratios as numbers or null)."""
    # Imported here: ``adjudicate`` must work without a database (and without loading these).
    from yigongti.core.scope import SYSTEM
    from yigongti.insurance.selectors import coverage_rates, fund_report
    from yigongti.insurance.services import ledger_check

    fund = fund_report(SYSTEM, year)
    rows, total = coverage_rates(SYSTEM, year)
    check = ledger_check()
    outside = _("县外医疗机构")
    return {
        "year": year,
        "income": {
            "households": fund.households, "enrolled": fund.enrolled, "contributions": plain(fund.contributions),
            "exempted": plain(fund.exempted), "subsidy": plain(fund.subsidy), "total": plain(fund.income),
            "per_capita": None if fund.per_capita is None else plain(fund.per_capita),
        },
        "payouts": {
            "settlements": fund.settlements, "total": plain(fund.total), "basic": plain(fund.basic),
            "catastrophic": plain(fund.catastrophic), "aid": plain(fund.aid), "fund": plain(fund.fund),
            "patient": plain(fund.patient), "in_county_fund": plain(fund.in_county_fund),
            "in_county_share": _ratio(fund.in_county_share), "reimbursement_ratio": _ratio(fund.reimbursement_ratio),
        },
        "by_kind": [{"kind": row["encounter_kind"], "settlements": row["n"], **_layers(row)} for row in fund.by_kind],
        "by_institution": [
            {"code": row["institution__code"] or "", "name": row["institution__name"] or outside,
             "in_county": row["in_county"], "settlements": row["n"], **_layers(row)}
            for row in fund.by_institution],
        "by_month": [{"month": f"{year}-{row['month']:02d}", "settlements": row["n"], **_layers(row)}
                     for row in fund.by_month],
        "coverage": {
            "townships": [{"code": row.code, "name": row.name, "eligible": row.eligible, "enrolled": row.enrolled,
                           "exempted": row.exempted, "rate": _ratio(row.rate)} for row in rows],
            "total": {"eligible": total.eligible, "enrolled": total.enrolled, "exempted": total.exempted,
                      "rate": _ratio(total.rate)},
        },
        "ledger": {
            "ok": check.ok, "balances": {account: plain(amount) for account, amount in check.balances.items()},
            "total": plain(check.total),
            "unbalanced": [{"posting": posting, "amount": plain(amount)} for posting, amount in check.unbalanced],
            "accumulator_mismatches": [{"resident": resident, "year": year_, "layer": layer}
                                       for resident, year_, layer in check.accumulator_mismatches],
        },
    }


def csv_rows(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every figure of the report as one row: section, key, name, measure, value (long format)."""
    out: list[tuple[Any, ...]] = [("summary", "", "", "year", data["year"])]
    for section in ("income", "payouts"):
        out += [(section, "", "", measure, _cell(value)) for measure, value in data[section].items()]
    for section, key in (("by_kind", "kind"), ("by_institution", "code"), ("by_month", "month")):
        for row in data[section]:
            out += [(section, row[key], row.get("name", ""), measure, _cell(value))
                    for measure, value in row.items() if measure not in (key, "name")]
    for row in data["coverage"]["townships"]:
        out += [("coverage", row["code"], row["name"], measure, _cell(row[measure]))
                for measure in ("eligible", "enrolled", "exempted", "rate")]
    out += [("coverage", "total", "", measure, _cell(value)) for measure, value in data["coverage"]["total"].items()]
    ledger = data["ledger"]
    out += [("ledger", account, "", "balance", amount) for account, amount in ledger["balances"].items()]
    out += [("ledger", "total", "", "balance", ledger["total"]), ("ledger", "", "", "ok", _cell(ledger["ok"]))]
    out += [("ledger", row["posting"], "", "unbalanced", row["amount"]) for row in ledger["unbalanced"]]
    out += [("ledger", f"{row['resident']}/{row['year']}", "", "accumulator_mismatch", row["layer"])
            for row in ledger["accumulator_mismatches"]]
    return out


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _money(text: str | None) -> str:
    return "—" if text is None else fmt(Decimal(text))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def table_text(data: dict[str, Any]) -> str:
    """The report as text tables (rich, no colour)."""
    from rich.console import Console
    from rich.table import Table

    from yigongti.insurance.models import Account

    buffer = io.StringIO()
    console = Console(file=buffer, width=150, color_system=None, force_terminal=False)

    def pairs(title: str, rows: list[tuple[str, str]]) -> None:
        console.print(title, markup=False)  # above the table: a narrow table would fold a long title
        table = Table(show_header=False, box=None)
        table.add_column(justify="left")
        table.add_column(justify="right")
        for label, value in rows:
            table.add_row(label, value)
        console.print(table)

    def layered(title: str, first: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
        table = Table(title=title, title_justify="left")
        for header in (first, _("结算人次"), _("医疗总费用"), _("统筹基金"), _("大病保险"), _("医疗救助"),
                       _("基金合计"), _("个人负担")):
            table.add_column(header, justify="left" if header == first else "right")
        for label, row in rows:
            table.add_row(label, str(row["settlements"]), *(_money(row[name]) for name in LAYERS))
        if not rows:
            table.add_row(_("（无结算）"), *[""] * 7)
        console.print(table)

    year, income, payouts = data["year"], data["income"], data["payouts"]
    console.print(_("城乡居民医保基金报告 · %(year)s 年度") % {"year": year}, markup=False)
    pairs(_("筹资"), [
        (_("参保户数"), str(income["households"])), (_("参保人数"), str(income["enrolled"])),
        (_("个人缴费"), _money(income["contributions"])), (_("资助参保（医疗救助代缴）"), _money(income["exempted"])),
        (_("财政补助"), _money(income["subsidy"])), (_("筹资合计"), _money(income["total"])),
        (_("人均筹资"), _money(income["per_capita"]))])
    pairs(_("支出"), [
        (_("结算人次"), str(payouts["settlements"])), (_("医疗总费用"), _money(payouts["total"])),
        (_("统筹基金"), _money(payouts["basic"])), (_("大病保险"), _money(payouts["catastrophic"])),
        (_("医疗救助"), _money(payouts["aid"])), (_("基金支付合计"), _money(payouts["fund"])),
        (_("个人负担"), _money(payouts["patient"])), (_("实际报销比"), _percent(payouts["reimbursement_ratio"])),
        (_("县域内基金支出"), _money(payouts["in_county_fund"])),
        (_("医保县域内支出占比"), _percent(payouts["in_county_share"]))])
    kinds = {"inpatient": _("住院"), "outpatient": _("门诊")}
    layered(_("按就诊类型"), _("类型"), [(kinds.get(row["kind"], row["kind"]), row) for row in data["by_kind"]])
    layered(_("按医疗机构"), _("机构"), [
        (f"{row['name']} {row['code']}".strip() + ("" if row["in_county"] else _("（县外）")), row)
        for row in data["by_institution"]])
    layered(_("按月份（出院/就诊日期）"), _("月份"), [(row["month"], row) for row in data["by_month"]])
    coverage = Table(title=_("参合率"), title_justify="left")
    for header in (_("乡镇"), _("应参保人数"), _("参保人数"), _("其中资助参保"), _("参合率")):
        coverage.add_column(header, justify="left" if header == _("乡镇") else "right")
    for row in data["coverage"]["townships"]:
        coverage.add_row(f"{row['name']} {row['code']}", str(row["eligible"]), str(row["enrolled"]),
                         str(row["exempted"]), _percent(row["rate"]))
    total = data["coverage"]["total"]
    coverage.add_row(_("合计"), str(total["eligible"]), str(total["enrolled"]), str(total["exempted"]),
                     _percent(total["rate"]))
    console.print(coverage)
    ledger = data["ledger"]
    accounts = {str(account): str(account.label) for account in Account}
    pairs(_("账务核对（所有年度：各账户合计应为零）"), [
        *((accounts.get(account, account), _money(amount)) for account, amount in ledger["balances"].items()),
        (_("合计"), _money(ledger["total"])),
        (_("不平的凭证"), str(len(ledger["unbalanced"]))),
        (_("与结算不符的年度累计"), str(len(ledger["accumulator_mismatches"]))),
        (_("结论"), _("平衡") if ledger["ok"] else _("不平"))])
    return buffer.getvalue()


def _read_json(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(_("无法读取 %(file)s：%(reason)s") % {"file": name, "reason": exc.strerror or exc}) from None
    except UnicodeDecodeError:
        raise CommandError(_("%(file)s 不是 UTF-8 编码的文本") % {"file": name}) from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CommandError(_("%(file)s 不是有效的 JSON（第 %(line)s 行第 %(column)s 列：%(reason)s）") % {
            "file": name, "line": exc.lineno, "column": exc.colno, "reason": exc.msg}) from None
