"""Services of the programmes app: enrolment, closing, recording visits, re-planning, the sync."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import MiniCounty
from tests.factories.programmes import enrol, record
from tests.factories.residents import ResidentFactory
from yigongti.core.errors import NotFound, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.programmes.engine import ValuesInvalid
from yigongti.programmes.errors import AlreadyEnrolled, EnrolmentClosed, NotEligible, NotEnrolled
from yigongti.programmes.models import Enrolment, ScheduledVisit, Visit
from yigongti.programmes.services import (
    enrolment_close,
    enrolment_create,
    enrolment_replan,
    programme_replan_all,
    programmes_sync,
)

TODAY = dt.date(2026, 6, 15)




def adult(county: MiniCounty, **fields: object) -> object:
    fields.setdefault("birth_date", dt.date(1960, 3, 1))
    return ResidentFactory(village=county.village_a, **fields)


# ---------------------------------------------------------------- enrolment


def test_hypertension_needs_a_confirmed_matching_diagnosis(rules: MiniCounty) -> None:
    resident = adult(rules)
    doctor = rules.village_doctor
    with pytest.raises(NotEligible) as unconfirmed:
        enrolment_create(user=doctor, resident=resident, programme_code="hypertension", diagnosis_code="I10")
    assert unconfirmed.value.params["field"] == "confirmed"
    with pytest.raises(NotEligible) as wrong_code:
        enrolment_create(user=doctor, resident=resident, programme_code="hypertension", diagnosis_code="E11",
                         confirmed=True)
    assert wrong_code.value.params["field"] == "diagnosis_code"
    assert not Enrolment.objects.exists()
    enrolment = enrolment_create(user=doctor, resident=resident, programme_code="hypertension",
                                 diagnosis_code="i10.x", confirmed=True, enrolled_on=dt.date(2026, 6, 1))
    assert enrolment.diagnosis_code == "I10.X"
    assert enrolment.anchor_date == dt.date(2026, 6, 1)
    assert ScheduledVisit.objects.filter(enrolment=enrolment).exists()
    enrolment.refresh_from_db()
    assert enrolment.next_due is not None and enrolment.planned_at == TODAY
    assert AuditEntry.objects.filter(object_type="programmes.enrolment", object_id=str(enrolment.pk),
                                     action="create").count() == 1


def test_age_and_sex_of_the_target_group(rules: MiniCounty) -> None:
    young = adult(rules, birth_date=dt.date(2000, 1, 1))
    with pytest.raises(NotEligible):
        enrol(rules.village_doctor, young, "hypertension")
    man = adult(rules, sex="M", birth_date=dt.date(1995, 1, 1))
    with pytest.raises(NotEligible):
        enrol(rules.village_doctor, man, "maternal", anchor_date=dt.date(2026, 3, 1))


def test_maternal_needs_the_last_menstrual_period(rules: MiniCounty) -> None:
    woman = adult(rules, sex="F", birth_date=dt.date(1995, 1, 1))
    with pytest.raises(ValidationFailed) as missing:
        enrol(rules.village_doctor, woman, "maternal")
    assert missing.value.params["field"] == "anchor_date"
    enrolment = enrol(rules.village_doctor, woman, "maternal", anchor_date=dt.date(2026, 3, 1))
    assert enrolment.anchor_date == dt.date(2026, 3, 1)


def test_a_second_active_enrolment_is_a_conflict_naming_the_first(rules: MiniCounty) -> None:
    resident = adult(rules)
    first = enrol(rules.village_doctor, resident, "hypertension")
    with pytest.raises(AlreadyEnrolled) as conflict:
        enrol(rules.village_doctor, resident, "hypertension")
    assert conflict.value.status == 409
    assert str(first.pk) in str(conflict.value)


def test_outside_the_entry_scope_is_not_found_and_audited(rules: MiniCounty) -> None:
    other = ResidentFactory(village=rules.village_b, birth_date=dt.date(1960, 1, 1))
    with pytest.raises(NotFound):
        enrol(rules.village_doctor, other, "hypertension")
    assert not Enrolment.objects.exists()
    assert AuditEntry.objects.filter(outcome="not_found", object_id=other.record_no).exists()


def test_closing_deletes_the_pending_plan_and_keeps_the_visits(rules: MiniCounty) -> None:
    resident = adult(rules)
    enrolment = enrol(rules.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 5, 1))
    record(rules.village_doctor, resident, "hypertension", "followup", dt.date(2026, 6, 1), sbp=130, dbp=80)
    closed = enrolment_close(user=rules.village_doctor, enrolment=enrolment, reason="refused", note="不愿管理")
    assert closed.status == "closed" and closed.close_reason == "refused" and closed.closed_on == TODAY
    assert not ScheduledVisit.objects.filter(enrolment=enrolment).exists()
    assert Visit.objects.filter(enrolment=enrolment).count() == 1
    with pytest.raises(EnrolmentClosed):
        enrolment_close(user=rules.village_doctor, enrolment=closed, reason="other")
    with pytest.raises(ValidationFailed):
        enrolment_close(user=rules.village_doctor, enrolment=enrol(rules.village_doctor, resident, "diabetes"),
                        reason="bored")


# ---------------------------------------------------------------- visits


def test_a_visit_needs_an_active_enrolment(rules: MiniCounty) -> None:
    resident = adult(rules)
    with pytest.raises(NotEnrolled) as error:
        record(rules.village_doctor, resident, "hypertension", "followup", TODAY, sbp=130, dbp=80)
    assert resident.record_no in str(error.value)
    assert not Visit.objects.exists()


def test_visit_dates_are_checked(rules: MiniCounty) -> None:
    resident = adult(rules)
    enrol(rules.village_doctor, resident, "hypertension")
    with pytest.raises(ValidationFailed) as future:
        record(rules.village_doctor, resident, "hypertension", "followup", TODAY + dt.timedelta(days=1),
               sbp=130, dbp=80)
    assert future.value.params["field"] == "visit_date"
    with pytest.raises(ValidationFailed) as unborn:
        record(rules.village_doctor, resident, "hypertension", "followup", dt.date(1950, 1, 1), sbp=130, dbp=80)
    assert unborn.value.params["field"] == "visit_date"
    assert not Visit.objects.exists()


def test_out_of_range_measurements_are_refused_with_nothing_written(rules: MiniCounty) -> None:
    resident = adult(rules)
    enrol(rules.village_doctor, resident, "hypertension")
    with pytest.raises(ValuesInvalid) as error:
        record(rules.village_doctor, resident, "hypertension", "followup", TODAY, sbp=400, dbp=20)
    assert {code for code, _msg in error.value.problems} >= {"sbp", "dbp"}
    assert not Visit.objects.exists()


def test_classification_sets_the_next_visit_and_the_enrolment(rules: MiniCounty) -> None:
    resident = adult(rules)
    enrolment = enrol(rules.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 1, 5))
    good = record(rules.village_doctor, resident, "hypertension", "followup", dt.date(2026, 3, 1), sbp=128, dbp=78)
    assert good.created and good.classification is not None
    assert good.classification.code == "satisfactory" and not good.visit.refer
    # 规范(第三版) 高血压: satisfactory → next follow-up in 3 months
    assert good.next_due is not None and 80 <= (good.next_due - dt.date(2026, 3, 1)).days <= 95
    bad = record(rules.village_doctor, resident, "hypertension", "followup", dt.date(2026, 6, 1), sbp=156, dbp=96)
    assert bad.classification is not None and bad.classification.code == "unsatisfactory"
    assert bad.next_due == dt.date(2026, 6, 15)  # within 2 weeks
    worse = record(rules.village_doctor, resident, "hypertension", "followup", dt.date(2026, 6, 14), sbp=158, dbp=97)
    assert worse.classification is not None and worse.classification.refer  # 2 in a row → refer
    enrolment.refresh_from_db()
    assert enrolment.refer and enrolment.last_visit_on == dt.date(2026, 6, 14)
    assert enrolment.classification == worse.classification.code
    assert Visit.objects.get(pk=worse.visit.pk).sbp == 158


def test_a_repeated_submission_returns_the_first_visit(rules: MiniCounty) -> None:
    resident = adult(rules)
    enrol(rules.village_doctor, resident, "hypertension")
    first = record(rules.village_doctor, resident, "hypertension", "followup", TODAY, sbp=128, dbp=78)
    audits = AuditEntry.objects.count()
    again = record(rules.village_doctor, resident, "hypertension", "followup", TODAY, sbp=150, dbp=99)
    assert not again.created and again.visit.pk == first.visit.pk and again.visit.sbp == 128
    keyed = record(rules.village_doctor, resident, "hypertension", "followup", TODAY - dt.timedelta(days=3),
                   sbp=128, dbp=78, idempotency_key="abc-1")
    replay = record(rules.village_doctor, resident, "hypertension", "followup", TODAY - dt.timedelta(days=2),
                    sbp=128, dbp=78, idempotency_key="abc-1")
    assert keyed.created and not replay.created and replay.visit.pk == keyed.visit.pk
    assert Visit.objects.count() == 2
    assert AuditEntry.objects.count() == audits + 1  # only the keyed visit


def test_a_dose_before_the_minimum_age_is_recorded_and_flagged(rules: MiniCounty) -> None:
    child = ResidentFactory(village=rules.village_a, birth_date=dt.date(2026, 4, 1))
    if not Enrolment.objects.filter(resident=child, programme__code="immunisation").exists():
        enrol(rules.village_doctor, child, "immunisation")
    # DTaP-1 is due at 3 months (2021 schedule); given at 6 weeks it is too early.
    outcome = record(rules.village_doctor, child, "immunisation", "DTaP-1", dt.date(2026, 5, 14))
    assert outcome.created
    assert outcome.flags and "before_min_age" in outcome.flags
    assert Visit.objects.get(pk=outcome.visit.pk).flags == list(outcome.flags)


def test_replan_uses_every_visit_of_the_resident_in_the_programme(rules: MiniCounty) -> None:
    child = ResidentFactory(village=rules.village_a, birth_date=dt.date(2026, 1, 10))
    first = enrol(rules.village_doctor, child, "immunisation")
    record(rules.village_doctor, child, "immunisation", "HepB-1", dt.date(2026, 1, 10))
    enrolment_close(user=rules.village_doctor, enrolment=first, reason="other")
    second = enrol(rules.village_doctor, child, "immunisation")
    rows = enrolment_replan(second)
    assert [r.done_on for r in rows if r.item == "HepB-1"] == [dt.date(2026, 1, 10)]
    assert not ScheduledVisit.objects.filter(enrolment=second, item="HepB-1").exists()


def test_programme_replan_all_counts_active_enrolments(rules: MiniCounty) -> None:
    for _ in range(3):
        enrol(rules.village_doctor, adult(rules), "diabetes")
    ScheduledVisit.objects.all().delete()
    assert programme_replan_all(programme_code="diabetes") == 3
    assert ScheduledVisit.objects.count() >= 3


# ---------------------------------------------------------------- the nightly sync


def test_sync_enrols_ages_out_replans_and_is_idempotent(rules: MiniCounty) -> None:
    senior = adult(rules, birth_date=dt.date(1961, 6, 15))  # 65 today
    almost = adult(rules, birth_date=dt.date(1961, 6, 16))  # 65 tomorrow
    baby = ResidentFactory(village=rules.village_a, birth_date=dt.date(2026, 5, 1))
    big = ResidentFactory(village=rules.village_a, birth_date=dt.date(2019, 6, 15))  # 7 today
    dead = adult(rules, birth_date=dt.date(1940, 1, 1), status="deceased")
    Enrolment.objects.all().delete()
    for programme in ("child", "immunisation"):
        Enrolment.objects.create(resident=big, programme_id=_programme_id(programme), path=big.path,
                                 anchor_date=big.birth_date, enrolled_on=dt.date(2019, 6, 20), how="auto")
    stale = enrol(rules.village_doctor, adult(rules), "hypertension", enrolled_on=dt.date(2026, 1, 5))
    Enrolment.objects.filter(pk=stale.pk).update(planned_at=dt.date(2026, 1, 5))

    result = programmes_sync(on=TODAY)

    codes = {(e.resident_id, e.programme.code) for e in Enrolment.objects.filter(status="active")}
    assert {(senior.pk, "elderly"), (senior.pk, "tcm"), (baby.pk, "child"), (baby.pk, "immunisation")} <= codes
    assert not {c for r, c in codes if r in (almost.pk, dead.pk, big.pk)}
    assert result.enrolled["elderly"] >= 1 and result.enrolled["child"] >= 1
    assert result.closed == {"child": 1, "immunisation": 1}
    assert set(Enrolment.objects.filter(resident=big).values_list("close_reason", flat=True)) == {"completed"}
    assert result.replanned >= 1
    assert Enrolment.objects.get(pk=stale.pk).planned_at == TODAY
    assert ScheduledVisit.objects.filter(resident=baby).exists()

    again = programmes_sync(on=TODAY)
    assert sum(again.enrolled.values()) == 0 and sum(again.closed.values()) == 0 and again.replanned == 0


def _programme_id(code: str) -> int:
    from yigongti.programmes.models import Programme

    return Programme.objects.get(code=code).pk
