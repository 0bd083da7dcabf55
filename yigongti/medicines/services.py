"""Writes of the medicines app: every change of stock is a :class:`~.models.Movement`.

- **Receipts** (:func:`receive`, :func:`receive_order`): an item of the catalogue, a lot with an expiry
  after the day, a positive whole quantity, at the contracted price (零差率: sold at it).
- **Requisitions** (:func:`requisition_submit` → :func:`requisition_decide` → :func:`requisition_ship`
  → :func:`requisition_receive`): a village clinic asks its township centre, a township centre the
  county hospital; the supplier ships first-expiry-first-out (a transfer out) and the requester
  receives the same batches (a transfer in).
- **Procurement** (:func:`consolidate` → :func:`order_approve` → :func:`receive_order`): the county
  turns the approved requisitions and its own shortfall into one purchase order per contracted
  supplier, delivered to the county or directly (直送) to the requesting centre.
- **Dispensing** (:func:`prescribe`, :func:`dispense`, :func:`return_dispensed`): FEFO at the
  batches' price; an item not on the institution tier's list or not in stock is refused.
- **Write-offs** and **stock takes** (:func:`write_off`, :func:`stocktake_*`).

Stock never goes negative: every movement that takes stock locks the institution's :class:`Holding`
rows of the item (ordered by item, then batch) and re-reads the balance under the lock, so two
dispensings of the last box queue and the second is told it is gone. Every step is atomic and
audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.accounts.models import Role
from yigongti.care.models import Encounter
from yigongti.core import audit, clock, scope
from yigongti.core.errors import NotFound, PermissionDenied
from yigongti.core.models import AuditAction
from yigongti.registry.choices import Tier
from yigongti.registry.models import Institution

from .choices import (
    SIGN,
    MovementKind,
    OrderStatus,
    PrescriptionStatus,
    RequisitionStatus,
    StockTakeStatus,
    WriteOffReason,
)
from .errors import NoContract, NotInCatalogue, OutOfStock, StockBusy, StockInputInvalid, WrongStatus
from .models import (
    Batch,
    Holding,
    Medicine,
    Movement,
    Prescription,
    PrescriptionLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Requisition,
    RequisitionLine,
    StockTake,
    StockTakeLine,
)
from .selectors import BOTH_PATHS, batch_balances, formulary, on_day, prescriptions_visible, price_on

# Who keeps stock: village doctors at their clinic, township staff at their centre and its clinics,
# the county hospital (its pharmacy buys for the 医共体). The health commission reads only.
STOCK_ROLES = (Role.VILLAGE_DOCTOR, Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR, Role.COUNTY_CLINICIAN, Role.ADMIN)
READ_ROLES = (*STOCK_ROLES, Role.HEALTH_COMMISSION)
# Who approves and ships what another institution asked for, and buys for the county.
SUPPLYING_ROLES = (Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR, Role.COUNTY_CLINICIAN, Role.ADMIN)
MAX_QUANTITY = 1_000_000
CENT = Decimal("0.01")
DOCUMENTS = {"medicines.requisition": "RQ", "medicines.purchaseorder": "PO", "medicines.prescription": "RX",
             "medicines.stocktake": "PD"}


# ---------------------------------------------------------------- who may act


def _is_system(actor: Any) -> bool:
    return actor is scope.SYSTEM or bool(getattr(actor, "is_superuser", False))


def may_read(actor: Any) -> bool:
    return _is_system(actor) or getattr(actor, "role", "") in READ_ROLES


def check_may_act(actor: Any, institution: Institution, *, supplying: bool = False) -> None:
    """The caller keeps ``institution``'s stock: a village doctor only their own clinic; township and
    county staff any institution inside their entry scope. ``supplying``: approving, shipping, buying."""
    if _is_system(actor):
        return
    role = getattr(actor, "role", "")
    if role not in (SUPPLYING_ROLES if supplying else STOCK_ROLES):
        raise PermissionDenied()
    if role == Role.VILLAGE_DOCTOR and getattr(actor, "institution_id", None) != institution.pk:
        raise PermissionDenied(_("村医只能管理本村卫生室的药品。"))
    if not scope.covers(actor, institution.path, mode="entry"):
        raise PermissionDenied(_("%(institution)s 不在您的管理范围内。") % {"institution": institution.name})


def institution_for(actor: Any, institution_id: int) -> Institution:
    """An institution inside the caller's view scope (404 otherwise)."""
    return scope.get_visible(actor, Institution.objects.all(), pk=institution_id)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


