"""Writes of the referrals app: the two-way referral (申请 → 接收/拒绝 → 到诊 → 完成 → 下转 with a
care plan) and the escalation job; slots (:mod:`.services_slots`) and teleconsultations
(:mod:`.services_consults`) are re-exported here.

Every service is keyword-only and atomic: it validates first and raises a
:class:`~yigongti.core.errors.DomainError` with nothing written, or commits the change, its
:class:`~.models.ReferralEvent` and the audit entry together. A transition locks the referral row
(``select_for_update``) and moves it with a conditional UPDATE on the status it read, so of two
concurrent accepts exactly one wins and the other gets 409 ``illegal_transition``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.care.signals import care_plan_issued
from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import Conflict, ValidationFailed
from yigongti.core.models import AuditAction
from yigongti.core.scope import SYSTEM
from yigongti.registry.choices import Tier
from yigongti.registry.models import Department, Institution
from yigongti.residents.models import Resident
from yigongti.residents.services import audit_misses

from .checks import acts_for, by, icd10, require_of, resident_for_write, results_for, text
from .choices import Direction, ReferralKind, ReferralStatus, Urgency
from .errors import NotDownReferable, RouteRefused, RulesNotLoaded
from .machine import ACTION_LABELS, SIDE, TRANSITIONS, Action, next_status, status_label
from .models import Referral, ReferralEvent, ReferralRoute, ResponseDeadline, Slot
from .services_consults import consult_answer, consult_request
from .services_slots import booking_attend, booking_cancel, bookings_cancel_for, slot_book, slot_publish

__all__ = [
    "booking_cancel",
    "can_act",
    "consult_answer",
    "consult_request",
    "referral_accept",
    "referral_arrive",
    "referral_cancel",
    "referral_complete",
    "referral_down",
    "referral_reject",
    "referral_request",
    "referrals_escalate",
    "slot_book",
    "slot_publish",
    "was_replayed",
]

REFERRAL = "referrals.referral"
TIER_RANK: dict[str, int] = {Tier.VILLAGE: 0, Tier.TOWNSHIP: 1, Tier.COUNTY: 2}
MAX_REASON = 500
MAX_SUMMARY = 8000
MAX_FEEDBACK = 8000
MAX_FOLLOW_UP_DAYS = 366
_REPLAYED = "_ygt_replayed"


def was_replayed(referral: Referral) -> bool:
    """Whether :func:`referral_request` returned a referral stored earlier under the same key."""
    return bool(getattr(referral, _REPLAYED, False))


# ---------------------------------------------------------------- rules (routes, deadlines)


def direction_between(source: Institution, target: Institution) -> str:
    """Up to a higher tier, down to a lower one; between equals "up" (only routes to the county
    level could take it — a village clinic or township centre takes nothing from its own tier)."""
    return Direction.DOWN if TIER_RANK.get(target.tier, 0) < TIER_RANK.get(source.tier, 0) else Direction.UP


def _in_force(on: dt.date) -> Q:
    return Q(effective_from__lte=on) & (Q(effective_to__isnull=True) | Q(effective_to__gt=on))


def route_check(*, source: Institution, target: Institution, kind: str, direction: str,
                on: dt.date | None = None) -> ReferralRoute:
    """The route in force that lets ``target`` take a ``kind`` referral from ``source``'s tier."""
    day = on or today()
    routes = list(ReferralRoute.objects.filter(_in_force(day), direction=direction))
    if not ReferralRoute.objects.exists():
        raise RulesNotLoaded(on=day.isoformat(), what=_("转诊路径"))
    for route in routes:
        if source.tier in route.from_tiers and target.type in route.to_types and kind in route.kinds:
            return route
    raise RouteRefused(institution=target.name, tier=Tier(source.tier).label, kind=ReferralKind(kind).label,
                       direction=Direction(direction).label)


def deadline_for(urgency: str, on: dt.date | None = None) -> ResponseDeadline:
    day = on or today()
    found = ResponseDeadline.objects.filter(_in_force(day), urgency=urgency).order_by("-effective_from").first()
    if found is None:
        raise RulesNotLoaded(on=day.isoformat(), what=_("应答时限"))
    return found


# ---------------------------------------------------------------- request


