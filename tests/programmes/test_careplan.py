"""Care plans (照护计划) from a down-referral: the engine re-anchors the next follow-up, the service
enrols or re-plans, the bulk planner and the per-enrolment planner agree, the signal reaches it."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MiniCounty
from tests.factories.programmes import enrol, record
from tests.factories.residents import ResidentFactory
from yigongti.care.signals import care_plan_issued
from yigongti.core.errors import ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.programmes.bulk import plans_rebuild
from yigongti.programmes.engine import fixture_specs, plan
from yigongti.programmes.engine.types import Directive, Service
from yigongti.programmes.errors import NotEligible
from yigongti.programmes.models import CarePlan, Enrolment, ScheduledVisit
from yigongti.programmes.services_careplan import care_plan_apply

TODAY = dt.date(2026, 6, 15)
HT = fixture_specs()["hypertension"]


def _next_followup(rows: list) -> dt.date:
    return min(r.due for r in rows if r.item == "followup" and r.status != "done")


# ---------------------------------------------------------------- the engine


def test_directive_after_the_last_visit_sets_the_next_due_date() -> None:
    anchor = dt.date(2026, 1, 5)
    history = [Service("followup", dt.date(2026, 1, 10), {"sbp": 130, "dbp": 80}, "")]
    without = plan(HT, anchor=anchor, history=history, as_of=TODAY)
    assert _next_followup(without) == dt.date(2026, 4, 10)  # 控制满意 → 3 months
    rows = plan(HT, anchor=anchor, history=history, as_of=TODAY, directives=[Directive(dt.date(2026, 6, 1), 14)])
    row = next(r for r in rows if r.item == "followup" and r.status != "done")
    assert (row.due, row.window_start, row.window_end) == (dt.date(2026, 6, 15), dt.date(2026, 6, 1),
                                                           dt.date(2026, 6, 15))
    assert row.status == "due"


def test_a_visit_after_the_directive_fulfils_it_and_the_schedule_goes_on() -> None:
    anchor = dt.date(2026, 1, 5)
    history = [Service("followup", dt.date(2026, 1, 10), {"sbp": 130, "dbp": 80}, ""),
               Service("followup", dt.date(2026, 6, 10), {"sbp": 128, "dbp": 78}, "")]
    rows = plan(HT, anchor=anchor, history=history, as_of=TODAY, directives=[Directive(dt.date(2026, 6, 1), 14)])
    done = [r for r in rows if r.item == "followup" and r.status == "done"]
    assert done[1].due == dt.date(2026, 6, 15) and done[1].done_on == dt.date(2026, 6, 10)
    assert _next_followup(rows) == dt.date(2026, 9, 10)


@settings(max_examples=60, deadline=None)
@given(gap=st.integers(min_value=0, max_value=200), within=st.integers(min_value=1, max_value=60))
def test_the_next_follow_up_is_within_the_days_asked(gap: int, within: int) -> None:
    anchor = dt.date(2025, 1, 1)
    history = [Service("followup", dt.date(2025, 1, 3), {"sbp": 150, "dbp": 95}, "")]
    issued = dt.date(2025, 1, 4) + dt.timedelta(days=gap)
    rows = plan(HT, anchor=anchor, history=history, as_of=issued, directives=[Directive(issued, within)])
    assert _next_followup(rows) == issued + dt.timedelta(days=within)


# ---------------------------------------------------------------- the service


def _followup_due(enrolment: Enrolment) -> dt.date:
    """The due date of the next stored follow-up (``next_due`` may be the yearly check's)."""
    return min(ScheduledVisit.objects.filter(enrolment=enrolment, item="followup").values_list("due", flat=True))


def _hypertensive(county: MiniCounty) -> object:
    return ResidentFactory(village=county.village_a, birth_date=dt.date(1958, 4, 2))


def test_care_plan_enrols_a_resident_not_yet_managed(rules: MiniCounty) -> None:
    resident = _hypertensive(rules)
    care_plan = care_plan_apply(user=rules.clinician, resident=resident, programme_code="hypertension",
                                issued_on=TODAY, follow_up_days=14, diagnosis_code="I10", source="referral:1",
                                instructions="低盐饮食，氨氯地平 5 mg qd")
    enrolment = care_plan.enrolment
    assert enrolment.status == "active" and enrolment.diagnosis_code == "I10"
    assert _followup_due(enrolment) == TODAY + dt.timedelta(days=14)
    assert AuditEntry.objects.filter(object_type="programmes.careplan", object_id=str(care_plan.pk)).exists()


def test_care_plan_moves_the_next_follow_up_of_an_enrolled_resident(rules: MiniCounty) -> None:
    resident = _hypertensive(rules)
    enrol(rules.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 5, 1))
    record(rules.village_doctor, resident, "hypertension", "followup", dt.date(2026, 5, 20), sbp=132, dbp=84)
    assert _followup_due(Enrolment.objects.get(resident=resident)) == dt.date(2026, 8, 20)
    care_plan_apply(user=rules.clinician, resident=resident, programme_code="hypertension", issued_on=TODAY,
                    follow_up_days=14, source="referral:7")
    enrolment = Enrolment.objects.get(resident=resident)
    assert _followup_due(enrolment) == dt.date(2026, 6, 29)
    # The same referral again changes nothing.
    again = care_plan_apply(user=rules.clinician, resident=resident, programme_code="hypertension",
                            issued_on=TODAY, follow_up_days=14, source="referral:7")
    assert CarePlan.objects.filter(enrolment=enrolment).count() == 1 and again.enrolment_id == enrolment.pk