# ---------------------------------------------------------------- input


def _invalid(field: str, reason: Any) -> StockInputInvalid:
    return StockInputInvalid(field=field, reason=reason)


def quantity_of(value: Any, field: str, *, allow_zero: bool = False) -> int:
    """A whole number of units, positive (or zero when allowed); refused naming ``field`` otherwise."""
    if isinstance(value, bool):
        raise _invalid(field, _("应为整数"))
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _invalid(field, _("应为整数：%(value)s") % {"value": value}) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise _invalid(field, _("应为整数：%(value)s") % {"value": value})
    if number < 0:
        raise _invalid(field, _("数量不能为负数：%(value)s") % {"value": value})
    if number == 0 and not allow_zero:
        raise _invalid(field, _("数量应大于 0"))
    if number > MAX_QUANTITY:
        raise _invalid(field, _("数量过大：%(value)s") % {"value": value})
    return int(number)


def _date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise _invalid(field, _("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": value}) from None


def medicine_of(code_or_id: Any, field: str, day: dt.date) -> Medicine:
    """An item of the catalogue in force on ``day``, by code (or id); refused naming ``field`` otherwise."""
    if isinstance(code_or_id, Medicine):
        medicine: Medicine | None = code_or_id
    elif isinstance(code_or_id, int):
        medicine = Medicine.objects.filter(pk=code_or_id).first()
    else:
        medicine = Medicine.objects.filter(code=str(code_or_id or "").strip()).first()
    if medicine is None or not Medicine.objects.filter(on_day(day), pk=medicine.pk).exists():
        raise NotInCatalogue(item=str(code_or_id), catalogue=_("药品目录"), field=field)
    return medicine


def _check_listed(medicine: Medicine, institution: Institution, day: dt.date, field: str) -> None:
    if medicine.pk not in formulary(institution.tier, day):
        tier = Tier(institution.tier).label
        raise NotInCatalogue(item=medicine.label, catalogue=_("%(tier)s机构用药目录") % {"tier": tier}, field=field)


def _number(row: Any, day: dt.date) -> None:
    """Give a new document its number: prefix, year and id (RQ2026000123)."""
    row.number = f"{DOCUMENTS[row._meta.label_lower]}{day.year}{row.pk:06d}"
    row.save(update_fields=["number"])


def _placeholder() -> str:
    return f"tmp-{uuid.uuid4().hex}"[:32]


def _audit(actor: Any, action: str, row: Any, path: str, request: Any, **detail: Any) -> None:
    audit.record(user=actor, action=action, object_type=row._meta.label_lower, object_id=row.pk, path=path,
                 request=request, detail=detail)


# ---------------------------------------------------------------- the ledger


def _holding(institution: Institution, batch: Batch) -> Holding:
    holding, _created = Holding.objects.get_or_create(
        institution=institution, batch=batch, defaults={"medicine_id": batch.medicine_id, "path": institution.path})
    return holding


def _lock(institution: Institution, medicine_ids: Iterable[int]) -> None:
    """Lock the institution's holdings of these items, in one order (item, batch) so that no two
    writers wait on each other; a long wait is reported as busy, never as a stack trace."""
    try:
        list(Holding.objects.select_for_update().filter(institution=institution, medicine_id__in=list(medicine_ids))
             .order_by("medicine_id", "batch_id").values_list("pk", flat=True))
    except OperationalError as exc:
        raise StockBusy() from exc


def _move(actor: Any, institution: Institution, batch: Batch, kind: str, quantity: int, day: dt.date,
          **links: Any) -> Movement:
    sign = SIGN[kind]
    if quantity == 0 or (sign and (quantity > 0) != (sign > 0)):
        raise _invalid("quantity", _("%(kind)s 的数量符号不对：%(quantity)s") % {
            "kind": MovementKind(kind).label, "quantity": quantity})
    _holding(institution, batch)
    return Movement.objects.create(
        institution=institution, path=institution.path, batch=batch, medicine_id=batch.medicine_id, kind=kind,
        quantity=quantity, unit_price=batch.unit_price, amount=(batch.unit_price * quantity).quantize(CENT),
        moved_on=day, created_by=_user(actor), **links)


