"""``/api/v1/surveillance`` — the notifiable-disease catalogue, case report cards and their review,
the early-warning signals and the CDC's answer, and timeliness per institution.

Thin: each route validates its input and calls one service or selector with the caller. A card or
signal outside the caller's scope is 404 exactly like one that does not exist; every card read is
audited. Errors are problem details with ``field`` when one input is at fault; a duplicate card is
409 ``duplicate_card`` with the existing card's ``card_id`` and ``card_no`` (post again with
``merge_into`` set to that id to merge).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from yigongti.care import selectors as care_selectors
from yigongti.core.api import PROBLEMS, WRITE_PROBLEMS, Page, PageParams, Problem, caller, domain_problem, page_of
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound
from yigongti.residents.selectors import resident_get

from . import alerts, selectors, services
from .errors import CardInvalid, DuplicateCard
from .models import CaseCard, Disease, Outbreak, Signal

router = Router(tags=["surveillance"])
# A review step or an answer to a signal by someone who may not take it is 403.
REVIEW_PROBLEMS: dict[int, type[Problem]] = {**WRITE_PROBLEMS, 403: Problem}


# ---------------------------------------------------------------- schemas


class DiseaseOut(Schema):
    code: str
    name: str
    name_en: str
    disease_class: str = Field(..., description="A 甲类 | B 乙类 | C 丙类")
    managed_as_a: bool
    icd10: list[str]
    deadline_hours: int
    single_case: bool
    methods: list[str]
    params: dict[str, float]


class CardIn(Schema):
    record_no: str = Field("", description="a resident's record number; empty for a patient who is not one")
    patient_name: str = Field("", max_length=50)
    sex: str = Field("", description="M | F")
    birth_date: dt.date | None = None
    id_number: str = Field("", max_length=18)
    phone: str = Field("", max_length=32)
    division: str = Field("", description="code of the township or village of the address at onset")
    address: str = Field("", max_length=255)
    disease: str = Field("", description="disease code; may be empty when icd10 names it")
    icd10: str = Field("", max_length=16)
    diagnosis_type: str = Field(..., description="suspected | clinical | confirmed | carrier")
    onset_date: dt.date
    diagnosed_at: dt.datetime
    reported_at: dt.datetime | None = Field(None, description="default: now (a late entry of a paper card)")
    institution: str = Field("", description="reporting institution code; default: the caller's")
    clinician_name: str = Field("", max_length=50)
    encounter_id: int | None = None
    note: str = ""
    merge_into: int | None = Field(None, description="the card_id a 409 duplicate_card named: merge into it")


class EventOut(Schema):
    action: str
    at: dt.datetime
    by: str
    note: str
    changes: dict[str, Any]


class CardOut(Schema):
    id: int
    card_no: str
    record_no: str | None
    patient_name: str
    sex: str
    birth_date: dt.date | None
    division: str | None
    township: str | None
    address: str
    disease: str
    disease_name: str
    icd10: str
    diagnosis_type: str
    onset_date: dt.date
    diagnosed_at: dt.datetime
    reported_at: dt.datetime
    deadline_at: dt.datetime
    on_time: bool
    delay_hours: float
    institution: str
    institution_name: str
    clinician_name: str
    encounter_id: int | None
    status: str
    return_reason: str
    delete_reason: str
    duplicate_of: str | None
    outbreak: str | None
    note: str


class CardDetailOut(CardOut):
    id_number: str
    phone: str
    events: list[EventOut]


class CardFilters(Schema):
    status: str = ""
    disease: str = ""
    start: dt.date | None = Field(None, description="reported on or after")
    end: dt.date | None = Field(None, description="reported on or before")
    institution: str = ""


class ReasonIn(Schema):
    reason: str = Field(..., max_length=500)


class DeleteIn(ReasonIn):
    duplicate_of: str = Field("", description="card number of the card this one duplicates")


class ReviseIn(Schema):
    disease: str = ""
    diagnosis_type: str = ""
    note: str = Field("", max_length=500)


class CorrectIn(Schema):
    """Only the fields sent are changed."""

    patient_name: str | None = None
    sex: str | None = None
    birth_date: dt.date | None = None
    id_number: str | None = None
    phone: str | None = None
    division: str | None = Field(None, description="township or village code; empty: outside the county")
    address: str | None = None
    diagnosis_type: str | None = None
    onset_date: dt.date | None = None
    diagnosed_at: dt.datetime | None = None
    clinician_name: str | None = None
    note: str | None = None


class SignalOut(Schema):
    id: int
    date: dt.date
    township: str
    township_name: str
    disease: str
    disease_name: str
    method: str
    observed: float
    expected: float
    threshold: float
    window_start: dt.date
    status: str
    note: str
    case_count: int
    outbreak: str | None


class SeriesPoint(Schema):
    """One day of a signal's chart; ``None`` where the day is missing or the method could not judge it."""

    date: dt.date
    observed: float | None
    expected: float | None
    upperbound: float | None
    alarm: bool


