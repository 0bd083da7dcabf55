"""Care plans (照护计划) from outside the programme's own schedule — a down-referral (下转) sends a
patient back with "hypertension follow-up within 2 weeks". Reached through the care app's
:data:`~yigongti.care.signals.care_plan_issued` (referrals sit beside programmes and must not
import them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import ValidationFailed
from yigongti.core.models import AuditAction
from yigongti.residents.models import Resident

from .choices import EnrolmentHow
from .models import CarePlan, Enrolment
from .services import active_enrolment, enrolment_create
from .services_plan import enrolment_replan, programme_get

CARE_PLAN = "programmes.careplan"
MAX_FOLLOW_UP_DAYS = 366


@transaction.atomic
def care_plan_apply(*, user: Any, resident: Resident, programme_code: str, issued_on: dt.date,
                    follow_up_days: int, diagnosis_code: str = "", instructions: str = "", source: str = "",
                    request: Any = None) -> CarePlan:
    """Put ``resident`` under ``programme_code`` with the next follow-up due within
    ``follow_up_days`` of ``issued_on``.

    Not yet enrolled: enrolled now (``how`` manual, the diagnosis of the referral counts as
    confirmed — a county hospital made it), anchored at ``issued_on``. Enrolled: the active
    enrolment is kept and re-planned. The care plan is stored and the plan engine treats it like a
    classification on ``issued_on``. Idempotent per (enrolment, ``source``): the same referral
    twice returns the first care plan. Eligibility refusals (age, diagnosis) raise and roll back.
    """
    if not 1 <= follow_up_days <= MAX_FOLLOW_UP_DAYS:
        raise ValidationFailed(field="follow_up_days",
                               reason=_("随访时限应在 1 到 %(max)s 天之间") % {"max": MAX_FOLLOW_UP_DAYS})
    if issued_on > today():
        raise ValidationFailed(field="issued_on", reason=_("下达日期不能晚于今天"))
    programme = programme_get(programme_code)
    enrolment = active_enrolment(resident, programme, lock=True)
    if enrolment is None:
        enrolment = enrolment_create(user=user, resident=resident, programme_code=programme.code,
                                     anchor_date=issued_on, enrolled_on=issued_on, diagnosis_code=diagnosis_code,
                                     confirmed=True, how=EnrolmentHow.MANUAL, request=request)
    if source:
        existing = CarePlan.objects.filter(enrolment=enrolment, source=source).first()
        if existing is not None:
            return existing
    by = user if getattr(user, "is_authenticated", False) else None
    care_plan = CarePlan.objects.create(enrolment=enrolment, resident=resident, path=enrolment.path,
                                        issued_on=issued_on, follow_up_days=follow_up_days,
                                        instructions=(instructions or "").strip(), source=source, created_by=by)
    enrolment_replan(Enrolment.objects.get(pk=enrolment.pk))
    audit.record(user=user, action=AuditAction.CREATE, object_type=CARE_PLAN, object_id=care_plan.pk,
                 path=care_plan.path, request=request,
                 detail={"record_no": resident.record_no, "programme": programme.code, "source": source,
                         "issued_on": issued_on.isoformat(), "follow_up_days": follow_up_days})
    return care_plan
