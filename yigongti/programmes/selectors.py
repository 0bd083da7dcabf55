"""Reads of the programmes app. Person-level rows (enrolments, plans, visits, worklists) pass the
caller's view scope (:mod:`yigongti.core.scope`) — outside it is "not found" — and are audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from yigongti.core import audit
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditAction
from yigongti.core.scope import covers, get_visible
from yigongti.core.tree import subtree_q
from yigongti.registry.models import Division
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

from .choices import EnrolmentStatus
from .engine import plan
from .engine.types import PlanRow
from .errors import NotEnrolled
from .models import Enrolment, Programme, ScheduledVisit, Visit
from .services import programme_label
from .services_plan import HORIZON_DAYS, directives_of, programme_get, service_of, spec_get

ENROLMENT = "programmes.enrolment"
WORKLIST = "programmes.worklist"
WEEK_DAYS = 7
# Rows per worklist section (the most urgent first; the totals count them all, the exports carry
# them all): a village's whole list, a township's most urgent part — nobody works through a longer
# list from one screen in a week, and reading it would cost every page view.
WORKLIST_LIMIT = 500
# Age-schedule programmes: their worklist is the due/overdue sections; "not seen this year" is for
# the programmes served at intervals or yearly (chronic diseases, elderly, TCM constitution).
SCHEDULE_ONLY = ("child", "immunisation", "maternal")


def programme_list() -> QuerySet[Programme]:
    """The programme catalogue, in display order (not person-level)."""
    return Programme.objects.all().order_by("sort_order", "code")


def _require_view(user: Any, resident: Resident, request: Any) -> None:
    if not covers(user, resident.path):
        audit.read_missed(user=user, object_type="residents.resident", object_id=resident.record_no, request=request)
        raise NotFound()


def enrolments_of(*, user: Any, resident: Resident, request: Any = None) -> list[Enrolment]:
    """The resident's enrolments (active first, then the most recent), audited."""
    _require_view(user, resident, request)
    rows = sorted(Enrolment.objects.filter(resident=resident).select_related("programme", "resident"),
                  key=lambda e: (e.status != EnrolmentStatus.ACTIVE, e.programme.sort_order,
                                 -e.enrolled_on.toordinal()))
    audit.read(user=user, objects=rows, request=request)
    return rows


def enrolment_get(*, user: Any, pk: int, request: Any = None) -> Enrolment:
    """One enrolment in the caller's view scope, else :class:`NotFound` (audited either way)."""
    try:
        enrolment = get_visible(user, Enrolment.objects.select_related("programme", "resident"), pk=pk)
    except NotFound:
        audit.read_missed(user=user, object_type=ENROLMENT, object_id=pk, request=request)
        raise
    audit.read(user=user, objects=[enrolment], request=request)
    return enrolment


def visits_of(*, user: Any, resident: Resident, programme_code: str | None = None,
              request: Any = None) -> list[Visit]:
    """The resident's visits (newest first), of one programme or all, audited."""
    _require_view(user, resident, request)
    qs = Visit.objects.filter(resident=resident).select_related("programme", "institution", "staff")
    if programme_code:
        qs = qs.filter(programme__code=programme_code)
    rows = list(qs.order_by("-visit_date", "-pk"))
    audit.read(user=user, objects=rows, request=request)
    return rows