def fefo(institution: Institution, medicine: Medicine, quantity: int, day: dt.date) -> list[tuple[Batch, int]]:
    """Take ``quantity`` first-expiry-first-out from the usable (unexpired) batches; the caller holds the
    lock. :class:`OutOfStock` when they do not hold enough."""
    balances = batch_balances(institution.pk, medicine_ids=[medicine.pk])
    batches = Batch.objects.filter(pk__in=[pk for pk, q in balances.items() if q > 0], expiry__gte=day)
    taken: list[tuple[Batch, int]] = []
    left = quantity
    for batch in batches.order_by("expiry", "pk"):
        if left == 0:
            break
        take = min(left, balances[batch.pk])
        taken.append((batch, take))
        left -= take
    if left:
        raise OutOfStock(institution=institution.name, item=medicine.label, wanted=quantity,
                         available=quantity - left, field=f"medicine:{medicine.code}")
    return taken


@dataclass(frozen=True)
class ReceiptItem:
    """One line of a delivery: the item, its lot and expiry, how many, and the price if not contracted."""

    medicine: Any
    lot: str
    expiry: Any
    quantity: Any
    unit_price: Any = None
    manufacturer: str = ""


def _batch(item: ReceiptItem, medicine: Medicine, day: dt.date, prefix: str) -> tuple[Batch, int]:
    lot = str(item.lot or "").strip()
    if not lot or len(lot) > 32:
        raise _invalid(f"{prefix}lot", _("批号必填，最长 32 个字符"))
    expiry = _date(item.expiry, f"{prefix}expiry")
    if expiry <= day:
        raise _invalid(f"{prefix}expiry", _("有效期 %(expiry)s 已过或当日到期，不能入库") % {"expiry": expiry})
    quantity = quantity_of(item.quantity, f"{prefix}quantity")
    price = price_on(medicine, day)
    if item.unit_price not in (None, ""):
        try:
            unit_price = Decimal(str(item.unit_price))
        except (InvalidOperation, ValueError):
            raise _invalid(f"{prefix}unit_price", _("应为金额：%(value)s") % {"value": item.unit_price}) from None
        if not unit_price.is_finite() or unit_price <= 0:
            raise _invalid(f"{prefix}unit_price", _("单价应大于 0"))
    elif price is not None:
        unit_price = price.unit_price
    else:
        raise NoContract(item=medicine.label, date=day, field=f"{prefix}unit_price")
    batch = Batch.objects.filter(medicine=medicine, lot=lot).first()
    if batch is None:
        try:
            with transaction.atomic():
                batch = Batch.objects.create(medicine=medicine, lot=lot, expiry=expiry,
                                             unit_price=unit_price.quantize(Decimal("0.0001")),
                                             manufacturer=str(item.manufacturer or "")[:200],
                                             supplier=price.supplier if price else None)
        except IntegrityError:
            batch = Batch.objects.get(medicine=medicine, lot=lot)
    if batch.expiry != expiry:
        raise _invalid(f"{prefix}expiry", _("批号 %(lot)s 已登记的有效期为 %(expiry)s") % {
            "lot": lot, "expiry": batch.expiry})
    return batch, quantity


@transaction.atomic
def receive(actor: Any, institution: Institution, items: Sequence[ReceiptItem], *, day: dt.date | None = None,
            document: str = "", note: str = "", request: Any = None) -> list[Movement]:
    """采购入库 outside a purchase order (opening stock, an emergency purchase): all lines or none."""
    check_may_act(actor, institution)
    day = day or clock.today()
    if not items:
        raise _invalid("items", _("至少一行"))
    movements = []
    for index, item in enumerate(items):
        prefix = f"items[{index}]."
        medicine = medicine_of(item.medicine, f"{prefix}medicine", day)
        _check_listed(medicine, institution, day, f"{prefix}medicine")
        batch, quantity = _batch(item, medicine, day, prefix)
        movements.append(_move(actor, institution, batch, MovementKind.RECEIPT, quantity, day,
                               document=document[:32], note=note[:200]))
    audit.record(user=actor, action=AuditAction.CREATE, object_type="medicines.receipt", object_id=document,
                 path=institution.path, request=request,
                 detail={"institution": institution.code, "lines": len(movements)})
    return movements


