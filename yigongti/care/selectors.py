"""Reads of the care app: a resident's encounters and results, the recognition check (互认) and
the monthly counts (tests avoided, cost saved, 预约诊疗率).

Person-level rows pass the caller's data-view scope (:mod:`yigongti.core.scope`) — outside it is
"not found", audited as such — and every row returned is audited as read. The recognition check
also answers a caller who orders at an institution inside their data-entry unit (a township
centre checking a patient from another township who came to the centre).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.core import audit
from yigongti.core.clock import LOCAL_TZ, today
from yigongti.core.errors import NotFound, ValidationFailed
from yigongti.core.scope import covers, get_visible, scope_path, visible
from yigongti.core.tree import subtree_q
from yigongti.registry.choices import Tier
from yigongti.registry.models import Department, Division, Institution
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

from .choices import EncounterKind, OrderStatus
from .models import Diagnosis, Encounter, EncounterCost, Order, RecognitionRule, Result, ResultItem

ENCOUNTER = "care.encounter"
RESIDENT = "residents.resident"
MAX_MERGE_CHAIN = 20


def local_date(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai date of an aware timestamp (a naive one is taken as local)."""
    if timezone.is_naive(moment):
        return moment.date()
    return moment.astimezone(LOCAL_TZ).date()


def moment() -> dt.datetime:
    """Now, on the injectable date: the time of day now on :func:`~yigongti.core.clock.today`
    (the real moment unless the date is pinned, as in tests and the demo)."""
    now = timezone.now().astimezone(LOCAL_TZ)
    day = today()
    return now if now.date() == day else dt.datetime.combine(day, now.time(), tzinfo=LOCAL_TZ)


def survivor_of(resident: Resident) -> Resident:
    """The live record ``resident`` was merged into (itself when it was not merged)."""
    hops = 0
    while resident.status == RecordStatus.MERGED and resident.merged_into_id is not None and hops < MAX_MERGE_CHAIN:
        hops += 1  # a cycle would be a data error: stop rather than loop
        resident = Resident.objects.get(pk=resident.merged_into_id)
    return resident


def item_get(code: str, *, field: str = "item_code") -> ResultItem:
    """The catalogue item ``code`` (any case; 422 naming ``field`` when unknown)."""
    code = (code or "").strip()
    item = ResultItem.objects.filter(code=code).first() or ResultItem.objects.filter(code__iexact=code).first()
    if item is None:
        raise ValidationFailed(reason=_("检验检查项目“%(code)s”不在目录中") % {"code": code}, field=field)
    return item


def result_items() -> QuerySet[ResultItem]:
    """The catalogue (lab items, then imaging), with the rules of each (not person-level)."""
    return ResultItem.objects.prefetch_related("recognition_rules").order_by("kind", "code")


def institution_by_code(code: str, *, field: str = "institution") -> Institution:
    """A registry institution by code (not person-level; 422 naming ``field`` when unknown)."""
    code = (code or "").strip()
    institution = Institution.objects.filter(code=code).first()
    if institution is None:
        raise ValidationFailed(reason=_("机构代码“%(code)s”不存在") % {"code": code}, field=field)
    return institution


def department_of(institution: Institution | None, code: str, *, field: str = "department") -> Department:
    """The department ``code`` (or name) of ``institution`` (422 naming ``field`` when it has none such)."""
    code = (code or "").strip()
    found = None
    if institution is not None:
        found = (Department.objects.filter(institution=institution, code=code).first()
                 or Department.objects.filter(institution=institution, name=code).first())
    if found is None:
        raise ValidationFailed(reason=_("就诊机构没有科室“%(code)s”") % {"code": code}, field=field)
    return found


