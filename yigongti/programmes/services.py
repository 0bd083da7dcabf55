"""Writes of the programmes app: enrolment (纳入管理), closing (结案), recording a visit (随访/体检/接种).

Every service is keyword-only and atomic: it validates everything first and raises a
:class:`~yigongti.core.errors.DomainError` with nothing written, or commits the change, the
re-planned schedule and the audit entry together. A resident outside the caller's data-entry
scope is "not found", and the attempt is audited (``not_found``) after the rollback.

Plan upkeep (re-planning, the nightly sync) lives in :mod:`.services_plan`; its public functions
are re-exported here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import Conflict, ValidationFailed
from yigongti.core.models import AuditAction
from yigongti.core.scope import covers
from yigongti.residents.choices import RecordStatus
from yigongti.residents.errors import OutOfScope
from yigongti.residents.models import Resident
from yigongti.residents.services import audit_misses

from .choices import CloseReason, EnrolmentHow, EnrolmentStatus, VisitSource
from .engine import classify, validate_values
from .engine.types import Classification, PlanRow, ProgrammeSpec
from .errors import AlreadyEnrolled, EnrolmentClosed, NotEligible, NotEnrolled
from .models import Enrolment, Programme, Visit
from .services_plan import (
    ENROLMENT,
    VISIT,
    SyncResult,
    age_years,
    close_enrolments,
    enrol_auto_bulk,
    enrolment_replan,
    programme_get,
    programme_replan_all,
    programmes_sync,
    replan_batch,
    spec_get,
    visit_columns,
    visit_values,
)

__all__ = [
    "SyncResult", "VisitOutcome", "enrolment_close", "enrolment_create", "enrolment_replan",
    "programme_replan_all", "programmes_sync", "replan_batch", "visit_record",
]

RESIDENT = "residents.resident"
MAX_NOTE = 200


def programme_label(programme: Programme | ProgrammeSpec) -> str:
    """A programme's name in the active language (error messages name it for the reader)."""
    english = (get_language() or "").startswith("en")
    if isinstance(programme, Programme):
        return programme.name_en if english and programme.name_en else programme.name
    return programme.name.en if english else programme.name.zh


def _require_entry(user: Any, path: str, object_type: str, object_id: Any) -> None:
    if not covers(user, path, mode="entry"):
        raise OutOfScope(object_type=object_type, object_id=object_id)


def _invalid(field: str, reason: Any) -> ValidationFailed:
    return ValidationFailed(reason=reason, field=field)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# ---------------------------------------------------------------- enrolment (纳入管理)


def _check_eligible(spec: ProgrammeSpec, resident: Resident, *, on: dt.date, diagnosis_code: str,
                    confirmed: bool) -> None:
    rules = spec.eligibility
    name = programme_label(spec)

    def refuse(field: str, reason: Any) -> NotEligible:
        return NotEligible(programme=name, reason=reason, field=field)

    age = age_years(resident.birth_date, on)
    if rules.min_age_years is not None and age < rules.min_age_years:
        raise refuse("resident", _("服务对象为 %(min)s 岁及以上，该居民 %(age)s 岁") % {
            "min": rules.min_age_years, "age": age})
    if rules.max_age_years is not None and age >= rules.max_age_years:
        raise refuse("resident", _("服务对象为 %(max)s 岁以下，该居民 %(age)s 岁") % {
            "max": rules.max_age_years, "age": age})
    if rules.sex is not None and resident.sex != rules.sex:
        raise refuse("resident", _("服务对象仅限女性") if rules.sex == "F" else _("服务对象仅限男性"))
    if rules.diagnoses:
        prefixes = "、".join(rules.diagnoses)
        if not diagnosis_code:
            raise refuse("diagnosis_code", _("须填写诊断编码（ICD-10：%(prefixes)s）") % {"prefixes": prefixes})
        if not diagnosis_code.startswith(tuple(p.upper() for p in rules.diagnoses)):
            raise refuse("diagnosis_code", _("诊断编码 %(code)s 不属于本项目（ICD-10：%(prefixes)s）") % {
                "code": diagnosis_code, "prefixes": prefixes})
    if rules.requires_confirmation and not confirmed:
        raise refuse("confirmed", _("须经确诊后纳入管理（请勾选“已确诊”）"))