class SignalDetailOut(SignalOut):
    series: list[SeriesPoint]
    case_ids: list[int]


class SignalFilters(Schema):
    status: str = Field("", description="'' waiting (new, verified) | all | new | verified | dismissed | investigating")
    disease: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


class NoteIn(Schema):
    note: str = Field(..., max_length=2000)


class InvestigateIn(Schema):
    title: str = Field("", max_length=200)
    note: str = ""
    card_ids: list[int] | None = Field(None, description="the cases to link; default: all the signal's cases")


class OutbreakOut(Schema):
    id: int
    code: str
    title: str
    township: str
    disease: str
    status: str
    opened_at: dt.datetime
    case_ids: list[int]


class TimelinessFilters(Schema):
    start: dt.date | None = Field(None, description="default: 1 January of this year")
    end: dt.date | None = Field(None, description="default: today")


class TimelinessRow(Schema):
    institution: str
    institution_name: str
    reported: int
    on_time: int
    rate: float | None
    median_hours: float | None


# ---------------------------------------------------------------- conversions


def disease_out(d: Disease) -> dict[str, Any]:
    return {"code": d.code, "name": d.name, "name_en": d.name_en, "disease_class": d.disease_class,
            "managed_as_a": d.managed_as_a, "icd10": list(d.icd10), "deadline_hours": d.deadline_hours,
            "single_case": d.single_case, "methods": list(d.methods), "params": dict(d.params or {})}


def card_out(c: CaseCard) -> dict[str, Any]:
    return {
        "id": c.pk, "card_no": c.card_no, "record_no": c.resident.record_no if c.resident else None,
        "patient_name": c.patient_name, "sex": c.sex, "birth_date": c.birth_date,
        "division": c.division.code if c.division else None, "township": c.township.code if c.township else None,
        "address": c.address, "disease": c.disease.code, "disease_name": c.disease.name, "icd10": c.icd10,
        "diagnosis_type": c.diagnosis_type, "onset_date": c.onset_date, "diagnosed_at": c.diagnosed_at,
        "reported_at": c.reported_at, "deadline_at": c.deadline_at, "on_time": c.on_time,
        "delay_hours": round(c.delay_hours, 2), "institution": c.institution.code,
        "institution_name": c.institution.name, "clinician_name": c.clinician_name, "encounter_id": c.encounter_id,
        "status": c.status, "return_reason": c.return_reason, "delete_reason": c.delete_reason,
        "duplicate_of": c.duplicate_of.card_no if c.duplicate_of else None,
        "outbreak": c.outbreak.code if c.outbreak else None, "note": c.note,
    }


def card_detail_out(c: CaseCard) -> dict[str, Any]:
    return {**card_out(c), "id_number": c.id_number, "phone": c.phone,
            "events": [{"action": e.action, "at": e.at, "by": e.by.get_username() if e.by else "", "note": e.note,
                        "changes": e.changes or {}} for e in selectors.card_events(c)]}


def signal_out(s: Signal) -> dict[str, Any]:
    count = getattr(s, "case_count", None)
    return {"id": s.pk, "date": s.date, "township": s.township.code, "township_name": s.township.name,
            "disease": s.disease.code, "disease_name": s.disease.name, "method": s.method, "observed": s.observed,
            "expected": s.expected, "threshold": s.threshold, "window_start": s.window_start, "status": s.status,
            "note": s.note, "case_count": count if count is not None else s.cases.count(),
            "outbreak": s.outbreak.code if s.outbreak else None}


def outbreak_out(o: Outbreak, case_ids: list[int]) -> dict[str, Any]:
    return {"id": o.pk, "code": o.code, "title": o.title, "township": o.township.code, "disease": o.disease.code,
            "status": o.status, "opened_at": o.opened_at, "case_ids": case_ids}


