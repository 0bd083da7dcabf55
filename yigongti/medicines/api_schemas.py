"""Schemas of ``/api/v1/medicines`` (:mod:`yigongti.medicines.api`): what goes in and comes out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from .selectors import EXPIRING_DAYS


class CatalogueItemOut(Schema):
    code: str
    national_code: str
    generic_name: str
    name_en: str
    dosage_form: str
    strength: str
    pack: str
    unit: str
    drug_class: str
    category: str
    atc: str
    essential: bool
    tiers: dict[str, list[int]] = Field(..., description="tier → [reorder level, target level]")
    unit_price: str | None = Field(None, description="the contracted price in force (零差率: sold at it)")
    supplier: str | None = None


class CatalogueQuery(Schema):
    tier: str = Field("", description="village | township | county: only the items on that tier's list")
    date: dt.date | None = None


class BatchOut(Schema):
    id: int
    lot: str
    expiry: dt.date
    unit_price: str
    quantity: int
    expired: bool


class StockLineOut(Schema):
    medicine: str
    name: str
    unit: str
    essential: bool
    listed: bool
    on_hand: int
    usable: int
    expired: int
    expiring: int
    value: str
    nearest_expiry: dt.date | None
    reorder_level: int | None
    target_level: int | None
    status: str = Field(..., description="out | low | ok | unlisted")
    suggested: int
    batches: list[BatchOut]


class StockOut(Schema):
    org: str
    org_name: str
    date: dt.date
    lines: list[StockLineOut]


class OrgQuery(Schema):
    org: str = Field("", description="institution code inside your scope; default: your institution")
    days: int = Field(EXPIRING_DAYS, ge=0, le=3650, description="近效期: expiring within N days")


class MovementOut(Schema):
    id: int
    moved_on: dt.date
    kind: str
    medicine: str
    lot: str
    expiry: dt.date
    quantity: int
    unit_price: str
    amount: str
    document: str
    counterpart: str | None
    reason: str
    note: str


class MovementQuery(Schema):
    org: str = Field("", description="institution code; default: your institution")
    medicine: str = Field("", description="item code")
    since: dt.date | None = None
    until: dt.date | None = None


class AlertOut(Schema):
    kind: str = Field(..., description="expired | out | low | expiring")
    org: str
    org_name: str
    medicine: str
    name: str
    quantity: int
    level: int | None
    expiry: dt.date | None
    lot: str
    since: dt.date | None


class AlertQuery(Schema):
    org: str = Field("", description="an institution code: it and the institutions below it; default: all in scope")
    days: int = Field(EXPIRING_DAYS, ge=0, le=3650)


class RequisitionLineOut(Schema):
    id: int
    medicine: str
    name: str
    quantity: int
    approved: int | None
    shipped: int
    received: int


class RequisitionOut(Schema):
    id: int
    number: str
    org: str
    org_name: str
    supplier: str
    supplier_name: str
    status: str
    note: str
    decision_note: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    shipped_at: dt.datetime | None
    received_at: dt.datetime | None
    lines: list[RequisitionLineOut]


class RequisitionIn(Schema):
    org: str = Field("", description="the requesting institution's code; default: your institution")
    lines: dict[str, Any] = Field(..., description="item code → quantity")
    note: str = Field("", max_length=200)


class RequisitionFilters(Schema):
    status: str = ""
    org: str = Field("", description="requester or supplier (institution code)")


class ApproveIn(Schema):
    approved: dict[int, Any] = Field(default_factory=dict, description="line id → approved quantity (default: asked)")
    note: str = Field("", max_length=200)


class NoteIn(Schema):
    note: str = Field("", max_length=200)


class ShipIn(Schema):
    partial: bool = Field(False, description="ship what is in stock when a line cannot be filled")


class OrderLineOut(Schema):
    id: int
    medicine: str
    name: str
    quantity: int
    unit_price: str
    amount: str
    deliver_to: str
    received: int


class OrderOut(Schema):
    id: int
    number: str
    buyer: str
    supplier: str
    supplier_name: str
    status: str
    order_date: dt.date
    total: str
    lines: list[OrderLineOut]


class ConsolidateIn(Schema):
    org: str = Field("", description="the buying county institution; default: your institution")
    direct: bool = Field(False, description="直送: deliver what a centre asked for straight to it")


class ConsolidationOut(Schema):
    orders: list[OrderOut]
    no_contract: list[str] = Field(..., description="item codes with no contracted price in force")


class DeliveryIn(Schema):
    line_id: int
    lot: str
    expiry: str
    quantity: Any
    manufacturer: str = ""


class ReceiveOrderIn(Schema):
    deliveries: list[DeliveryIn]


class OrderFilters(Schema):
    status: str = ""


class PrescribedIn(Schema):
    medicine: str
    quantity: Any
    usage: str = ""
    days: Any = None


class PrescriptionIn(Schema):
    encounter_id: int
    items: list[PrescribedIn]
    prescriber: str = Field("", max_length=50)


class PrescriptionLineOut(Schema):
    id: int
    medicine: str
    name: str
    essential: bool
    quantity: int
    usage: str
    days: int | None
    amount: str


class PrescriptionOut(Schema):
    id: int
    number: str
    encounter_id: int
    record_no: str
    patient_name: str
    org: str
    prescribed_on: dt.date
    prescriber: str
    status: str
    amount: str
    essential_amount: str
    lines: list[PrescriptionLineOut]


class ReturnIn(Schema):
    line_id: int
    quantity: Any


class ReportQuery(Schema):
    year: int | None = None
    org: str = Field("", description="an institution code: it and those below it; default: all in scope")


class ConsumptionOut(Schema):
    month: str
    org: str
    medicine: str
    name: str
    quantity: int
    amount: str


class EssentialOut(Schema):
    org: str
    org_name: str
    prescriptions: int
    lines: int
    essential_lines: int
    line_share: float | None
    amount: str
    essential_amount: str
    amount_share: float | None
