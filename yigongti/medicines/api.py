"""``/api/v1/medicines`` — the catalogue, stock and its movements, alerts, requisitions (请领), purchase
orders (统一采购), prescriptions (处方 and 发药 at 零差率) and the two reports.

Thin: each route validates its input and calls one service or selector with the caller. An institution
(``org``: its code), a document or a prescription outside the caller's scope is 404 exactly like one that
does not exist; a prescription read is audited. Quantities are whole units of the item's unit; amounts
are strings with two decimals (prices four). Errors are problem details with ``field`` when one input is
at fault: 403 not allowed, 409 out of stock / wrong status / no contract, 422 invalid.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status

from yigongti.core import audit, clock, scope
from yigongti.core.api import PROBLEMS, WRITE_PROBLEMS, Page, PageParams, Problem, caller, domain_problem, page_of
from yigongti.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from yigongti.core.tree import subtree_q
from yigongti.registry.choices import Tier
from yigongti.registry.models import Institution

from . import selectors, services, services_dispensing, services_flow
from .api_schemas import (
    AlertOut,
    AlertQuery,
    ApproveIn,
    CatalogueItemOut,
    CatalogueQuery,
    ConsolidateIn,
    ConsolidationOut,
    ConsumptionOut,
    EssentialOut,
    MovementOut,
    MovementQuery,
    NoteIn,
    OrderFilters,
    OrderOut,
    OrgQuery,
    PrescriptionIn,
    PrescriptionOut,
    ReceiveOrderIn,
    ReportQuery,
    RequisitionFilters,
    RequisitionIn,
    RequisitionOut,
    ReturnIn,
    ShipIn,
    StockOut,
)
from .choices import OrderStatus, RequisitionStatus
from .models import (
    Batch,
    FormularyEntry,
    Medicine,
    Movement,
    Prescription,
    PurchaseOrder,
    Requisition,
)

router = Router(tags=["medicines"])
ACT_PROBLEMS: dict[int, type[Problem]] = {**WRITE_PROBLEMS, 403: Problem}
READ_PROBLEMS: dict[int, type[Problem]] = {**PROBLEMS, 403: Problem}
CENT = Decimal("0.01")


# ---------------------------------------------------------------- helpers


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def _pk(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise NotFound()
    return int(value)


def _reader(request: HttpRequest) -> Any:
    user = caller(request)
    if not services.may_read(user):
        raise PermissionDenied()
    return user


def _org(user: Any, code: str, *, field: str = "org") -> Institution:
    """The institution of ``code`` inside the caller's scope (404 outside), else the caller's own."""
    code = code.strip()
    if code:
        return scope.get_visible(user, Institution.objects.all(), code=code)
    own = getattr(user, "institution_id", None)
    found = selectors.institutions_visible(user).filter(pk=own).first() if own else None
    if found is None:
        raise ValidationFailed(field=field, reason=_("请指定机构代码"))
    return found


def _subtree(user: Any, code: str) -> QuerySet[Institution]:
    """The institutions in scope, narrowed to ``code`` and those below it when given."""
    institutions = selectors.institutions_visible(user)
    if code.strip():
        root = scope.get_visible(user, Institution.objects.all(), code=code.strip())
        institutions = institutions.filter(subtree_q(root.path, "path"))
    return institutions.order_by("path", "code")


def _year(value: int | None) -> int:
    if value is None:
        return clock.today().year
    if not 2000 <= value <= clock.today().year + 1:
        raise ValidationFailed(field="year", reason=_("年度应在 2000 年至明年之间"))
    return value


def _status(value: str, choices: Any) -> str:
    if value and value not in choices.values:
        raise ValidationFailed(field="status", reason=_("应为 %(values)s") % {"values": " / ".join(choices.values)})
    return value


def medicine_out(m: Medicine, day: dt.date) -> dict[str, Any]:
    entries = FormularyEntry.objects.filter(selectors.on_day(day), medicine=m).order_by("tier")
    price = selectors.price_on(m, day)
    return {
        "code": m.code, "national_code": m.national_code, "generic_name": m.generic_name, "name_en": m.name_en,
        "dosage_form": m.dosage_form, "strength": m.strength, "pack": m.pack, "unit": m.unit,
        "drug_class": m.drug_class, "category": m.category, "atc": m.atc, "essential": m.essential,
        "tiers": {e.tier: [e.reorder_level, e.target_level] for e in entries},
        "unit_price": str(price.unit_price) if price else None, "supplier": price.supplier.code if price else None,
    }


def _line_status(line: selectors.StockLine) -> str:
    if not line.listed:
        return "unlisted"
    return "out" if line.out else "low" if line.low else "ok"


def stock_line_out(line: selectors.StockLine, day: dt.date) -> dict[str, Any]:
    return {
        "medicine": line.medicine.code, "name": line.medicine.label, "unit": line.medicine.unit,
        "essential": line.medicine.essential, "listed": line.listed, "on_hand": line.on_hand, "usable": line.usable,
        "expired": line.expired, "expiring": line.expiring, "value": _money(line.value),
        "nearest_expiry": line.nearest_expiry, "reorder_level": line.reorder_level,
        "target_level": line.target_level, "status": _line_status(line), "suggested": line.suggested,
        "batches": [_batch_out(b, q, day) for b, q in line.batches],
    }


def _batch_out(batch: Batch, quantity: int, day: dt.date) -> dict[str, Any]:
    return {"id": batch.pk, "lot": batch.lot, "expiry": batch.expiry, "unit_price": str(batch.unit_price),
            "quantity": quantity, "expired": batch.expiry < day}


def movement_out(m: Movement) -> dict[str, Any]:
    return {"id": m.pk, "moved_on": m.moved_on, "kind": m.kind, "medicine": m.medicine.code, "lot": m.batch.lot,
            "expiry": m.batch.expiry, "quantity": m.quantity, "unit_price": str(m.unit_price),
            "amount": _money(m.amount), "document": m.document,
            "counterpart": m.counterpart.code if m.counterpart else None, "reason": m.reason, "note": m.note}


def requisition_out(r: Requisition) -> dict[str, Any]:
    return {
        "id": r.pk, "number": r.number, "org": r.institution.code, "org_name": r.institution.name,
        "supplier": r.supplier.code, "supplier_name": r.supplier.name, "status": r.status, "note": r.note,
        "decision_note": r.decision_note, "created_at": r.created_at, "decided_at": r.decided_at,
        "shipped_at": r.shipped_at, "received_at": r.received_at,
        "lines": [{"id": line.pk, "medicine": line.medicine.code, "name": line.medicine.label,
                   "quantity": line.quantity, "approved": line.approved, "shipped": line.shipped,
                   "received": line.received} for line in r.lines.select_related("medicine")],
    }


def order_out(o: PurchaseOrder) -> dict[str, Any]:
    return {
        "id": o.pk, "number": o.number, "buyer": o.buyer.code, "supplier": o.supplier.code,
        "supplier_name": o.supplier.name, "status": o.status, "order_date": o.order_date, "total": _money(o.total),
        "lines": [{"id": line.pk, "medicine": line.medicine.code, "name": line.medicine.label,
                   "quantity": line.quantity, "unit_price": str(line.unit_price),
                   "amount": _money(line.unit_price * line.quantity), "deliver_to": line.deliver_to.code,
                   "received": line.received} for line in o.lines.select_related("medicine", "deliver_to")],
    }


def prescription_out(p: Prescription) -> dict[str, Any]:
    return {
        "id": p.pk, "number": p.number, "encounter_id": p.encounter_id, "record_no": p.resident.record_no,
        "patient_name": p.resident.name, "org": p.institution.code, "prescribed_on": p.prescribed_on,
        "prescriber": p.prescriber, "status": p.status, "amount": _money(p.amount),
        "essential_amount": _money(p.essential_amount),
        "lines": [{"id": line.pk, "medicine": line.medicine.code, "name": line.medicine.label,
                   "essential": line.medicine.essential, "quantity": line.quantity, "usage": line.usage,
                   "days": line.days, "amount": _money(line.amount)} for line in p.lines.select_related("medicine")],
    }


def _requisition(user: Any, pk: int) -> Requisition:
    return scope.get_visible(user, services_flow.requisitions_visible(user).select_related("institution", "supplier"),
                             path_field=("path", "supplier_path"), pk=pk)


def _order(user: Any, pk: int) -> PurchaseOrder:
    return scope.get_visible(user, services_flow.orders_visible(user).select_related("buyer", "supplier"), pk=pk)


def _prescription(request: HttpRequest, pk: int) -> dict[str, Any]:
    user = caller(request)
    prescription = scope.get_visible(
        user, selectors.prescriptions_visible(user).select_related("resident", "institution"),
        path_field=selectors.BOTH_PATHS, pk=pk)
    audit.read(user=user, objects=[prescription], request=request)
    return prescription_out(prescription)


# ---------------------------------------------------------------- catalogue, stock, movements, alerts


@router.get("/catalogue", response={200: list[CatalogueItemOut], **READ_PROBLEMS},
            summary="The catalogue in force (with each tier's levels and the contracted price)")
def catalogue(request: HttpRequest, params: Query[CatalogueQuery]) -> Any:
    try:
        _reader(request)
        if params.tier and params.tier not in Tier.values:
            raise ValidationFailed(field="tier", reason=_("应为 %(values)s") % {"values": " / ".join(Tier.values)})
    except DomainError as exc:
        return domain_problem(exc)
    day = params.date or clock.today()
    items = Medicine.objects.filter(selectors.on_day(day)).order_by("code")
    if params.tier:
        items = items.filter(pk__in=list(selectors.formulary(params.tier, day)))
    return [medicine_out(m, day) for m in items]


@router.get("/stock", response={200: StockOut, **READ_PROBLEMS},
            summary="An institution's stock: every item on its list or held, with batches first-expiry-first")
def stock(request: HttpRequest, params: Query[OrgQuery]) -> Any:
    try:
        user = _reader(request)
        institution = _org(user, params.org)
    except DomainError as exc:
        return domain_problem(exc)
    day = clock.today()
    lines = selectors.stock(institution, day, expiring_days=params.days)
    return {"org": institution.code, "org_name": institution.name, "date": day,
            "lines": [stock_line_out(line, day) for line in lines]}


@router.get("/movements", response={200: Page[MovementOut], **READ_PROBLEMS},
            summary="库存流水 of an institution, oldest first (paged)")
def movements(request: HttpRequest, filters: Query[MovementQuery], page: Query[PageParams]) -> Any:
    try:
        user = _reader(request)
        institution = _org(user, filters.org)
        queryset = Movement.objects.filter(institution=institution).select_related("medicine", "batch", "counterpart")
        if filters.medicine.strip():
            medicine = Medicine.objects.filter(code=filters.medicine.strip()).first()
            if medicine is None:
                raise ValidationFailed(field="medicine", reason=_("没有该药品编码：%(code)s") % {
                    "code": filters.medicine})
            queryset = queryset.filter(medicine=medicine)
    except DomainError as exc:
        return domain_problem(exc)
    if filters.since:
        queryset = queryset.filter(moved_on__gte=filters.since)
    if filters.until:
        queryset = queryset.filter(moved_on__lte=filters.until)
    result = page_of(queryset.order_by("moved_on", "pk"), page)
    return {**result, "items": [movement_out(m) for m in result["items"]]}


@router.get("/alerts", response={200: list[AlertOut], **READ_PROBLEMS},
            summary="Expired, out of stock, below the reorder level and expiring within `days`")
def alerts(request: HttpRequest, params: Query[AlertQuery]) -> Any:
    try:
        user = _reader(request)
        institutions = _subtree(user, params.org)
    except DomainError as exc:
        return domain_problem(exc)
    found = selectors.alerts(list(institutions), clock.today(), expiring_days=params.days)
    return [{"kind": a.kind, "org": a.institution.code, "org_name": a.institution.name, "medicine": a.medicine.code,
             "name": a.medicine.label, "quantity": a.quantity, "level": a.level, "expiry": a.expiry, "lot": a.lot,
             "since": a.since} for a in found]


# ---------------------------------------------------------------- requisitions


@router.get("/requisitions", response={200: Page[RequisitionOut], **READ_PROBLEMS},
            summary="Requisitions in scope (as requester or supplier), newest first")
def requisition_index(request: HttpRequest, filters: Query[RequisitionFilters], page: Query[PageParams]) -> Any:
    try:
        user = _reader(request)
        queryset = services_flow.requisitions_visible(user).select_related("institution", "supplier")
        if _status(filters.status, RequisitionStatus):
            queryset = queryset.filter(status=filters.status)
        if filters.org.strip():
            institution = scope.get_visible(user, Institution.objects.all(), code=filters.org.strip())
            queryset = queryset.filter(institution=institution) | queryset.filter(supplier=institution)
    except DomainError as exc:
        return domain_problem(exc)
    result = page_of(queryset.order_by("-created_at", "-pk"), page)
    return {**result, "items": [requisition_out(r) for r in result["items"]]}


@router.post("/requisitions", response={201: RequisitionOut, **ACT_PROBLEMS},
             summary="请领: ask the supplying institution (village → township centre → county hospital)")
def requisition_new(request: HttpRequest, data: RequisitionIn) -> Any:
    user = caller(request)
    try:
        institution = _org(user, data.org)
        requisition = services_flow.requisition_submit(user, institution, data.lines, note=data.note, request=request)
        out = requisition_out(_requisition(user, requisition.pk))
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201, out)


@router.get("/requisitions/{requisition_id}", response={200: RequisitionOut, **READ_PROBLEMS},
            summary="One requisition with its lines")
def requisition_detail(request: HttpRequest, requisition_id: str) -> Any:
    try:
        return requisition_out(_requisition(_reader(request), _pk(requisition_id)))
    except DomainError as exc:
        return domain_problem(exc)


def _step(request: HttpRequest, document_id: str, step: Any, out: Any) -> Any:
    """One step of a document's flow: ``step(user, pk)`` → the document as ``out(user, pk)`` reads it back."""
    user = caller(request)
    try:
        document = step(user, _pk(document_id))
        return out(user, document.pk)
    except DomainError as exc:
        return domain_problem(exc)