def resident_for_care(*, user: Any, record_no: str, institution: Institution | None = None,
                      request: Any = None) -> Resident:
    """The resident ``record_no`` for care at ``institution``: inside the caller's view scope, or
    seen at an institution inside the caller's data-entry unit (a patient from elsewhere who came
    to the caller's centre). Audited as read; else :class:`NotFound`, audited as a miss."""
    record_no = (record_no or "").strip()
    resident = Resident.objects.select_related("village").filter(record_no=record_no).first()
    if resident is None or not (covers(user, resident.path) or (
            institution is not None and covers(user, institution.path, mode="entry"))):
        audit.read_missed(user=user, object_type=RESIDENT, object_id=record_no, request=request)
        raise NotFound()
    audit.read(user=user, objects=[resident], request=request)
    return resident


def _require_view(user: Any, resident: Resident, request: Any, institution: Institution | None = None) -> None:
    if covers(user, resident.path):
        return
    if institution is not None and covers(user, institution.path, mode="entry"):
        return
    audit.read_missed(user=user, object_type=RESIDENT, object_id=resident.record_no, request=request)
    raise NotFound()


# ---------------------------------------------------------------- encounters and results


ENCOUNTER_SIDES = ("path", "institution_path")


def _encounters() -> QuerySet[Encounter]:
    return (Encounter.objects.select_related("resident", "institution", "department")
            .prefetch_related(Prefetch("diagnoses", queryset=Diagnosis.objects.order_by("position")),
                              Prefetch("costs", queryset=EncounterCost.objects.order_by("category"))))


def encounters_of(*, user: Any, resident: Resident, request: Any = None) -> list[Encounter]:
    """The resident's encounters, newest first, with diagnoses and costs (audited)."""
    _require_view(user, resident, request)
    rows = list(_encounters().filter(resident=resident).order_by("-start_date", "-pk"))
    audit.read(user=user, objects=rows, request=request)
    return rows


def encounter_get(*, user: Any, pk: int, request: Any = None) -> Encounter:
    """One encounter with its diagnoses, costs, orders and results, seen from the patient's village
    or from the institution's subtree (the centre that saw a patient from elsewhere)."""
    qs = _encounters().prefetch_related(
        Prefetch("orders", queryset=Order.objects.select_related("item", "recognised_result").order_by("pk")),
        Prefetch("results", queryset=Result.objects.select_related("item", "performed_by")))
    try:
        encounter = get_visible(user, qs, path_field=ENCOUNTER_SIDES, pk=pk)
    except NotFound:
        audit.read_missed(user=user, object_type=ENCOUNTER, object_id=pk, request=request)
        raise
    audit.read(user=user, objects=[encounter], request=request)
    return encounter


def result_get(*, user: Any, pk: int, request: Any = None) -> Result:
    """One result in the caller's view scope (audited), else :class:`NotFound` (audited as a miss)."""
    try:
        found = get_visible(user, Result.objects.select_related("item", "performed_by", "resident"), pk=pk)
    except NotFound:
        audit.read_missed(user=user, object_type="care.result", object_id=pk, request=request)
        raise
    audit.read(user=user, objects=[found], request=request)
    return found


def results_of(*, user: Any, resident: Resident, item_code: str | None = None, request: Any = None) -> list[Result]:
    """The resident's results (newest first), of one item or all (audited)."""
    _require_view(user, resident, request)
    qs = Result.objects.filter(resident=resident).select_related("item", "performed_by")
    if item_code:
        qs = qs.filter(item=item_get(item_code, field="item"))
    rows = list(qs.order_by("-reported_at", "-pk"))
    audit.read(user=user, objects=rows, request=request)
    return rows


# ---------------------------------------------------------------- recognition (检查检验结果互认)


@dataclass(frozen=True)
class RecognitionAnswer:
    """Whether a recognisable result exists for one patient and item, at one ordering institution."""

    item: ResultItem
    recognisable: bool
    result: Result | None  # the newest recognisable result
    rule: RecognitionRule | None
    valid_until: dt.date | None  # last day the result is recognised
    saved: Decimal  # item.price when recognisable, else 0
    reason: str  # why not (no result / too old / tier not recognised / item has no rule), translated