def _pk(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise NotFound()
    return int(value)


def _card(request: HttpRequest, card_id: str) -> CaseCard:
    return selectors.card_get(user=caller(request), pk=_pk(card_id), request=request)


def _card_input(request: HttpRequest, data: CardIn) -> services.CardInput:
    """The service's input from the body: codes resolved (a resident or encounter out of scope is 404)."""
    user = caller(request)
    encounter = (care_selectors.encounter_get(user=user, pk=data.encounter_id, request=request)
                 if data.encounter_id else None)
    resident = None
    if data.record_no.strip():
        resident = (encounter.resident if encounter is not None and encounter.resident.record_no == data.record_no
                    else resident_get(user=user, record_no=data.record_no, request=request))
    if data.institution:
        institution = care_selectors.institution_by_code(data.institution)
    elif encounter is not None and encounter.institution is not None:
        institution = encounter.institution
    elif getattr(user, "institution", None) is not None:
        institution = user.institution
    else:
        raise CardInvalid(reason=_("请填写报告单位（institution）。"), field="institution")
    return services.CardInput(
        institution=institution, diagnosis_type=data.diagnosis_type, onset_date=data.onset_date,
        diagnosed_at=data.diagnosed_at, disease=selectors.disease_by_code(data.disease) if data.disease else None,
        icd10=data.icd10, resident=resident, patient_name=data.patient_name, sex=data.sex,
        birth_date=data.birth_date, id_number=data.id_number, phone=data.phone,
        division=selectors.address_division_by_code(data.division) if data.division else None,
        address=data.address, clinician_name=data.clinician_name, encounter=encounter,
        reported_at=data.reported_at, note=data.note)


# ---------------------------------------------------------------- catalogue and cards


@router.get("/diseases", response={200: list[DiseaseOut], **PROBLEMS},
            summary="The catalogue in force (法定传染病目录)")
def disease_index(request: HttpRequest) -> Any:
    return [disease_out(d) for d in services.diseases_in_force()]


@router.get("/cards", response={200: Page[CardOut], **PROBLEMS}, summary="Cards in scope, newest report first")
def card_index(request: HttpRequest, filters: Query[CardFilters], page: Query[PageParams]) -> Any:
    user = caller(request)
    queryset = selectors.cards_export(user=user, status=filters.status, disease=filters.disease,
                                      start=filters.start, end=filters.end, institution=filters.institution)
    result = page_of(queryset.select_related("duplicate_of", "outbreak"), page)
    selectors.audit_cards(user=user, cards=result["items"], request=request)
    return {**result, "items": [card_out(c) for c in result["items"]]}


@router.post("/cards", response={201: CardDetailOut, **WRITE_PROBLEMS},
             summary="File a 传染病报告卡 (409 duplicate_card offers the card to merge into)")
def card_new(request: HttpRequest, data: CardIn) -> Any:
    user = caller(request)
    try:
        card = services.card_report(user=user, data=_card_input(request, data), merge_into=data.merge_into,
                                    request=request)
        card = selectors.card_get(user=user, pk=card.pk, request=request)
    except DuplicateCard as exc:
        return domain_problem(exc, extra={"card_id": exc.params.get("card_id"), "card_no": exc.params.get("card_no")})
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201, card_detail_out(card))


@router.get("/cards/{card_id}", response={200: CardDetailOut, **PROBLEMS}, summary="One card (audited)")
def card_detail(request: HttpRequest, card_id: str) -> Any:
    try:
        return card_detail_out(_card(request, card_id))
    except DomainError as exc:
        return domain_problem(exc)


def _review(request: HttpRequest, card_id: str, act: Any) -> Any:
    user = caller(request)
    try:
        card = _card(request, card_id)
        act(user, card)
        return card_detail_out(selectors.card_get(user=user, pk=card.pk, request=request))
    except DomainError as exc:
        return domain_problem(exc)


@router.post("/cards/{card_id}/accept", response={200: CardDetailOut, **REVIEW_PROBLEMS},
             summary="审核通过: township 初审 or county CDC 终审")
def card_accept(request: HttpRequest, card_id: str) -> Any:
    return _review(request, card_id, lambda user, c: services.card_accept(user=user, card=c, request=request))


@router.post("/cards/{card_id}/return", response={200: CardDetailOut, **REVIEW_PROBLEMS},
             summary="退回订正 with the reason")
def card_return(request: HttpRequest, card_id: str, data: ReasonIn) -> Any:
    return _review(request, card_id, lambda user, c: services.card_return(
        user=user, card=c, reason=data.reason, request=request))


@router.post("/cards/{card_id}/revise", response={200: CardDetailOut, **REVIEW_PROBLEMS},
             summary="订正诊断: the disease and/or 病例分类")
def card_revise(request: HttpRequest, card_id: str, data: ReviseIn) -> Any:
    def act(user: Any, card: CaseCard) -> None:
        disease = selectors.disease_by_code(data.disease) if data.disease else None
        services.card_revise(user=user, card=card, disease=disease, diagnosis_type=data.diagnosis_type,
                             note=data.note, request=request)
    return _review(request, card_id, act)


@router.post("/cards/{card_id}/delete", response={200: CardDetailOut, **REVIEW_PROBLEMS},
             summary="删除重卡 with the reason (and the card it duplicates)")
def card_delete(request: HttpRequest, card_id: str, data: DeleteIn) -> Any:
    def act(user: Any, card: CaseCard) -> None:
        duplicate = None
        if data.duplicate_of.strip():
            duplicate = selectors.cards_by_numbers(user=user, numbers=[data.duplicate_of]).get(
                data.duplicate_of.strip())
            if duplicate is None:
                raise NotFound()
        services.card_delete(user=user, card=card, reason=data.reason, duplicate_of=duplicate, request=request)
    return _review(request, card_id, act)