def _requisition_step(request: HttpRequest, requisition_id: str, step: Any) -> Any:
    return _step(request, requisition_id, step, lambda user, pk: requisition_out(_requisition(user, pk)))


@router.post("/requisitions/{requisition_id}/approve", response={200: RequisitionOut, **ACT_PROBLEMS},
             summary="审批: approve (per line, the asked quantity by default)")
def requisition_approve(request: HttpRequest, requisition_id: str, data: ApproveIn) -> Any:
    return _requisition_step(request, requisition_id, lambda user, pk: services_flow.requisition_decide(
        user, pk, approve=True, approved=data.approved, note=data.note, request=request))


@router.post("/requisitions/{requisition_id}/reject", response={200: RequisitionOut, **ACT_PROBLEMS},
             summary="驳回 (a note is required)")
def requisition_reject(request: HttpRequest, requisition_id: str, data: NoteIn) -> Any:
    return _requisition_step(request, requisition_id, lambda user, pk: services_flow.requisition_decide(
        user, pk, approve=False, note=data.note, request=request))


@router.post("/requisitions/{requisition_id}/ship", response={200: RequisitionOut, **ACT_PROBLEMS},
             summary="配送: first-expiry-first-out from the supplier's stock (`partial`: what is in stock)")
def requisition_ship(request: HttpRequest, requisition_id: str, data: ShipIn) -> Any:
    return _requisition_step(request, requisition_id, lambda user, pk: services_flow.requisition_ship(
        user, pk, partial=data.partial, request=request))


