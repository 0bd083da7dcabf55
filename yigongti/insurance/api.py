"""``/api/v1/insurance`` — direct settlement (即时结算) with an idempotency key, reversal (冲销) and
re-settlement, household enrolment (参保登记), 参合率, the fund view, and the pure adjudication.

Thin: each route validates its input and calls one service or selector with the caller. A
settlement, encounter or household outside the caller's scope is 404 exactly like one that does not
exist; every settlement read is audited. Amounts are strings with two decimals (no float ever
touches money). Errors are problem details with ``field`` when one input is at fault: 403 not
allowed, 409 reversal refused / idempotency key reused / no policy in force, 422 invalid.

Idempotency: ``POST /settlements`` with a key already used for the same encounter — or any second
settlement of a settled encounter — answers 200 with the first settlement and writes nothing; the
key may come in the body (``idempotency_key``) or the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from yigongti.core import audit, scope
from yigongti.core.api import PROBLEMS, WRITE_PROBLEMS, Page, PageParams, Problem, caller, domain_problem, page_of
from yigongti.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from yigongti.core.tree import subtree_q
from yigongti.registry.models import Division

from . import selectors, services
from .adjudication import adjudicate, case_from_mapping
from .errors import CaseInvalid
from .models import Coverage, HouseholdEnrolment, Settlement
from .money import plain
from .views_common import may_read_fund, settlement_get
from .views_fund import under_division

router = Router(tags=["insurance"])
# Settling, reversing or enrolling by someone who may not is 403.
ACT_PROBLEMS: dict[int, type[Problem]] = {**WRITE_PROBLEMS, 403: Problem}
KEY_HEADER = "Idempotency-Key"


# ---------------------------------------------------------------- schemas


class LineOut(Schema):
    rule: str
    zh: str
    en: str
    amount: str


class SettlementOut(Schema):
    id: int
    number: str
    kind: str = Field(..., description="settlement | reversal")
    status: str = Field(..., description="settled | reversed | reversal")
    encounter_id: int
    record_no: str
    patient_name: str
    institution: str | None
    institution_name: str | None
    in_county: bool
    encounter_kind: str
    level: str
    year: int
    service_date: dt.date
    policy: str
    covered: bool
    reason: str
    aid_category: str
    total: str
    eligible: str
    outside_catalogue: str
    category_share: str
    excluded: str
    basic: str
    catastrophic: str
    aid: str
    fund: str
    patient: str
    lines: list[LineOut]
    costs: dict[str, Any]
    ytd_before: dict[str, str]
    ytd_after: dict[str, str]
    reverses: str | None = Field(None, description="number of the settlement this reversal reverses")
    reversed_by: str | None = Field(None, description="number of the reversal of this settlement")
    note: str
    settled_at: dt.datetime
    settled_by: str


class SettleIn(Schema):
    encounter_id: int
    idempotency_key: str = Field("", max_length=100, description="or the Idempotency-Key header")
    outside_catalogue: dict[str, Any] = Field(
        default_factory=dict, description="目录外 amount per cost category, e.g. {\"drugs_western\": \"120.00\"}")


class ReasonIn(Schema):
    reason: str = Field(..., max_length=200)


class ResettleIn(ReasonIn):
    idempotency_key: str = Field("", max_length=100, description="or the Idempotency-Key header")
    outside_catalogue: dict[str, Any] = Field(default_factory=dict)
    costs: dict[str, Any] | None = Field(None, description="the encounter's corrected costs by category (费用更正)")


class ResettleOut(Schema):
    reversal: SettlementOut
    settlement: SettlementOut


class SettlementFilters(Schema):
    year: int | None = None
    status: str = Field("", description="settled | reversed | reversal")
    kind: str = Field("", description="encounter kind: inpatient | outpatient")


class EnrolIn(Schema):
    household_id: int
    year: int
    members: dict[int, str] | None = Field(
        None, description="resident id → 救助类别 ('' | wubao | dibao | poverty); default: every member in register")
    paid_on: dt.date | None = None
    receipt_no: str = Field("", max_length=64)


class CoverageOut(Schema):
    resident_id: int
    record_no: str
    name: str
    category: str
    contribution: str
    exempted: str
    subsidy: str
    valid_from: dt.date
    valid_to: dt.date


class EnrolmentOut(Schema):
    id: int
    household_id: int
    household: str
    year: int
    policy: str
    paid_on: dt.date
    receipt_no: str
    members: int
    contribution: str
    exempted: str
    subsidy: str
    added: int | None = Field(None, description="members this call covered (POST only)")
    coverages: list[CoverageOut]


class EnrolmentFilters(Schema):
    year: int | None = None
    village: str = Field("", description="division code of a village (or township) in scope")


class RateOut(Schema):
    code: str
    name: str
    path: str
    eligible: int
    enrolled: int
    exempted: int
    rate: float | None


class CoverageRatesOut(Schema):
    year: int
    under: str
    rows: list[RateOut]
    total: RateOut


class RatesQuery(Schema):
    year: int | None = None
    under: str = Field("", description="division path or code inside your scope; default: your unit")


class YearQuery(Schema):
    year: int | None = None


class FundOut(Schema):
    year: int
    enrolled: int
    households: int
    contributions: str
    exempted: str
    subsidy: str
    income: str
    per_capita: str | None
    settlements: int
    total: str
    basic: str
    catastrophic: str
    aid: str
    fund: str
    patient: str
    in_county_share: float | None
    reimbursement_ratio: float | None
    by_institution: list[dict[str, Any]]
    by_month: list[dict[str, Any]]
    by_kind: list[dict[str, Any]]
    ledger: dict[str, Any]


# ---------------------------------------------------------------- conversions


def settlement_out(s: Settlement) -> dict[str, Any]:
    reversal = getattr(s, "reversal", None)  # the reverse one-to-one: absent until reversed
    return {
        "id": s.pk, "number": s.number, "kind": s.kind, "status": s.status, "encounter_id": s.encounter_id,
        "record_no": s.resident.record_no, "patient_name": s.resident.name,
        "institution": s.institution.code if s.institution else None,
        "institution_name": s.institution.name if s.institution else None, "in_county": s.in_county,
        "encounter_kind": s.encounter_kind, "level": s.level, "year": s.year, "service_date": s.service_date,
        "policy": s.policy, "covered": s.covered, "reason": s.reason, "aid_category": s.aid_category,
        **{name: plain(getattr(s, name)) for name in (
            "total", "eligible", "outside_catalogue", "category_share", "excluded", "basic", "catastrophic", "aid",
            "patient")},
        "fund": plain(s.fund), "lines": list(s.lines or []), "costs": s.costs or {}, "ytd_before": s.ytd_before or {},
        "ytd_after": s.ytd_after or {}, "reverses": s.reverses.number if s.reverses_id and s.reverses else None,
        "reversed_by": reversal.number if reversal is not None else None, "note": s.note, "settled_at": s.settled_at,
        "settled_by": s.settled_by.get_username() if s.settled_by else "",
    }


def _read(request: HttpRequest, pk: int) -> dict[str, Any]:
    return settlement_out(settlement_get(caller(request), pk, request))


def enrolment_out(e: HouseholdEnrolment, request: HttpRequest, added: int | None = None) -> dict[str, Any]:
    coverages = list(e.coverages.select_related("resident").order_by("resident__birth_date", "pk"))
    audit.read(user=caller(request), objects=coverages, request=request)
    return {
        "id": e.pk, "household_id": e.household_id, "household": e.household.code, "year": e.year, "policy": e.policy,
        "paid_on": e.paid_on, "receipt_no": e.receipt_no, "members": e.members, "contribution": plain(e.contribution),
        "exempted": plain(e.exempted), "subsidy": plain(e.subsidy), "added": added,
        "coverages": [_coverage_out(c) for c in coverages],
    }


def _coverage_out(c: Coverage) -> dict[str, Any]:
    return {"resident_id": c.resident_id, "record_no": c.resident.record_no, "name": c.resident.name,
            "category": c.category, "contribution": plain(c.contribution), "exempted": plain(c.exempted),
            "subsidy": plain(c.subsidy), "valid_from": c.valid_from, "valid_to": c.valid_to}


def _pk(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise NotFound()
    return int(value)


def _key(request: HttpRequest, body_key: str) -> str:
    return (body_key or request.headers.get(KEY_HEADER) or "").strip()


def _rate_out(row: selectors.RateRow) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "path": row.path, "eligible": row.eligible, "enrolled": row.enrolled,
            "exempted": row.exempted, "rate": None if row.rate is None else round(row.rate, 4)}


def _amounts_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: plain(value) if isinstance(value, Decimal) else value for key, value in row.items()}


def _year(value: int | None) -> int:
    from yigongti.core.clock import today

    if value is None:
        return today().year
    if not 2000 <= value <= today().year + 1:
        raise ValidationFailed(field="year", reason=_("年度应在 2000 年至明年之间"))
    return value


# ---------------------------------------------------------------- settlements


@router.post("/settlements", response={201: SettlementOut, 200: SettlementOut, **ACT_PROBLEMS},
             summary="Settle an encounter at discharge (201; 200 with the first settlement on a replay)")
def settlement_new(request: HttpRequest, data: SettleIn) -> Any:
    user = caller(request)
    try:
        settlement, created = services.settle(user, data.encounter_id, key=_key(request, data.idempotency_key),
                                              outside_catalogue=data.outside_catalogue, request=request)
        out = _read(request, settlement.pk)
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201 if created else 200, out)


@router.get("/settlements", response={200: Page[SettlementOut], **PROBLEMS},
            summary="Settlements in scope, newest first")
def settlement_index(request: HttpRequest, filters: Query[SettlementFilters], page: Query[PageParams]) -> Any:
    user = caller(request)
    queryset = services.settlements_visible(user).select_related("resident", "institution", "reverses", "reversal",
                                                                 "settled_by")
    if filters.year:
        queryset = queryset.filter(year=filters.year)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.kind:
        queryset = queryset.filter(encounter_kind=filters.kind)
    result = page_of(queryset, page)
    audit.read(user=user, objects=result["items"], request=request)
    return {**result, "items": [settlement_out(s) for s in result["items"]]}


@router.get("/settlements/{settlement_id}", response={200: SettlementOut, **PROBLEMS},
            summary="One settlement with its explanation (audited)")
def settlement_detail(request: HttpRequest, settlement_id: str) -> Any:
    try:
        return _read(request, _pk(settlement_id))
    except DomainError as exc:
        return domain_problem(exc)


@router.post("/settlements/{settlement_id}/reverse", response={201: SettlementOut, **ACT_PROBLEMS},
             summary="冲销: reverse a settlement (the encounter may then be settled again)")
def settlement_reverse(request: HttpRequest, settlement_id: str, data: ReasonIn) -> Any:
    try:
        reversal = services.reverse(caller(request), _pk(settlement_id), reason=data.reason, request=request)
        out = _read(request, reversal.pk)
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201, out)


@router.post("/settlements/{settlement_id}/resettle", response={201: ResettleOut, **ACT_PROBLEMS},
             summary="重新结算: reverse, correct the costs (optional) and settle again, in one transaction")
def settlement_resettle(request: HttpRequest, settlement_id: str, data: ResettleIn) -> Any:
    user = caller(request)
    try:
        key = _key(request, data.idempotency_key)
        if not key:  # checked before the reversal, so a missing key never reverses anything
            raise ValidationFailed(field="idempotency_key", reason=_("幂等键必填，最长 %(n)s 个字符") % {
                "n": services.KEY_MAX})
        reversal, settlement = services.resettle(user, _pk(settlement_id), reason=data.reason, key=key,
                                                 outside_catalogue=data.outside_catalogue, costs=data.costs,
                                                 request=request)
        out = {"reversal": _read(request, reversal.pk), "settlement": _read(request, settlement.pk)}
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201, out)


# ---------------------------------------------------------------- enrolment


@router.post("/enrolments", response={201: EnrolmentOut, 200: EnrolmentOut, **ACT_PROBLEMS},
             summary="参保登记: enrol a household's members for a year (200 when every one was covered already)")
def enrolment_new(request: HttpRequest, data: EnrolIn) -> Any:
    user = caller(request)
    try:
        enrolment, added = services.enrol_household(user, data.household_id, year=data.year, members=data.members,
                                                    paid_on=data.paid_on, receipt_no=data.receipt_no,
                                                    request=request)
        enrolment = HouseholdEnrolment.objects.select_related("household").get(pk=enrolment.pk)
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201 if added else 200, enrolment_out(enrolment, request, added))


@router.get("/enrolments", response={200: Page[EnrolmentOut], **PROBLEMS}, summary="Household enrolments in scope")
def enrolment_index(request: HttpRequest, filters: Query[EnrolmentFilters], page: Query[PageParams]) -> Any:
    user = caller(request)
    queryset = scope.visible(user, HouseholdEnrolment.objects.select_related("household")).order_by(
        "-year", "household__code")
    if filters.year:
        queryset = queryset.filter(year=filters.year)
    if filters.village:
        try:
            division = scope.get_visible(user, Division.objects.all(), code=filters.village.strip())
        except DomainError as exc:
            return domain_problem(exc)
        queryset = queryset.filter(subtree_q(division.path, "path"))
    result = page_of(queryset, page)
    audit.read(user=user, objects=result["items"], request=request)
    return {**result, "items": [enrolment_out(e, request) for e in result["items"]]}


@router.get("/enrolments/{enrolment_id}", response={200: EnrolmentOut, **PROBLEMS},
            summary="One household enrolment with its members (audited)")
def enrolment_detail(request: HttpRequest, enrolment_id: str) -> Any:
    user = caller(request)
    try:
        enrolment = scope.get_visible(user, HouseholdEnrolment.objects.select_related("household"),
                                      pk=_pk(enrolment_id))
    except DomainError as exc:
        return domain_problem(exc)
    audit.read(user=user, objects=[enrolment], request=request)
    return enrolment_out(enrolment, request)


# ---------------------------------------------------------------- 参合率 and the fund


@router.get("/coverage", response={200: CoverageRatesOut, **PROBLEMS},
            summary="参合率 per unit one level below `under` (default: your unit), and the total")
def coverage_rates(request: HttpRequest, params: Query[RatesQuery]) -> Any:
    user = caller(request)
    try:
        year = _year(params.year)
        under = under_division(user, params.under)
    except DomainError as exc:
        return domain_problem(exc)
    rows, total = selectors.coverage_rates(user, year, under=under.path if under is not None else None)
    return {"year": year, "under": total.path, "rows": [_rate_out(r) for r in rows], "total": _rate_out(total)}


@router.get("/fund", response={200: FundOut, 403: Problem, **PROBLEMS},
            summary="The fund of a year: income, payouts by layer, institution, month and kind; the ledger check")
def fund(request: HttpRequest, params: Query[YearQuery]) -> Any:
    user = caller(request)
    try:
        if not may_read_fund(user):
            raise PermissionDenied()
        year = _year(params.year)
    except DomainError as exc:
        return domain_problem(exc)
    r = selectors.fund_report(user, year)
    check = services.ledger_check(accumulators=False)
    return {
        "year": year, "enrolled": r.enrolled, "households": r.households, "contributions": plain(r.contributions),
        "exempted": plain(r.exempted), "subsidy": plain(r.subsidy), "income": plain(r.income),
        "per_capita": plain(r.per_capita) if r.per_capita is not None else None, "settlements": r.settlements,
        **{name: plain(getattr(r, name)) for name in ("total", "basic", "catastrophic", "aid", "fund", "patient")},
        "in_county_share": None if r.in_county_share is None else round(r.in_county_share, 4),
        "reimbursement_ratio": None if r.reimbursement_ratio is None else round(r.reimbursement_ratio, 4),
        "by_institution": [_amounts_row(row) for row in r.by_institution],
        "by_month": [_amounts_row(row) for row in r.by_month], "by_kind": [_amounts_row(row) for row in r.by_kind],
        "ledger": {"ok": check.ok, "total": plain(check.total),
                   "balances": {name: plain(amount) for name, amount in check.balances.items()},
                   "unbalanced": [[posting, plain(amount)] for posting, amount in check.unbalanced]},
    }


# ---------------------------------------------------------------- the pure adjudication

ADJUDICATE_BODY = {
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["date", "kind", "level", "costs"],
        "properties": {
            "policy": {"type": "string", "description": "code of a stored policy; default: the one in force for "
                                                        "county and date"},
            "id": {"type": "string"}, "note": {"type": "string"},
            "date": {"type": "string", "format": "date"}, "county": {"type": "string", "example": "522399"},
            "kind": {"type": "string", "enum": ["inpatient", "outpatient"]},
            "level": {"type": "string", "enum": ["village", "township", "county", "tertiary"]},
            "in_county": {"type": "boolean", "default": True},
            "costs": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
            "outside_catalogue": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
            "covered": {"type": "boolean", "default": True}, "reason": {"type": "string"},
            "aid_category": {"type": "string", "enum": ["wubao", "dibao", "poverty"]},
            "ytd": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
        }}}},
    "required": True,
}


@router.post("/adjudicate", response={200: dict[str, Any], **WRITE_PROBLEMS},
             openapi_extra={"requestBody": ADJUDICATE_BODY},
             summary="Adjudicate a case (as `ygt insurance adjudicate` reads it) with a stored policy; writes nothing")
def adjudicate_case(request: HttpRequest) -> Any:
    try:
        try:
            data = json.loads(request.body or b"null", parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise CaseInvalid(field="/", reason=_("不是有效的 JSON")) from None
        code = data.pop("policy", None) if isinstance(data, dict) else None
        case = case_from_mapping(data)
        if code:
            policy = next((p for p in selectors.stored_policies() if p.code == str(code)), None)
            if policy is None:
                raise CaseInvalid(field="policy", reason=_("没有编码为“%(code)s”的医保政策") % {"code": code})
        else:
            policy = selectors.policy_on(case.county, case.date)
    except DomainError as exc:
        return domain_problem(exc)
    return adjudicate(case, policy).as_dict()