@router.post("/cards/{card_id}/correct", response={200: CardDetailOut, **REVIEW_PROBLEMS},
             summary="订正: the reporting institution corrects a returned card (the fields sent)")
def card_correct(request: HttpRequest, card_id: str, data: CorrectIn) -> Any:
    def act(user: Any, card: CaseCard) -> None:
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        if "division" in changes:
            code = changes["division"] or ""
            changes["division"] = selectors.address_division_by_code(code) if code else None
        for name in ("sex", "id_number", "phone", "address", "clinician_name", "note", "patient_name"):
            if name in changes and changes[name] is None:
                changes[name] = ""
        services.card_correct(user=user, card=card, changes=changes, request=request)
    return _review(request, card_id, act)


# ---------------------------------------------------------------- signals


def _signal(request: HttpRequest, signal_id: str) -> Signal:
    return selectors.signal_get(user=caller(request), pk=_pk(signal_id))


def signal_detail_out(request: HttpRequest, signal: Signal) -> dict[str, Any]:
    cases = selectors.signal_cases(user=caller(request), signal=signal, request=request)
    return {**signal_out(signal), "series": alerts.signal_series(signal), "case_ids": [c.pk for c in cases]}


@router.get("/signals", response={200: Page[SignalOut], **PROBLEMS},
            summary="The signal queue: waiting first (待核实, 已核实), newest first")
def signal_index(request: HttpRequest, filters: Query[SignalFilters], page: Query[PageParams]) -> Any:
    queryset = selectors.signals_queue(user=caller(request), status=filters.status, disease=filters.disease,
                                       start=filters.start, end=filters.end)
    result = page_of(queryset, page)
    return {**result, "items": [signal_out(s) for s in result["items"]]}


@router.get("/signals/{signal_id}", response={200: SignalDetailOut, **PROBLEMS},
            summary="One signal with its series (observed, expected, threshold) and cases")
def signal_detail(request: HttpRequest, signal_id: str) -> Any:
    try:
        return signal_detail_out(request, _signal(request, signal_id))
    except DomainError as exc:
        return domain_problem(exc)


def _answer(request: HttpRequest, signal_id: str, act: Any) -> Any:
    user = caller(request)
    try:
        signal = act(user, _signal(request, signal_id))
        return signal_detail_out(request, selectors.signal_get(user=user, pk=signal.pk))
    except DomainError as exc:
        return domain_problem(exc)


@router.post("/signals/{signal_id}/verify", response={200: SignalDetailOut, **REVIEW_PROBLEMS},
             summary="核实 (the county CDC, with a note)")
def signal_verify(request: HttpRequest, signal_id: str, data: NoteIn) -> Any:
    return _answer(request, signal_id, lambda user, s: alerts.signal_verify(user=user, signal=s, note=data.note))


@router.post("/signals/{signal_id}/dismiss", response={200: SignalDetailOut, **REVIEW_PROBLEMS},
             summary="排除 (the county CDC, with the reason)")
def signal_dismiss(request: HttpRequest, signal_id: str, data: NoteIn) -> Any:
    return _answer(request, signal_id, lambda user, s: alerts.signal_dismiss(user=user, signal=s, note=data.note))


@router.post("/signals/{signal_id}/investigate", response={201: OutbreakOut, **REVIEW_PROBLEMS},
             summary="开展暴发调查: open an outbreak investigation and link the cases")
def signal_investigate(request: HttpRequest, signal_id: str, data: InvestigateIn) -> Any:
    user = caller(request)
    try:
        signal = _signal(request, signal_id)
        outbreak = alerts.signal_investigate(user=user, signal=signal, title=data.title, note=data.note,
                                             card_ids=data.card_ids)
        cases = selectors.outbreak_cases(user=user, outbreak=outbreak, request=request)
    except DomainError as exc:
        return domain_problem(exc)
    return Status(201, outbreak_out(outbreak, [c.pk for c in cases]))


# ---------------------------------------------------------------- timeliness


@router.get("/timeliness", response={200: list[TimelinessRow], **PROBLEMS},
            summary="报告及时率 per reporting institution in scope, worst first")
def timeliness(request: HttpRequest, filters: Query[TimelinessFilters]) -> Any:
    day = today()
    start, end = filters.start or dt.date(day.year, 1, 1), filters.end or day
    rows = selectors.timeliness_by_institution(user=caller(request), start=min(start, end), end=max(start, end))
    return [{"institution": t.institution.code, "institution_name": t.institution.name, "reported": t.reported,
             "on_time": t.on_time, "rate": round(t.rate, 2) if t.rate is not None else None,
             "median_hours": round(t.median_hours, 2) if t.median_hours is not None else None} for t in rows]

