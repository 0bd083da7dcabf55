"""``/api/v1/care/`` — encounters, results, orders, the catalogue and the monthly counts — and
``/api/v1/results/check``, the recognition check at order time (检查检验结果互认).

Thin: each route validates its input and calls one service or selector with the caller. A resident
or row outside the caller's scope is 404 exactly like one that does not exist. Errors are problem
details; a validation error names its ``field``. ``POST /care/encounters`` and ``POST /care/results``
answer 201 for a new row and 200 with the stored one when the same HIS / report number
(``source_no``) of the same institution was recorded already.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from yigongti.core.api import PROBLEMS, WRITE_PROBLEMS, caller, domain_problem
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound, ValidationFailed
from yigongti.registry.models import Institution
from yigongti.residents.selectors import resident_get

from .choices import EncounterSource
from .models import Encounter, Order, Result, ResultItem
from .selectors import (
    RecognitionAnswer,
    booked_share,
    department_of,
    encounter_get,
    encounters_of,
    institution_by_code,
    recognition_check,
    recognition_stats,
    resident_for_care,
    result_get,
    result_items,
    results_of,
)
from .services import DiagnosisIn, encounter_record, order_create, result_record

router = Router(tags=["care"])
results_router = Router(tags=["care"])


# ---------------------------------------------------------------- schemas


class DiagnosisSchema(Schema):
    code: str = Field(..., max_length=16, description="ICD-10, e.g. I10, E11.9, J18.000")
    name: str = Field("", max_length=200)
    primary: bool = False


class EncounterIn(Schema):
    resident: str = Field(..., description="record number (档案编号)")
    kind: str = Field(..., description="outpatient | emergency | inpatient")
    start_date: dt.date
    institution: str | None = Field(None, description="institution code (in county); omit for out-of-county")
    outside_institution: str = Field("", max_length=200, description="out-of-county institution name")
    department: str | None = Field(None, description="department code or name of the institution")
    clinician_name: str = Field("", max_length=50)
    end_date: dt.date | None = None
    discharge_status: str = ""
    chief_complaint: str = Field("", max_length=500)
    diagnoses: list[DiagnosisSchema] = Field(default_factory=list)
    procedures: list[dict[str, str]] = Field(default_factory=list, description='[{"code", "name", "date"}]')
    costs: dict[str, Decimal] = Field(default_factory=dict, description='category → yuan, e.g. {"lab": "35.00"}')
    booked: bool = False
    source_no: str = Field("", max_length=64, description="the HIS number: the idempotency key")


class EncounterOut(Schema):
    id: int
    record_no: str
    kind: str
    institution: str | None
    institution_name: str
    outside_institution: str
    in_county: bool
    tier: str
    department: str | None
    clinician_name: str
    start_date: dt.date
    end_date: dt.date | None
    discharge_status: str
    chief_complaint: str
    diagnoses: list[DiagnosisSchema]
    procedures: list[dict[str, str]]
    costs: dict[str, Decimal]
    total_cost: Decimal
    booked: bool
    source_no: str
    source: str


class ResultIn(Schema):
    resident: str = Field(..., description="record number (档案编号)")
    item: str = Field(..., description="catalogue item code, e.g. HGB")
    performed_by: str | None = Field(None, description="institution code; default: the caller's institution")
    reported_at: dt.datetime
    value: Decimal | None = None
    value_text: str = Field("", max_length=200)
    unit: str = Field("", max_length=32)
    ref_range: str = Field("", max_length=64)
    flag: str = Field("", max_length=1, description="N L H A C; computed from the range when empty")
    report: str = ""
    encounter: int | None = None
    source_no: str = Field("", max_length=64, description="the report number: the idempotency key")


class ResultOut(Schema):
    id: int
    record_no: str
    item: str
    item_name: str
    value: Decimal | None
    value_text: str
    unit: str
    ref_range: str
    flag: str
    report: str
    performed_by: str
    performed_by_name: str
    performer_tier: str
    reported_at: dt.datetime
    encounter: int | None
    source_no: str


class ResultFilters(Schema):
    resident: str | None = Field(None, description="record number (required)")
    item: str | None = None


class ItemOut(Schema):
    code: str
    name: str
    name_en: str
    kind: str
    unit: str
    price: Decimal


class RuleOut(Schema):
    valid_days: int
    source: str


class CheckIn(Schema):
    resident: str = Field(..., description="record number (档案编号)")
    item: str = Field(..., description="catalogue item code")
    institution: str = Field(..., description="code of the ordering institution")


class CheckOut(Schema):
    recognisable: bool
    item: ItemOut
    result: ResultOut | None
    valid_until: dt.date | None
    saved: Decimal
    rule: RuleOut | None
    reason: str


class OrderIn(Schema):
    encounter: int
    item: str
    use_result: int | None = Field(None, description="a recognised result used instead of a new test")


class OrderOut(Schema):
    id: int
    encounter: int
    institution: str
    item: str
    status: str
    recognised_result: int | None
    saved: Decimal
    ordered_on: dt.date


class EncounterFilters(Schema):
    resident: str | None = Field(None, description="record number (required)")


class StatsFilters(Schema):
    org: str | None = Field(None, description="division or institution code; default: the caller's unit")
    year: int | None = Field(None, ge=1900, le=9999)


class RecognitionRow(Schema):
    institution: str
    institution_name: str
    month: str
    avoided: int
    saved: Decimal


class BookedRow(Schema):
    institution: str
    institution_name: str
    month: str
    visits: int
    booked: int
    rate: float


# ---------------------------------------------------------------- conversions


def encounter_out(e: Encounter) -> dict[str, Any]:
    return {"id": e.pk, "record_no": e.resident.record_no, "kind": e.kind,
            "institution": e.institution.code if e.institution else None,
            "institution_name": e.institution.name if e.institution else e.outside_institution,
            "outside_institution": e.outside_institution, "in_county": e.in_county, "tier": e.tier,
            "department": e.department.code if e.department else None, "clinician_name": e.clinician_name,
            "start_date": e.start_date, "end_date": e.end_date, "discharge_status": e.discharge_status,
            "chief_complaint": e.chief_complaint,
            "diagnoses": [{"code": d.code, "name": d.name, "primary": d.is_primary} for d in e.diagnoses.all()],
            "procedures": e.procedures or [], "costs": {c.category: c.amount for c in e.costs.all()},
            "total_cost": e.total_cost, "booked": e.booked, "source_no": e.source_no, "source": e.source}


def result_out(r: Result) -> dict[str, Any]:
    return {"id": r.pk, "record_no": r.resident.record_no, "item": r.item.code, "item_name": r.item.name,
            "value": r.value, "value_text": r.value_text, "unit": r.unit, "ref_range": r.ref_range, "flag": r.flag,
            "report": r.report, "performed_by": r.performed_by.code, "performed_by_name": r.performed_by.name,
            "performer_tier": r.performer_tier, "reported_at": r.reported_at, "encounter": r.encounter_id,
            "source_no": r.source_no}


def item_out(i: ResultItem) -> dict[str, Any]:
    return {"code": i.code, "name": i.name, "name_en": i.name_en, "kind": i.kind, "unit": i.unit, "price": i.price}


def answer_out(a: RecognitionAnswer) -> dict[str, Any]:
    return {"recognisable": a.recognisable, "item": item_out(a.item),
            "result": result_out(a.result) if a.result is not None else None, "valid_until": a.valid_until,
            "saved": a.saved, "rule": {"valid_days": a.rule.valid_days, "source": a.rule.source} if a.rule else None,
            "reason": a.reason}


def order_out(o: Order) -> dict[str, Any]:
    return {"id": o.pk, "encounter": o.encounter_id, "institution": o.institution.code, "item": o.item.code,
            "status": o.status, "recognised_result": o.recognised_result_id, "saved": o.saved,
            "ordered_on": o.ordered_on}


def _problem(exc: DomainError) -> HttpResponse:
    """Problem details with the ``field`` a validation error names."""
    return domain_problem(exc)


def _required(value: str | None, field: str) -> str:
    if not value:
        raise ValidationFailed(reason=_("%(field)s 不能为空") % {"field": field}, field=field)
    return value


def _pk(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise NotFound()
    return int(value)


# ---------------------------------------------------------------- routes


@router.post("/encounters", response={200: EncounterOut, 201: EncounterOut, **WRITE_PROBLEMS},
             summary="Record an encounter (门急诊/住院; idempotent on institution + source_no)")
def encounter_new(request: HttpRequest, data: EncounterIn) -> Any:
    user = caller(request)
    try:
        institution = institution_by_code(data.institution) if data.institution else None
        department = department_of(institution, data.department) if data.department else None
        resident = resident_for_care(user=user, record_no=data.resident, institution=institution, request=request)
        encounter = encounter_record(
            user=user, resident=resident, kind=data.kind, start_date=data.start_date, institution=institution,
            outside_institution=data.outside_institution, department=department,
            clinician_name=data.clinician_name, end_date=data.end_date, discharge_status=data.discharge_status,
            chief_complaint=data.chief_complaint,
            diagnoses=[DiagnosisIn(code=d.code, name=d.name, primary=d.primary) for d in data.diagnoses],
            procedures=data.procedures, costs=data.costs, booked=data.booked, source_no=data.source_no,
            source=EncounterSource.API, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(200 if getattr(encounter, "replayed", False) else 201, encounter_out(encounter))


@router.get("/encounters", response={200: list[EncounterOut], **PROBLEMS},
            summary="A resident's encounters, newest first (audited)")
def encounter_index(request: HttpRequest, filters: Query[EncounterFilters]) -> Any:
    user = caller(request)
    try:
        resident = resident_get(user=user, record_no=_required(filters.resident, "resident"), request=request)
        rows = encounters_of(user=user, resident=resident, request=request)
    except DomainError as exc:
        return _problem(exc)
    return [encounter_out(e) for e in rows]


@router.get("/encounters/{encounter_id}", response={200: EncounterOut, **PROBLEMS}, summary="One encounter")
def encounter_detail(request: HttpRequest, encounter_id: str) -> Any:
    return encounter_out(encounter_get(user=caller(request), pk=_pk(encounter_id), request=request))


@router.post("/results", response={200: ResultOut, 201: ResultOut, **WRITE_PROBLEMS},
             summary="Record a lab or imaging result (idempotent on performing institution + source_no)")
def result_new(request: HttpRequest, data: ResultIn) -> Any:
    user = caller(request)
    try:
        performed_by: Institution | None
        if data.performed_by:
            performed_by = institution_by_code(data.performed_by, field="performed_by")
        else:
            performed_by = getattr(user, "institution", None)
            if performed_by is None:
                raise ValidationFailed(reason=_("须填写出具机构代码"), field="performed_by")
        resident = resident_for_care(user=user, record_no=data.resident, institution=performed_by, request=request)
        encounter = encounter_get(user=user, pk=data.encounter, request=request) if data.encounter else None
        result = result_record(user=user, resident=resident, item_code=data.item, performed_by=performed_by,
                               reported_at=data.reported_at, value=data.value, value_text=data.value_text,
                               unit=data.unit, ref_range=data.ref_range, flag=data.flag, report=data.report,
                               encounter=encounter, source_no=data.source_no, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(200 if getattr(result, "replayed", False) else 201, result_out(result))


@router.get("/results", response={200: list[ResultOut], **PROBLEMS},
            summary="A resident's results, newest first, of one item or all (audited)")
def result_index(request: HttpRequest, filters: Query[ResultFilters]) -> Any:
    user = caller(request)
    try:
        resident = resident_get(user=user, record_no=_required(filters.resident, "resident"), request=request)
        rows = results_of(user=user, resident=resident, item_code=filters.item or None, request=request)
    except DomainError as exc:
        return _problem(exc)
    return [result_out(r) for r in rows]


@router.get("/items", response={200: list[ItemOut], **PROBLEMS}, summary="The lab and imaging catalogue")
def item_index(request: HttpRequest) -> list[dict[str, Any]]:
    return [item_out(i) for i in result_items()]


@router.post("/orders", response={201: OrderOut, **WRITE_PROBLEMS},
             summary="Order a test at an encounter, or use a recognised result instead (互认免检)")
def order_new(request: HttpRequest, data: OrderIn) -> Any:
    """409 ``not_recognisable`` when ``use_result`` is not (or no longer) recognised here."""
    user = caller(request)
    try:
        encounter = encounter_get(user=user, pk=data.encounter, request=request)
        use = result_get(user=user, pk=data.use_result, request=request) if data.use_result else None
        order = order_create(user=user, encounter=encounter, item_code=data.item, use_result=use, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(201, order_out(order))


@router.get("/stats/recognition", response={200: list[RecognitionRow], **PROBLEMS},
            summary="Tests avoided by recognition and fees saved, per institution and month")
def recognition_index(request: HttpRequest, filters: Query[StatsFilters]) -> Any:
    try:
        return recognition_stats(user=caller(request), org_code=filters.org or None,
                                 year=filters.year or today().year)
    except DomainError as exc:
        return _problem(exc)


@router.get("/stats/booked", response={200: list[BookedRow], **PROBLEMS},
            summary="预约诊疗率: visits and booked visits per institution and month")
def booked_index(request: HttpRequest, filters: Query[StatsFilters]) -> Any:
    try:
        return booked_share(user=caller(request), org_code=filters.org or None, year=filters.year or today().year)
    except DomainError as exc:
        return _problem(exc)


@results_router.post("/check", response={200: CheckOut, **PROBLEMS},
                     summary="Is there a recognisable result for this patient and item? (检查检验结果互认)")
def result_check(request: HttpRequest, data: CheckIn) -> Any:
    """The newest result the ordering institution recognises, with how long it stays valid and the
    fee a new test would cost; when there is none, ``reason`` says why."""
    user = caller(request)
    try:
        institution = institution_by_code(data.institution)
        resident = resident_for_care(user=user, record_no=data.resident, institution=institution, request=request)
        answer = recognition_check(user=user, resident=resident, item_code=data.item,
                                   ordering_institution=institution, request=request)
    except DomainError as exc:
        return _problem(exc)
    return answer_out(answer)
