"""Requisitions and procurement of the medicines app (请领 → 统一采购 → 配送).

- **Requisitions** (:func:`requisition_submit` → :func:`requisition_decide` → :func:`requisition_ship`
  → :func:`requisition_receive`): a village clinic asks its township centre, a township centre the
  county hospital; the supplier ships first-expiry-first-out (a transfer out) and the requester
  receives the same batches (a transfer in).
- **Procurement** (:func:`consolidate` → :func:`order_decide` → :func:`receive_order`): the county
  turns the approved requisitions and its own shortfall into one purchase order per contracted
  supplier, delivered to the county or directly (直送) to the requesting centre.

Every stock change goes through the ledger's writer in :mod:`.services`; every step is atomic and audited.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core import clock, scope
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditAction
from yigongti.registry.choices import Tier
from yigongti.registry.models import Institution

from .choices import MovementKind, OrderStatus, RequisitionStatus
from .errors import OutOfStock
from .models import Batch, Medicine, Movement, PurchaseOrder, PurchaseOrderLine, Requisition, RequisitionLine
from .selectors import batch_balances, formulary, price_on
from .services import (
    CENT,
    ReceiptItem,
    _audit,
    _batch,
    _check_listed,
    _invalid,
    _lock,
    _move,
    _number,
    _placeholder,
    _require_status,
    _user,
    check_may_act,
    fefo,
    medicine_of,
    quantity_of,
)

# ---------------------------------------------------------------- requisitions


def supplier_of(institution: Institution) -> Institution:
    """Who supplies an institution: its parent (village clinic → township centre → county hospital)."""
    if institution.parent_id is None or institution.tier == Tier.COUNTY:
        raise _invalid("institution", _("%(institution)s 没有上级供货机构（县级机构向配送企业采购）") % {
            "institution": institution.name})
    return Institution.objects.get(pk=institution.parent_id)


def requisitions_visible(actor: Any) -> Any:
    """Requisitions of institutions in the caller's scope, as requester or as supplier."""
    return scope.visible(actor, Requisition.objects.all(), path_field=("path", "supplier_path"))


@transaction.atomic
def requisition_submit(actor: Any, institution: Institution, lines: Mapping[Any, Any], *, note: str = "",
                       day: dt.date | None = None, request: Any = None) -> Requisition:
    """请领: ask the supplying institution for these items (code → quantity), all on the tier's list."""
    check_may_act(actor, institution)
    day = day or clock.today()
    supplier = supplier_of(institution)
    wanted: dict[int, tuple[Medicine, int]] = {}
    for code, quantity in lines.items():
        if quantity in (None, "", 0, "0"):
            continue
        medicine = medicine_of(code, f"lines[{code}]", day)
        _check_listed(medicine, institution, day, f"lines[{code}]")
        count = quantity_of(quantity, f"lines[{code}]")
        if medicine.pk in wanted:
            raise _invalid(f"lines[{code}]", _("同一药品只能请领一行"))
        wanted[medicine.pk] = (medicine, count)
    if not wanted:
        raise _invalid("lines", _("至少请领一种药品"))
    requisition = Requisition.objects.create(
        number=_placeholder(), institution=institution, path=institution.path, supplier=supplier,
        supplier_path=supplier.path, note=note[:200], created_by=_user(actor))
    _number(requisition, day)
    RequisitionLine.objects.bulk_create(RequisitionLine(requisition=requisition, medicine=medicine, quantity=count)
                                        for medicine, count in wanted.values())
    _audit(actor, AuditAction.CREATE, requisition, institution.path, request, number=requisition.number,
           lines=len(wanted))
    return requisition


def _locked_requisition(actor: Any, requisition_id: int) -> Requisition:
    return scope.get_visible(actor, Requisition.objects.select_for_update().select_related("institution", "supplier"),
                             path_field=("path", "supplier_path"), pk=requisition_id)


@transaction.atomic
def requisition_cancel(actor: Any, requisition_id: int, *, request: Any = None) -> Requisition:
    requisition = _locked_requisition(actor, requisition_id)
    check_may_act(actor, requisition.institution)
    _require_status(requisition, _("撤销"), RequisitionStatus.SUBMITTED)
    requisition.status = RequisitionStatus.CANCELLED
    requisition.save(update_fields=["status"])
    _audit(actor, AuditAction.UPDATE, requisition, requisition.path, request, status="cancelled")
    return requisition


