"""Receivers of the residents app's signals (registration, move, status change, merge) and of the
registry's path rewrites. Each runs inside the sender's transaction, so the resident's change and
the programmes' follow-up commit or roll back together.

- registration: a child under the child programme's age limit enters child health and
  immunisation; a resident of old age enters elderly health and TCM (anchored at birth);
- move: the enrolments, scheduled visits and visits follow the resident's new path (the new
  village sees the plan and the whole history, the old one none of it);
- status change: a death closes the active enrolments (``deceased``), leaving the county closes
  them (``moved``); the pending schedule goes, the visits stay;
- care plan (a down-referral, :data:`~yigongti.care.signals.care_plan_issued`): enrol or re-plan so
  the next follow-up falls due within the days the plan asks for;
- merge: before the merged record's rows move to the survivor, its active enrolments in
  programmes where the survivor has one are closed (one active enrolment per programme), and the
  survivor is re-planned with both records' visits (the history is per resident and programme).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from yigongti.care.signals import care_plan_issued
from yigongti.core.clock import today
from yigongti.core.tree import subtree_move
from yigongti.registry.services import path_moved
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident
from yigongti.residents.signals import resident_merging, resident_moved, resident_registered, resident_status_changed

from .choices import CloseReason, EnrolmentStatus
from .models import CarePlan, Enrolment, ScheduledVisit, Visit
from .services import enrol_auto
from .services_careplan import care_plan_apply
from .services_plan import ProgrammeUnknown, auto_programmes, close_enrolments, replan_batch
from .specs import ProgrammeNotLoaded

PATHED = (Enrolment, ScheduledVisit, Visit, CarePlan)
CLOSE_ON_STATUS = {RecordStatus.DECEASED: CloseReason.DECEASED, RecordStatus.MOVED_OUT: CloseReason.MOVED}


def on_resident_registered(sender: Any, *, resident: Resident, user: Any = None, **kwargs: Any) -> None:
    day = today()
    try:
        with transaction.atomic():  # a savepoint: without rules in force the registration still stands
            codes = auto_programmes(resident.birth_date, day)
            if codes:
                enrol_auto(resident=resident, programme_codes=codes, on=day, user=user)
    except (ProgrammeUnknown, ProgrammeNotLoaded):  # rules not loaded yet: the nightly sync enrols later
        return


def on_resident_moved(sender: Any, *, resident: Resident, from_path: str, to_path: str, **kwargs: Any) -> None:
    for model in PATHED:
        model.objects.filter(resident=resident).update(path=to_path)


def on_resident_status_changed(sender: Any, *, resident: Resident, old: str, new: str, **kwargs: Any) -> None:
    reason = CLOSE_ON_STATUS.get(new)  # type: ignore[call-overload]
    if reason is None:
        return
    ids = list(Enrolment.objects.filter(resident=resident, status=EnrolmentStatus.ACTIVE).values_list("pk", flat=True))
    close_enrolments(ids, reason=reason, on=resident.status_date or today())


def on_resident_merging(sender: Any, *, survivor: Resident, merged: Resident, **kwargs: Any) -> None:
    active = Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE)
    kept = set(active.filter(resident=survivor).values_list("programme_id", flat=True))
    duplicates = list(active.filter(resident=merged, programme_id__in=kept).values_list("pk", flat=True))
    # The note is stored data (shown as written), in the county's language.
    close_enrolments(duplicates, reason=CloseReason.OTHER, on=today(), note=f"档案合并：并入 {survivor.record_no}")
    # The merged record's rows take the survivor's village when they move to it.
    if merged.path != survivor.path:
        for model in PATHED:
            model.objects.filter(resident=merged).update(path=survivor.path)
    # Re-plan what will be the survivor's active enrolments with both records' visits (the
    # visits move to the survivor right after this signal, inside the same transaction).
    live = list(active.filter(resident__in=[survivor, merged]))
    if live:
        extra = {(e.resident_id, e.programme_id): [merged.pk if e.resident_id == survivor.pk else survivor.pk]
                 for e in live}
        replan_batch(live, as_of=today(), extra_history=extra)


def on_care_plan_issued(sender: Any, *, resident: Resident, programme_code: str, issued_on: Any,
                        follow_up_days: int, diagnosis_code: str = "", instructions: str = "", source: str = "",
                        user: Any = None, request: Any = None, **kwargs: Any) -> None:
    """A down-referral's care plan: enrol or re-plan (errors propagate: the referral rolls back)."""
    care_plan_apply(user=user, resident=resident, programme_code=programme_code, issued_on=issued_on,
                    follow_up_days=follow_up_days, diagnosis_code=diagnosis_code, instructions=instructions,
                    source=source, request=request)


def on_division_path_moved(sender: Any, *, old: str, new: str, **kwargs: Any) -> None:
    """A division subtree was re-parented: rewrite the paths of enrolments, schedules and visits."""
    if old == new:
        return
    for model in PATHED:
        subtree_move(model.objects.all(), old, new)


def connect() -> None:
    """Connect the programmes receivers (called from ``ProgrammesConfig.ready``)."""
    resident_registered.connect(on_resident_registered, dispatch_uid="programmes.resident_registered")
    resident_moved.connect(on_resident_moved, dispatch_uid="programmes.resident_moved")
    resident_status_changed.connect(on_resident_status_changed, dispatch_uid="programmes.resident_status_changed")
    resident_merging.connect(on_resident_merging, dispatch_uid="programmes.resident_merging")
    path_moved.connect(on_division_path_moved, dispatch_uid="programmes.division_path_moved")
    care_plan_issued.connect(on_care_plan_issued, dispatch_uid="programmes.care_plan_issued")
