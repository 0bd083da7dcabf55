"""The purchase-order pages (采购订单, county only): the list, 生成采购订单 (the county consolidates the
approved requisitions and its own shortfall; 直送乡镇卫生院 optional), one order with 审批下单 / 撤销 and
到货验收 (a row per delivered lot), and the printable order.

Orders reach a caller through :func:`.services.orders_visible`; writes through :mod:`.services`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yigongti.core import scope
from yigongti.core.errors import DomainError, NotFound, PermissionDenied
from yigongti.core.paging import paged
from yigongti.registry.choices import Tier

from . import services, services_flow
from .choices import OrderStatus
from .forms import ConsolidateForm, OrderReceiptForm
from .models import PurchaseOrder
from .selectors import institutions_visible
from .views_common import may_act, put_error, require_reader


def _buyers(user: Any) -> list[Any]:
    """The county institutions the caller buys for."""
    return [i for i in institutions_visible(user).filter(tier=Tier.COUNTY).order_by("code")
            if may_act(user, i, supplying=True)]


@require_GET
@login_required
def orders(request: HttpRequest) -> HttpResponse:
    user = request.user
    require_reader(user)
    queryset = services_flow.orders_visible(user).select_related("buyer", "supplier")
    status = request.GET.get("status") or ""
    if status in OrderStatus.values:
        queryset = queryset.filter(status=status)
    page = paged(request, queryset.order_by("-order_date", "-pk"))
    return render(request, "medicines/orders.html", {
        "buyers": _buyers(user), "consolidate_form": ConsolidateForm(), "status": status,
        "statuses": OrderStatus.choices, **page})


@require_POST
@login_required
def consolidate(request: HttpRequest) -> HttpResponse:
    """生成采购订单 at the county institution ``buyer`` (the caller's own by default)."""
    user = request.user
    require_reader(user)
    buyers = _buyers(user)
    raw = request.POST.get("buyer") or ""
    buyer = next((b for b in buyers if str(b.pk) == raw), None) if raw else (buyers[0] if buyers else None)
    if buyer is None:
        raise PermissionDenied(_("只有县级机构统一采购。"))
    form = ConsolidateForm(request.POST)
    form.is_valid()
    try:
        result = services_flow.consolidate(user, buyer, direct=bool(form.cleaned_data.get("direct")), request=request)
    except DomainError as error:
        if error.status in (403, 404):
            raise
        messages.error(request, str(error))
        return redirect("medicines:orders")
    if result.orders:
        messages.success(request, _("已生成 %(n)s 张采购订单：%(numbers)s。") % {
            "n": len(result.orders), "numbers": "、".join(o.number for o in result.orders)})
    else:
        messages.info(request, _("没有需要采购的药品。"))
    if result.no_contract:
        messages.warning(request, _("以下药品没有有效的采购合同价，未生成订单：%(items)s") % {
            "items": "、".join(m.label for m in result.no_contract)})
    return redirect("medicines:orders")


def _lines(order: PurchaseOrder) -> list[Any]:
    """The order's lines, each with its amount (quantity × contract price)."""
    lines = list(order.lines.select_related("medicine", "deliver_to"))
    for line in lines:
        line.amount = (line.unit_price * line.quantity).quantize(services.CENT)  # type: ignore[attr-defined]
    return lines


def order_get(user: Any, pk: int) -> PurchaseOrder:
    return scope.get_visible(user, services_flow.orders_visible(user).select_related(
        "buyer", "supplier", "created_by", "approved_by"), pk=pk)


def _context(request: HttpRequest, order: PurchaseOrder, form: OrderReceiptForm | None = None,
             errors: list[str] | None = None) -> dict[str, Any]:
    user = request.user
    lines = _lines(order)
    buying = may_act(user, order.buyer, supplying=True)
    receivable = order.status in (OrderStatus.APPROVED, OrderStatus.PARTLY_RECEIVED) and any(
        may_act(user, line.deliver_to) for line in lines)
    return {"order": order, "lines": lines, "may_decide": order.status == OrderStatus.DRAFT and buying,
            "receivable": receivable, "form": form or (OrderReceiptForm(lines=lines) if receivable else None),
            "failed_errors": errors or []}


@require_GET
@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require_reader(user)
    return render(request, "medicines/order.html", _context(request, order_get(user, pk)))


@require_GET
@login_required
def order_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable order (采购订单) for the supplier."""
    user = request.user
    require_reader(user)
    order = order_get(user, pk)
    return render(request, "medicines/order_print.html", {
        "order": order, "lines": _lines(order)})


@require_http_methods(["GET", "POST"])
@login_required
def order_decide(request: HttpRequest, pk: int, approve: bool) -> HttpResponse:
    """审批下单 or 撤销 a draft order."""
    user = request.user
    require_reader(user)
    order = order_get(user, pk)
    if request.method == "GET":
        return redirect("medicines:order", pk=order.pk)
    try:
        services_flow.order_decide(user, order.pk, approve=approve, request=request)
    except DomainError as error:
        if error.status in (403, 404):
            raise
        return render(request, "medicines/order.html", _context(request, order_get(user, pk), errors=[str(error)]),
                      status=error.status)
    messages.success(request, (_("采购订单 %(number)s 已下单。") if approve else _("采购订单 %(number)s 已撤销。"))
                     % {"number": order.number})
    return redirect("medicines:order", pk=order.pk)


@require_http_methods(["GET", "POST"])
@login_required
def order_receive(request: HttpRequest, pk: int) -> HttpResponse:
    """到货验收: each row a delivered lot of a line (lot, expiry, quantity, manufacturer)."""
    user = request.user
    require_reader(user)
    order = order_get(user, pk)
    if request.method == "GET":
        return redirect("medicines:order", pk=order.pk)
    lines = list(order.lines.select_related("medicine", "deliver_to"))
    form = OrderReceiptForm(request.POST, lines=lines, rows=_row_count(request))
    if not form.is_valid():
        return render(request, "medicines/order.html", _context(request, order, form), status=422)
    filled = form.filled()
    if not filled:
        form.add_error(None, _("请至少填写一行到货批次（批号、有效期、数量）。"))
        return render(request, "medicines/order.html", _context(request, order, form), status=422)
    deliveries = [services_flow.Delivery(line_id=row["line"], lot=row["lot"], expiry=row["expiry"] or "",
                                         quantity=row["quantity"] if row["quantity"] is not None else "",
                                         manufacturer=row["manufacturer"] or "") for _i, row in filled]
    aliases = {f"deliveries[{index}].{name}": f"{name}_{row}" for index, (row, _values) in enumerate(filled)
               for name in ("lot", "expiry", "quantity", "line")}
    try:
        order = services_flow.receive_order(user, order.pk, deliveries, request=request)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        put_error(form, error, aliases=aliases)
        return render(request, "medicines/order.html", _context(request, order_get(user, pk), form),
                      status=error.status)
    messages.success(request, _("采购订单 %(number)s 已验收 %(n)s 个批次：%(status)s。") % {
        "number": order.number, "n": len(deliveries), "status": order.get_status_display()})
    return redirect("medicines:order", pk=order.pk)


def _row_count(request: HttpRequest) -> int:
    rows = [key for key in request.POST if key.startswith("line_")]
    return max(1, min(len(rows), 100))