@transaction.atomic
def requisition_decide(actor: Any, requisition_id: int, *, approve: bool, approved: Mapping[int, Any] | None = None,
                       note: str = "", request: Any = None) -> Requisition:
    """审批: the supplier approves (each line's quantity, by line id; the requested one by default) or rejects."""
    requisition = _locked_requisition(actor, requisition_id)
    check_may_act(actor, requisition.supplier, supplying=True)
    _require_status(requisition, _("审批"), RequisitionStatus.SUBMITTED)
    if approve:
        lines = list(requisition.lines.all())
        given = {str(key): value for key, value in (approved or {}).items()}
        for line in lines:
            value = given.pop(str(line.pk), line.quantity)
            line.approved = quantity_of(value, f"approved[{line.pk}]", allow_zero=True)
        if given:
            raise _invalid("approved", _("不属于该请领单的明细：%(lines)s") % {"lines": ", ".join(map(str, given))})
        if not any(line.approved for line in lines):
            raise _invalid("approved", _("批准数量全为 0：请驳回"))
        RequisitionLine.objects.bulk_update(lines, ["approved"])
    elif not note.strip():
        raise _invalid("note", _("驳回须说明理由"))
    requisition.status = RequisitionStatus.APPROVED if approve else RequisitionStatus.REJECTED
    requisition.decision_note = note[:200]
    requisition.decided_at, requisition.decided_by = timezone.now(), _user(actor)
    requisition.save(update_fields=["status", "decision_note", "decided_at", "decided_by"])
    _audit(actor, AuditAction.UPDATE, requisition, requisition.path, request, status=requisition.status)
    return requisition


@transaction.atomic
def requisition_ship(actor: Any, requisition_id: int, *, partial: bool = False, day: dt.date | None = None,
                     request: Any = None) -> Requisition:
    """配送: the supplier's stock goes out first-expiry-first-out (transfers out). Without ``partial``, a
    line the supplier cannot fill refuses the whole shipment; with it, what is in stock goes."""
    requisition = _locked_requisition(actor, requisition_id)
    check_may_act(actor, requisition.supplier, supplying=True)
    _require_status(requisition, _("配送"), RequisitionStatus.APPROVED)
    day = day or clock.today()
    supplier = requisition.supplier
    lines = [line for line in requisition.lines.select_related("medicine") if (line.approved or 0) > line.shipped]
    _lock(supplier, sorted({line.medicine_id for line in lines}))
    shipped = 0
    for line in lines:
        wanted = (line.approved or 0) - line.shipped
        try:
            taken = fefo(supplier, line.medicine, wanted, day)
        except OutOfStock as exc:
            if not partial:
                raise
            available = int(exc.params["available"])
            taken = fefo(supplier, line.medicine, available, day) if available else []
        for batch, quantity in taken:
            _move(actor, supplier, batch, MovementKind.TRANSFER_OUT, -quantity, day,
                  counterpart=requisition.institution, document=requisition.number, requisition_line=line)
            line.shipped += quantity
            shipped += quantity
        line.save(update_fields=["shipped"])
    if not shipped:
        raise OutOfStock(institution=supplier.name, item=_("请领药品"), wanted=sum(
            (line.approved or 0) - line.shipped for line in lines), available=0, field="lines")
    requisition.status = RequisitionStatus.SHIPPED
    requisition.shipped_at, requisition.shipped_by = timezone.now(), _user(actor)
    requisition.save(update_fields=["status", "shipped_at", "shipped_by"])
    _audit(actor, AuditAction.UPDATE, requisition, requisition.path, request, status="shipped", quantity=shipped)
    return requisition


@transaction.atomic
def requisition_receive(actor: Any, requisition_id: int, *, day: dt.date | None = None,
                        request: Any = None) -> Requisition:
    """收货: the requester receives exactly the batches shipped (transfers in)."""
    requisition = _locked_requisition(actor, requisition_id)
    check_may_act(actor, requisition.institution)
    _require_status(requisition, _("收货"), RequisitionStatus.SHIPPED)
    day = day or clock.today()
    outgoing = (Movement.objects.filter(requisition_line__requisition=requisition)
                .values_list("requisition_line_id", "batch_id").annotate(quantity=Sum("quantity")).order_by())
    batches = Batch.objects.in_bulk({batch_id for _line, batch_id, _q in outgoing})
    received: dict[int, int] = defaultdict(int)
    for line_id, batch_id, quantity in outgoing:
        if quantity < 0:  # shipped and not yet received
            _move(actor, requisition.institution, batches[batch_id], MovementKind.TRANSFER_IN, -quantity, day,
                  counterpart=requisition.supplier, document=requisition.number, requisition_line_id=line_id)
            received[line_id] += -quantity
    for line_id, quantity in received.items():
        RequisitionLine.objects.filter(pk=line_id).update(received=F("received") + quantity)
    requisition.status = RequisitionStatus.RECEIVED
    requisition.received_at, requisition.received_by = timezone.now(), _user(actor)
    requisition.save(update_fields=["status", "received_at", "received_by"])
    _audit(actor, AuditAction.UPDATE, requisition, requisition.path, request, status="received",
           quantity=sum(received.values()))
    return requisition