def resident_plan(*, user: Any, resident: Resident, programme_code: str, as_of: dt.date,
                  request: Any = None) -> list[PlanRow]:
    """The whole plan of the resident in a programme at ``as_of`` (done rows and pending ones).

    From the active (else the latest) enrolment; a resident never enrolled in a programme anchored
    at birth gets the plan from the birth date ("what is this child due for?"). History: all the
    resident's visits in the programme.
    """
    _require_view(user, resident, request)
    programme = programme_get(programme_code)
    spec = spec_get(programme.code, as_of)
    enrolment = (Enrolment.objects.filter(resident=resident, programme=programme)
                 .order_by("-status", "-enrolled_on", "-pk").first())  # "closed" < "active"
    if enrolment is None and spec.anchor != "birth":
        raise NotEnrolled(name=resident.name, record_no=resident.record_no, programme=programme_label(programme))
    visits = list(Visit.objects.filter(resident=resident, programme=programme).order_by("visit_date", "pk"))
    history = [service_of(spec, v) for v in visits]
    anchor = enrolment.anchor_date if enrolment is not None else resident.birth_date
    variant = (enrolment.variant if enrolment is not None else None) or None
    directives = directives_of([enrolment.pk]).get(enrolment.pk, []) if enrolment is not None else []
    audit.read(user=user, objects=[enrolment] if enrolment is not None else [resident], request=request)
    return plan(spec, anchor=anchor, history=history, as_of=as_of, variant=variant, horizon_days=HORIZON_DAYS,
                directives=directives)


# ---------------------------------------------------------------- worklists (工作清单)


@dataclass(frozen=True)
class WorklistRow:
    """One resident × programme (× item) on a worklist."""

    record_no: str
    name: str
    sex: str
    birth_date: dt.date
    village_code: str
    village_name: str
    programme_code: str
    programme_name: str
    item: str
    due: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    days_overdue: int
    refer: bool
    classification: str
    last_visit_on: dt.date | None


@dataclass
class Worklist:
    """Due this week, overdue, and not seen this year — for one village, township or county.

    Each list holds at most ``limit`` rows, the most urgent; :attr:`totals` counts them all.
    """

    org: Division
    on: dt.date
    week_end: dt.date
    programme: str | None = None
    due: list[WorklistRow] = field(default_factory=list)
    overdue: list[WorklistRow] = field(default_factory=list)
    unseen: list[WorklistRow] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {key: self.totals.get(key, len(getattr(self, key))) for key in ("due", "overdue", "unseen")}

    @property
    def truncated(self) -> bool:
        return any(self.totals.get(key, 0) > len(getattr(self, key)) for key in ("due", "overdue", "unseen"))


_RESIDENT_FIELDS = ("resident__record_no", "resident__name", "resident__sex", "resident__birth_date",
                    "resident__village__code", "resident__village__name", "programme__code", "programme__name")


def _resident_part(v: dict[str, Any]) -> dict[str, Any]:
    """The resident and programme columns of a worklist row read with :data:`_RESIDENT_FIELDS`."""
    return {"record_no": v["resident__record_no"], "name": v["resident__name"], "sex": v["resident__sex"],
            "birth_date": v["resident__birth_date"], "village_code": v["resident__village__code"],
            "village_name": v["resident__village__name"], "programme_code": v["programme__code"],
            "programme_name": v["programme__name"]}


def _urgency(row: WorklistRow) -> tuple[Any, ...]:
    """Referred first, then the longest overdue, then the earliest due (规范: 转诊后 2 周内随访)."""
    return (not row.refer, -row.days_overdue, row.due or dt.date.max, row.record_no, row.programme_code, row.item)


def _most_urgent(qs: QuerySet[Any], order: tuple[str, ...], limit: int | None) -> QuerySet[Any]:
    """A subquery: the pks of a section's ``limit`` most urgent rows (``None``: all of them).

    Sorted and cut on the bare table (its own columns only, by the path index) inside the
    database, so the joins for names and villages run for the rows shown, not for the township's
    tens of thousands — one round trip per section.
    """
    pks = qs.order_by(*order).values("pk")
    return pks if limit is None else pks[:limit]


def _total(qs: QuerySet[Any], shown: int, limit: int | None) -> int:
    """The section's size: counted on the bare table only when it may hold more than is shown."""
    return qs.order_by().count() if limit is not None and shown >= limit else shown