@router.post("/requisitions/{requisition_id}/receive", response={200: RequisitionOut, **ACT_PROBLEMS},
             summary="收货: the batches shipped come in")
def requisition_receive(request: HttpRequest, requisition_id: str) -> Any:
    return _requisition_step(request, requisition_id, lambda user, pk: services_flow.requisition_receive(
        user, pk, request=request))


@router.post("/requisitions/{requisition_id}/cancel", response={200: RequisitionOut, **ACT_PROBLEMS},
             summary="撤销 by the requester (while submitted)")
def requisition_cancel(request: HttpRequest, requisition_id: str) -> Any:
    return _requisition_step(request, requisition_id, lambda user, pk: services_flow.requisition_cancel(
        user, pk, request=request))


# ---------------------------------------------------------------- purchase orders


@router.post("/orders/consolidate", response={201: ConsolidationOut, **ACT_PROBLEMS},
             summary="统一采购: approved requisitions and the county's shortfall → one draft order per supplier")
def order_consolidate(request: HttpRequest, data: ConsolidateIn) -> Any:
    user = caller(request)
    try:
        buyer = _org(user, data.org)
        result = services_flow.consolidate(user, buyer, direct=data.direct, request=request)
        orders = [order_out(_order(user, o.pk)) for o in result.orders]
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201, {"orders": orders, "no_contract": [m.code for m in result.no_contract]})