# ---------------------------------------------------------------- procurement


@dataclass
class Consolidation:
    """What :func:`consolidate` made: the draft orders, and the items it could not order (no contract)."""

    orders: list[PurchaseOrder] = field(default_factory=list)
    no_contract: list[Medicine] = field(default_factory=list)


def orders_visible(actor: Any) -> Any:
    """Orders of a buyer in the caller's scope, and those with a line delivered into it (直送 to a centre)."""
    bought = scope.visible(actor, PurchaseOrder.objects.all()).values("pk")
    delivered = scope.visible(actor, PurchaseOrderLine.objects.all(), path_field="deliver_to__path").values("order_id")
    return PurchaseOrder.objects.filter(Q(pk__in=bought) | Q(pk__in=delivered))


@transaction.atomic
def consolidate(actor: Any, buyer: Institution, *, direct: bool = False, day: dt.date | None = None,
                request: Any = None) -> Consolidation:
    """统一采购: the approved requisitions to the county not yet ordered, and the county's own items
    below their reorder level, become one draft purchase order per contracted supplier.

    Without ``direct`` everything is delivered to the county, which then ships the requisitions; with
    it, what a centre asked for is delivered straight to it (直送) and the county orders only its own."""
    check_may_act(actor, buyer, supplying=True)
    if buyer.tier != Tier.COUNTY:
        raise _invalid("buyer", _("只有县级机构统一采购"))
    day = day or clock.today()
    open_lines = list(RequisitionLine.objects.select_for_update().filter(
        requisition__supplier=buyer, requisition__status=RequisitionStatus.APPROVED, order_line__isnull=True,
        approved__gt=0).select_related("requisition", "medicine").order_by("pk"))
    balances = batch_balances(buyer.pk)
    usable: dict[int, int] = defaultdict(int)
    for batch in Batch.objects.filter(pk__in=balances, expiry__gte=day):
        usable[batch.medicine_id] += balances[batch.pk]
    listed = formulary(buyer.tier, day)
    # (medicine id, deliver-to institution id) → quantity, and the requisition lines it covers
    needs: dict[tuple[int, int], int] = defaultdict(int)
    covers: dict[tuple[int, int], list[RequisitionLine]] = defaultdict(list)
    demand: dict[int, int] = defaultdict(int)
    for line in open_lines:
        target = line.requisition.institution_id if direct else buyer.pk
        if direct:
            needs[(line.medicine_id, target)] += line.approved or 0
        else:
            demand[line.medicine_id] += line.approved or 0
        covers[(line.medicine_id, target)].append(line)
    for medicine_id in set(listed) | set(demand):
        entry = listed.get(medicine_id)
        reorder, target_level = (entry.reorder_level, entry.target_level) if entry else (0, 0)
        left = usable[medicine_id] - demand[medicine_id]
        if left < reorder or left < 0:
            need = max(0, target_level - left) if entry else -left
            if need:
                needs[(medicine_id, buyer.pk)] += need
    medicines = Medicine.objects.in_bulk({medicine_id for medicine_id, _target in needs})
    result = Consolidation()
    by_supplier: dict[int, list[tuple[Medicine, int, int, Decimal]]] = defaultdict(list)
    suppliers: dict[int, Any] = {}
    for (medicine_id, target), quantity in sorted(needs.items()):
        medicine = medicines[medicine_id]
        price = price_on(medicine, day)
        if price is None:
            if medicine not in result.no_contract:
                result.no_contract.append(medicine)
            continue
        suppliers[price.supplier_id] = price.supplier
        by_supplier[price.supplier_id].append((medicine, target, quantity, price.unit_price))
    for supplier_id, rows in sorted(by_supplier.items()):
        order = PurchaseOrder.objects.create(number=_placeholder(), buyer=buyer, path=buyer.path,
                                             supplier=suppliers[supplier_id], order_date=day, created_by=_user(actor))
        _number(order, day)
        total = Decimal("0")
        for medicine, target, quantity, unit_price in rows:
            order_line = PurchaseOrderLine.objects.create(order=order, medicine=medicine, quantity=quantity,
                                                          unit_price=unit_price, deliver_to_id=target)
            total += (unit_price * quantity).quantize(CENT)
            for line in covers.get((medicine.pk, target), []):
                line.order_line = order_line
                line.save(update_fields=["order_line"])
        order.total = total
        order.save(update_fields=["total"])
        _audit(actor, AuditAction.CREATE, order, buyer.path, request, number=order.number, lines=len(rows),
               total=str(total))
        result.orders.append(order)
    return result