@transaction.atomic
def write_off(actor: Any, institution: Institution, batch_id: int, quantity: Any, *, reason: str,
              note: str = "", day: dt.date | None = None, request: Any = None) -> Movement:
    """报损: take a batch's expired or damaged units out of stock (never more than it holds)."""
    check_may_act(actor, institution)
    day = day or clock.today()
    if reason not in WriteOffReason.values:
        raise _invalid("reason", _("应为 %(values)s") % {"values": " / ".join(WriteOffReason.values)})
    count = quantity_of(quantity, "quantity")
    batch = Batch.objects.filter(pk=batch_id).select_related("medicine").first()
    if batch is None:
        raise NotFound()
    _lock(institution, [batch.medicine_id])
    held = batch_balances(institution.pk, medicine_ids=[batch.medicine_id]).get(batch.pk, 0)
    if count > held:
        raise OutOfStock(institution=institution.name, item=f"{batch.medicine.label} {batch.lot}", wanted=count,
                         available=held, field="quantity")
    movement = _move(actor, institution, batch, MovementKind.WRITE_OFF, -count, day, reason=reason, note=note[:200])
    audit.record(user=actor, action=AuditAction.CREATE, object_type="medicines.movement", object_id=movement.pk,
                 path=institution.path, request=request,
                 detail={"kind": "write_off", "batch": batch.lot, "quantity": count, "reason": reason})
    return movement


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


def _require_status(document: Any, action: Any, *statuses: str) -> None:
    if document.status not in statuses:
        raise WrongStatus(document=document.number, status=document.get_status_display(), action=action)


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


# ---------------------------------------------------------------- prescriptions and dispensing


@dataclass(frozen=True)
class PrescribedItem:
    medicine: Any
    quantity: Any
    usage: str = ""
    days: Any = None


@transaction.atomic
def prescribe(actor: Any, encounter_id: int, items: Sequence[PrescribedItem], *, prescriber: str = "",
              request: Any = None) -> Prescription:
    """开处方 for an encounter at an institution of the county: items of the catalogue, whole quantities."""
    encounter = scope.get_visible(actor, Encounter.objects.select_related("institution"),
                                  path_field=("path", "institution_path"), pk=encounter_id)
    if encounter.institution is None:
        raise _invalid("encounter", _("县外就诊不能在本系统开处方"))
    check_may_act(actor, encounter.institution)
    day = encounter.start_date
    if not items:
        raise _invalid("items", _("至少一种药品"))
    lines = []
    for index, item in enumerate(items):
        prefix = f"items[{index}]."
        medicine = medicine_of(item.medicine, f"{prefix}medicine", day)
        days = None
        if item.days not in (None, ""):
            days = quantity_of(item.days, f"{prefix}days")
            if days > 366:
                raise _invalid(f"{prefix}days", _("天数过大"))
        lines.append(PrescriptionLine(medicine=medicine, quantity=quantity_of(item.quantity, f"{prefix}quantity"),
                                      usage=str(item.usage or "")[:100], days=days))
    prescription = Prescription.objects.create(
        number=_placeholder(), encounter=encounter, resident_id=encounter.resident_id, path=encounter.path,
        institution=encounter.institution, institution_path=encounter.institution.path, prescribed_on=day,
        prescriber=(prescriber or encounter.clinician_name or getattr(actor, "get_full_name", lambda: "")() or
                    getattr(actor, "username", ""))[:50], created_by=_user(actor))
    _number(prescription, day)
    for line in lines:
        line.prescription = prescription
    PrescriptionLine.objects.bulk_create(lines)
    _audit(actor, AuditAction.CREATE, prescription, prescription.path, request, number=prescription.number,
           encounter=encounter.pk, lines=len(lines))
    return prescription


@transaction.atomic
def dispense(actor: Any, prescription_id: int, *, day: dt.date | None = None, request: Any = None) -> Prescription:
    """发药: every line first-expiry-first-out at the batches' price (零差率), all lines or none.

    Refused: an item not on the institution tier's list, not enough unexpired stock, a prescription
    already dispensed or cancelled."""
    try:
        prescription = scope.get_visible(actor, Prescription.objects.select_for_update(), path_field=BOTH_PATHS,
                                         pk=prescription_id)
    except OperationalError as exc:
        raise StockBusy() from exc
    institution = Institution.objects.get(pk=prescription.institution_id)
    check_may_act(actor, institution)
    _require_status(prescription, _("发药"), PrescriptionStatus.OPEN)
    day = day or clock.today()
    lines = list(prescription.lines.select_related("medicine"))
    for index, line in enumerate(lines):
        _check_listed(line.medicine, institution, day, f"items[{index}].medicine")
    _lock(institution, sorted({line.medicine_id for line in lines}))
    amount = essential = Decimal("0")
    for line in lines:
        line.amount = Decimal("0")
        for batch, quantity in fefo(institution, line.medicine, line.quantity, day):
            movement = _move(actor, institution, batch, MovementKind.DISPENSE, -quantity, day,
                             document=prescription.number, prescription_line=line)
            line.amount -= movement.amount
        line.save(update_fields=["amount"])
        amount += line.amount
        if line.medicine.essential:
            essential += line.amount
    prescription.status, prescription.amount, prescription.essential_amount = (
        PrescriptionStatus.DISPENSED, amount, essential)
    prescription.dispensed_at, prescription.dispensed_by = timezone.now(), _user(actor)
    prescription.save(update_fields=["status", "amount", "essential_amount", "dispensed_at", "dispensed_by"])
    _audit(actor, AuditAction.UPDATE, prescription, prescription.path, request, status="dispensed",
           amount=str(amount))
    return prescription