@router.get("/orders", response={200: Page[OrderOut], **READ_PROBLEMS}, summary="Purchase orders in scope")
def order_index(request: HttpRequest, filters: Query[OrderFilters], page: Query[PageParams]) -> Any:
    try:
        queryset = services_flow.orders_visible(_reader(request)).select_related("buyer", "supplier")
        if _status(filters.status, OrderStatus):
            queryset = queryset.filter(status=filters.status)
    except DomainError as exc:
        return domain_problem(exc)
    result = page_of(queryset.order_by("-order_date", "-pk"), page)
    return {**result, "items": [order_out(o) for o in result["items"]]}


@router.get("/orders/{order_id}", response={200: OrderOut, **READ_PROBLEMS}, summary="One purchase order")
def order_detail(request: HttpRequest, order_id: str) -> Any:
    try:
        return order_out(_order(_reader(request), _pk(order_id)))
    except DomainError as exc:
        return domain_problem(exc)


def _order_step(request: HttpRequest, order_id: str, step: Any) -> Any:
    return _step(request, order_id, step, lambda user, pk: order_out(_order(user, pk)))


@router.post("/orders/{order_id}/approve", response={200: OrderOut, **ACT_PROBLEMS},
             summary="审批下单: the order goes to the supplier")
def order_approve(request: HttpRequest, order_id: str) -> Any:
    return _order_step(request, order_id, lambda user, pk: services_flow.order_decide(
        user, pk, approve=True, request=request))


