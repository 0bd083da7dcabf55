"""Demo modules ``care`` and ``referrals`` on the small county (the module's shared build): encounters
at realistic rates by tier, costs that add up, results with repeat tests recognition would have
avoided, referrals whose events are a legal path of the state machine, slots whose counters match
their bookings, teleconsultations; and the same seed giving the same rows."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from yigongti.care.choices import EncounterKind, OrderStatus
from yigongti.care.models import Diagnosis, Encounter, EncounterCost, Order, Result
from yigongti.core import clock
from yigongti.demo import care as demo_care
from yigongti.demo import referrals as demo_referrals
from yigongti.demo.builder import BuildResult
from yigongti.demo.context import BuildContext
from yigongti.programmes.models import Enrolment
from yigongti.referrals.choices import BookingStatus, ConsultStatus, Direction, ReferralStatus
from yigongti.referrals.machine import TRANSITIONS
from yigongti.referrals.models import Booking, Referral, ReferralEvent, Slot, Teleconsultation
from yigongti.registry.choices import InstitutionType
from yigongti.residents.models import Resident

pytestmark = pytest.mark.django_db
DEMO_MODULES = "registry,accounts,residents,programmes,care,referrals"  # what the checks below read
ICD10 = re.compile(r"^[A-Z]\d{2}(\.\d{1,3})?$")


def _share(counter: Counter[str], key: str) -> float:
    return counter[key] / sum(counter.values())


def test_encounters_at_realistic_rates_by_tier(demo: BuildResult) -> None:
    residents = Resident.objects.count()
    encounters = Encounter.objects.count()
    assert 5.0 <= encounters / residents <= 7.5  # about 6 visits a resident a year
    tiers = Encounter.objects.values_list("tier").annotate(n=Count("id"))
    by_tier = Counter({tier or "outside": n for tier, n in tiers})
    assert 0.48 <= _share(by_tier, "village") <= 0.60
    assert 0.25 <= _share(by_tier, "township") <= 0.36
    assert 0.10 <= _share(by_tier, "county") <= 0.17
    assert 0.02 <= _share(by_tier, "outside") <= 0.045
    outside = Encounter.objects.filter(in_county=False)
    assert not outside.filter(institution__isnull=False).exists()
    assert not outside.filter(outside_institution="").exists()
    inpatient = Encounter.objects.filter(kind=EncounterKind.INPATIENT)
    assert 0.02 <= inpatient.count() / encounters <= 0.045
    assert inpatient.filter(tier="county").count() > inpatient.filter(tier="township").count()
    assert not inpatient.filter(Q(end_date__isnull=True) | Q(discharge_status="")).exists()
    assert not Encounter.objects.filter(tier="village", kind=EncounterKind.INPATIENT).exists()
    today = clock.today()
    assert not Encounter.objects.filter(start_date__gt=today).exists()
    assert not Encounter.objects.filter(start_date__lt=today - dt.timedelta(days=365)).exists()
    # about 8 % of the county hospital's outpatient visits were booked; nobody else's
    hospital_visits = Encounter.objects.filter(institution__type=InstitutionType.COUNTY_HOSPITAL,
                                               kind=EncounterKind.OUTPATIENT)
    assert 0.04 <= hospital_visits.filter(booked=True).count() / hospital_visits.count() <= 0.12
    assert not Encounter.objects.filter(booked=True).exclude(institution__type=InstitutionType.COUNTY_HOSPITAL).exists()
    # departments belong to the encounter's institution
    assert not Encounter.objects.filter(department__isnull=False).exclude(
        department__institution_id=F("institution_id")).exists()
    assert Encounter.objects.filter(institution__type=InstitutionType.COUNTY_HOSPITAL, department__isnull=True,
                                    ).count() == 0


def test_costs_add_up_and_are_at_the_tier_level(demo: BuildResult) -> None:
    summed: defaultdict[int, Decimal] = defaultdict(Decimal)
    for encounter_id, amount in EncounterCost.objects.values_list("encounter_id", "amount"):
        summed[encounter_id] += amount  # in Python: SQLite sums decimals as floats
    totals = dict(Encounter.objects.values_list("id", "total_cost"))
    assert totals == dict(summed)
    assert not EncounterCost.objects.filter(amount__lte=0).exists()

    def mean(**filters: Any) -> Decimal:
        return Encounter.objects.filter(**filters).aggregate(m=Sum("total_cost") / Count("id"))["m"]

    assert 20 <= mean(tier="village") <= 45
    assert 80 <= mean(tier="township", kind=EncounterKind.OUTPATIENT) <= 180
    assert 200 <= mean(tier="county", kind=EncounterKind.OUTPATIENT) <= 450
    assert 3000 <= mean(tier="county", kind=EncounterKind.INPATIENT) <= 15000
    stays = Encounter.objects.filter(kind=EncounterKind.INPATIENT, tier="county").values_list("total_cost", flat=True)
    assert min(stays) >= 1000 and max(stays) <= 20000


def test_diagnoses_are_icd10_with_one_primary(demo: BuildResult) -> None:
    primaries = Counter(Diagnosis.objects.filter(is_primary=True).values_list("encounter_id", flat=True))
    assert len(primaries) == Encounter.objects.count() and set(primaries.values()) == {1}
    codes = set(Diagnosis.objects.values_list("code", flat=True).distinct())
    assert all(ICD10.match(code) for code in codes), codes
    assert {"J06.9", "I10", "E11.9", "K29.7", "M54.5", "J18.9"} <= codes
    # hypertensive patients of the programme come for their blood pressure
    hypertensive = set(Enrolment.objects.filter(programme__code="hypertension").values_list("resident_id", flat=True))
    visited = set(Diagnosis.objects.filter(code="I10", is_primary=True).values_list("encounter__resident_id",
                                                                                     flat=True))
    assert len(visited & hypertensive) >= 0.5 * len(hypertensive)
    # obstetric diagnoses only for women
    assert not Diagnosis.objects.filter(code__in=["O80", "Z34.9"]).exclude(encounter__resident__sex="F").exists()


def test_results_orders_and_repeat_tests(demo: BuildResult) -> None:
    results = Result.objects.all()
    assert results.count() > 0
    assert not results.filter(encounter__isnull=True).exists()
    assert not results.exclude(performed_by_id=F("encounter__institution_id")).exists()
    assert set(results.values_list("performer_tier", flat=True).distinct()) == {"county", "township"}
    assert Order.objects.filter(status=OrderStatus.DONE).count() == results.count()
    # repeats: the same item ordered again at another institution within the recognition window
    repeats = Order.objects.filter(status=OrderStatus.ORDERED)
    recognised = Order.objects.filter(status=OrderStatus.RECOGNISED)
    assert repeats.count() > 0 and recognised.count() > 0
    assert 0.05 <= (repeats.count() + recognised.count()) / results.count() <= 0.3
    for order in recognised.select_related("recognised_result", "item")[:200]:
        result = order.recognised_result
        assert result is not None
        assert result.resident_id == order.resident_id and result.item_id == order.item_id
        assert result.performed_by_id != order.institution_id
        assert order.saved == order.item.price
        assert result.reported_at.astimezone(clock.LOCAL_TZ).date() < order.ordered_on
    for order in repeats.select_related("item", "institution")[:200]:
        rules = list(order.item.recognition_rules.all())
        earlier = [r for r in Result.objects.filter(resident_id=order.resident_id, item_id=order.item_id)
                   .exclude(performed_by_id=order.institution_id)
                   if any(r.performer_tier in rule.performed_tiers and order.institution.tier in rule.ordering_tiers
                          and 0 < (order.ordered_on - r.reported_at.astimezone(clock.LOCAL_TZ).date()).days
                          <= rule.valid_days for rule in rules)]
        assert earlier, f"order {order.pk}: no recognisable earlier result — not a repeat"
    assert not Order.objects.filter(status=OrderStatus.ORDERED, saved__gt=0).exists()


def test_referral_events_follow_the_state_machine(demo: BuildResult) -> None:
    referrals = {r.pk: r for r in Referral.objects.all()}
    assert referrals
    events: dict[int, list[ReferralEvent]] = defaultdict(list)
    for event in ReferralEvent.objects.order_by("referral_id", "pk"):  # in the order they were written
        events[event.referral_id].append(event)
    for pk, referral in referrals.items():
        path = events[pk]
        assert path and (path[0].action, path[0].from_status, path[0].to_status) == ("request", "", "requested")
        status = ReferralStatus.REQUESTED
        for event in path[1:]:
            assert event.from_status == status
            if event.action == "escalate":
                assert event.to_status == status == ReferralStatus.REQUESTED
            else:
                assert TRANSITIONS.get((status, event.action)) == event.to_status, (pk, status, event.action)
            status = event.to_status
        assert status == referral.status, pk
        assert [e.at for e in path] == sorted(e.at for e in path)
    statuses = Counter((r.direction, r.status) for r in referrals.values())
    up = {status for direction, status in statuses if direction == Direction.UP}
    assert set(ReferralStatus.values) <= up
    assert statuses[(Direction.UP, ReferralStatus.COMPLETED)] > statuses[(Direction.UP, ReferralStatus.REJECTED)]
    now = timezone.now()
    assert any(r.status == ReferralStatus.REQUESTED and r.respond_by < now for r in referrals.values())  # overdue


def test_referrals_come_up_to_the_county_and_go_back_down_with_a_plan(demo: BuildResult) -> None:
    county_visits = Encounter.objects.filter(institution__type__in=[InstitutionType.COUNTY_HOSPITAL,
                                                                    InstitutionType.TCM_HOSPITAL]).count()
    linked = Referral.objects.filter(direction=Direction.UP, encounter__isnull=False)
    assert 0.01 <= linked.count() / county_visits <= 0.03
    assert not linked.exclude(resident_id=F("encounter__resident_id")).exists()
    assert not Referral.objects.filter(direction=Direction.UP).exclude(
        from_institution__tier__in=["village", "township"]).exists()
    assert not Referral.objects.filter(direction=Direction.UP).exclude(to_institution__tier="county").exists()
    assert not Referral.objects.exclude(from_path=F("from_institution__path")).exists()
    assert not Referral.objects.exclude(to_path=F("to_institution__path")).exists()
    assert not Referral.objects.filter(status=ReferralStatus.COMPLETED, feedback="").exists()
    downs = list(Referral.objects.filter(direction=Direction.DOWN).select_related("parent"))
    completed_up = Referral.objects.filter(direction=Direction.UP, status=ReferralStatus.COMPLETED).count()
    assert 0.3 <= len(downs) / completed_up <= 0.7
    for down in downs:
        parent = down.parent
        assert parent is not None and parent.direction == Direction.UP and parent.status == ReferralStatus.COMPLETED
        assert (down.from_institution_id, down.to_institution_id) == (parent.to_institution_id,
                                                                      parent.from_institution_id)
        assert down.resident_id == parent.resident_id and down.diagnosis_code == parent.diagnosis_code
        assert down.care_plan["follow_up_days"] > 0 and down.care_plan["instructions"]
        assert down.requested_at >= parent.completed_at
    plans = Counter(d.care_plan["programme"] for d in downs)
    assert plans["hypertension"] + plans["diabetes"] > 0


def test_slots_bookings_and_consultations(demo: BuildResult) -> None:
    today = clock.today()
    slots = Slot.objects.all()
    assert slots.exists()
    assert set(slots.values_list("institution__type", flat=True).distinct()) == {InstitutionType.COUNTY_HOSPITAL}
    assert not slots.filter(Q(date__lt=today) | Q(date__gt=today + dt.timedelta(days=13))).exists()
    assert not slots.filter(booked__gt=F("capacity")).exists()
    counted = slots.annotate(n=Count("bookings", filter=Q(bookings__status=BookingStatus.BOOKED)))
    assert not counted.exclude(booked=F("n")).exists()
    assert slots.filter(booked__gt=0).exists()
    assert Booking.objects.filter(referral__isnull=False).exists()
    assert not Booking.objects.filter(referral__isnull=False).exclude(referral__status=ReferralStatus.ACCEPTED).exists()
    consults = Teleconsultation.objects.all()
    statuses = Counter(consults.values_list("status", flat=True))
    assert statuses[ConsultStatus.ANSWERED] > statuses[ConsultStatus.REQUESTED] > 0
    answered = consults.filter(status=ConsultStatus.ANSWERED)
    assert not answered.filter(Q(answer="") | Q(answered_at__isnull=True)).exists()
    assert not consults.exclude(requesting_institution__type__in=[InstitutionType.TOWNSHIP_CENTRE,
                                                                  InstitutionType.COMMUNITY_CENTRE]).exists()


def _snapshot(seed: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run care and referrals again (at a tenth of the rate) in a savepoint; what they wrote."""
    monkeypatch.setattr(demo_care, "VISITS_PER_RESIDENT_YEAR", 0.6)
    after = {model: model.objects.aggregate(m=Max("id"))["m"] or 0 for model in (Encounter, Referral, Slot)}
    with transaction.atomic():
        Booking.objects.all().delete()  # the slots of the next days are published again
        Slot.objects.all().delete()
        ctx = BuildContext.create(seed=seed, scale="small")
        demo_care.build(ctx)
        demo_referrals.build(ctx)
        new = Encounter.objects.filter(id__gt=after[Encounter])
        snapshot = {
            "counts": dict(ctx.counts),
            "encounters": list(new.order_by("id").values_list("resident_id", "start_date", "institution_id", "kind",
                                                              "total_cost")),
            "referrals": list(Referral.objects.filter(id__gt=after[Referral]).order_by("id").values_list(
                "resident_id", "status", "from_institution_id", "diagnosis_code")),
        }
        transaction.set_rollback(True)
    return snapshot


def test_same_seed_same_care_other_seed_differs(demo: BuildResult, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, other = _snapshot(5, monkeypatch), _snapshot(5, monkeypatch), _snapshot(6, monkeypatch)
    assert first == second
    assert first["counts"]["encounters"] > 0
    assert first["encounters"] != other["encounters"]
