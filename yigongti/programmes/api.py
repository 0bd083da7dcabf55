"""``/api/v1/programmes/`` — the programme catalogue, enrolments, plans, visits and worklists.

Thin: each route validates its input and calls one service or selector with the caller. A
resident or enrolment outside the caller's scope is 404 exactly like one that does not exist.
Errors are problem details; a validation error names its ``field``; out-of-range measurements
list every bad field in ``errors`` (``{"loc": [field], "msg": …}``). ``POST /visits`` answers 201
for a new visit and 200 when the same visit (same item and date, or the same idempotency key —
body ``idempotency_key`` or header ``Idempotency-Key``) was already recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from yigongti.core.api import PROBLEMS, WRITE_PROBLEMS, caller, domain_problem
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound, ValidationFailed
from yigongti.registry.models import Institution
from yigongti.residents.selectors import resident_get

from .choices import CloseReason, VisitSource
from .engine.types import Classification, PlanRow
from .models import Enrolment, Programme, Visit
from .selectors import (
    WORKLIST_LIMIT,
    Worklist,
    WorklistRow,
    enrolment_get,
    enrolments_of,
    programme_list,
    resident_plan,
    worklist_for_org,
)
from .services import VisitOutcome, enrolment_close, enrolment_create, visit_record

router = Router(tags=["programmes"])

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ROWS = 20000


# ---------------------------------------------------------------- schemas


class ProgrammeOut(Schema):
    code: str
    name: str
    name_en: str


class EnrolmentOut(Schema):
    """纳入管理 — one resident under one programme."""

    id: int
    record_no: str
    programme: str
    programme_name: str
    status: str
    anchor_date: dt.date
    enrolled_on: dt.date
    how: str
    diagnosis_code: str
    variant: dict[str, str]
    classification: str
    refer: bool
    last_visit_on: dt.date | None
    next_due: dt.date | None
    closed_on: dt.date | None
    close_reason: str
    close_note: str


class EnrolmentIn(Schema):
    programme: str = Field(..., description="programme code, e.g. hypertension")
    anchor_date: dt.date | None = Field(None, description="last menstrual period (maternal) or diagnosis date")
    enrolled_on: dt.date | None = None
    diagnosis_code: str = Field("", max_length=16, description="ICD-10, e.g. I10")
    confirmed: bool = Field(False, description="the diagnosis is confirmed (确诊)")
    variant: dict[str, str] = Field(default_factory=dict, description='e.g. {"JE": "JE-I"}')


class CloseIn(Schema):
    reason: CloseReason
    on: dt.date | None = None
    note: str = Field("", max_length=200)


class PlanRowOut(Schema):
    item: str
    due: dt.date
    window_start: dt.date
    window_end: dt.date
    status: str
    done_on: dt.date | None
    catch_up: bool
    refer: bool
    flags: list[str]


class PlanOut(Schema):
    record_no: str
    programme: str
    as_of: dt.date
    rows: list[PlanRowOut]


class PlanFilters(Schema):
    programme: str | None = Field(None, description="programme code (required)")
    as_of: dt.date | None = None


class VisitIn(Schema):
    record_no: str
    programme: str
    item: str
    visit_date: dt.date
    values: dict[str, Any] = Field(default_factory=dict, description="form field code → value")
    idempotency_key: str | None = Field(None, max_length=64)
    institution_code: str | None = None
    note: str = Field("", max_length=200)


class ClassificationOut(Schema):
    code: str
    label: str


class VisitOut(Schema):
    id: int
    created: bool
    record_no: str
    programme: str
    item: str
    visit_date: dt.date
    classification: ClassificationOut | None
    refer: bool
    next_due: dt.date | None
    flags: list[str]


class WorklistFilters(Schema):
    org: str | None = Field(None, description="division code of a village, township or county (required)")
    date: dt.date | None = None
    programme: str | None = None
    limit: int = Field(WORKLIST_LIMIT, ge=1, le=MAX_ROWS, description="rows per section, the most urgent first")


class WorklistRowOut(Schema):
    record_no: str
    name: str
    sex: str
    birth_date: dt.date
    village_code: str
    village_name: str
    programme: str
    programme_name: str
    item: str
    due: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    days_overdue: int
    refer: bool
    classification: str
    last_visit_on: dt.date | None


class WorklistOut(Schema):
    org: str
    org_name: str
    date: dt.date
    week_end: dt.date
    programme: str | None
    counts: dict[str, int]
    truncated: bool
    due: list[WorklistRowOut]
    overdue: list[WorklistRowOut]
    unseen: list[WorklistRowOut]


# ---------------------------------------------------------------- conversions


def enrolment_out(e: Enrolment) -> dict[str, Any]:
    return {"id": e.pk, "record_no": e.resident.record_no, "programme": e.programme.code,
            "programme_name": e.programme.name, "status": e.status, "anchor_date": e.anchor_date,
            "enrolled_on": e.enrolled_on, "how": e.how, "diagnosis_code": e.diagnosis_code, "variant": e.variant or {},
            "classification": e.classification, "refer": e.refer, "last_visit_on": e.last_visit_on,
            "next_due": e.next_due, "closed_on": e.closed_on, "close_reason": e.close_reason,
            "close_note": e.close_note}


def plan_row_out(r: PlanRow) -> dict[str, Any]:
    return {"item": r.item, "due": r.due, "window_start": r.window_start, "window_end": r.window_end,
            "status": r.status, "done_on": r.done_on, "catch_up": r.catch_up, "refer": r.refer,
            "flags": list(r.flags)}


def classification_out(c: Classification | None, visit: Visit) -> dict[str, str] | None:
    if c is not None:
        return {"code": c.code, "label": c.label.get(get_language())}
    return {"code": visit.classification, "label": visit.classification} if visit.classification else None


def visit_out(outcome: VisitOutcome, record_no: str, programme: str) -> dict[str, Any]:
    v = outcome.visit
    return {"id": v.pk, "created": outcome.created, "record_no": record_no, "programme": programme, "item": v.item,
            "visit_date": v.visit_date, "classification": classification_out(outcome.classification, v),
            "refer": v.refer, "next_due": outcome.next_due, "flags": list(outcome.flags)}


def worklist_row_out(r: WorklistRow) -> dict[str, Any]:
    return {"record_no": r.record_no, "name": r.name, "sex": r.sex, "birth_date": r.birth_date,
            "village_code": r.village_code, "village_name": r.village_name, "programme": r.programme_code,
            "programme_name": r.programme_name, "item": r.item, "due": r.due, "window_start": r.window_start,
            "window_end": r.window_end, "days_overdue": r.days_overdue, "refer": r.refer,
            "classification": r.classification, "last_visit_on": r.last_visit_on}


def worklist_out(w: Worklist) -> dict[str, Any]:
    return {"org": w.org.code, "org_name": w.org.name, "date": w.on, "week_end": w.week_end, "programme": w.programme,
            "counts": w.counts(), "truncated": w.truncated, "due": [worklist_row_out(r) for r in w.due],
            "overdue": [worklist_row_out(r) for r in w.overdue], "unseen": [worklist_row_out(r) for r in w.unseen]}


def _problem(exc: DomainError) -> HttpResponse:
    """Problem details with ``field`` and, for measurements, one ``errors`` entry per bad field."""
    problems = getattr(exc, "problems", None)
    errors = [{"loc": [code], "msg": str(msg)} for code, msg in problems] if problems else None
    return domain_problem(exc, errors=errors)


def _pk(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise NotFound()
    return int(value)


def _required(value: str | None, field: str) -> str:
    if not value:
        raise ValidationFailed(reason=_("%(field)s 不能为空") % {"field": field}, field=field)
    return value


# ---------------------------------------------------------------- routes


@router.get("/programmes", response={200: list[ProgrammeOut], **PROBLEMS}, summary="The programme catalogue")
def programme_index(request: HttpRequest) -> list[Programme]:
    return list(programme_list())


@router.get("/residents/{record_no}/enrolments", response={200: list[EnrolmentOut], **PROBLEMS},
            summary="A resident's enrolments (audited)")
def enrolment_index(request: HttpRequest, record_no: str) -> list[dict[str, Any]]:
    user = caller(request)
    resident = resident_get(user=user, record_no=record_no, request=request)
    return [enrolment_out(e) for e in enrolments_of(user=user, resident=resident, request=request)]


@router.post("/residents/{record_no}/enrolments", response={201: EnrolmentOut, **WRITE_PROBLEMS},
             summary="Enrol a resident in a programme (纳入管理)")
def enrolment_new(request: HttpRequest, record_no: str, data: EnrolmentIn) -> Any:
    """409 ``already_enrolled`` when an active enrolment exists; 422 ``not_eligible`` outside the target group."""
    user = caller(request)
    try:
        resident = resident_get(user=user, record_no=record_no, request=request)
        enrolment = enrolment_create(user=user, resident=resident, programme_code=data.programme,
                                     anchor_date=data.anchor_date, enrolled_on=data.enrolled_on,
                                     diagnosis_code=data.diagnosis_code, confirmed=data.confirmed,
                                     variant=data.variant or None, request=request)
    except DomainError as exc:
        return _problem(exc)
    enrolment.resident = resident
    return Status(201, enrolment_out(enrolment))


@router.post("/enrolments/{enrolment_id}/close", response={200: EnrolmentOut, **WRITE_PROBLEMS},
             summary="Close an enrolment (结案)")
def enrolment_end(request: HttpRequest, enrolment_id: str, data: CloseIn) -> Any:
    user = caller(request)
    try:
        enrolment = enrolment_get(user=user, pk=_pk(enrolment_id), request=request)
        closed = enrolment_close(user=user, enrolment=enrolment, reason=data.reason.value, on=data.on,
                                 note=data.note, request=request)
    except DomainError as exc:
        return _problem(exc)
    closed.resident, closed.programme = enrolment.resident, enrolment.programme
    return enrolment_out(closed)


@router.get("/residents/{record_no}/plan", response={200: PlanOut, **PROBLEMS},
            summary="A resident's plan in a programme: every visit or dose with its status")
def plan_detail(request: HttpRequest, record_no: str, filters: Query[PlanFilters]) -> Any:
    user = caller(request)
    resident = resident_get(user=user, record_no=record_no, request=request)
    try:
        code = _required(filters.programme, "programme")
        as_of = filters.as_of or today()
        rows = resident_plan(user=user, resident=resident, programme_code=code, as_of=as_of, request=request)
    except DomainError as exc:
        return _problem(exc)
    return {"record_no": resident.record_no, "programme": code, "as_of": as_of,
            "rows": [plan_row_out(r) for r in rows]}


@router.post("/visits", response={200: VisitOut, 201: VisitOut, **WRITE_PROBLEMS},
             summary="Record a visit, check or dose (idempotent)")
def visit_new(request: HttpRequest, data: VisitIn) -> Any:
    """201 with the classification, next due date and flags; 200 with the stored visit on a replay."""
    user = caller(request)
    key = data.idempotency_key or request.headers.get(IDEMPOTENCY_HEADER) or None
    try:
        resident = resident_get(user=user, record_no=data.record_no, request=request)
        institution = None
        if data.institution_code:
            institution = Institution.objects.filter(code=data.institution_code.strip()).first()
            if institution is None:
                raise ValidationFailed(reason=_("机构代码“%(code)s”不存在") % {"code": data.institution_code},
                                       field="institution_code")
        outcome = visit_record(user=user, resident=resident, programme_code=data.programme, item=data.item,
                               visit_date=data.visit_date, values=data.values, institution=institution,
                               idempotency_key=key, source=VisitSource.API, note=data.note, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(201 if outcome.created else 200, visit_out(outcome, resident.record_no, data.programme))


@router.get("/worklist", response={200: WorklistOut, **PROBLEMS},
            summary="Due this week, overdue and not seen this year, for a village or township")
def worklist_detail(request: HttpRequest, filters: Query[WorklistFilters]) -> Any:
    try:
        org = _required(filters.org, "org")
        result = worklist_for_org(user=caller(request), org_code=org, on=filters.date or today(),
                                  programme=filters.programme or None, request=request, limit=filters.limit)
    except DomainError as exc:
        return _problem(exc)
    return worklist_out(result)