@router.post("/orders/{order_id}/cancel", response={200: OrderOut, **ACT_PROBLEMS},
             summary="撤销 a draft order (its requisition lines may be ordered again)")
def order_cancel(request: HttpRequest, order_id: str) -> Any:
    return _order_step(request, order_id, lambda user, pk: services_flow.order_decide(
        user, pk, approve=False, request=request))


@router.post("/orders/{order_id}/receive", response={200: OrderOut, **ACT_PROBLEMS},
             summary="到货验收: delivered lots, never more than ordered (直送 completes the requisitions)")
def order_receive(request: HttpRequest, order_id: str, data: ReceiveOrderIn) -> Any:
    deliveries = [services_flow.Delivery(line_id=d.line_id, lot=d.lot, expiry=d.expiry, quantity=d.quantity,
                                         manufacturer=d.manufacturer) for d in data.deliveries]
    return _order_step(request, order_id, lambda user, pk: services_flow.receive_order(
        user, pk, deliveries, request=request))


# ---------------------------------------------------------------- prescriptions


@router.post("/prescriptions", response={201: PrescriptionOut, **ACT_PROBLEMS},
             summary="开处方 for an encounter (items of the catalogue, whole quantities)")
def prescription_new(request: HttpRequest, data: PrescriptionIn) -> Any:
    user = caller(request)
    try:
        items = [services_dispensing.PrescribedItem(medicine=i.medicine, quantity=i.quantity, usage=i.usage,
                                                    days=i.days) for i in data.items]
        prescription = services_dispensing.prescribe(user, data.encounter_id, items, prescriber=data.prescriber,
                                                     request=request)
        out = _prescription(request, prescription.pk)
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201, out)


