"""Plan upkeep (计划维护): re-planning enrolments, and the daily sync of automatic enrolments.

The plan engine (:mod:`yigongti.programmes.engine`) is pure; this module feeds it from the
database and writes what it returns: the pending rows of each active enrolment's plan become
:class:`~yigongti.programmes.models.ScheduledVisit` rows (the worklists read them), and the
enrolment keeps its latest classification, referral flag, last visit and next due date.

The plan history of a programme for a resident is ALL the resident's visits in that programme —
not only the current enrolment's — so a merged or re-enrolled resident keeps the doses received.
Everything here works in batches (one query per batch for the visits, one delete, one bulk
insert), so re-planning a county after a rule change or the nightly sync stays set-based.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from yigongti.core.audit import channel_of
from yigongti.core.clock import today
from yigongti.core.errors import ValidationFailed
from yigongti.core.models import AuditAction, AuditEntry
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

from .bulk import plans_rebuild
from .choices import CloseReason, EnrolmentHow, EnrolmentStatus
from .engine import plan, still_to_do
from .engine.fields import stored_value
from .engine.types import Directive, PlanRow, ProgrammeSpec, Service, Value
from .models import CarePlan, Enrolment, Programme, ScheduledVisit, Visit
from .specs import spec_for

ENROLMENT = "programmes.enrolment"
VISIT = "programmes.visit"

# Interval programmes keep one year of their plan in ScheduledVisit (the worklists look ahead a
# week, the indicators a year); age-based ones (anchored at birth or LMP) keep the whole plan.
HORIZON_DAYS = 365
# A plan older than this is extended by the nightly sync (an interval plan ends a year ahead).
STALE_AFTER_DAYS = 30
BATCH = 2000

# Automatic enrolments (规范(第三版)): a child under the child programme's age limit is managed in
# child health and immunisation; a resident reaching the elderly programme's age in elderly
# health and TCM (体质辨识). The ages themselves come from the programmes' eligibility.
CHILD_PROGRAMMES = ("child", "immunisation")
SENIOR_PROGRAMMES = ("elderly", "tcm")
CHILD_AGE_FROM = "child"  # the programme whose eligibility.max_age_years ends childhood
SENIOR_AGE_FROM = "elderly"  # the programme whose eligibility.min_age_years starts old age


class ProgrammeUnknown(ValidationFailed):
    """No such programme, or its rules are not loaded."""

    code = "programme_unknown"
    message = _("未知的项目“%(programme)s”（或其规则尚未载入，请运行 ygt rules load）")

    def __init__(self, programme: str) -> None:
        super().__init__(programme=programme, field="programme")


def programme_get(code: str) -> Programme:
    """The programme ``code`` (422 ``programme_unknown`` with ``field="programme"`` when absent)."""
    programme = Programme.objects.filter(code=(code or "").strip()).first()
    if programme is None:
        raise ProgrammeUnknown(code)
    return programme


def spec_get(code: str, on: dt.date) -> ProgrammeSpec:
    """The definition of ``code`` effective on ``on`` (409 ``programme_not_loaded`` when none is)."""
    return spec_for(code, on)


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` shifted by whole years (29 February → 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def age_years(birth: dt.date, on: dt.date) -> int:
    """Completed years of age on ``on`` (周岁)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# ---------------------------------------------------------------- visits as the engine's history