@transaction.atomic
def prescription_cancel(actor: Any, prescription_id: int, *, request: Any = None) -> Prescription:
    prescription = scope.get_visible(actor, Prescription.objects.select_for_update(), path_field=BOTH_PATHS,
                                     pk=prescription_id)
    check_may_act(actor, Institution.objects.get(pk=prescription.institution_id))
    _require_status(prescription, _("作废"), PrescriptionStatus.OPEN)
    prescription.status = PrescriptionStatus.CANCELLED
    prescription.save(update_fields=["status"])
    _audit(actor, AuditAction.UPDATE, prescription, prescription.path, request, status="cancelled")
    return prescription


@transaction.atomic
def return_dispensed(actor: Any, line_id: int, quantity: Any, *, day: dt.date | None = None,
                     request: Any = None) -> list[Movement]:
    """退药: units of a dispensed line come back into the batches they left (latest-expiry first)."""
    line = PrescriptionLine.objects.select_related("prescription", "medicine").filter(
        pk=line_id, prescription__in=prescriptions_visible(actor)).first()
    if line is None:
        raise NotFound()
    prescription = Prescription.objects.select_for_update().get(pk=line.prescription_id)
    institution = Institution.objects.get(pk=prescription.institution_id)
    check_may_act(actor, institution)
    _require_status(prescription, _("退药"), PrescriptionStatus.DISPENSED)
    day = day or clock.today()
    count = quantity_of(quantity, "quantity")
    net = dict(line.movements.values_list("batch_id").annotate(q=Sum("quantity")).order_by())
    out = -sum(net.values())
    if count > out:
        raise _invalid("quantity", _("退药数量超过实发数量 %(dispensed)s") % {"dispensed": out})
    movements = []
    for batch in Batch.objects.filter(pk__in=[pk for pk, q in net.items() if q < 0]).order_by("-expiry", "-pk"):
        if count == 0:
            break
        back = min(count, -net[batch.pk])
        movements.append(_move(actor, institution, batch, MovementKind.RETURN, back, day, document=prescription.number,
                               prescription_line=line))
        count -= back
    refund = sum((movement.amount for movement in movements), Decimal("0"))
    line.amount -= refund
    line.save(update_fields=["amount"])
    prescription.amount -= refund
    if line.medicine.essential:
        prescription.essential_amount -= refund
    prescription.save(update_fields=["amount", "essential_amount"])
    _audit(actor, AuditAction.UPDATE, prescription, prescription.path, request, returned=str(refund))
    return movements


# ---------------------------------------------------------------- stock takes


@transaction.atomic
def stocktake_start(actor: Any, institution: Institution, *, day: dt.date | None = None,
                    request: Any = None) -> StockTake:
    """盘点: one line per batch the ledger says the institution holds, with that quantity."""
    check_may_act(actor, institution)
    day = day or clock.today()
    if StockTake.objects.filter(institution=institution, status=StockTakeStatus.OPEN).exists():
        raise WrongStatus(document=institution.name, status=StockTakeStatus.OPEN.label, action=_("再开始盘点"))
    take = StockTake.objects.create(number=_placeholder(), institution=institution, path=institution.path,
                                    taken_on=day, created_by=_user(actor))
    _number(take, day)
    balances = batch_balances(institution.pk)
    StockTakeLine.objects.bulk_create(StockTakeLine(stock_take=take, batch_id=batch_id, expected=quantity)
                                      for batch_id, quantity in sorted(balances.items()) if quantity)
    _audit(actor, AuditAction.CREATE, take, institution.path, request, number=take.number, lines=len(balances))
    return take