def _tier_label(tier: str) -> str:
    return str(Tier(tier).label) if tier in Tier.values else tier


def _item_and_rules(code: str) -> tuple[ResultItem, list[RecognitionRule]]:
    """The item ``code`` and all its rules — one query when it has rules (the usual case)."""
    rules = list(RecognitionRule.objects.select_related("item").filter(item__code=(code or "").strip()))
    if rules:
        return rules[0].item, rules
    item = item_get(code, field="item")
    return item, list(item.recognition_rules.all()) if item.code != (code or "").strip() else []


def rule_for(item: ResultItem, tier: str, day: dt.date,
             rules: list[RecognitionRule] | None = None) -> tuple[RecognitionRule | None, str]:
    """The rule in force on ``day`` for ``item`` ordered at a ``tier`` institution, or why none.

    Rules are few per item: they are filtered in Python (JSON list membership is not portable)."""
    candidates = rules if rules is not None else list(item.recognition_rules.all())
    in_force = [r for r in candidates
                if r.effective_from <= day and (r.effective_to is None or r.effective_to > day)]
    if not in_force:
        return None, _("“%(item)s”在 %(date)s 不属于互认项目") % {"item": item.name, "date": day.isoformat()}
    matching = [r for r in in_force if tier in (r.ordering_tiers or [])]
    if not matching:
        return None, _("“%(item)s”的结果不在%(tier)s机构互认") % {"item": item.name, "tier": _tier_label(tier)}
    return max(matching, key=lambda r: (r.effective_from, r.pk)), ""


def _window_start(rule: RecognitionRule, at: dt.datetime) -> dt.datetime:
    """The earliest report time still recognised at ``at``: the start of the local day ``valid_days`` before."""
    first_day = local_date(at) - dt.timedelta(days=rule.valid_days)
    return dt.datetime.combine(first_day, dt.time.min, tzinfo=LOCAL_TZ)


def valid_until(result: Result, rule: RecognitionRule) -> dt.date:
    """The last day ``result`` is recognised: its report date plus ``valid_days``."""
    return local_date(result.reported_at) + dt.timedelta(days=rule.valid_days)


def result_recognised(result: Result, rule: RecognitionRule, at: dt.datetime) -> str:
    """Why ``result`` is not recognised under ``rule`` at ``at`` (``""`` when it is)."""
    if result.performer_tier not in (rule.performed_tiers or []):
        return _("该结果由%(tier)s机构出具，不在互认范围内") % {"tier": _tier_label(result.performer_tier)}
    if result.reported_at > at:
        return _("该结果的报告时间晚于开单时间")
    if local_date(at) > valid_until(result, rule):
        return _("该结果报告于 %(date)s，已超过 %(days)s 天互认期") % {
            "date": local_date(result.reported_at).isoformat(), "days": rule.valid_days}
    return ""


def recognition_check(*, user: Any, resident: Resident, item_code: str, ordering_institution: Institution,
                      at: dt.datetime | None = None, request: Any = None) -> RecognitionAnswer:
    """Is there a result of ``item_code`` for ``resident`` that ``ordering_institution`` recognises?

    The rule is chosen by item, the ordering institution's tier and the date. The result is found
    with ONE query on the index (resident, item, reported_at desc), limited to the rule's window
    and to results of the rule's performing tiers; the newest wins. When there is none, one more
    query finds the newest result of the item to say why (too old, or of a tier not recognised).
    The returned result is audited as read.
    """
    at = at or moment()
    resident = survivor_of(resident)
    _require_view(user, resident, request, ordering_institution)
    item, rules = _item_and_rules(item_code)
    zero = Decimal("0.00")
    rule, reason = rule_for(item, ordering_institution.tier, local_date(at), rules)
    if rule is None:
        return RecognitionAnswer(item=item, recognisable=False, result=None, rule=None, valid_until=None,
                                 saved=zero, reason=reason)
    base = Result.objects.filter(resident=resident, item=item, reported_at__lte=at)
    found = (base.filter(reported_at__gte=_window_start(rule, at), performer_tier__in=list(rule.performed_tiers))
             .select_related("performed_by").order_by("-reported_at").first())
    if found is not None:
        found.item, found.resident = item, resident
        audit.read(user=user, objects=[found], request=request)
        return RecognitionAnswer(item=item, recognisable=True, result=found, rule=rule,
                                 valid_until=valid_until(found, rule), saved=item.price, reason="")
    newest = base.order_by("-reported_at").first()
    if newest is None:
        reason = _("该居民没有“%(item)s”的结果") % {"item": item.name}
    else:
        reason = result_recognised(newest, rule, at) or _("没有可互认的结果")
    return RecognitionAnswer(item=item, recognisable=False, result=None, rule=rule, valid_until=None, saved=zero,
                             reason=reason)


