"""Writes of the medicines app: the stock ledger — every change of stock is a :class:`~.models.Movement`,
written by :func:`_move` alone, which also keeps the holding's balance and the month's use.

- **Who may act** (:func:`check_may_act`) and **input** (quantities, dates, catalogue items named by field).
- **Receipts** (:func:`receive`): an item of the catalogue, a lot with an expiry after the day, a positive
  whole quantity, at the contracted price (零差率: sold at it). **Write-offs** (:func:`write_off`).
- **FEFO** (:func:`fefo`), used by shipping (:mod:`.services_flow`) and dispensing
  (:mod:`.services_dispensing`).
- **Stock takes** (:func:`stocktake_start`, :func:`stocktake_count`, :func:`stocktake_post`) and the
  **ledger check** (:func:`ledger_check`); :func:`rebuild_sums` after rows written in bulk.

Requisitions and procurement are in :mod:`.services_flow`, prescriptions and dispensing in
:mod:`.services_dispensing`.

Stock never goes negative: every movement that takes stock locks the institution's :class:`Holding`
rows of the item (ordered by item, then batch) and re-reads the balance under the lock, so two
dispensings of the last box queue and the second is told it is gone. Every step is atomic and
audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum, Window
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.accounts.models import Role
from yigongti.core import audit, clock, scope
from yigongti.core.errors import NotFound, PermissionDenied
from yigongti.core.models import AuditAction
from yigongti.registry.choices import Tier
from yigongti.registry.models import Institution

from . import sums
from .choices import (
    SIGN,
    MovementKind,
    RequisitionStatus,
    StockTakeStatus,
    WriteOffReason,
)
from .errors import NoContract, NotInCatalogue, OutOfStock, StockBusy, StockInputInvalid, WrongStatus
from .models import (
    Batch,
    Holding,
    Medicine,
    MonthlyUse,
    Movement,
    StockTake,
    StockTakeLine,
)
from .selectors import batch_balances, formulary, on_day, price_on

# Who keeps stock: village doctors at their clinic, township staff at their centre and its clinics,
# the county hospital (its pharmacy buys for the 医共体). The health commission reads only.
STOCK_ROLES = (Role.VILLAGE_DOCTOR, Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR, Role.COUNTY_CLINICIAN, Role.ADMIN)
READ_ROLES = (*STOCK_ROLES, Role.HEALTH_COMMISSION)
# Who approves and ships what another institution asked for, and buys for the county.
SUPPLYING_ROLES = (Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR, Role.COUNTY_CLINICIAN, Role.ADMIN)
MAX_QUANTITY = 1_000_000
CENT = Decimal("0.01")
HALF_FEN = Decimal("0.005001")  # a correctly rounded amount is within half a fen of quantity × price
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
    holding = _holding(institution, batch)
    movement = Movement.objects.create(
        institution=institution, path=institution.path, batch=batch, medicine_id=batch.medicine_id, kind=kind,
        quantity=quantity, unit_price=batch.unit_price, amount=(batch.unit_price * quantity).quantize(CENT),
        moved_on=day, created_by=_user(actor), **links)
    _sums_add(holding, movement, institution)
    return movement


def _sums_add(holding: Holding, movement: Movement, institution: Institution) -> None:
    """Add the movement to the holding's balance and, for dispensing and returns, to the month's use.
    The balance may not fall below zero (a database check): were the lock ever skipped, the second
    taker of the last box is still refused, never left below zero."""
    added = Holding.objects.filter(pk=holding.pk)
    if movement.quantity > 0:
        added.update(quantity=F("quantity") + movement.quantity)
    else:
        try:
            with transaction.atomic():
                added.update(quantity=F("quantity") + movement.quantity)
        except IntegrityError as exc:
            batch = movement.batch
            raise OutOfStock(institution=institution.name, item=f"{batch.medicine.label} {batch.lot}",
                             wanted=-movement.quantity, available=added.values_list("quantity", flat=True).first() or 0,
                             field="quantity") from exc
    if movement.kind in sums.USE_KINDS:
        sums.use_add(MonthlyUse, institution.pk, movement.medicine_id, movement.moved_on, -movement.quantity,
                     -movement.amount)


def rebuild_sums(institution_ids: Iterable[int] | None = None) -> None:
    """Recompute the balances and monthly use from the movements, after rows were written in bulk."""
    sums.rebuild(Holding, Movement, MonthlyUse, institution_ids)


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


def _require_status(document: Any, action: Any, *statuses: str) -> None:
    if document.status not in statuses:
        raise WrongStatus(document=document.number, status=document.get_status_display(), action=action)


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
    """What :func:`ledger_check` found: holdings below zero, movements whose amount is wrong, transfers
    received that differ from what was shipped, and kept sums that differ from the movements."""

    negative: list[tuple[int, int, int]] = field(default_factory=list)  # (institution, batch, quantity)
    bad_amount: list[int] = field(default_factory=list)
    unmatched_transfers: list[int] = field(default_factory=list)  # requisition lines
    stale_balances: list[tuple[int, int, int, int]] = field(default_factory=list)  # (institution, batch, kept, sum)
    stale_use: list[tuple[int, int, dt.date]] = field(default_factory=list)  # (institution, item, month)

    @property
    def ok(self) -> bool:
        return not (self.negative or self.bad_amount or self.unmatched_transfers or self.stale_balances
                    or self.stale_use)


def ledger_check() -> LedgerCheck:
    """Check the whole ledger in the database: no batch below zero anywhere at any point (the running
    balance, in the order written), every amount = quantity × price (to the fen), a received transfer
    brought in exactly what went out, and the kept balances and monthly use equal the movements."""
    check = LedgerCheck()
    running = Window(Sum("quantity"), partition_by=[F("institution_id"), F("batch_id")], order_by=F("pk").asc())
    check.negative = list(Movement.objects.annotate(running=running).filter(running__lt=0).order_by("pk")
                          .values_list("institution_id", "batch_id", "running"))
    # amount is quantity × price rounded to the fen: within half a fen of it (either way at an exact half)
    gap = ExpressionWrapper(F("amount") - F("quantity") * F("unit_price"),
                            output_field=DecimalField(max_digits=20, decimal_places=4))
    check.bad_amount = list(Movement.objects.annotate(gap=gap).filter(
        Q(gap__gt=HALF_FEN) | Q(gap__lt=-HALF_FEN)).order_by("pk").values_list("pk", flat=True))
    transfers = (Movement.objects.filter(requisition_line__requisition__status=RequisitionStatus.RECEIVED,
                                         kind__in=[MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN])
                 .values_list("requisition_line_id", "batch_id").annotate(q=Sum("quantity")).order_by())
    check.unmatched_transfers = sorted({line_id for line_id, _batch, quantity in transfers if quantity})
    totals = {(inst, batch): total for inst, batch, total in Movement.objects.values_list(
        "institution_id", "batch_id").annotate(total=Sum("quantity")).order_by()}
    for inst, batch, kept in Holding.objects.values_list("institution_id", "batch_id", "quantity"):
        total = totals.pop((inst, batch), 0)
        if kept != total:
            check.stale_balances.append((inst, batch, kept, total))
    check.stale_balances += [(inst, batch, 0, total) for (inst, batch), total in totals.items()]  # no holding
    used = {(inst, med, month): (q, a) for month, inst, med, q, a in sums.monthly_use(Movement.objects.all())}
    for inst, med, month, q, a in MonthlyUse.objects.values_list("institution_id", "medicine_id", "month",
                                                                 "quantity", "amount"):
        if used.pop((inst, med, month), (0, Decimal("0"))) != (q, a):
            check.stale_use.append((inst, med, month))
    check.stale_use += [key for key, (q, a) in used.items() if q or a]
    check.stale_balances.sort()
    check.stale_use.sort()
    return check