def _locked_take(actor: Any, take_id: int) -> StockTake:
    return scope.get_visible(actor, StockTake.objects.select_for_update().select_related("institution"), pk=take_id)


@transaction.atomic
def stocktake_count(actor: Any, take_id: int, counts: Mapping[Any, Any], *, request: Any = None) -> StockTake:
    """Record counts (line id → units counted); a blank count is left uncounted."""
    take = _locked_take(actor, take_id)
    check_may_act(actor, take.institution)
    _require_status(take, _("录入盘点数"), StockTakeStatus.OPEN)
    lines = {line.pk: line for line in take.lines.all()}
    for key, value in counts.items():
        line = lines.get(int(key)) if str(key).isdigit() else None
        if line is None:
            raise _invalid(f"counts[{key}]", _("不是该盘点单的明细"))
        line.counted = None if value in (None, "") else quantity_of(value, f"counts[{key}]", allow_zero=True)
    StockTakeLine.objects.bulk_update(lines.values(), ["counted"])
    return take


@transaction.atomic
def stocktake_post(actor: Any, take_id: int, *, request: Any = None) -> StockTake:
    """过账: each difference (counted − the ledger's quantity when the take began) is an adjustment.
    Every line must be counted; the adjusted balance may not fall below zero."""
    take = _locked_take(actor, take_id)
    institution = take.institution
    check_may_act(actor, institution)
    _require_status(take, _("过账"), StockTakeStatus.OPEN)
    lines = list(take.lines.select_related("batch__medicine"))
    for line in lines:
        if line.counted is None:
            raise _invalid(f"counts[{line.pk}]", _("%(item)s 批号 %(lot)s 尚未录入实盘数量") % {
                "item": line.batch.medicine.label, "lot": line.batch.lot})
    _lock(institution, sorted({line.batch.medicine_id for line in lines}))
    balances = batch_balances(institution.pk)
    for line in lines:
        difference = (line.counted or 0) - line.expected
        if not difference:
            continue
        if balances.get(line.batch_id, 0) + difference < 0:
            raise OutOfStock(institution=institution.name, item=f"{line.batch.medicine.label} {line.batch.lot}",
                             wanted=-difference, available=balances.get(line.batch_id, 0), field=f"counts[{line.pk}]")
        _move(actor, institution, line.batch, MovementKind.ADJUSTMENT, difference, take.taken_on, stock_take=take,
              document=take.number)
    take.status, take.posted_at, take.posted_by = StockTakeStatus.POSTED, timezone.now(), _user(actor)
    take.save(update_fields=["status", "posted_at", "posted_by"])
    _audit(actor, AuditAction.UPDATE, take, take.path, request, status="posted")
    return take


# ---------------------------------------------------------------- the ledger check


@dataclass
class LedgerCheck:
    """What :func:`ledger_check` found: holdings below zero, movements whose sign, amount or document
    is wrong, transfers received that differ from what was shipped."""

    negative: list[tuple[int, int, int]] = field(default_factory=list)  # (institution, batch, quantity)
    bad_amount: list[int] = field(default_factory=list)
    unmatched_transfers: list[int] = field(default_factory=list)  # requisition lines

    @property
    def ok(self) -> bool:
        return not (self.negative or self.bad_amount or self.unmatched_transfers)


def ledger_check() -> LedgerCheck:
    """Check the whole ledger: no batch below zero anywhere (the running balance, in the order written),
    every amount = quantity × price, and a received transfer brought in exactly what went out."""
    check = LedgerCheck()
    running: dict[tuple[int, int], int] = defaultdict(int)
    rows = Movement.objects.order_by("pk").values_list("pk", "institution_id", "batch_id", "quantity", "unit_price",
                                                       "amount")
    for pk, institution_id, batch_id, quantity, unit_price, amount in rows.iterator(chunk_size=20_000):
        running[(institution_id, batch_id)] += quantity
        if running[(institution_id, batch_id)] < 0:
            check.negative.append((institution_id, batch_id, running[(institution_id, batch_id)]))
        if (unit_price * quantity).quantize(CENT) != amount:
            check.bad_amount.append(pk)
    transfers = (Movement.objects.filter(requisition_line__requisition__status=RequisitionStatus.RECEIVED,
                                         kind__in=[MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN])
                 .values_list("requisition_line_id", "batch_id").annotate(q=Sum("quantity")).order_by())
    check.unmatched_transfers = sorted({line_id for line_id, _batch, quantity in transfers if quantity})
    return check