# ---------------------------------------------------------------- monthly counts


def _org_filter(user: Any, org_code: str | None) -> Q | None:
    """Rows of institutions under ``org_code`` (a division, or one institution) inside the caller's
    view scope; ``None`` when the caller sees nothing. Unknown or outside scope: :class:`NotFound`."""
    if scope_path(user) is None:
        return None
    if not org_code:
        return Q()
    code = org_code.strip()
    division = visible(user, Division.objects.all()).filter(code=code).first()
    if division is not None:
        return subtree_q(division.path, "institution__path")
    institution = get_visible(user, Institution.objects.all(), code=code)
    return Q(institution=institution)


def _year(year: int) -> tuple[dt.date, dt.date]:
    if not 1900 <= year <= 9999:
        raise ValidationFailed(reason=_("年份“%(year)s”无效") % {"year": year}, field="year")
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def recognition_stats(*, user: Any, org_code: str | None = None, year: int) -> list[dict[str, Any]]:
    """Tests avoided by recognition and the fees saved, per ordering institution and month.

    Rows: ``{"institution", "institution_name", "month" ("2026-03"), "avoided", "saved"}``."""
    start, end = _year(year)
    where = _org_filter(user, org_code)
    if where is None:
        return []
    qs = visible(user, Order.objects.filter(where, status=OrderStatus.RECOGNISED, ordered_on__gte=start,
                                            ordered_on__lt=end), path_field="institution__path")
    rows = (qs.annotate(month=TruncMonth("ordered_on"))
            .values("institution__code", "institution__name", "month")
            .annotate(avoided=Count("pk"), saved=Sum("saved"))
            .order_by("institution__code", "month"))
    return [{"institution": r["institution__code"], "institution_name": r["institution__name"],
             "month": f"{r['month']:%Y-%m}", "avoided": r["avoided"],
             "saved": Decimal(r["saved"] or 0).quantize(Decimal("0.01"))} for r in rows]


def booked_share(*, user: Any, org_code: str | None = None, year: int) -> list[dict[str, Any]]:
    """预约诊疗率: outpatient and emergency visits and how many were booked, per institution and month.

    Rows: ``{"institution", "institution_name", "month", "visits", "booked", "rate"}`` (rate 0–1)."""
    start, end = _year(year)
    where = _org_filter(user, org_code)
    if where is None:
        return []
    qs = visible(user, Encounter.objects.filter(
        where, institution__isnull=False, kind__in=[EncounterKind.OUTPATIENT, EncounterKind.EMERGENCY],
        start_date__gte=start, start_date__lt=end), path_field="institution__path")
    rows = (qs.annotate(month=TruncMonth("start_date"))
            .values("institution__code", "institution__name", "month")
            .annotate(visits=Count("pk"), booked=Count("pk", filter=Q(booked=True)))
            .order_by("institution__code", "month"))
    return [{"institution": r["institution__code"], "institution_name": r["institution__name"],
             "month": f"{r['month']:%Y-%m}", "visits": r["visits"], "booked": r["booked"],
             "rate": round(r["booked"] / r["visits"], 4) if r["visits"] else 0.0} for r in rows]
