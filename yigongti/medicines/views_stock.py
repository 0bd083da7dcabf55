"""The stock pages (药品库存): the stock of one institution with its batches and alerts, the stock card
of an item (库存卡: every movement with the running balance), the alerts of the institutions in scope
(预警), and the writes that change stock by hand — 入库, 报损 and the stock take (盘点).

Stock is institutional: an institution reaches a caller only inside ``institutions_visible``; writes
go through :mod:`.services` (which check who may act, lock and audit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yigongti.core import scope
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound, PermissionDenied
from yigongti.core.paging import query_without
from yigongti.core.spreadsheets import xlsx_response
from yigongti.registry.choices import Tier

from . import selectors, services
from .choices import StockTakeStatus
from .forms import CountForm, ReceiptForm, WriteOffForm
from .models import Batch, Medicine, Movement, StockTake
from .views_common import institution_choices, int_param, may_act, org_of, put_error, require_reader

STATUS_LABELS = {"out": gettext_lazy("缺货"), "low": gettext_lazy("低于补货线"), "expiring": gettext_lazy("近效期"),
                 "expired": gettext_lazy("已过期")}


def _org_url(name: str, institution: Any, **query: Any) -> str:
    extra = "".join(f"&{key}={value}" for key, value in query.items())
    return f"{reverse(name)}?org={institution.pk}{extra}"


def line_badges(line: selectors.StockLine) -> list[tuple[str, Any]]:
    """The status badges of a stock line: (css kind, label)."""
    badges = []
    if line.out:
        badges.append(("bad", STATUS_LABELS["out"]))
    elif line.low:
        badges.append(("warn", STATUS_LABELS["low"]))
    if line.expiring:
        badges.append(("warn", STATUS_LABELS["expiring"]))
    if line.expired:
        badges.append(("bad", STATUS_LABELS["expired"]))
    return badges


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """药品库存 of one institution; ``format=xlsx`` downloads it."""
    user = request.user
    require_reader(user)
    institution = org_of(request)
    day = today()
    lines = selectors.stock(institution, day)
    if request.GET.get("format") == "xlsx":
        table: list[list[Any]] = [[_("药品编码"), _("药品"), _("单位"), _("库存数量"), _("可用数量"), _("最近效期"),
                                   _("补货线"), _("目标库存"), _("状态"), _("金额")]]
        table += [[line.medicine.code, line.medicine.label, line.medicine.unit, line.on_hand, line.usable,
                   line.nearest_expiry, line.reorder_level, line.target_level,
                   " ".join(str(label) for _kind, label in line_badges(line)), line.value] for line in lines]
        batches: list[list[Any]] = [[_("药品编码"), _("药品"), _("批号"), _("有效期至"), _("数量"), _("单价")]]
        batches += [[line.medicine.code, line.medicine.label, batch.lot, batch.expiry, quantity, batch.unit_price]
                    for line in lines for batch, quantity in line.batches]
        return xlsx_response([(_("药品库存"), table), (_("批次"), batches)], f"stock-{institution.code}-{day}")
    acts = may_act(user, institution)
    return render(request, "medicines/home.html", {
        "institution": institution, "institutions": institution_choices(user), "day": day,
        "rows": [{"line": line, "badges": line_badges(line)} for line in lines],
        "total_value": sum((line.value for line in lines), 0), "may_act": acts,
        "may_receive": acts and institution.tier != Tier.VILLAGE,
        "may_requisition": acts and institution.tier != Tier.COUNTY,
        "open_take": StockTake.objects.filter(institution=institution, status=StockTakeStatus.OPEN).first(),
        "query": query_without(request, "format")})


@require_GET
@login_required
def card(request: HttpRequest) -> HttpResponse:
    """库存卡 of an item at an institution: every movement with the running balance."""
    user = request.user
    require_reader(user)
    institution = org_of(request)
    medicine_id = int_param(request, "item")
    medicine = Medicine.objects.filter(pk=medicine_id).first() if medicine_id else None
    if medicine is None:
        raise NotFound()
    movements = list(Movement.objects.filter(institution=institution, medicine=medicine)
                     .select_related("batch", "counterpart", "created_by").order_by("moved_on", "pk"))
    balance = 0
    rows: list[dict[str, Any]] = []
    for movement in movements:
        balance += movement.quantity
        rows.append({"m": movement, "balance": balance})
    if request.GET.get("format") == "xlsx":
        table: list[list[Any]] = [[_("业务日期"), _("类型"), _("批号"), _("有效期至"), _("数量"), _("结存"),
                                   _("单据号"), _("对方机构"), _("经办人")]]
        table += [[r["m"].moved_on, r["m"].get_kind_display(), r["m"].batch.lot, r["m"].batch.expiry,
                   r["m"].quantity, r["balance"], r["m"].document,
                   r["m"].counterpart.name if r["m"].counterpart else "",
                   r["m"].created_by.username if r["m"].created_by else ""] for r in rows]
        return xlsx_response([(_("库存卡"), table)], f"stock-card-{institution.code}-{medicine.code}")
    return render(request, "medicines/card.html", {"institution": institution, "medicine": medicine, "rows": rows,
                                                   "balance": balance, "query": query_without(request, "format")})


@require_GET
@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    """预警 of the institutions in scope: out of stock, below the reorder level, expiring, expired."""
    user = request.user
    require_reader(user)
    raw_days = request.GET.get("days") or ""
    days = int(raw_days) if raw_days.isascii() and raw_days.isdigit() and 0 < int(raw_days) <= 3650 else (
        selectors.EXPIRING_DAYS)
    kind = request.GET.get("kind") or ""
    if kind and kind not in STATUS_LABELS:
        kind = ""
    institutions = list(selectors.institutions_visible(user).order_by("path", "code"))
    found = [a for a in selectors.alerts(institutions, today(), expiring_days=days) if not kind or a.kind == kind]
    if request.GET.get("format") == "xlsx":
        table: list[list[Any]] = [[_("预警类型"), _("机构"), _("药品编码"), _("药品"), _("数量"), _("补货线"),
                                   _("批号"), _("有效期至"), _("断货起始")]]
        table += [[str(STATUS_LABELS[a.kind]), a.institution.name, a.medicine.code, a.medicine.label, a.quantity,
                   a.level, a.lot, a.expiry, a.since] for a in found]
        return xlsx_response([(_("预警"), table)], f"alerts-{today()}")
    return render(request, "medicines/alerts.html", {
        "alerts": [{"a": a, "label": STATUS_LABELS[a.kind]} for a in found], "days": days, "kind": kind,
        "kinds": list(STATUS_LABELS.items()), "query": query_without(request, "format")})


def _receipt_aliases(rows: list[int]) -> dict[str, str]:
    aliases = {}
    for index, row in enumerate(rows):
        for name in ReceiptForm.row_fields:
            aliases[f"items[{index}].{name}"] = f"{name}_{row}"
    return aliases


@require_http_methods(["GET", "POST"])
@login_required
def receive(request: HttpRequest) -> HttpResponse:
    """入库 (township and county): lots received outside a purchase order, all lines or none."""
    user = request.user
    require_reader(user)
    institution = org_of(request)
    if institution.tier == Tier.VILLAGE:
        raise PermissionDenied(_("村卫生室的药品由乡镇卫生院配送，请使用请领。"))
    services.check_may_act(user, institution)
    medicines = [entry.medicine for entry in selectors.formulary(institution.tier, today()).values()]
    medicines.sort(key=lambda m: m.code)
    form = ReceiptForm(request.POST if request.method == "POST" else None, medicines=medicines)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            filled = form.filled()
            items = [services.ReceiptItem(medicine=row["medicine"], lot=row["lot"] or "", expiry=row["expiry"] or "",
                                          quantity=row["quantity"] if row["quantity"] is not None else "",
                                          unit_price=row["unit_price"]) for _i, row in filled]
            try:
                movements = services.receive(user, institution, items, document=form.cleaned_data["document"],
                                             note=form.cleaned_data["note"], request=request)
            except DomainError as error:
                put_error(form, error, aliases=_receipt_aliases([i for i, _row in filled]))
                status = error.status
            else:
                messages.success(request, _("已入库 %(n)s 个批次。") % {"n": len(movements)})
                return redirect(_org_url("medicines:home", institution))
    return render(request, "medicines/receive.html", {"institution": institution, "form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def write_off(request: HttpRequest) -> HttpResponse:
    """报损 of one batch at an institution (never more than it holds)."""
    user = request.user
    require_reader(user)
    institution = org_of(request)
    batch_id = int_param(request, "batch")
    batch = Batch.objects.select_related("medicine").filter(pk=batch_id).first() if batch_id else None
    held = selectors.batch_balances(institution.pk).get(batch.pk, 0) if batch else 0
    if batch is None or not held:
        raise NotFound()
    services.check_may_act(user, institution)
    reason = "expired" if batch.expiry < today() else "damaged"
    form = WriteOffForm(request.POST if request.method == "POST" else None, initial={"reason": reason})
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.write_off(user, institution, batch.pk, form.cleaned_data["quantity"],
                                   reason=form.cleaned_data["reason"], note=form.cleaned_data["note"], request=request)
            except DomainError as error:
                put_error(form, error)
                status = error.status
            else:
                messages.success(request, _("已报损：%(item)s 批号 %(lot)s × %(n)s。") % {
                    "item": batch.medicine.label, "lot": batch.lot, "n": form.cleaned_data["quantity"]})
                return redirect(_org_url("medicines:home", institution))
    return render(request, "medicines/write_off.html", {"institution": institution, "batch": batch, "held": held,
                                                        "form": form}, status=status)


@require_POST
@login_required
def stocktake_start(request: HttpRequest) -> HttpResponse:
    """开始盘点: a count sheet of every batch the ledger says the institution holds."""
    user = request.user
    require_reader(user)
    institution = org_of(request)
    try:
        take = services.stocktake_start(user, institution, request=request)
    except DomainError as error:
        if isinstance(error, NotFound | PermissionDenied):
            raise
        messages.error(request, str(error))
        return redirect(_org_url("medicines:home", institution))
    messages.success(request, _("已开始盘点：%(number)s。") % {"number": take.number})
    return redirect("medicines:stocktake", pk=take.pk)


@require_http_methods(["GET", "POST"])
@login_required
def stocktake(request: HttpRequest, pk: int) -> HttpResponse:
    """The count sheet (账面数量 shown, 实盘数量 entered); 保存 records counts, 过账 posts the differences."""
    user = request.user
    require_reader(user)
    take = scope.get_visible(user, StockTake.objects.select_related("institution", "created_by", "posted_by"), pk=pk)
    lines = list(take.lines.select_related("batch__medicine").order_by("batch__medicine__code", "batch__expiry"))
    is_open = take.status == StockTakeStatus.OPEN
    acts = is_open and may_act(user, take.institution)
    form = CountForm(request.POST if request.method == "POST" else None, lines=lines, editable=acts)
    status = 200
    if request.method == "POST":
        services.check_may_act(user, take.institution)
        status = 422
        if form.is_valid():
            aliases = {f"counts[{line.pk}]": f"counted_{line.pk}" for line in lines}
            try:
                services.stocktake_count(user, take.pk, form.counts(), request=request)
                if "post" in request.POST:
                    services.stocktake_post(user, take.pk, request=request)
            except DomainError as error:
                put_error(form, error, aliases=aliases)
                status = error.status
            else:
                if "post" in request.POST:
                    messages.success(request, _("盘点单 %(number)s 已过账。") % {"number": take.number})
                else:
                    messages.success(request, _("已保存盘点数。"))
                return redirect("medicines:stocktake", pk=take.pk)
    adjustments = (Movement.objects.filter(stock_take=take).select_related("batch__medicine")
                   .order_by("medicine__code", "pk")) if not is_open else []
    return render(request, "medicines/stocktake.html", {
        "take": take, "form": form, "may_act": acts, "is_open": is_open, "adjustments": adjustments,
        "value": Movement.objects.filter(stock_take=take).aggregate(v=Sum("amount"))["v"]}, status=status)


def expiry_class(expiry: dt.date, day: dt.date, days: int = selectors.EXPIRING_DAYS) -> str:
    if expiry < day:
        return "bad"
    return "warn" if expiry <= day + dt.timedelta(days=days) else ""
