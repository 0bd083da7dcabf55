"""The programmes follow the resident: registration, transfer, death / leaving, merge, re-parenting."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MiniCounty
from tests.factories.programmes import enrol, record
from tests.factories.residents import ResidentFactory, register
from yigongti.core.scope import visible
from yigongti.programmes.models import Enrolment, ScheduledVisit, Visit
from yigongti.programmes.selectors import visits_of, worklist_for_org
from yigongti.registry.services import _rewrite_paths
from yigongti.residents.services import resident_merge, resident_transfer, resident_update

TODAY = dt.date(2026, 6, 15)




def _active(resident: object) -> set[str]:
    return set(Enrolment.objects.filter(resident=resident, status="active").values_list("programme__code", flat=True))


def test_registering_a_newborn_enrols_child_health_and_immunisation(rules: MiniCounty) -> None:
    baby = register(rules.village_doctor, rules.village_a, name="李小宝", birth_date=dt.date(2026, 6, 1), sex="F")
    assert _active(baby) == {"child", "immunisation"}
    enrolment = Enrolment.objects.get(resident=baby, programme__code="immunisation")
    assert enrolment.how == "auto" and enrolment.anchor_date == baby.birth_date
    assert ScheduledVisit.objects.filter(enrolment=enrolment, item="HepB-2").exists()


def test_registering_a_senior_enrols_elderly_and_tcm_and_an_adult_nothing(rules: MiniCounty) -> None:
    senior = register(rules.village_doctor, rules.village_a, name="赵老", birth_date=dt.date(1950, 2, 2))
    adult = register(rules.village_doctor, rules.village_a, name="钱中", birth_date=dt.date(1980, 2, 2))
    assert _active(senior) == {"elderly", "tcm"}
    assert _active(adult) == set()


def test_registration_without_loaded_rules_still_works(county: MiniCounty) -> None:
    baby = register(county.village_doctor, county.village_a, name="周小", birth_date=dt.date(2026, 6, 1))
    assert baby.pk and not Enrolment.objects.exists()


def test_a_transfer_takes_the_plan_and_the_history_along(rules: MiniCounty) -> None:
    resident = ResidentFactory(village=rules.village_a, birth_date=dt.date(1960, 1, 1))
    enrol(rules.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 1, 5))
    record(rules.village_doctor, resident, "hypertension", "followup", dt.date(2026, 3, 1), sbp=128, dbp=78)
    record(rules.village_doctor, resident, "hypertension", "followup", dt.date(2026, 6, 1), sbp=150, dbp=95)
    visits_before = Visit.objects.filter(resident=resident).count()
    resident_transfer(user=rules.director, resident=resident, to_village_code=rules.village_b.code)

    new_doctor_view = rules.director  # township: sees both villages; check by path instead
    for model in (Enrolment, ScheduledVisit, Visit):
        assert set(model.objects.filter(resident=resident).values_list("path", flat=True)) == {rules.village_b.path}
        assert not model.objects.filter(path=rules.village_a.path).exists()
    assert Visit.objects.filter(resident=resident).count() == visits_before == 2
    assert visible(new_doctor_view, Visit.objects.all()).count() == 2
    # The old village's doctor sees nothing of it any more; the new village's worklist has it.
    assert not visible(rules.village_doctor, Enrolment.objects.all()).exists()
    worklist_b = worklist_for_org(user=rules.director, org_code=rules.village_b.code, on=TODAY)
    worklist_a = worklist_for_org(user=rules.director, org_code=rules.village_a.code, on=TODAY)
    rows_b = worklist_b.due + worklist_b.overdue + worklist_b.unseen
    assert any(r.record_no == resident.record_no for r in rows_b)
    assert not any(r.record_no == resident.record_no for r in worklist_a.due + worklist_a.overdue + worklist_a.unseen)
    assert len(visits_of(user=rules.director, resident=resident)) == 2


@pytest.mark.parametrize(("status", "reason"), [("deceased", "deceased"), ("moved_out", "moved")])
def test_death_or_leaving_closes_the_enrolments(rules: MiniCounty, status: str, reason: str) -> None:
    resident = ResidentFactory(village=rules.village_a, birth_date=dt.date(1955, 1, 1))
    enrol(rules.village_doctor, resident, "hypertension")
    enrol(rules.village_doctor, resident, "elderly")
    resident_update(user=rules.village_doctor, resident=resident, status=status)
    closed = Enrolment.objects.filter(resident=resident)
    assert {e.status for e in closed} == {"closed"}
    assert {e.close_reason for e in closed} == {reason}
    assert not ScheduledVisit.objects.filter(resident=resident).exists()


def test_a_merge_keeps_one_active_enrolment_and_every_dose(rules: MiniCounty) -> None:
    born = dt.date(2026, 1, 10)
    survivor = ResidentFactory(village=rules.village_a, birth_date=born, name="孙小一")
    merged = ResidentFactory(village=rules.village_b, birth_date=born, name="孙小一")
    kept = enrol(rules.village_doctor, survivor, "immunisation")
    duplicate = enrol(rules.director, merged, "immunisation")
    record(rules.village_doctor, survivor, "immunisation", "HepB-1", born)
    record(rules.director, merged, "immunisation", "BCG-1", born)
    own = enrol(rules.director, merged, "child")

    resident_merge(user=rules.director, survivor=survivor, merged=merged)

    duplicate.refresh_from_db()
    assert duplicate.status == "closed" and duplicate.close_reason == "other"
    assert survivor.record_no in duplicate.close_note
    assert _active(survivor) == {"immunisation", "child"}
    assert Enrolment.objects.get(pk=own.pk).resident_id == survivor.pk
    # Both doses count for the survivor's plan: neither HepB-1 nor BCG-1 is pending any more.
    pending = set(ScheduledVisit.objects.filter(enrolment=kept).values_list("item", flat=True))
    assert "HepB-1" not in pending and "BCG-1" not in pending and "HepB-2" in pending
    assert Visit.objects.filter(resident=survivor).count() == 2
    assert set(Visit.objects.filter(resident=survivor).values_list("path", flat=True)) == {survivor.path}


def test_re_parenting_a_village_rewrites_the_paths(rules: MiniCounty) -> None:
    resident = ResidentFactory(village=rules.village_a, birth_date=dt.date(1960, 1, 1))
    enrol(rules.village_doctor, resident, "hypertension")
    record(rules.village_doctor, resident, "hypertension", "followup", TODAY, sbp=128, dbp=78)
    old = rules.village_a.path
    new = f"{rules.townships[1].path}/{rules.village_a.code}"
    _rewrite_paths(old, new)
    for model in (Enrolment, ScheduledVisit, Visit):
        assert set(model.objects.filter(resident=resident).values_list("path", flat=True)) == {new}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4),
       visit_days=st.lists(st.integers(min_value=1, max_value=160), min_size=1, max_size=4, unique=True))
def test_no_visit_is_lost_whatever_the_moves(rules: MiniCounty, moves: list[str], visit_days: list[int]) -> None:
    villages = {"a": rules.village_a, "b": rules.village_b, "c": rules.village_c}
    resident = ResidentFactory(village=rules.village_a, birth_date=dt.date(1960, 1, 1))
    enrol(rules.commission, resident, "hypertension", enrolled_on=dt.date(2026, 1, 5))
    here = "a"
    for move, day in zip(moves, sorted(visit_days) + [None] * len(moves), strict=False):
        if day is not None:
            record(rules.commission, resident, "hypertension", "followup", dt.date(2026, 1, 5) + dt.timedelta(days=day),
                   sbp=128, dbp=78)
        if move != here:
            resident_transfer(user=rules.commission, resident=resident, to_village_code=villages[move].code)
            resident.refresh_from_db()
            here = move
    path = villages[here].path
    recorded = min(len(moves), len(visit_days))
    assert Visit.objects.filter(resident=resident).count() == recorded
    for model in (Enrolment, ScheduledVisit, Visit):
        assert set(model.objects.filter(resident=resident).values_list("path", flat=True)) <= {path}
    assert ScheduledVisit.objects.filter(resident=resident).exists()