def _scheduled_rows(qs: QuerySet[ScheduledVisit], on: dt.date, order: tuple[str, ...],
                    limit: int | None) -> tuple[list[WorklistRow], int]:
    # Pending rows exist only for active residents (death and leaving close the enrolments and
    # drop their plans); the status filter here is a second guard, on the rows shown only.
    found = ScheduledVisit.objects.filter(pk__in=_most_urgent(qs, order, limit),
                                          resident__status=RecordStatus.ACTIVE).order_by().values(
        *_RESIDENT_FIELDS, "item", "due", "window_start", "window_end", "refer", "enrolment__refer",
        "enrolment__classification", "enrolment__last_visit_on")
    rows = [WorklistRow(
        **_resident_part(v), item=v["item"], due=v["due"], window_start=v["window_start"],
        window_end=v["window_end"], days_overdue=max(0, (on - v["window_end"]).days),
        refer=bool(v["refer"] or v["enrolment__refer"]), classification=v["enrolment__classification"],
        last_visit_on=v["enrolment__last_visit_on"]) for v in found]
    return sorted(rows, key=_urgency), _total(qs, len(rows), limit)


def worklist_for_org(*, user: Any, org_code: str, on: dt.date, programme: str | None = None,
                     request: Any = None, limit: int | None = WORKLIST_LIMIT) -> Worklist:
    """The worklist of a division (village, township or county) the caller can see, on ``on``.

    - due: pending visits due by the end of this week (``on + 6``) whose window is still open —
      a yearly check appears from its due date, not all year;
    - overdue: pending visits whose window closed before ``on``;
    - unseen: active enrolments of interval/yearly programmes with no visit since 1 January.

    Only residents whose record is active. Each section is sorted and cut to ``limit`` rows
    (``None``: all) on its bare table by the path index, then the rows shown are joined to their
    residents (:func:`_most_urgent`). The read is audited once, with the counts.
    """
    try:
        org = get_visible(user, Division.objects.all(), code=(org_code or "").strip())
    except NotFound:
        audit.read_missed(user=user, object_type=WORKLIST, object_id=org_code, request=request)
        raise
    week_end = on + dt.timedelta(days=WEEK_DAYS - 1)
    result = Worklist(org=org, on=on, week_end=week_end, programme=programme or None)
    scheduled = ScheduledVisit.objects.filter(subtree_q(org.path))
    if programme:
        scheduled = scheduled.filter(programme=programme_get(programme))
    result.due, result.totals["due"] = _scheduled_rows(
        scheduled.filter(window_start__lte=week_end, due__lte=week_end, window_end__gte=on), on,
        ("-refer", "due", "pk"), limit)
    result.overdue, result.totals["overdue"] = _scheduled_rows(
        scheduled.filter(window_start__lt=on, window_end__lt=on), on, ("-refer", "window_end", "due", "pk"), limit)
    year_start = on.replace(month=1, day=1)
    served = Programme.objects.exclude(code__in=SCHEDULE_ONLY)
    if programme:
        served = served.filter(code=programme)
    enrolments = (Enrolment.objects.filter(subtree_q(org.path), status=EnrolmentStatus.ACTIVE,
                                           programme__in=list(served.values_list("pk", flat=True)))
                  .filter(Q(last_visit_on__isnull=True) | Q(last_visit_on__lt=year_start)))
    found = Enrolment.objects.filter(pk__in=_most_urgent(enrolments, ("-refer", "next_due", "pk"), limit),
                                     resident__status=RecordStatus.ACTIVE).order_by().values(
        *_RESIDENT_FIELDS, "next_due", "refer", "classification", "last_visit_on")
    result.unseen = sorted((WorklistRow(
        **_resident_part(v), item="", due=v["next_due"], window_start=None, window_end=None,
        days_overdue=0, refer=v["refer"], classification=v["classification"], last_visit_on=v["last_visit_on"])
        for v in found), key=_urgency)
    result.totals["unseen"] = _total(enrolments, len(result.unseen), limit)
    audit.record(user=user, action=AuditAction.READ, object_type=WORKLIST, object_id=org.code, path=org.path,
                 request=request, detail={"on": on.isoformat(), "programme": programme or "", **result.counts()})
    return result