def _anchor(spec: ProgrammeSpec, resident: Resident, anchor_date: dt.date | None, enrolled_on: dt.date) -> dt.date:
    """The plan's start: birth date, LMP (required), or the diagnosis/notice/enrolment date."""
    if spec.anchor == "birth":
        return resident.birth_date
    if spec.anchor == "lmp" and anchor_date is None:
        raise _invalid("anchor_date", _("须填写末次月经日期"))
    day = anchor_date or enrolled_on
    if day < resident.birth_date:
        raise _invalid("anchor_date", _("起算日期不能早于出生日期"))
    if day > enrolled_on:
        raise _invalid("anchor_date", _("起算日期不能晚于纳入日期"))
    return day


def _variant(spec: ProgrammeSpec, variant: Mapping[str, str] | None) -> dict[str, str]:
    chosen = dict(variant or {})
    for key, value in chosen.items():
        options = spec.variants.get(key)
        if options is None or value not in options:
            allowed = "；".join(f"{k}: {'/'.join(v)}" for k, v in spec.variants.items()) or "—"
            raise _invalid("variant", _("方案选择 %(key)s=%(value)s 无效（可选：%(allowed)s）") % {
                "key": key, "value": value, "allowed": allowed})
    return chosen


def active_enrolment(resident: Resident, programme: Programme, *, lock: bool = False) -> Enrolment | None:
    qs = Enrolment.objects.filter(resident=resident, programme=programme, status=EnrolmentStatus.ACTIVE)
    if lock:
        qs = qs.select_for_update()
    return qs.first()


