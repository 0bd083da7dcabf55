"""Referral services: routes and deadlines from data, validation, who may act, scope, audit,
idempotency, merged residents, the escalation job, and the down-referral's care plan."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.factories.programmes import enrol, record
from tests.factories.referrals import request_up, walk
from tests.factories.residents import ResidentFactory
from tests.referrals.conftest import ReferralCounty
from yigongti.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.core.rule_fixtures import rules_load
from yigongti.programmes.models import Enrolment, ScheduledVisit
from yigongti.referrals import selectors, services
from yigongti.referrals.errors import NotDownReferable, RouteRefused
from yigongti.referrals.models import Referral, ReferralRoute, ResponseDeadline
from yigongti.residents.choices import RecordStatus

TODAY = dt.date(2026, 6, 15)


# ---------------------------------------------------------------- rules as data


def test_rules_load_is_idempotent_and_cited(rules: ReferralCounty) -> None:
    assert ReferralRoute.objects.count() == 5 and ResponseDeadline.objects.count() == 3
    assert all("国办发〔2015〕70号" in r.source for r in ReferralRoute.objects.all())
    again = {f.kind: r for f, r in rules_load(kinds=["referrals.routes", "referrals.deadlines"])}
    assert again["referrals.routes"].unchanged == 5 and again["referrals.routes"].created == 0
    assert again["referrals.deadlines"].unchanged == 3
    hours = {d.urgency: (d.respond_hours, d.escalate_hours) for d in ResponseDeadline.objects.all()}
    assert hours == {"emergency": (1, 2), "urgent": (4, 8), "routine": (24, 48)}


@pytest.mark.parametrize(("urgency", "respond", "escalate"), [("emergency", 1, 2), ("urgent", 4, 8),
                                                               ("routine", 24, 48)])
def test_deadlines_from_data_by_urgency(rules: ReferralCounty, urgency: str, respond: int, escalate: int) -> None:
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital, urgency=urgency)
    assert referral.respond_by - referral.requested_at == dt.timedelta(hours=respond)
    assert referral.escalate_at - referral.requested_at == dt.timedelta(hours=escalate)


def test_deadlines_follow_the_rows(rules: ReferralCounty) -> None:
    ResponseDeadline.objects.filter(urgency="routine").update(respond_hours=12, escalate_hours=30)
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    assert referral.respond_by - referral.requested_at == dt.timedelta(hours=12)


@pytest.mark.parametrize(("to", "kind"), [
    ("hospital", "outpatient"), ("hospital", "emergency"), ("tcm", "inpatient"), ("mch", "outpatient"),
    ("centre", "examination"),
])
def test_routes_taken(rules: ReferralCounty, to: str, kind: str) -> None:
    target = {"hospital": rules.hospital, "tcm": rules.tcm, "mch": rules.mch, "centre": rules.centres[0]}[to]
    referral = request_up(rules.village_doctor, rules.resident, target, kind=kind)
    assert referral.direction == "up" and referral.status == "requested"
    assert (referral.from_path, referral.to_path, referral.path) == (
        rules.clinic_a.path, target.path, rules.resident.path)


@pytest.mark.parametrize(("to", "kind"), [
    ("cdc", "outpatient"),          # the CDC takes no referral
    ("clinic_b", "outpatient"),     # village → village
    ("mch", "emergency"),           # the MCH takes outpatient and inpatient only
    ("centre", "inpatient"),        # a township centre takes outpatient and examination from villages
])
def test_routes_refused(rules: ReferralCounty, to: str, kind: str) -> None:
    target = {"cdc": rules.cdc, "clinic_b": rules.clinic_b, "mch": rules.mch, "centre": rules.centres[0]}[to]
    with pytest.raises(RouteRefused) as caught:
        request_up(rules.village_doctor, rules.resident, target, kind=kind)
    assert caught.value.status == 422 and caught.value.params["field"] == "to_institution"
    assert target.name in str(caught.value)
    assert not Referral.objects.exists()


def test_a_route_out_of_force_refuses(rules: ReferralCounty) -> None:
    ReferralRoute.objects.update(effective_to=dt.date(2026, 1, 1))
    with pytest.raises(RouteRefused):
        request_up(rules.village_doctor, rules.resident, rules.hospital)


# ---------------------------------------------------------------- validation and who may act


@pytest.mark.parametrize(("fields", "field"), [
    ({"reason": "  "}, "reason"),
    ({"diagnosis_code": "高血压"}, "diagnosis_code"),
    ({"kind": "spa"}, "kind"),
    ({"urgency": "now"}, "urgency"),
    ({"result_ids": [999999]}, "result_ids"),
    ({"care_plan": {"programme": "hypertension", "follow_up_days": 14}}, "care_plan"),  # up: no care plan
])
def test_request_validation(rules: ReferralCounty, fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        request_up(rules.village_doctor, rules.resident, rules.hospital, **fields)
    assert caught.value.params["field"] == field
    assert not Referral.objects.exists()


def test_icd10_forms_accepted(rules: ReferralCounty) -> None:
    for code in ("I10", "e11.9", "J18.000", "J18.000x001"):
        assert request_up(rules.village_doctor, rules.resident, rules.hospital, diagnosis_code=code).diagnosis_code


def test_from_and_to_must_differ(rules: ReferralCounty) -> None:
    with pytest.raises(ValidationFailed) as caught:
        request_up(rules.village_doctor, rules.resident, rules.clinic_a)
    assert caught.value.params["field"] == "to_institution"


def test_only_the_receiving_side_accepts(rules: ReferralCounty) -> None:
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    with pytest.raises(PermissionDenied):
        services.referral_accept(user=rules.director, referral=referral)
    with pytest.raises(PermissionDenied):
        services.referral_cancel(user=rules.clinician, referral=referral, reason="x")
    with pytest.raises(PermissionDenied):  # sending in another institution's name
        request_up(rules.village_doctor, rules.resident, rules.hospital, from_institution=rules.centres[0])


def test_scope_another_township_sees_nothing(rules: ReferralCounty) -> None:
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    with pytest.raises(NotFound):
        selectors.referral_get(user=rules.other_director, pk=referral.pk)
    assert AuditEntry.objects.filter(user=rules.other_director, outcome="not_found",
                                     object_type="referrals.referral").exists()
    # the patient's township, the sending clinic and the receiving hospital all see it
    for user in (rules.director, rules.village_doctor, rules.clinician, rules.commission):
        assert selectors.referral_get(user=user, pk=referral.pk).pk == referral.pk
    assert AuditEntry.objects.filter(user=rules.director, action="read", object_type="referrals.referral",
                                     object_id=str(referral.pk)).exists()
    assert selectors.referrals_of(user=rules.other_director, resident=rules.resident) == []


def test_a_resident_out_of_scope_cannot_be_referred(rules: ReferralCounty) -> None:
    stranger = ResidentFactory(village=rules.village_c, birth_date=dt.date(1970, 1, 1))
    with pytest.raises(NotFound):
        request_up(rules.village_doctor, stranger, rules.hospital)
    assert AuditEntry.objects.filter(outcome="not_found", object_id=stranger.record_no).exists()


def test_a_merged_resident_follows_the_survivor(rules: ReferralCounty) -> None:
    survivor = rules.resident
    merged = ResidentFactory(village=rules.village_a, status=RecordStatus.MERGED, merged_into=survivor)
    referral = request_up(rules.village_doctor, merged, rules.hospital)
    assert referral.resident_id == survivor.pk
    dead = ResidentFactory(village=rules.village_a, status=RecordStatus.DECEASED)
    with pytest.raises(Conflict):
        request_up(rules.village_doctor, dead, rules.hospital)


def test_request_is_audited_with_an_event(rules: ReferralCounty) -> None:
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    entry = AuditEntry.objects.get(object_type="referrals.referral", object_id=str(referral.pk), action="create")
    assert entry.user == rules.village_doctor and entry.detail["to"] == rules.hospital.code
    assert [e.action for e in referral.events.all()] == ["request"]


def test_idempotency_key_replays_the_first(rules: ReferralCounty) -> None:
    first = request_up(rules.village_doctor, rules.resident, rules.hospital, idempotency_key="k-1")
    again = request_up(rules.village_doctor, rules.resident, rules.hospital, idempotency_key="k-1")
    assert again.pk == first.pk and services.was_replayed(again) and not services.was_replayed(first)
    assert Referral.objects.count() == 1
    other = ResidentFactory(village=rules.village_a)
    with pytest.raises(Conflict):
        request_up(rules.village_doctor, other, rules.hospital, idempotency_key="k-1")


# ---------------------------------------------------------------- escalation


def test_escalation_job(rules: ReferralCounty) -> None:
    urgent = request_up(rules.village_doctor, rules.resident, rules.hospital, urgency="urgent")
    routine = request_up(rules.village_doctor, rules.resident, rules.hospital)
    answered = request_up(rules.village_doctor, rules.resident, rules.hospital, urgency="urgent")
    services.referral_accept(user=rules.clinician, referral=answered)
    later = timezone.now() + dt.timedelta(hours=9)
    assert services.referrals_escalate(at=later) == 1
    urgent.refresh_from_db()
    routine.refresh_from_db()
    assert urgent.escalated_at == later and routine.escalated_at is None
    assert urgent.events.filter(action="escalate").count() == 1
    assert services.referrals_escalate(at=later) == 0  # once only
    assert services.referrals_escalate(at=timezone.now() + dt.timedelta(hours=49)) == 1


def test_overdue_desk(rules: ReferralCounty) -> None:
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital, urgency="emergency")
    Referral.objects.filter(pk=referral.pk).update(respond_by=timezone.now() - dt.timedelta(minutes=1))
    page = selectors.referral_desk(user=rules.clinician, institution=rules.hospital, box="overdue")
    assert [r.pk for r in page.items] == [referral.pk]


# ---------------------------------------------------------------- down-referral and the care plan

CARE_PLAN = {"programme": "hypertension", "follow_up_days": 14, "instructions": "每日监测血压"}


def _arrived(rules: ReferralCounty) -> Referral:
    return walk(request_up(rules.village_doctor, rules.resident, rules.hospital), receiver=rules.clinician,
                to="arrived")


def test_down_referral_enrols_with_a_care_plan(rules: ReferralCounty) -> None:
    up = _arrived(rules)
    down = services.referral_down(user=rules.clinician, referral=up, reason="病情稳定，回社区管理",
                                  summary="出院带药", care_plan=CARE_PLAN)
    assert (down.direction, down.kind, down.parent_id) == ("down", "chronic", up.pk)
    assert (down.from_institution_id, down.to_institution_id) == (rules.hospital.pk, rules.clinic_a.pk)
    assert down.diagnosis_code == "I10" and down.care_plan["follow_up_days"] == 14
    enrolment = Enrolment.objects.get(resident=rules.resident, programme__code="hypertension", status="active")
    assert enrolment.next_due is not None and TODAY <= enrolment.next_due <= TODAY + dt.timedelta(days=14)
    # the village clinic sees the down-referral on its desk
    page = selectors.referral_desk(user=rules.village_doctor, institution=rules.clinic_a, box="incoming")
    assert [r.pk for r in page.items] == [down.pk]


def _next_followup() -> dt.date | None:
    rows = ScheduledVisit.objects.filter(programme__code="hypertension", item="followup", due__gte=TODAY)
    return rows.order_by("due").values_list("due", flat=True).first()


def test_down_referral_moves_an_enrolled_residents_next_due_earlier(rules: ReferralCounty) -> None:
    enrol(rules.village_doctor, rules.resident, "hypertension", enrolled_on=dt.date(2026, 6, 1))
    record(rules.village_doctor, rules.resident, "hypertension", "followup", dt.date(2026, 6, 10), sbp=128, dbp=80)
    before = _next_followup()
    assert before is not None and before > TODAY + dt.timedelta(days=14)
    up = walk(request_up(rules.village_doctor, rules.resident, rules.hospital), receiver=rules.clinician,
              to="completed")
    services.referral_down(user=rules.clinician, referral=up, reason="回村随访", care_plan=CARE_PLAN)
    after = _next_followup()
    assert after is not None and after < before and after <= TODAY + dt.timedelta(days=14)
    enrolment = Enrolment.objects.get(resident=rules.resident, programme__code="hypertension")
    assert enrolment.next_due is not None and enrolment.next_due <= TODAY + dt.timedelta(days=14)


def test_down_referral_once_while_it_is_live(rules: ReferralCounty) -> None:
    up = _arrived(rules)
    down = services.referral_down(user=rules.clinician, referral=up, reason="回村随访", care_plan=CARE_PLAN)
    with pytest.raises(Conflict) as caught:
        services.referral_down(user=rules.clinician, referral=up, reason="回村随访", care_plan=CARE_PLAN)
    assert str(down.pk) in str(caught.value)
    services.referral_reject(user=rules.village_doctor, referral=down, reason="患者已外出务工")
    again = services.referral_down(user=rules.clinician, referral=up, reason="回乡镇卫生院康复",
                                   to_institution=rules.centres[0])
    assert again.parent_id == up.pk and Referral.objects.filter(parent=up).count() == 2


def test_down_referral_refusals(rules: ReferralCounty) -> None:
    requested = request_up(rules.village_doctor, rules.resident, rules.hospital)
    with pytest.raises(NotDownReferable):
        services.referral_down(user=rules.clinician, referral=requested, reason="x")
    up = _arrived(rules)
    with pytest.raises(PermissionDenied):
        services.referral_down(user=rules.village_doctor, referral=up, reason="x")
    with pytest.raises(ValidationFailed) as caught:
        services.referral_down(user=rules.clinician, referral=up, reason="x",
                               care_plan={"programme": "hypertension", "follow_up_days": 0})
    assert caught.value.params["field"] == "care_plan"
    with pytest.raises(ValidationFailed):  # to a higher tier is not down
        services.referral_down(user=rules.clinician, referral=up, reason="x", to_institution=rules.tcm)


def test_a_refused_care_plan_rolls_the_down_referral_back(rules: ReferralCounty) -> None:
    young = ResidentFactory(village=rules.village_a, birth_date=dt.date(2020, 1, 1))
    up = walk(request_up(rules.village_doctor, young, rules.hospital, diagnosis_code="E11"),
              receiver=rules.clinician, to="arrived")
    count = Referral.objects.count()
    with pytest.raises(ValidationFailed):  # the programmes app refuses (not eligible / diagnosis)
        services.referral_down(user=rules.clinician, referral=up, reason="回村", care_plan=CARE_PLAN)
    assert Referral.objects.count() == count
    assert not Enrolment.objects.filter(resident=young).exists()


def test_down_to_a_township_centre(rules: ReferralCounty) -> None:
    up = _arrived(rules)
    down = services.referral_down(user=rules.clinician, referral=up, reason="康复", to_institution=rules.centres[0])
    assert (down.kind, down.to_institution_id) == ("rehabilitation", rules.centres[0].pk)