def _care_plan(care_plan: Mapping[str, Any] | None, direction: str) -> dict[str, Any]:
    if not care_plan:
        return {}
    if direction != Direction.DOWN:
        raise ValidationFailed(field="care_plan", reason=_("只有下转单可以附照护计划"))
    programme = str(care_plan.get("programme") or "").strip()
    if not programme:
        raise ValidationFailed(field="care_plan", reason=_("照护计划须指定管理项目"))
    days = care_plan.get("follow_up_days")
    if isinstance(days, str) and days.strip().isdigit():
        days = int(days)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_FOLLOW_UP_DAYS:
        raise ValidationFailed(field="care_plan", reason=_("随访时限应在 1 到 %(max)s 天之间") % {
            "max": MAX_FOLLOW_UP_DAYS})
    instructions = text(str(care_plan.get("instructions") or ""), field="care_plan", label=_("照护要点"),
                        max_length=2000, required=False)
    return {"programme": programme, "follow_up_days": days, "instructions": instructions}


def _replay(key: str, *, resident: Resident, source: Institution) -> Referral | None:
    found = Referral.objects.filter(idempotency_key=key).first()
    if found is None:
        return None
    if found.resident_id != resident.pk or found.from_institution_id != source.pk:
        raise Conflict(field="idempotency_key", reason=_("幂等键已用于另一张转诊单"))
    setattr(found, _REPLAYED, True)
    return found


def _event(referral: Referral, *, action: str, from_status: str, to_status: str, at: dt.datetime, user: Any,
           note: str = "") -> ReferralEvent:
    return ReferralEvent.objects.create(referral=referral, action=action, from_status=from_status,
                                        to_status=to_status, at=at, by=by(user), note=note[:500])


@audit_misses
@transaction.atomic
def referral_request(*, user: Any, resident: Resident, to_institution: Institution, kind: str, reason: str,
                     urgency: str = Urgency.ROUTINE, diagnosis_code: str = "", diagnosis_name: str = "",
                     summary: str = "", result_ids: Sequence[int] = (), to_department: Department | None = None,
                     from_institution: Institution | None = None, parent: Referral | None = None,
                     care_plan: Mapping[str, Any] | None = None, idempotency_key: str | None = None,
                     request: Any = None) -> Referral:
    """Send ``resident`` from ``from_institution`` (default: the caller's) to ``to_institution``.

    Checks: the resident (a merged record follows its survivor) is in the caller's scope and
    active; the caller works at the sending institution; the two differ; kind and urgency are
    known; a route in force lets the receiver take this kind from the sender's tier (422
    ``route_refused``, field ``to_institution``); a reason; a well-formed ICD-10 code; attached
    results are the patient's and visible. The answer and escalation deadlines come from the
    rules by urgency. A down-referral's care plan (programme, 1–366 follow-up days) is handed to
    the programmes app (``care_plan_issued``) in this transaction: its refusal rolls everything
    back. The same ``idempotency_key`` again returns the first referral (:func:`was_replayed`).
    """
    source = from_institution or getattr(user, "institution", None)
    if source is None:
        raise ValidationFailed(field="from_institution", reason=_("您的账号未关联机构，请指定转出机构"))
    resident = resident_for_write(user, resident, what=_("转诊"))
    key = (idempotency_key or "").strip()[:64] or None
    if key:
        replay = _replay(key, resident=resident, source=source)
        if replay is not None:
            return replay
    require_of(user, source, _("以该机构名义转出"))
    if to_institution.pk == source.pk:
        raise ValidationFailed(field="to_institution", reason=_("转出机构与接收机构不能相同"))
    if kind not in ReferralKind.values:
        raise ValidationFailed(field="kind", reason=_("转诊类别“%(value)s”无效") % {"value": kind})
    if urgency not in Urgency.values:
        raise ValidationFailed(field="urgency", reason=_("紧急程度“%(value)s”无效") % {"value": urgency})
    direction = direction_between(source, to_institution)
    route_check(source=source, target=to_institution, kind=kind, direction=direction)
    reason = text(reason, field="reason", label=_("转诊原因"), max_length=MAX_REASON)
    code = icd10(diagnosis_code)
    name = text(diagnosis_name, field="diagnosis_name", label=_("初步诊断"), max_length=200, required=False)
    summary = text(summary, field="summary", label=_("病情摘要"), max_length=MAX_SUMMARY, required=False)
    if to_department is not None and to_department.institution_id != to_institution.pk:
        raise ValidationFailed(field="to_department", reason=_("科室不属于“%(name)s”") % {"name": to_institution.name})
    if parent is not None and parent.resident_id != resident.pk:
        raise ValidationFailed(field="parent", reason=_("原转诊单不是该居民的"))
    plan = _care_plan(care_plan, direction)
    results = results_for(user, resident, result_ids)
    deadline = deadline_for(urgency)
    now = timezone.now()
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                resident=resident, path=resident.path, direction=direction, kind=kind, urgency=urgency,
                from_institution=source, to_institution=to_institution, to_department=to_department,
                from_path=source.path, to_path=to_institution.path, reason=reason, diagnosis_code=code,
                diagnosis_name=name, summary=summary, parent=parent, requested_at=now, requested_by=by(user),
                respond_by=now + dt.timedelta(hours=deadline.respond_hours),
                escalate_at=now + dt.timedelta(hours=deadline.escalate_hours), care_plan=plan,
                idempotency_key=key)
    except IntegrityError:  # the same key, concurrently
        replay = _replay(key, resident=resident, source=source) if key else None
        if replay is None:
            raise
        return replay
    if results:
        referral.results.set(results)
    _event(referral, action="request", from_status="", to_status=ReferralStatus.REQUESTED, at=now, user=user)
    audit.record(user=user, action=AuditAction.CREATE, object_type=REFERRAL, object_id=referral.pk,
                 path=referral.path, request=request,
                 detail={"record_no": resident.record_no, "direction": direction, "kind": kind, "urgency": urgency,
                         "from": source.code, "to": to_institution.code, "parent": parent.pk if parent else None,
                         "results": [r.pk for r in results], "care_plan": plan})
    if plan:
        care_plan_issued.send(sender=Referral, resident=resident, programme_code=plan["programme"],
                              diagnosis_code=code, issued_on=today(), follow_up_days=plan["follow_up_days"],
                              instructions=plan["instructions"], source=f"referral:{referral.pk}", user=user,
                              request=request)
    return referral


