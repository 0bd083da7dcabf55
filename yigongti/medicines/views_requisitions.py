"""The requisition pages (请领): the list (as requester and as supplier), a new requisition with the
suggested quantities pre-filled, and one requisition with the steps the caller may take — 审批 (or
驳回), 配送, 收货, 撤销 — its status history and the batches shipped per line.

Writes through :mod:`.services`; requisitions reach a caller through
:func:`.services.requisitions_visible` (the requesting or the supplying institution in scope).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core import scope
from yigongti.core.clock import today
from yigongti.core.errors import DomainError
from yigongti.core.paging import paged
from yigongti.core.tree import subtree_q
from yigongti.registry.choices import Tier

from . import selectors, services, services_flow
from .choices import MovementKind, RequisitionStatus
from .forms import DecideForm, RequisitionFilterForm, RequisitionForm, ShipForm
from .models import Movement, Requisition
from .views_common import institution_choices, may_act, org_of, put_error, require_reader


@require_GET
@login_required
def requisitions(request: HttpRequest) -> HttpResponse:
    """请领单 of the institutions in scope, filtered by status and side (本机构请领 / 向本机构请领)."""
    user = request.user
    require_reader(user)
    form = RequisitionFilterForm(request.GET or None)
    queryset = services_flow.requisitions_visible(user).select_related("institution", "supplier", "created_by")
    status = request.GET.get("status") or ""
    if status in RequisitionStatus.values:
        queryset = queryset.filter(status=status)
    own = getattr(user, "institution", None)
    side = request.GET.get("side") or ""
    scope_path = scope.scope_path(user) or ""
    if side == "requester":
        queryset = queryset.filter(institution=own) if own else queryset.filter(subtree_q(scope_path, "path"))
    elif side == "supplier":
        queryset = queryset.filter(supplier=own) if own else queryset.filter(subtree_q(scope_path, "supplier_path"))
    page = paged(request, queryset.order_by("-created_at", "-pk"))
    return render(request, "medicines/requisitions.html", {"form": form, **page})


@require_http_methods(["GET", "POST"])
@login_required
def requisition_new(request: HttpRequest) -> HttpResponse:
    """新建请领: a quantity per item of the tier's list, the suggestion (up to the target level) pre-filled."""
    user = request.user
    require_reader(user)
    institution = org_of(request)
    services.check_may_act(user, institution)
    supplier = services_flow.supplier_of(institution)
    lines = selectors.stock(institution, today(), listed_only=True)
    form = RequisitionForm(request.POST if request.method == "POST" else None, lines=lines)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            wanted = form.wanted()
            try:
                requisition = services_flow.requisition_submit(user, institution, wanted,
                                                               note=form.cleaned_data["note"], request=request)
            except DomainError as error:
                put_error(form, error, aliases={f"lines[{code}]": f"qty_{code}" for code in wanted})
                status = error.status
            else:
                messages.success(request, _("请领单 %(number)s 已提交至 %(supplier)s。") % {
                    "number": requisition.number, "supplier": supplier.name})
                return redirect("medicines:requisition", pk=requisition.pk)
    return render(request, "medicines/requisition_new.html", {
        "institution": institution, "supplier": supplier, "form": form,
        "institutions": [i for i in institution_choices(user) if i.tier != Tier.COUNTY]}, status=status)


def requisition_get(user: Any, pk: int) -> Requisition:
    return scope.get_visible(user, services_flow.requisitions_visible(user).select_related(
        "institution", "supplier", "created_by", "decided_by", "shipped_by", "received_by"), pk=pk)


