"""The medicines reports (报表): monthly consumption per item (月消耗), the share of essential
medicines per institution (基本药物使用占比: prescriptions, 品种占比, 金额占比) and the stock-out days
per item of an institution (断货天数) — each for a year, inside the caller's scope, with Excel."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from yigongti.core import scope
from yigongti.core.clock import today
from yigongti.core.errors import NotFound
from yigongti.core.paging import query_without
from yigongti.core.spreadsheets import xlsx_response
from yigongti.registry.models import Institution

from . import selectors
from .models import Medicine, Movement
from .views_common import institution_choices, org_of, require_reader, year_choices, year_of


def _span(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), min(dt.date(year, 12, 31), max(today(), dt.date(year, 1, 1)))


def _scope_institutions(request: HttpRequest) -> tuple[Any, Institution | None]:
    """The institutions of the report: ``?org=`` one in scope (404 outside), else all in scope."""
    user = request.user
    visible = selectors.institutions_visible(user)
    raw = request.GET.get("org") or ""
    if not raw:
        return visible, None
    if not (raw.isascii() and raw.isdigit()):
        raise NotFound()
    one = scope.get_visible(user, Institution.objects.all(), pk=int(raw))
    return visible.filter(pk=one.pk), one


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


@require_GET
@login_required
def consumption(request: HttpRequest) -> HttpResponse:
    """月消耗: dispensed (net of returns) quantity and amount per item and month of a year."""
    user = request.user
    require_reader(user)
    year = year_of(request)
    institutions, chosen = _scope_institutions(request)
    start, end = _span(year)
    found = selectors.consumption(institutions, start, end)
    medicines = Medicine.objects.in_bulk({row.medicine_id for row in found})
    by_item: dict[int, dict[str, Any]] = {}
    for row in found:
        item = by_item.setdefault(row.medicine_id, {"medicine": medicines[row.medicine_id], "months": [0] * 12,
                                                    "quantity": 0, "amount": Decimal("0")})
        item["months"][row.month.month - 1] += row.quantity
        item["quantity"] += row.quantity
        item["amount"] += row.amount
    rows = sorted(by_item.values(), key=lambda r: r["medicine"].code)
    months = [_("%(month)s月") % {"month": m} for m in range(1, 13)]
    if request.GET.get("format") == "xlsx":
        table: list[list[Any]] = [[_("药品编码"), _("药品"), _("单位"), *months, _("合计数量"), _("金额")]]
        table += [[r["medicine"].code, r["medicine"].label, r["medicine"].unit, *r["months"], r["quantity"],
                   r["amount"]] for r in rows]
        return xlsx_response([(_("月消耗"), table)], f"consumption-{year}")
    return render(request, "medicines/report_consumption.html", {
        "year": year, "years": year_choices(year), "rows": rows, "months": months, "chosen": chosen,
        "institutions": institution_choices(user), "query": query_without(request, "format")})


@require_GET
@login_required
def essential(request: HttpRequest) -> HttpResponse:
    """基本药物使用占比 per institution of a year."""
    user = request.user
    require_reader(user)
    year = year_of(request)
    institutions, chosen = _scope_institutions(request)
    start, end = _span(year)
    shares = selectors.essential_shares(institutions, start, end)
    rows: list[dict[str, Any]] = [{"s": s, "line_share": _pct(s.line_share), "amount_share": _pct(s.amount_share)}
                                  for s in shares]
    if request.GET.get("format") == "xlsx":
        table: list[list[Any]] = [[_("机构代码"), _("机构"), _("处方数"), _("处方药品品种数"), _("基本药物品种数"),
                                   _("基本药物品种占比（%）"), _("药品收入"), _("基本药物收入"),
                                   _("基本药物金额占比（%）")]]
        table += [[r["s"].institution.code, r["s"].institution.name, r["s"].prescriptions, r["s"].lines,
                   r["s"].essential_lines, r["line_share"], r["s"].amount, r["s"].essential_amount,
                   r["amount_share"]] for r in rows]
        return xlsx_response([(_("基本药物使用占比"), table)], f"essential-{year}")
    return render(request, "medicines/report_essential.html", {
        "year": year, "years": year_choices(year), "rows": rows, "chosen": chosen,
        "institutions": institution_choices(user), "query": query_without(request, "format")})


@require_GET
@login_required
def stockouts(request: HttpRequest) -> HttpResponse:
    """断货天数 per item of one institution in a year (items it has held)."""
    user = request.user
    require_reader(user)
    year = year_of(request)
    institution = org_of(request)
    start, end = _span(year)
    held = (Movement.objects.filter(institution=institution, moved_on__lte=end)
            .values_list("medicine_id", flat=True).distinct().order_by())
    medicines = sorted(Medicine.objects.filter(pk__in=list(held)), key=lambda m: m.code)
    days: dict[int, int] = defaultdict(int)
    for medicine in medicines:
        days[medicine.pk] = selectors.stockout_days(institution.pk, medicine.pk, start, end)
    rows: list[dict[str, Any]] = [{"medicine": m, "days": days[m.pk]} for m in medicines]
    if request.GET.get("format") == "xlsx":
        table: list[list[Any]] = [[_("药品编码"), _("药品"), _("断货天数")]]
        table += [[r["medicine"].code, r["medicine"].label, r["days"]] for r in rows]
        return xlsx_response([(_("断货天数"), table)], f"stockouts-{institution.code}-{year}")
    return render(request, "medicines/report_stockouts.html", {
        "year": year, "years": year_choices(year), "rows": rows, "institution": institution,
        "institutions": institution_choices(user), "span_days": (end - start).days + 1,
        "query": query_without(request, "format")})