def _jsonable(value: Value) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def visit_columns(spec: ProgrammeSpec, values: Mapping[str, Value]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split typed form values into Visit column values and ``Visit.data`` (JSON-ready)."""
    columns: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for code, value in values.items():
        spec_field = spec.fields.get(code)
        column = spec_field.column if spec_field is not None else None
        if column:
            columns[column] = list(value) if isinstance(value, tuple) else value
        else:
            data[code] = _jsonable(value)
    return columns, data


def visit_values(spec: ProgrammeSpec, visit: Visit) -> dict[str, Value]:
    """The typed form values a stored visit holds (columns and ``data``), for the engine."""
    values: dict[str, Value] = {}
    for code, spec_field in spec.fields.items():
        raw = getattr(visit, spec_field.column) if spec_field.column else visit.data.get(code)
        if raw is None or raw == "" or raw == []:
            continue
        values[code] = stored_value(raw, spec_field.type)
    return values


def service_of(spec: ProgrammeSpec, visit: Visit) -> Service:
    return Service(item=visit.item, date=visit.visit_date, values=visit_values(spec, visit),
                   classification=visit.classification)


@dataclass(frozen=True)
class _Past:
    service: Service
    refer: bool
    pk: int


def _histories(spec: ProgrammeSpec, programme_id: int, resident_ids: Iterable[int]) -> dict[int, list[_Past]]:
    """Every visit of these residents in the programme, per resident, oldest first (one query)."""
    found: dict[int, list[_Past]] = defaultdict(list)
    for visit in (Visit.objects.filter(programme_id=programme_id, resident_id__in=list(resident_ids))
                  .order_by("resident_id", "visit_date", "pk").iterator(chunk_size=BATCH)):
        found[visit.resident_id].append(_Past(service_of(spec, visit), visit.refer, visit.pk))
    return found


# ---------------------------------------------------------------- re-planning


def directives_of(enrolment_ids: Iterable[int]) -> dict[int, list[Directive]]:
    """The care plans (照护计划) of these enrolments as engine directives, oldest first."""
    found: dict[int, list[Directive]] = defaultdict(list)
    for enrolment_id, issued_on, days in (CarePlan.objects.filter(enrolment_id__in=list(enrolment_ids))
                                          .order_by("enrolment_id", "issued_on", "pk")
                                          .values_list("enrolment_id", "issued_on", "follow_up_days")):
        found[enrolment_id].append(Directive(issued_on, days))
    return found


def _apply(enrolment: Enrolment, spec: ProgrammeSpec, past: Sequence[_Past], as_of: dt.date,
           directives: Sequence[Directive] = ()) -> tuple[list[PlanRow], list[ScheduledVisit]]:
    history = [p.service for p in past]
    rows = plan(spec, anchor=enrolment.anchor_date, history=history, as_of=as_of,
                variant=enrolment.variant or None, horizon_days=HORIZON_DAYS, directives=directives)
    active = enrolment.status == EnrolmentStatus.ACTIVE
    kept = still_to_do(spec, rows, as_of=as_of, horizon_days=HORIZON_DAYS) if active else []
    scheduled = [ScheduledVisit(enrolment_id=enrolment.pk, resident_id=enrolment.resident_id,
                                programme_id=enrolment.programme_id, path=enrolment.path, item=r.item, due=r.due,
                                window_start=r.window_start, window_end=r.window_end, catch_up=r.catch_up,
                                refer=r.refer) for r in kept]
    classified = [p for p in past if p.service.classification]
    last = classified[-1] if classified else None
    enrolment.classification = last.service.classification if last else ""
    enrolment.refer = last.refer if last else False
    enrolment.last_visit_on = max((s.date for s in history), default=None)
    enrolment.next_due = min((r.due for r in kept), default=None)
    enrolment.planned_at = as_of
    return rows, scheduled


ENROLMENT_PLAN_FIELDS = ["classification", "refer", "last_visit_on", "next_due", "planned_at"]


def replan_batch(enrolments: Sequence[Enrolment], *, as_of: dt.date,
                 extra_history: Mapping[tuple[int, int], Sequence[int]] | None = None) -> dict[int, list[PlanRow]]:
    """Re-plan ``enrolments`` (any programmes) in a few queries; returns the plan per enrolment pk.

    ``extra_history`` maps (resident, programme) to other residents whose visits count too (a
    merge: the merged record's visits before they move to the survivor).
    """
    plans: dict[int, list[PlanRow]] = {}
    by_programme: dict[int, list[Enrolment]] = defaultdict(list)
    for enrolment in enrolments:
        by_programme[enrolment.programme_id].append(enrolment)
    codes = dict(Programme.objects.filter(pk__in=list(by_programme)).values_list("pk", "code"))
    for programme_id, group in by_programme.items():
        spec = spec_get(codes[programme_id], as_of)
        for start in range(0, len(group), BATCH):
            chunk = group[start:start + BATCH]
            residents = {e.resident_id for e in chunk}
            extra = {(e.resident_id, r) for e in chunk
                     for r in (extra_history or {}).get((e.resident_id, programme_id), ())}
            histories = _histories(spec, programme_id, residents | {r for _e, r in extra})
            directives = directives_of(e.pk for e in chunk)
            scheduled: list[ScheduledVisit] = []
            for enrolment in chunk:
                history = list(histories.get(enrolment.resident_id, []))
                for owner, other in extra:
                    if owner == enrolment.resident_id:
                        history.extend(histories.get(other, []))
                history.sort(key=lambda p: (p.service.date, p.pk))
                rows, rows_scheduled = _apply(enrolment, spec, history, as_of, directives.get(enrolment.pk, ()))
                plans[enrolment.pk] = rows
                scheduled.extend(rows_scheduled)
            ScheduledVisit.objects.filter(enrolment_id__in=[e.pk for e in chunk]).delete()
            ScheduledVisit.objects.bulk_create(scheduled, batch_size=BATCH)
            Enrolment.objects.bulk_update(chunk, ENROLMENT_PLAN_FIELDS, batch_size=BATCH)
    return plans


@transaction.atomic
def enrolment_replan(enrolment: Enrolment, *, as_of: dt.date | None = None) -> list[PlanRow]:
    """Re-plan one enrolment at ``as_of`` (default today): rewrites its ScheduledVisit rows and its
    classification / refer / last visit / next due. No scope check: callers have done theirs."""
    return replan_batch([enrolment], as_of=as_of or today())[enrolment.pk]


@transaction.atomic
def programme_replan_all(*, programme_code: str, as_of: dt.date | None = None) -> int:
    """Re-plan every active enrolment of a programme (its rules changed); returns how many."""
    programme = programme_get(programme_code)
    ids = list(Enrolment.objects.filter(programme=programme, status=EnrolmentStatus.ACTIVE)
               .order_by("resident_id", "pk").values_list("pk", flat=True))
    plans_rebuild(ids, as_of=as_of or today())  # set-based: a county's enrolments in minutes
    return len(ids)


# ---------------------------------------------------------------- closing in bulk


def close_enrolments(enrolment_ids: Sequence[int], *, reason: str, on: dt.date, note: str = "",
                     user: Any = None, request: Any = None) -> int:
    """Close these active enrolments (no scope check — the caller's); pending rows go; audited."""
    rows = list(Enrolment.objects.filter(pk__in=list(enrolment_ids), status=EnrolmentStatus.ACTIVE)
                .values("pk", "path", "programme__code", "resident__record_no"))
    if not rows:
        return 0
    pks = [r["pk"] for r in rows]
    ScheduledVisit.objects.filter(enrolment_id__in=pks).delete()
    Enrolment.objects.filter(pk__in=pks).update(status=EnrolmentStatus.CLOSED, closed_on=on, close_reason=reason,
                                                close_note=note[:200], next_due=None)
    audit_bulk(user=user, request=request, action=AuditAction.UPDATE, object_type=ENROLMENT, entries=[
        (r["pk"], r["path"], {"record_no": r["resident__record_no"], "programme": r["programme__code"],
                              "event": "close", "reason": reason, "on": on.isoformat()}) for r in rows])
    return len(rows)


def audit_bulk(*, user: Any, request: Any, action: str, object_type: str,
               entries: Iterable[tuple[Any, str, dict[str, Any]]]) -> None:
    """Audit many changes at once (batch jobs): one entry per object, one insert per batch."""
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    username = user.get_username() if authenticated else ""
    rows = [AuditEntry(user=user if authenticated else None, username=username[:150], action=action,
                       object_type=object_type, object_id=str(pk)[:64], path=path, channel=channel_of(request),
                       ip=(request.META.get("REMOTE_ADDR") or None) if request is not None else None,
                       detail=detail) for pk, path, detail in entries]
    AuditEntry.objects.bulk_create(rows, batch_size=BATCH)


# ---------------------------------------------------------------- the nightly sync


@dataclass
class SyncResult:
    """What :func:`programmes_sync` did: enrolments created per programme, closed, re-planned."""

    on: dt.date
    enrolled: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    replanned: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"on": self.on.isoformat(), "enrolled": self.enrolled, "closed": self.closed,
                "replanned": self.replanned}


def age_limits(on: dt.date) -> tuple[int | None, int | None]:
    """(childhood ends at, old age starts at) in years, from the programmes' eligibility."""
    child = senior = None
    if Programme.objects.filter(code=CHILD_AGE_FROM).exists():
        child = spec_get(CHILD_AGE_FROM, on).eligibility.max_age_years
    if Programme.objects.filter(code=SENIOR_AGE_FROM).exists():
        senior = spec_get(SENIOR_AGE_FROM, on).eligibility.min_age_years
    return child, senior


def auto_programmes(birth_date: dt.date, on: dt.date) -> tuple[str, ...]:
    """The programmes a resident born on ``birth_date`` enters automatically on ``on``."""
    child, senior = age_limits(on)
    age = age_years(birth_date, on)
    if child is not None and 0 <= age < child:
        return CHILD_PROGRAMMES
    if senior is not None and age >= senior:
        return SENIOR_PROGRAMMES
    return ()


def enrol_auto_bulk(residents: Sequence[Resident], programme: Programme, *, on: dt.date, user: Any = None,
                    request: Any = None) -> list[Enrolment]:
    """Enrol these residents (not yet enrolled) automatically, anchored at birth; planned; audited."""
    by = user if getattr(user, "is_authenticated", False) else None
    created = Enrolment.objects.bulk_create(
        [Enrolment(resident=r, programme=programme, path=r.path, anchor_date=r.birth_date, enrolled_on=on,
                   how=EnrolmentHow.AUTO, created_by=by) for r in residents], batch_size=BATCH)
    if created and created[0].pk is None:  # backends that return no ids from a bulk insert
        created = list(Enrolment.objects.filter(programme=programme, status=EnrolmentStatus.ACTIVE,
                                                resident__in=[r.pk for r in residents]))
    replan_batch(created, as_of=on)
    records = {r.pk: r.record_no for r in residents}
    audit_bulk(user=user, request=request, action=AuditAction.CREATE, object_type=ENROLMENT, entries=[
        (e.pk, e.path, {"record_no": records.get(e.resident_id, ""), "programme": programme.code, "how": "auto"})
        for e in created])
    return created


def _not_enrolled(queryset: Any, programme: Programme) -> Any:
    """Residents of ``queryset`` with no enrolment of any status in ``programme`` (a refusal or a
    closed enrolment is a decision the sync must not undo)."""
    return queryset.filter(~Exists(Enrolment.objects.filter(resident=OuterRef("pk"), programme=programme)))


@transaction.atomic
def programmes_sync(*, on: dt.date) -> SyncResult:
    """The nightly upkeep, idempotent (a second run on the same day changes nothing):

    - residents who reached old age (the elderly programme's minimum age) enter elderly and TCM;
      children under the child programme's age limit not yet enrolled enter child health and
      immunisation (规范(第三版): 0–6岁儿童, 老年人, 中医药健康管理);
    - child and immunisation enrolments of children who reached that limit close (``completed``);
    - active enrolments whose plan is older than :data:`STALE_AFTER_DAYS` are re-planned.
    """
    result = SyncResult(on=on)
    child_age, senior_age = age_limits(on)
    live = Resident.objects.filter(status=RecordStatus.ACTIVE, birth_date__lte=on)
    groups: list[tuple[tuple[str, ...], Q]] = []
    if senior_age is not None:
        groups.append((SENIOR_PROGRAMMES, Q(birth_date__lte=add_years(on, -senior_age))))
    if child_age is not None:
        groups.append((CHILD_PROGRAMMES, Q(birth_date__gt=add_years(on, -child_age))))
    programmes = {p.code: p for p in Programme.objects.filter(code__in=CHILD_PROGRAMMES + SENIOR_PROGRAMMES)}
    for codes, ages in groups:
        for code in codes:
            programme = programmes.get(code)
            if programme is None:
                continue
            candidates = _not_enrolled(live.filter(ages), programme).only("pk", "path", "birth_date", "record_no")
            count = 0
            while True:
                chunk = list(candidates.order_by("pk")[:BATCH])
                if not chunk:
                    break
                count += len(enrol_auto_bulk(chunk, programme, on=on))
            result.enrolled[code] = count
    if child_age is not None:
        aged_out = Enrolment.objects.filter(programme__code__in=CHILD_PROGRAMMES, status=EnrolmentStatus.ACTIVE,
                                            resident__birth_date__lte=add_years(on, -child_age))
        for code in CHILD_PROGRAMMES:
            ids = list(aged_out.filter(programme__code=code).values_list("pk", flat=True))
            closed = 0
            for start in range(0, len(ids), BATCH):
                closed += close_enrolments(ids[start:start + BATCH], reason=CloseReason.COMPLETED, on=on)
            result.closed[code] = closed
    stale = Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE).filter(
        Q(planned_at__isnull=True) | Q(planned_at__lt=on - dt.timedelta(days=STALE_AFTER_DAYS)))
    ids = list(stale.order_by("resident_id", "pk").values_list("pk", flat=True))
    plans_rebuild(ids, as_of=on)
    result.replanned = len(ids)
    return result