@router.get("/prescriptions/{prescription_id}", response={200: PrescriptionOut, **PROBLEMS},
            summary="One prescription (audited)")
def prescription_detail(request: HttpRequest, prescription_id: str) -> Any:
    try:
        return _prescription(request, _pk(prescription_id))
    except DomainError as exc:
        return domain_problem(exc)


def _prescription_step(request: HttpRequest, prescription_id: str, step: Any) -> Any:
    return _step(request, prescription_id, step, lambda _user, pk: _prescription(request, pk))


@router.post("/prescriptions/{prescription_id}/dispense", response={200: PrescriptionOut, **ACT_PROBLEMS},
             summary="发药: first-expiry-first-out at the batches' price (零差率), all lines or none")
def prescription_dispense(request: HttpRequest, prescription_id: str) -> Any:
    return _prescription_step(request, prescription_id, lambda user, pk: services_dispensing.dispense(
        user, pk, request=request))


@router.post("/prescriptions/{prescription_id}/cancel", response={200: PrescriptionOut, **ACT_PROBLEMS},
             summary="作废 an open prescription")
def prescription_cancel(request: HttpRequest, prescription_id: str) -> Any:
    return _prescription_step(request, prescription_id, lambda user, pk: services_dispensing.prescription_cancel(
        user, pk, request=request))


@router.post("/prescriptions/{prescription_id}/return", response={200: PrescriptionOut, **ACT_PROBLEMS},
             summary="退药: units of a dispensed line back into the batches they left")
def prescription_return(request: HttpRequest, prescription_id: str, data: ReturnIn) -> Any:
    def step(user: Any, pk: int) -> Prescription:
        prescription = scope.get_visible(user, selectors.prescriptions_visible(user),
                                         path_field=selectors.BOTH_PATHS, pk=pk)
        if not prescription.lines.filter(pk=data.line_id).exists():
            raise ValidationFailed(field="line_id", reason=_("不是该处方的明细"))
        services_dispensing.return_dispensed(user, data.line_id, data.quantity, request=request)
        return prescription

    return _prescription_step(request, prescription_id, step)


# ---------------------------------------------------------------- reports


@router.get("/reports/consumption", response={200: list[ConsumptionOut], **READ_PROBLEMS},
            summary="月消耗: dispensed (net of returns) quantity and amount per month, institution and item")
def report_consumption(request: HttpRequest, params: Query[ReportQuery]) -> Any:
    try:
        user = _reader(request)
        year = _year(params.year)
        institutions = _subtree(user, params.org)
    except DomainError as exc:
        return domain_problem(exc)
    rows = selectors.consumption(institutions, dt.date(year, 1, 1), dt.date(year, 12, 31))
    codes = dict(Institution.objects.filter(pk__in={r.institution_id for r in rows}).values_list("pk", "code"))
    medicines = Medicine.objects.in_bulk({r.medicine_id for r in rows})
    return [{"month": r.month.strftime("%Y-%m"), "org": codes[r.institution_id],
             "medicine": medicines[r.medicine_id].code, "name": medicines[r.medicine_id].label,
             "quantity": r.quantity, "amount": _money(r.amount)} for r in rows]


@router.get("/reports/essential", response={200: list[EssentialOut], **READ_PROBLEMS},
            summary="基本药物使用占比 per institution: share of prescription lines and of drug income")
def report_essential(request: HttpRequest, params: Query[ReportQuery]) -> Any:
    try:
        user = _reader(request)
        year = _year(params.year)
        institutions = _subtree(user, params.org)
    except DomainError as exc:
        return domain_problem(exc)
    shares = selectors.essential_shares(institutions, dt.date(year, 1, 1), dt.date(year, 12, 31))
    return [{"org": s.institution.code, "org_name": s.institution.name, "prescriptions": s.prescriptions,
             "lines": s.lines, "essential_lines": s.essential_lines,
             "line_share": None if s.line_share is None else round(s.line_share, 4), "amount": _money(s.amount),
             "essential_amount": _money(s.essential_amount),
             "amount_share": None if s.amount_share is None else round(s.amount_share, 4)} for s in shares]