def _locked_order(actor: Any, order_id: int) -> PurchaseOrder:
    order = orders_visible(actor).filter(pk=order_id).first()
    if order is None:
        raise NotFound()
    return PurchaseOrder.objects.select_for_update().select_related("buyer", "supplier").get(pk=order.pk)


@transaction.atomic
def order_decide(actor: Any, order_id: int, *, approve: bool, request: Any = None) -> PurchaseOrder:
    """审批下单 (approve: sent to the supplier) or 撤销 (the requisition lines are free to order again)."""
    order = _locked_order(actor, order_id)
    check_may_act(actor, order.buyer, supplying=True)
    _require_status(order, _("审批") if approve else _("撤销"), OrderStatus.DRAFT)
    if approve:
        order.status, order.approved_at, order.approved_by = OrderStatus.APPROVED, timezone.now(), _user(actor)
    else:
        order.status = OrderStatus.CANCELLED
        RequisitionLine.objects.filter(order_line__order=order).update(order_line=None)
    order.save(update_fields=["status", "approved_at", "approved_by"])
    _audit(actor, AuditAction.UPDATE, order, order.path, request, status=order.status)
    return order


@dataclass(frozen=True)
class Delivery:
    """One delivered lot of an order line."""

    line_id: int
    lot: str
    expiry: Any
    quantity: Any
    manufacturer: str = ""


@transaction.atomic
def receive_order(actor: Any, order_id: int, deliveries: Sequence[Delivery], *, day: dt.date | None = None,
                  request: Any = None) -> PurchaseOrder:
    """到货验收: each delivered lot is a receipt at the line's institution at the contract price; never more
    than ordered. A direct delivery (直送) also completes the centre's requisition lines it covers."""
    order = _locked_order(actor, order_id)
    _require_status(order, _("验收"), OrderStatus.APPROVED, OrderStatus.PARTLY_RECEIVED)
    day = day or clock.today()
    if not deliveries:
        raise _invalid("deliveries", _("至少一行"))
    lines = {line.pk: line for line in order.lines.select_related("medicine", "deliver_to")}
    direct: dict[int, list[Movement]] = defaultdict(list)
    for index, delivery in enumerate(deliveries):
        prefix = f"deliveries[{index}]."
        line = lines.get(int(delivery.line_id)) if str(delivery.line_id).isdigit() else None
        if line is None:
            raise _invalid(f"{prefix}line", _("不是该订单的明细：%(line)s") % {"line": delivery.line_id})
        check_may_act(actor, line.deliver_to)
        item = ReceiptItem(medicine=line.medicine, lot=delivery.lot, expiry=delivery.expiry,
                           quantity=delivery.quantity, unit_price=line.unit_price, manufacturer=delivery.manufacturer)
        batch, quantity = _batch(item, line.medicine, day, prefix)
        if line.received + quantity > line.quantity:
            raise _invalid(f"{prefix}quantity", _("超过订购数量：已到 %(received)s，订购 %(ordered)s") % {
                "received": line.received, "ordered": line.quantity})
        movement = _move(actor, line.deliver_to, batch, MovementKind.RECEIPT, quantity, day, order_line=line,
                         document=order.number)
        line.received += quantity
        line.save(update_fields=["received"])
        if line.deliver_to_id != order.buyer_id:
            direct[line.pk].append(movement)
    for line_id, movements in direct.items():
        _complete_direct(actor, lines[line_id], movements)
    complete = all(line.received >= line.quantity for line in lines.values())
    order.status = OrderStatus.RECEIVED if complete else OrderStatus.PARTLY_RECEIVED
    order.save(update_fields=["status"])
    _audit(actor, AuditAction.UPDATE, order, order.path, request, status=order.status, lots=len(deliveries))
    return order


def _complete_direct(actor: Any, order_line: PurchaseOrderLine, movements: list[Movement]) -> None:
    """A direct delivery fills the requisition lines it covers, oldest first; a requisition whose lines
    are all filled is received."""
    arrived = sum(movement.quantity for movement in movements)
    touched: set[int] = set()
    for line in order_line.requisition_lines.select_related("requisition").order_by("pk"):
        take = min(arrived, (line.approved or 0) - line.received)
        if take <= 0:
            continue
        line.shipped += take
        line.received += take
        line.save(update_fields=["shipped", "received"])
        arrived -= take
        touched.add(line.requisition_id)
    for requisition in Requisition.objects.filter(pk__in=touched, status=RequisitionStatus.APPROVED):
        if all(line.received >= (line.approved or 0) for line in requisition.lines.all()):
            requisition.status = RequisitionStatus.RECEIVED
            requisition.received_at, requisition.received_by = timezone.now(), _user(actor)
            requisition.save(update_fields=["status", "received_at", "received_by"])