# ---------------------------------------------------------------- transitions


_NOW = object()  # a field set to the transition's timestamp


def _transition(*, user: Any, referral: Referral, action: Action, note: str = "", request: Any = None,
                **fields: Any) -> Referral:
    """Lock the row, check the side and the machine, move the status conditionally, write the
    event and the audit entry (inside the caller's transaction)."""
    locked = (Referral.objects.select_for_update(of=("self",)).select_related("from_institution", "to_institution")
              .get(pk=referral.pk))
    side = locked.to_institution if SIDE[action] == "to" else locked.from_institution
    require_of(user, side, ACTION_LABELS[action])
    current = locked.status
    target = next_status(current, action)
    now = timezone.now()
    values = {name: (now if value is _NOW else value) for name, value in fields.items()}
    if not Referral.objects.filter(pk=locked.pk, status=current).update(status=target, **values):
        # Another transaction moved it first (SQLite has no row lock): the machine says why not.
        locked.refresh_from_db(fields=["status"])
        next_status(locked.status, action)
        raise Conflict(reason=_("转诊单刚刚已被他人处理，请刷新"))
    locked.refresh_from_db()
    _event(locked, action=action, from_status=current, to_status=target, at=now, user=user, note=note)
    audit.record(user=user, action=AuditAction.UPDATE, object_type=REFERRAL, object_id=locked.pk, path=locked.path,
                 request=request, detail={"action": str(action), "from": current, "to": target,
                                          **({"note": note[:200]} if note else {})})
    return locked


@transaction.atomic
def referral_accept(*, user: Any, referral: Referral, note: str = "", slot: Slot | None = None,
                    request: Any = None) -> Referral:
    """The receiving institution accepts (409 when not requested — accepted already, cancelled …).
    With ``slot``, a place is booked for the patient in the same transaction (a full slot rolls
    the acceptance back)."""
    note = text(note, field="note", label=_("备注"), max_length=MAX_REASON, required=False)
    accepted = _transition(user=user, referral=referral, action=Action.ACCEPT, note=note, request=request,
                           responded_at=_NOW, responded_by=by(user))
    if slot is not None:
        slot_book(user=user, slot=slot, resident=accepted.resident, referral=accepted, request=request)
    return accepted


@transaction.atomic
def referral_reject(*, user: Any, referral: Referral, reason: str, request: Any = None) -> Referral:
    """The receiving institution refuses, with a reason; a booking made with the request is freed."""
    reason = text(reason, field="reason", label=_("拒绝原因"), max_length=MAX_REASON)
    rejected = _transition(user=user, referral=referral, action=Action.REJECT, note=reason, request=request,
                           reject_reason=reason, responded_at=_NOW, responded_by=by(user))
    bookings_cancel_for(referral=rejected)
    return rejected


@transaction.atomic
def referral_cancel(*, user: Any, referral: Referral, reason: str, request: Any = None) -> Referral:
    """The sending institution withdraws a requested or accepted referral; its booking is freed."""
    reason = text(reason, field="reason", label=_("撤销原因"), max_length=MAX_REASON)
    cancelled = _transition(user=user, referral=referral, action=Action.CANCEL, note=reason, request=request,
                            cancel_reason=reason)
    bookings_cancel_for(referral=cancelled)
    return cancelled


