"""参合率 and the fund view (基金运行情况).

- ``coverage/`` — 参合率 of a year per township of the caller's unit (a township opens its
  villages, ``under=`` a division path or code inside the caller's scope), with the Excel download.
- ``fund/`` — for the insurance office, the health commission and administrators: income
  (个人缴费, 资助参保, 财政补助, 人均筹资), payouts by layer, institution, month and kind,
  医保县域内支出占比, 实际报销比, and the ledger check (every account's balance, their sum zero).

Both read aggregates only (counts and sums, no person), narrowed to the caller's scope by
:mod:`.selectors`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from yigongti.core import scope
from yigongti.core.errors import PermissionDenied
from yigongti.core.paging import query_without
from yigongti.core.spreadsheets import xlsx_response
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division
from yigongti.registry.selectors import division_trail

from . import selectors, services
from .models import Account
from .views_common import may_read_fund, require_user, year_choices, year_of

KIND_LABELS = {"inpatient": gettext_lazy("住院"), "outpatient": gettext_lazy("门诊")}


def under_division(user: Any, value: str) -> Division | None:
    """The division ``under=`` names (a path or a code) inside the caller's scope; 404 outside it."""
    value = (value or "").strip()
    if not value:
        return None
    if "/" in value:
        return scope.get_visible(user, Division.objects.all(), path=value.strip("/"))
    return scope.get_visible(user, Division.objects.all(), code=value)


def _rate(row: selectors.RateRow) -> float | None:
    return None if row.rate is None else round(100 * row.rate, 1)


@require_GET
@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    """参合率 per unit; ``format=xlsx`` downloads the table."""
    user = request.user
    require_user(user)
    year = year_of(request)
    under = under_division(user, request.GET.get("under") or "")
    rows, total = selectors.coverage_rates(user, year, under=under.path if under is not None else None)
    if request.GET.get("format") == "xlsx":
        header = [_("区划代码"), _("名称"), _("应参保人数"), _("参保人数"), _("资助参保人数"), _("参合率（%）")]
        table: list[list[Any]] = [header] + [
            [r.code, r.name, r.eligible, r.enrolled, r.exempted, _rate(r)] for r in rows]
        table.append(["", _("合计"), total.eligible, total.enrolled, total.exempted, _rate(total)])
        return xlsx_response([(_("参合率"), table)], f"coverage-{year}")
    levels = dict(Division.objects.filter(path__in=[r.path for r in rows]).values_list("path", "level"))
    shown = [{"row": r, "rate": _rate(r), "drill": levels.get(r.path) not in (DivisionLevel.VILLAGE, None)}
             for r in rows]
    trail = division_trail(user=user, path=under.path) if under is not None else []
    return render(request, "insurance/coverage.html", {
        "year": year, "years": year_choices(year), "rows": shown, "total": total, "total_rate": _rate(total),
        "under": under, "trail": trail, "query": query_without(request, "format")})


def _layer_rows(report: selectors.FundReport) -> list[tuple[Any, Decimal]]:
    return [(gettext_lazy("统筹基金支付"), report.basic), (gettext_lazy("大病保险支付"), report.catastrophic),
            (gettext_lazy("医疗救助支付"), report.aid), (gettext_lazy("基金支付合计"), report.fund),
            (gettext_lazy("个人负担"), report.patient), (gettext_lazy("医疗总费用"), report.total)]


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


@require_GET
@login_required
def fund(request: HttpRequest) -> HttpResponse:
    """基金运行情况 of a year; ``format=xlsx`` downloads every table."""
    user = request.user
    if not may_read_fund(user):
        raise PermissionDenied()
    year = year_of(request)
    report = selectors.fund_report(user, year)
    check = services.ledger_check(accumulators=False)
    accounts = dict(Account.choices)
    balances = [(accounts.get(name, name), amount) for name, amount in check.balances.items()]
    institutions = [{**row, "name": row.get("institution__name") or _("县外/未登记机构")}
                    for row in report.by_institution]
    kinds = [{**row, "label": KIND_LABELS.get(row.get("encounter_kind") or "", row.get("encounter_kind"))}
             for row in report.by_kind]
    if request.GET.get("format") == "xlsx":
        return _fund_xlsx(report, institutions, kinds, balances, check.total)
    return render(request, "insurance/fund.html", {
        "year": year, "years": year_choices(year), "r": report, "layers": _layer_rows(report),
        "in_county_share": _pct(report.in_county_share), "reimbursement_ratio": _pct(report.reimbursement_ratio),
        "institutions": institutions, "months": report.by_month, "kinds": kinds, "balances": balances,
        "check": check, "query": query_without(request, "format")})


def _fund_xlsx(report: selectors.FundReport, institutions: list[dict[str, Any]], kinds: list[dict[str, Any]],
               balances: list[tuple[Any, Decimal]], ledger_total: Decimal) -> HttpResponse:
    layers = [_("结算人次"), _("医疗总费用"), _("统筹基金支付"), _("大病保险支付"), _("医疗救助支付"),
              _("基金支付合计"), _("个人负担")]

    def amounts(row: dict[str, Any]) -> list[Any]:
        return [row["n"], row["total"], row["basic"], row["catastrophic"], row["aid"], row["fund"], row["patient"]]

    summary: list[list[Any]] = [
        [_("项目"), _("数值")],
        [_("参保人数"), report.enrolled], [_("参保户数"), report.households],
        [_("个人缴费"), report.contributions], [_("资助参保"), report.exempted], [_("财政补助"), report.subsidy],
        [_("筹资合计"), report.income], [_("人均筹资"), report.per_capita],
        [_("结算人次"), report.settlements], *[[str(label), value] for label, value in _layer_rows(report)],
        [_("医保县域内支出占比（%）"), _pct(report.in_county_share)],
        [_("实际报销比（%）"), _pct(report.reimbursement_ratio)],
    ]
    by_institution = [[_("机构代码"), _("机构"), _("县域内"), *layers]] + [
        [r.get("institution__code") or "", r["name"], _("是") if r.get("in_county") else _("否"), *amounts(r)]
        for r in institutions]
    by_month = [[_("月份"), *layers]] + [[r.get("month"), *amounts(r)] for r in report.by_month]
    by_kind = [[_("就诊类型"), *layers]] + [[str(r["label"]), *amounts(r)] for r in kinds]
    ledger = [[_("账户"), _("余额")]] + [[str(label), amount] for label, amount in balances] + [
        [_("合计（应为 0）"), ledger_total]]
    return xlsx_response([(_("汇总"), summary), (_("按机构"), by_institution), (_("按月份"), by_month),
                          (_("按就诊类型"), by_kind), (_("账户平衡"), ledger)], f"insurance-fund-{report.year}")
