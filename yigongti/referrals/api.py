"""``/api/v1/referrals`` — two-way referral, the referral desk, statistics, booked slots and
teleconsultation.

Thin: each route validates its input and calls one service or selector with the caller. A
referral, booking or consultation outside the caller's scope is 404 exactly like one that does not
exist. Errors are problem details with ``field`` when one input is at fault. ``POST /referrals``
answers 201, or 200 with the stored referral when the ``Idempotency-Key`` header (or body
``idempotency_key``) was used before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from yigongti.core.api import PROBLEMS, WRITE_PROBLEMS, caller, domain_problem
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound
from yigongti.residents.selectors import resident_get

from . import selectors, services
from .models import Booking, Referral, Slot, Teleconsultation

router = Router(tags=["referrals"])
IDEMPOTENCY_HEADER = "Idempotency-Key"


# ---------------------------------------------------------------- schemas


class ReferralIn(Schema):
    record_no: str
    to_institution: str = Field(..., description="code of the receiving institution, e.g. H0001")
    kind: str = Field(..., description="outpatient | inpatient | emergency | examination | rehabilitation | chronic")
    reason: str = Field(..., max_length=500)
    urgency: str = Field("routine", description="routine | urgent | emergency")
    diagnosis_code: str = Field("", max_length=16, description="ICD-10, e.g. I10")
    diagnosis_name: str = Field("", max_length=200)
    summary: str = ""
    result_ids: list[int] = Field(default_factory=list)
    to_department: str | None = Field(None, description="department code at the receiving institution")
    from_institution: str | None = Field(None, description="default: the caller's institution")
    care_plan: dict[str, Any] | None = Field(None, description='down only: {"programme", "follow_up_days", …}')
    idempotency_key: str | None = Field(None, max_length=64)


class ReferralOut(Schema):
    id: int
    record_no: str
    name: str
    direction: str
    kind: str
    urgency: str
    status: str
    from_institution: str
    from_institution_name: str
    to_institution: str
    to_institution_name: str
    to_department: str | None
    reason: str
    diagnosis_code: str
    diagnosis_name: str
    summary: str
    requested_at: dt.datetime
    respond_by: dt.datetime
    escalate_at: dt.datetime
    escalated_at: dt.datetime | None
    responded_at: dt.datetime | None
    reject_reason: str
    cancel_reason: str
    arrived_at: dt.datetime | None
    completed_at: dt.datetime | None
    feedback: str
    care_plan: dict[str, Any]
    parent: int | None


class EventOut(Schema):
    action: str
    from_status: str
    to_status: str
    at: dt.datetime
    by: str
    note: str


class ReferralDetailOut(ReferralOut):
    events: list[EventOut]
    result_ids: list[int]
    bookings: list[int]


class NoteIn(Schema):
    note: str = Field("", max_length=500)
    slot_id: int | None = None


class ReasonIn(Schema):
    reason: str = Field(..., max_length=500)


class FeedbackIn(Schema):
    feedback: str


class DownIn(Schema):
    reason: str = Field(..., max_length=500)
    summary: str = ""
    care_plan: dict[str, Any] | None = None
    to_institution: str | None = None
    kind: str = ""


class DeskFilters(Schema):
    institution: str
    box: str = "incoming"
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=200)


class DeskOut(Schema):
    total: int
    page: int
    per_page: int
    pages: int
    items: list[ReferralOut]


class StatsFilters(Schema):
    org: str | None = None
    year: int | None = Field(None, ge=2000, le=2100)


class StatsRow(Schema):
    institution: str
    institution_name: str
    month: str
    up_out: int
    up_in: int
    down_out: int
    down_in: int


class SlotFilters(Schema):
    institution: str
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    department: str | None = None


class SlotIn(Schema):
    institution: str
    department: str
    date: dt.date
    start_time: dt.time
    end_time: dt.time
    capacity: int
    clinician_name: str = ""


class SlotOut(Schema):
    id: int
    institution: str
    department: str
    department_name: str
    date: dt.date
    start_time: dt.time
    end_time: dt.time
    capacity: int
    booked: int
    available: int
    clinician_name: str


class BookIn(Schema):
    record_no: str
    referral_id: int | None = None


class BookingOut(Schema):
    id: int
    slot_id: int
    record_no: str
    referral_id: int | None
    status: str
    booked_at: dt.datetime
    cancelled_at: dt.datetime | None


class ConsultIn(Schema):
    record_no: str
    specialist_institution: str
    question: str
    department: str | None = None
    result_ids: str = Field("", description="comma-separated result ids")


class AnswerIn(Schema):
    answer: str


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int


class ConsultOut(Schema):
    id: int
    record_no: str
    requesting_institution: str
    specialist_institution: str
    department: str | None
    question: str
    status: str
    requested_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None
    attachments: list[AttachmentOut]
    result_ids: list[int]


# ---------------------------------------------------------------- conversions


def referral_out(r: Referral) -> dict[str, Any]:
    return {
        "id": r.pk, "record_no": r.resident.record_no, "name": r.resident.name, "direction": r.direction,
        "kind": r.kind, "urgency": r.urgency, "status": r.status, "from_institution": r.from_institution.code,
        "from_institution_name": r.from_institution.name, "to_institution": r.to_institution.code,
        "to_institution_name": r.to_institution.name,
        "to_department": r.to_department.code if r.to_department else None, "reason": r.reason,
        "diagnosis_code": r.diagnosis_code, "diagnosis_name": r.diagnosis_name, "summary": r.summary,
        "requested_at": r.requested_at, "respond_by": r.respond_by, "escalate_at": r.escalate_at,
        "escalated_at": r.escalated_at, "responded_at": r.responded_at, "reject_reason": r.reject_reason,
        "cancel_reason": r.cancel_reason, "arrived_at": r.arrived_at, "completed_at": r.completed_at,
        "feedback": r.feedback, "care_plan": r.care_plan or {}, "parent": r.parent_id,
    }


def referral_detail_out(r: Referral) -> dict[str, Any]:
    return {**referral_out(r),
            "events": [{"action": e.action, "from_status": e.from_status, "to_status": e.to_status, "at": e.at,
                        "by": e.by.get_username() if e.by else "", "note": e.note} for e in r.events.all()],
            "result_ids": [x.pk for x in r.results.all()], "bookings": [b.pk for b in r.bookings.all()]}


def slot_out(s: Slot) -> dict[str, Any]:
    return {"id": s.pk, "institution": s.institution.code, "department": s.department.code,
            "department_name": s.department.name, "date": s.date, "start_time": s.start_time,
            "end_time": s.end_time, "capacity": s.capacity, "booked": s.booked,
            "available": s.capacity - s.booked, "clinician_name": s.clinician_name}


def booking_out(b: Booking) -> dict[str, Any]:
    return {"id": b.pk, "slot_id": b.slot_id, "record_no": b.resident.record_no, "referral_id": b.referral_id,
            "status": b.status, "booked_at": b.booked_at, "cancelled_at": b.cancelled_at}


def consult_out(c: Teleconsultation) -> dict[str, Any]:
    return {"id": c.pk, "record_no": c.resident.record_no, "requesting_institution": c.requesting_institution.code,
            "specialist_institution": c.specialist_institution.code,
            "department": c.department.code if c.department else None, "question": c.question,
            "status": c.status, "requested_at": c.requested_at, "answer": c.answer, "answered_at": c.answered_at,
            "attachments": [{"id": a.pk, "name": a.name, "content_type": a.content_type, "size": a.size}
                            for a in c.attachments.all()],
            "result_ids": [x.pk for x in c.results.all()]}


def _problem(exc: DomainError) -> HttpResponse:
    """Problem details with the ``field`` a validation error names."""
    return domain_problem(exc)


def _pk(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise NotFound()
    return int(value)


def _ids(text: str) -> list[int]:
    return [int(part) for part in text.replace("，", ",").split(",") if part.strip().isdigit()]


# ---------------------------------------------------------------- referrals


@router.post("", response={200: ReferralOut, 201: ReferralOut, **WRITE_PROBLEMS},
             summary="Request a referral (转诊申请; idempotent with Idempotency-Key)")
def referral_new(request: HttpRequest, data: ReferralIn) -> Any:
    user = caller(request)
    key = data.idempotency_key or request.headers.get(IDEMPOTENCY_HEADER) or None
    try:
        resident = resident_get(user=user, record_no=data.record_no, request=request)
        target = selectors.institution_by_code(data.to_institution, field="to_institution")
        source = (selectors.institution_by_code(data.from_institution, field="from_institution")
                  if data.from_institution else None)
        department = (selectors.department_by_code(target, data.to_department, field="to_department")
                      if data.to_department else None)
        referral = services.referral_request(
            user=user, resident=resident, to_institution=target, kind=data.kind, reason=data.reason,
            urgency=data.urgency, diagnosis_code=data.diagnosis_code, diagnosis_name=data.diagnosis_name,
            summary=data.summary, result_ids=data.result_ids, to_department=department, from_institution=source,
            care_plan=data.care_plan, idempotency_key=key, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(200 if services.was_replayed(referral) else 201, referral_out(referral))


@router.get("/desk", response={200: DeskOut, **PROBLEMS}, summary="The referral desk of an institution")
def referral_desk(request: HttpRequest, filters: Query[DeskFilters]) -> Any:
    """``box``: incoming (to it, open), outgoing (from it), overdue (unanswered past the deadline), done."""
    user = caller(request)
    try:
        institution = selectors.institution_by_code(filters.institution, field="institution")
        page = selectors.referral_desk(user=user, institution=institution, box=filters.box, page=filters.page,
                                       per_page=filters.per_page, request=request)
    except DomainError as exc:
        return _problem(exc)
    return {"total": page.total, "page": page.page, "per_page": page.per_page, "pages": page.pages,
            "items": [referral_out(r) for r in page.items]}


@router.get("/stats", response={200: list[StatsRow], **PROBLEMS},
            summary="Up/down referrals by institution and month")
def referral_stats(request: HttpRequest, filters: Query[StatsFilters]) -> Any:
    try:
        return selectors.referral_counts(user=caller(request), org_code=filters.org, year=filters.year or today().year)
    except DomainError as exc:
        return _problem(exc)


# ---------------------------------------------------------------- slots and bookings


@router.get("/slots", response={200: list[SlotOut], **PROBLEMS}, summary="Published slots of an institution")
def slot_index(request: HttpRequest, filters: Query[SlotFilters]) -> Any:
    try:
        institution = selectors.institution_by_code(filters.institution, field="institution")
        department = (selectors.department_by_code(institution, filters.department, field="department")
                      if filters.department else None)
        start = filters.date_from or today()
        slots = selectors.slots_for(institution=institution, date_from=start,
                                    date_to=filters.date_to or start + dt.timedelta(days=14), department=department)
    except DomainError as exc:
        return _problem(exc)
    return [slot_out(s) for s in slots]


@router.post("/slots", response={201: SlotOut, **WRITE_PROBLEMS}, summary="Publish a slot (发布号源)")
def slot_new(request: HttpRequest, data: SlotIn) -> Any:
    try:
        institution = selectors.institution_by_code(data.institution, field="institution")
        department = selectors.department_by_code(institution, data.department, field="department")
        slot = services.slot_publish(user=caller(request), department=department, date=data.date,
                                     start_time=data.start_time, end_time=data.end_time, capacity=data.capacity,
                                     clinician_name=data.clinician_name, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(201, slot_out(slot))


@router.post("/slots/{slot_id}/book", response={201: BookingOut, **WRITE_PROBLEMS},
             summary="Book a place on a slot (409 slot_full when none is left)")
def slot_book(request: HttpRequest, slot_id: str, data: BookIn) -> Any:
    user = caller(request)
    try:
        slot = selectors.slot_get(pk=_pk(slot_id))
        resident = resident_get(user=user, record_no=data.record_no, request=request)
        referral = selectors.referral_get(user=user, pk=data.referral_id, request=request) if data.referral_id else None
        booking = services.slot_book(user=user, slot=slot, resident=resident, referral=referral, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(201, booking_out(booking))


@router.post("/bookings/{booking_id}/cancel", response={200: BookingOut, **WRITE_PROBLEMS},
             summary="Cancel a booking (the place is freed)")
def booking_cancel(request: HttpRequest, booking_id: str) -> Any:
    user = caller(request)
    try:
        booking = selectors.booking_get(user=user, pk=_pk(booking_id), request=request)
        booking = services.booking_cancel(user=user, booking=booking, request=request)
    except DomainError as exc:
        return _problem(exc)
    return booking_out(booking)


# ---------------------------------------------------------------- teleconsultation


@router.post("/consults", response={201: ConsultOut, **WRITE_PROBLEMS},
             summary="Ask a county specialist for a remote consultation (multipart, files ≤ 10 MB each)")
def consult_new(request: HttpRequest, data: Form[ConsultIn], files: File[list[UploadedFile] | None] = None) -> Any:
    user = caller(request)
    try:
        resident = resident_get(user=user, record_no=data.record_no, request=request)
        specialist = selectors.institution_by_code(data.specialist_institution, field="specialist_institution")
        department = (selectors.department_by_code(specialist, data.department, field="department")
                      if data.department else None)
        consult = services.consult_request(user=user, resident=resident, specialist_institution=specialist,
                                           question=data.question, department=department,
                                           result_ids=_ids(data.result_ids), files=files or [], request=request)
        consult = selectors.consult_get(user=user, pk=consult.pk, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(201, consult_out(consult))


@router.post("/consults/{consult_id}/answer", response={200: ConsultOut, **WRITE_PROBLEMS},
             summary="Answer a consultation (once)")
def consult_reply(request: HttpRequest, consult_id: str, data: AnswerIn) -> Any:
    user = caller(request)
    try:
        consult = selectors.consult_get(user=user, pk=_pk(consult_id), request=request)
        services.consult_answer(user=user, consultation=consult, answer=data.answer, request=request)
        consult = selectors.consult_get(user=user, pk=consult.pk, request=request)
    except DomainError as exc:
        return _problem(exc)
    return consult_out(consult)


@router.get("/consults/{consult_id}", response={200: ConsultOut, **PROBLEMS}, summary="One consultation (audited)")
def consult_detail(request: HttpRequest, consult_id: str) -> Any:
    try:
        return consult_out(selectors.consult_get(user=caller(request), pk=_pk(consult_id), request=request))
    except DomainError as exc:
        return _problem(exc)


# ---------------------------------------------------------------- one referral and its transitions


@router.get("/{referral_id}", response={200: ReferralDetailOut, **PROBLEMS}, summary="One referral (audited)")
def referral_detail(request: HttpRequest, referral_id: str) -> Any:
    try:
        return referral_detail_out(selectors.referral_get(user=caller(request), pk=_pk(referral_id), request=request))
    except DomainError as exc:
        return _problem(exc)


def _act(request: HttpRequest, referral_id: str, act: Any) -> Any:
    user = caller(request)
    try:
        referral = selectors.referral_get(user=user, pk=_pk(referral_id), request=request)
        act(user, referral)
        return referral_detail_out(selectors.referral_get(user=user, pk=referral.pk, request=request))
    except DomainError as exc:
        return _problem(exc)


@router.post("/{referral_id}/accept", response={200: ReferralDetailOut, **WRITE_PROBLEMS},
             summary="Accept (接收); with slot_id a place is booked too")
def referral_accept(request: HttpRequest, referral_id: str, data: NoteIn) -> Any:
    def act(user: Any, referral: Referral) -> None:
        slot = selectors.slot_get(pk=data.slot_id) if data.slot_id else None
        services.referral_accept(user=user, referral=referral, note=data.note, slot=slot, request=request)
    return _act(request, referral_id, act)


@router.post("/{referral_id}/reject", response={200: ReferralDetailOut, **WRITE_PROBLEMS}, summary="Reject (拒绝)")
def referral_reject(request: HttpRequest, referral_id: str, data: ReasonIn) -> Any:
    return _act(request, referral_id, lambda user, r: services.referral_reject(
        user=user, referral=r, reason=data.reason, request=request))


@router.post("/{referral_id}/cancel", response={200: ReferralDetailOut, **WRITE_PROBLEMS}, summary="Cancel (撤销)")
def referral_cancel(request: HttpRequest, referral_id: str, data: ReasonIn) -> Any:
    return _act(request, referral_id, lambda user, r: services.referral_cancel(
        user=user, referral=r, reason=data.reason, request=request))


@router.post("/{referral_id}/arrive", response={200: ReferralDetailOut, **WRITE_PROBLEMS},
             summary="The patient arrived (到诊)")
def referral_arrive(request: HttpRequest, referral_id: str) -> Any:
    return _act(request, referral_id, lambda user, r: services.referral_arrive(user=user, referral=r, request=request))


@router.post("/{referral_id}/complete", response={200: ReferralDetailOut, **WRITE_PROBLEMS},
             summary="Complete with feedback (诊疗反馈)")
def referral_complete(request: HttpRequest, referral_id: str, data: FeedbackIn) -> Any:
    return _act(request, referral_id, lambda user, r: services.referral_complete(
        user=user, referral=r, feedback=data.feedback, request=request))


@router.post("/{referral_id}/down", response={201: ReferralOut, **WRITE_PROBLEMS},
             summary="Send the patient back down with a care plan (下转)")
def referral_send_down(request: HttpRequest, referral_id: str, data: DownIn) -> Any:
    user = caller(request)
    try:
        referral = selectors.referral_get(user=user, pk=_pk(referral_id), request=request)
        target = (selectors.institution_by_code(data.to_institution, field="to_institution")
                  if data.to_institution else None)
        down = services.referral_down(user=user, referral=referral, reason=data.reason, summary=data.summary,
                                      care_plan=data.care_plan, to_institution=target, kind=data.kind,
                                      request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(201, referral_out(down))