@transaction.atomic
def referral_arrive(*, user: Any, referral: Referral, request: Any = None) -> Referral:
    """The patient arrived at the receiving institution; their booking, if any, is attended."""
    arrived = _transition(user=user, referral=referral, action=Action.ARRIVE, request=request, arrived_at=_NOW)
    booking_attend(referral=arrived)
    return arrived


@transaction.atomic
def referral_complete(*, user: Any, referral: Referral, feedback: str, request: Any = None) -> Referral:
    """Care at the receiving institution is over; ``feedback`` (discharge summary) goes back."""
    feedback = text(feedback, field="feedback", label=_("诊疗反馈"), max_length=MAX_FEEDBACK)
    return _transition(user=user, referral=referral, action=Action.COMPLETE, request=request, completed_at=_NOW,
                       feedback=feedback)


@transaction.atomic
def referral_down(*, user: Any, referral: Referral, reason: str, summary: str = "",
                  care_plan: Mapping[str, Any] | None = None, to_institution: Institution | None = None,
                  kind: str = "", request: Any = None) -> Referral:
    """Send the patient of an arrived or completed UP referral back down: a new DOWN referral from
    its receiving institution to its sender (or ``to_institution``), same resident and diagnosis,
    ``parent`` the up-referral; kind ``chronic`` with a care plan, else ``rehabilitation``. Once
    only (409) while that down-referral is live; after it was rejected or cancelled, again."""
    parent = (Referral.objects.select_for_update(of=("self",))
              .select_related("from_institution", "to_institution", "resident").get(pk=referral.pk))
    require_of(user, parent.to_institution, _("下转该患者"))
    if parent.direction != Direction.UP or parent.status not in (ReferralStatus.ARRIVED, ReferralStatus.COMPLETED):
        raise NotDownReferable(direction=Direction(parent.direction).label, status=status_label(parent.status))
    earlier = (parent.down_referrals.exclude(status__in=(ReferralStatus.REJECTED, ReferralStatus.CANCELLED))
               .order_by("pk").first())
    if earlier is not None:  # one live down-referral per up-referral; a refused or withdrawn one may be redone
        raise Conflict(field="referral", reason=_("该患者已由此转诊单下转（转诊单 %(pk)s），不能重复下转") % {
            "pk": earlier.pk})
    target = to_institution or parent.from_institution
    if direction_between(parent.to_institution, target) != Direction.DOWN:
        raise ValidationFailed(field="to_institution", reason=_("下转的接收机构层级应低于“%(name)s”") % {
            "name": parent.to_institution.name})
    chosen = kind or (ReferralKind.CHRONIC if care_plan else ReferralKind.REHABILITATION)
    return referral_request(user=user, resident=parent.resident, to_institution=target, kind=chosen, reason=reason,
                            urgency=Urgency.ROUTINE, diagnosis_code=parent.diagnosis_code,
                            diagnosis_name=parent.diagnosis_name, summary=summary,
                            from_institution=parent.to_institution, parent=parent, care_plan=care_plan,
                            request=request)


# ---------------------------------------------------------------- the escalation job


@transaction.atomic
def referrals_escalate(*, at: dt.datetime | None = None) -> int:
    """Job ``referrals.escalate``: every referral still requested at its ``escalate_at`` is marked
    escalated (to the 医共体 referral centre) once; returns how many. Re-running changes nothing."""
    moment = at or timezone.now()
    due = list(Referral.objects.select_for_update().filter(status=ReferralStatus.REQUESTED, escalate_at__lte=moment,
                                                           escalated_at__isnull=True).values_list("pk", "path"))
    if not due:
        return 0
    ids = [pk for pk, _path in due]
    count = Referral.objects.filter(pk__in=ids, status=ReferralStatus.REQUESTED, escalated_at__isnull=True).update(
        escalated_at=moment)
    ReferralEvent.objects.bulk_create([
        ReferralEvent(referral_id=pk, action="escalate", from_status=ReferralStatus.REQUESTED,
                      to_status=ReferralStatus.REQUESTED, at=moment) for pk in ids])
    for pk, path in due:
        audit.record(user=SYSTEM, action=AuditAction.UPDATE, object_type=REFERRAL, object_id=pk, path=path,
                     detail={"action": "escalate", "at": moment.isoformat()})
    return count


def can_act(user: Any, referral: Referral, action: str) -> bool:
    """Whether ``user`` may take ``action`` on ``referral`` now (side and machine; for the UI)."""
    side = referral.to_institution if SIDE.get(action, "to") == "to" else referral.from_institution
    return acts_for(user, side) and (referral.status, action) in TRANSITIONS