def _context(request: HttpRequest, requisition: Requisition, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    user = request.user
    lines = list(requisition.lines.select_related("medicine", "order_line__order"))
    shipped: dict[int, list[Any]] = defaultdict(list)
    for line_id, _batch, lot, expiry, quantity in (
            Movement.objects.filter(requisition_line__requisition=requisition, kind=MovementKind.TRANSFER_OUT)
            .values_list("requisition_line_id", "batch_id", "batch__lot", "batch__expiry")
            .annotate(q=Sum("quantity")).order_by("requisition_line_id", "batch__expiry")):
        shipped[line_id].append({"lot": lot, "expiry": expiry, "quantity": -quantity})
    status = requisition.status
    supplying = may_act(user, requisition.supplier, supplying=True)
    requesting = may_act(user, requisition.institution)
    forms = forms or {}
    history = [(_("提交请领"), requisition.created_at, requisition.created_by)]
    if requisition.decided_at:
        history.append((_("审批通过") if status != RequisitionStatus.REJECTED else _("驳回"), requisition.decided_at,
                        requisition.decided_by))
    if requisition.shipped_at:
        history.append((_("配送"), requisition.shipped_at, requisition.shipped_by))
    if requisition.received_at:
        history.append((_("收货"), requisition.received_at, requisition.received_by))
    can_decide = status == RequisitionStatus.SUBMITTED and supplying
    return {
        "r": requisition, "lines": [{"line": line, "batches": shipped.get(line.pk, [])} for line in lines],
        "history": history,
        "decide_form": forms.get("decide") or (DecideForm(lines=lines) if can_decide else None),
        "ship_form": forms.get("ship") or ShipForm(),
        "can_decide": can_decide,
        # A line ordered for direct delivery (直送) arrives from the supplier, not from the county's stock.
        "can_ship": status == RequisitionStatus.APPROVED and supplying and not any(
            line.order_line is not None and line.order_line.deliver_to_id == requisition.institution_id
            for line in lines),
        "can_receive": status == RequisitionStatus.SHIPPED and requesting,
        "can_cancel": status == RequisitionStatus.SUBMITTED and requesting,
        "failed_errors": forms.get("errors", []),
    }


@require_GET
@login_required
def requisition_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    require_reader(user)
    return render(request, "medicines/requisition.html", _context(request, requisition_get(user, pk)))


@require_http_methods(["GET", "POST"])
@login_required
def requisition_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """审批 / 驳回 (``decide``), 配送 (``ship``), 收货 (``receive``), 撤销 (``cancel``)."""
    user = request.user
    require_reader(user)
    requisition = requisition_get(user, pk)
    if request.method == "GET":
        return redirect("medicines:requisition", pk=requisition.pk)
    forms: dict[str, Any] = {}
    try:
        if action == "decide":
            lines = list(requisition.lines.select_related("medicine"))
            form = DecideForm(request.POST, lines=lines)
            forms["decide"] = form
            if not form.is_valid():
                return _again(request, requisition, forms, 422)
            approve = "reject" not in request.POST
            try:
                services_flow.requisition_decide(user, requisition.pk, approve=approve,
                                                 approved=form.approved() if approve else None,
                                                 note=form.cleaned_data["note"], request=request)
            except DomainError as error:
                put_error(form, error, aliases={f"approved[{line.pk}]": f"approved_{line.pk}" for line in lines})
                return _again(request, requisition, forms, error.status)
            messages.success(request, (_("请领单 %(number)s 已批准。") if approve else _("请领单 %(number)s 已驳回。"))
                             % {"number": requisition.number})
        elif action == "ship":
            ship = ShipForm(request.POST)
            ship.is_valid()
            services_flow.requisition_ship(user, requisition.pk, partial=bool(ship.cleaned_data.get("partial")),
                                           request=request)
            messages.success(request, _("请领单 %(number)s 已配送。") % {"number": requisition.number})
        elif action == "receive":
            services_flow.requisition_receive(user, requisition.pk, request=request)
            messages.success(request, _("请领单 %(number)s 已收货入库。") % {"number": requisition.number})
        else:
            services_flow.requisition_cancel(user, requisition.pk, request=request)
            messages.success(request, _("请领单 %(number)s 已撤销。") % {"number": requisition.number})
    except DomainError as error:
        if error.status in (403, 404):
            raise
        forms["errors"] = [str(error)]
        return _again(request, requisition, forms, error.status)
    return redirect("medicines:requisition", pk=requisition.pk)


def _again(request: HttpRequest, requisition: Requisition, forms: dict[str, Any], status: int) -> HttpResponse:
    fresh = requisition_get(request.user, requisition.pk)
    return render(request, "medicines/requisition.html", _context(request, fresh, forms), status=status)