def test_bulk_rebuild_keeps_the_care_plan(rules: MiniCounty) -> None:
    resident = _hypertensive(rules)
    enrol(rules.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 5, 1))
    record(rules.village_doctor, resident, "hypertension", "followup", dt.date(2026, 5, 20), sbp=132, dbp=84)
    care_plan_apply(user=rules.clinician, resident=resident, programme_code="hypertension", issued_on=TODAY,
                    follow_up_days=10, source="referral:8")
    enrolment = Enrolment.objects.get(resident=resident)
    rows = list(ScheduledVisit.objects.filter(enrolment=enrolment).values_list("item", "due").order_by("due", "item"))
    plans_rebuild([enrolment.pk], as_of=TODAY)
    assert list(ScheduledVisit.objects.filter(enrolment=enrolment).values_list("item", "due")
                .order_by("due", "item")) == rows
    assert _followup_due(enrolment) == dt.date(2026, 6, 25)


def test_care_plan_refusals_write_nothing(rules: MiniCounty) -> None:
    young = ResidentFactory(village=rules.village_a, birth_date=dt.date(2000, 1, 1))
    with pytest.raises(NotEligible):  # hypertension management is for residents of 35 and over
        care_plan_apply(user=rules.clinician, resident=young, programme_code="hypertension", issued_on=TODAY,
                        follow_up_days=14, diagnosis_code="I10")
    resident = _hypertensive(rules)
    for days in (0, 400):
        with pytest.raises(ValidationFailed):
            care_plan_apply(user=rules.clinician, resident=resident, programme_code="hypertension",
                            issued_on=TODAY, follow_up_days=days, diagnosis_code="I10")
    with pytest.raises(ValidationFailed):
        care_plan_apply(user=rules.clinician, resident=resident, programme_code="hypertension",
                        issued_on=TODAY + dt.timedelta(days=1), follow_up_days=14, diagnosis_code="I10")
    assert not Enrolment.objects.exists() and not CarePlan.objects.exists()


def test_the_care_signal_reaches_the_programmes(rules: MiniCounty) -> None:
    resident = _hypertensive(rules)
    care_plan_issued.send(sender=None, resident=resident, programme_code="diabetes", diagnosis_code="E11.9",
                          issued_on=TODAY, follow_up_days=14, instructions="", source="referral:9",
                          user=rules.clinician)
    enrolment = Enrolment.objects.get(resident=resident, programme__code="diabetes")
    assert _followup_due(enrolment) == TODAY + dt.timedelta(days=14)