@audit_misses
@transaction.atomic
def enrolment_create(*, user: Any, resident: Resident, programme_code: str, anchor_date: dt.date | None = None,
                     enrolled_on: dt.date | None = None, diagnosis_code: str = "", confirmed: bool = False,
                     variant: Mapping[str, str] | None = None, how: str = EnrolmentHow.MANUAL,
                     request: Any = None) -> Enrolment:
    """Enrol ``resident`` in a programme after checking the programme's eligibility (age, sex,
    diagnosis — hypertension etc. only once confirmed). The plan is written at once. One active
    enrolment per resident and programme (409 ``already_enrolled`` names the existing one)."""
    _require_entry(user, resident.path, RESIDENT, resident.record_no)
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    if resident.status != RecordStatus.ACTIVE:
        raise Conflict(reason=_("档案状态为“%(status)s”，不能纳入管理") % {
            "status": RecordStatus(resident.status).label})
    programme = programme_get(programme_code)
    on = enrolled_on or today()
    if on > today():
        raise _invalid("enrolled_on", _("纳入日期不能晚于今天"))
    if on < resident.birth_date:
        raise _invalid("enrolled_on", _("纳入日期不能早于出生日期"))
    spec = spec_get(programme.code, on)
    diagnosis = (diagnosis_code or "").strip().upper()
    _check_eligible(spec, resident, on=on, diagnosis_code=diagnosis, confirmed=confirmed)
    anchor = _anchor(spec, resident, anchor_date, on)
    chosen = _variant(spec, variant)
    existing = active_enrolment(resident, programme, lock=True)
    if existing is not None:
        raise AlreadyEnrolled(name=resident.name, programme=programme_label(spec),
                              enrolled_on=existing.enrolled_on.isoformat(), enrolment=existing.pk, field="programme")
    by = user if getattr(user, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(
                resident=resident, programme=programme, path=resident.path, anchor_date=anchor, enrolled_on=on,
                how=how, diagnosis_code=diagnosis, variant=chosen, created_by=by)
    except IntegrityError as exc:  # a concurrent enrolment won the race
        raise Conflict(reason=_("该居民刚刚已被纳入此项目管理")) from exc
    enrolment_replan(enrolment)
    audit.record(user=user, action=AuditAction.CREATE, object_type=ENROLMENT, object_id=enrolment.pk,
                 path=enrolment.path, request=request,
                 detail={"record_no": resident.record_no, "programme": programme.code, "how": how,
                         "anchor_date": anchor.isoformat(), "diagnosis_code": diagnosis})
    return enrolment


@audit_misses
@transaction.atomic
def enrolment_close(*, user: Any, enrolment: Enrolment, reason: str, on: dt.date | None = None, note: str = "",
                    request: Any = None) -> Enrolment:
    """Close an active enrolment (结案) with a reason; its pending schedule is deleted, the visits stay."""
    _require_entry(user, enrolment.path, ENROLMENT, enrolment.pk)
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if reason not in CloseReason.values:
        raise _invalid("reason", _("结案原因“%(reason)s”无效（可选：%(allowed)s）") % {
            "reason": reason, "allowed": "、".join(f"{c.value} {c.label}" for c in CloseReason)})
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise EnrolmentClosed(closed_on=_iso(enrolment.closed_on) or "")
    day = on or today()
    if day > today():
        raise _invalid("on", _("结案日期不能晚于今天"))
    if day < enrolment.enrolled_on:
        raise _invalid("on", _("结案日期不能早于纳入日期 %(date)s") % {"date": enrolment.enrolled_on.isoformat()})
    close_enrolments([enrolment.pk], reason=reason, on=day, note=(note or "").strip()[:MAX_NOTE], user=user,
                     request=request)
    enrolment.refresh_from_db()
    return enrolment


# ---------------------------------------------------------------- visits (随访 / 体检 / 接种)


@dataclass(frozen=True)
class VisitOutcome:
    """What recording a visit did: the visit, whether it is new, and what it means."""

    visit: Visit
    created: bool
    classification: Classification | None
    next_due: dt.date | None
    flags: tuple[str, ...]
    enrolment: Enrolment | None = None


def _replay(visit: Visit) -> VisitOutcome:
    """A repeated submission: the stored visit, unchanged (its classification re-labelled)."""
    classification = None
    if visit.classification:
        spec = spec_get(visit.programme.code, visit.visit_date)
        previous = list(Visit.objects.filter(resident_id=visit.resident_id, programme_id=visit.programme_id,
                                             visit_date__lt=visit.visit_date).exclude(classification="")
                        .order_by("visit_date", "pk").values_list("classification", flat=True))
        found = classify(spec, item=visit.item, values=visit_values(spec, visit), previous=previous)
        classification = found if found is not None and found.code == visit.classification else None
    return VisitOutcome(visit=visit, created=False, classification=classification, next_due=visit.next_due,
                        flags=tuple(visit.flags or ()), enrolment=visit.enrolment)


def _existing(*, enrolment: Enrolment | None, item: str, visit_date: dt.date, key: str | None) -> Visit | None:
    if key:
        found = Visit.objects.filter(idempotency_key=key).select_related("enrolment", "programme").first()
        if found is not None:
            return found
    if enrolment is not None:
        return (Visit.objects.filter(enrolment=enrolment, item=item, visit_date=visit_date)
                .select_related("enrolment", "programme").first())
    return None


def _next_after(rows: list[PlanRow], item: str, visit_date: dt.date) -> dt.date | None:
    """When the service after this one is due: the same item's next row (a follow-up after a
    follow-up, set by the classification), else the next pending row of the plan."""
    pending = [r for r in rows if r.status != "done" and r.due > visit_date]
    same = [r.due for r in pending if r.item == item]
    return min(same) if same else min((r.due for r in pending), default=None)


@audit_misses
@transaction.atomic
def visit_record(*, user: Any, resident: Resident, programme_code: str, item: str, visit_date: dt.date,
                 values: Mapping[str, object], institution: Any = None, staff: Any = None,
                 idempotency_key: str | None = None, source: str = VisitSource.WEB, note: str = "",
                 request: Any = None) -> VisitOutcome:
    """Record one service for an enrolled resident, classify it and re-plan.

    Checks: the resident is in the caller's data-entry scope and actively enrolled in the
    programme; the date is neither before birth nor in the future; the item belongs to the
    programme; every measurement parses and lies in its physiological range (``ValuesInvalid``
    names every bad field). A dose given before its minimum age or interval is recorded and
    flagged. The same submission again (same enrolment, item and date, or the same
    ``idempotency_key``) returns the stored visit with ``created=False`` and writes nothing.
    """
    _require_entry(user, resident.path, RESIDENT, resident.record_no)
    key = (idempotency_key or "").strip() or None
    programme = programme_get(programme_code)
    enrolment = active_enrolment(resident, programme, lock=True)
    replay = _existing(enrolment=enrolment, item=item, visit_date=visit_date, key=key)
    if replay is not None:
        if replay.resident_id != resident.pk or replay.programme_id != programme.pk:
            raise Conflict(reason=_("幂等键已用于另一条服务记录"), field="idempotency_key")
        return _replay(replay)
    if enrolment is None:
        raise NotEnrolled(name=resident.name, record_no=resident.record_no, programme=programme_label(programme))
    if visit_date > today():
        raise _invalid("visit_date", _("服务日期不能晚于今天"))
    if visit_date < resident.birth_date:
        raise _invalid("visit_date", _("服务日期不能早于出生日期 %(date)s") % {"date": resident.birth_date.isoformat()})
    spec = spec_get(programme.code, visit_date)
    if item not in spec.items:
        raise _invalid("item", _("“%(programme)s”没有服务项“%(item)s”（可选：%(allowed)s）") % {
            "programme": programme_label(spec), "item": item, "allowed": "、".join(spec.items)})
    typed = validate_values(spec, item, values)
    previous = list(Visit.objects.filter(resident=resident, programme=programme, visit_date__lt=visit_date)
                    .exclude(classification="").order_by("visit_date", "pk").values_list("classification", flat=True))
    classification = classify(spec, item=item, values=typed, previous=previous)
    columns, data = visit_columns(spec, typed)
    if institution is None:
        institution = getattr(user, "institution", None)
    by = user if getattr(user, "is_authenticated", False) else None
    visit = Visit(enrolment=enrolment, resident=resident, programme=programme, path=resident.path, item=item,
                  visit_date=visit_date, institution=institution, staff=staff, data=data,
                  classification=classification.code if classification else "",
                  refer=bool(classification and classification.refer),
                  note=(note or "").strip()[:MAX_NOTE], source=source, idempotency_key=key, recorded_by=by, **columns)
    try:
        with transaction.atomic():
            visit.save()
    except IntegrityError:  # the same submission, concurrently
        replay = _existing(enrolment=enrolment, item=item, visit_date=visit_date, key=key)
        if replay is None:
            raise
        return _replay(replay)
    rows = enrolment_replan(enrolment)
    flags = next((r.flags for r in rows if r.item == item and r.done_on == visit_date), ())
    enrolment.refresh_from_db()
    visit.flags = list(flags)
    visit.next_due = _next_after(rows, item, visit_date) or enrolment.next_due
    visit.save(update_fields=["flags", "next_due"])
    audit.record(user=user, action=AuditAction.CREATE, object_type=VISIT, object_id=visit.pk, path=visit.path,
                 request=request,
                 detail={"record_no": resident.record_no, "programme": programme.code, "item": item,
                         "visit_date": visit_date.isoformat(), "classification": visit.classification,
                         "refer": visit.refer, "flags": list(flags), "source": source})
    return VisitOutcome(visit=visit, created=True, classification=classification, next_due=visit.next_due,
                        flags=tuple(flags), enrolment=enrolment)


# ---------------------------------------------------------------- used by the receivers


def enrol_auto(*, resident: Resident, programme_codes: tuple[str, ...], on: dt.date, user: Any = None,
               request: Any = None) -> list[Enrolment]:
    """Enrol ``resident`` automatically (anchored at birth) in those programmes it is not yet in;
    programmes whose rules are not loaded are skipped."""
    created: list[Enrolment] = []
    for programme in Programme.objects.filter(code__in=programme_codes):
        if Enrolment.objects.filter(resident=resident, programme=programme).exists():
            continue
        created += enrol_auto_bulk([resident], programme, on=on, user=user, request=request)
    return created
