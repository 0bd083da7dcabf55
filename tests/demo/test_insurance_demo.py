"""Demo module ``insurance`` on the small county (the module's shared build, at half the care demo's
visit rate to keep it quick): 参合率 rising toward the latest year with some villages lower, the
assistance categories at their shares, a settlement for every settleable encounter at every level,
reversals and re-settlements, a ledger that balances — and the bulk rows equal to what the services
write (a sample deleted and written again through ``enrol_household`` / ``settle``), and the same
seed giving the same rows (a township rebuilt alone).

"Today" is frozen for the module (the build included): the insurance years are 2024–2026.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Q, Sum

from yigongti.care.choices import EncounterKind
from yigongti.care.models import Encounter, EncounterCost
from yigongti.core import clock
from yigongti.core.scope import SYSTEM
from yigongti.core.tree import subtree_q
from yigongti.demo import care as demo_care
from yigongti.demo import insurance as demo_insurance
from yigongti.demo.builder import BuildResult
from yigongti.demo.context import BuildContext
from yigongti.insurance import services
from yigongti.insurance.models import (
    Accumulator,
    Coverage,
    HouseholdEnrolment,
    LedgerEntry,
    Settlement,
    SettlementKind,
    SettlementStatus,
)
from yigongti.insurance.selectors import coverage_rates, fund_report
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division

from .conftest import SEED

pytestmark = pytest.mark.django_db
DEMO_MODULES = "registry,accounts,residents,care,insurance"
TODAY = dt.date(2026, 6, 15)
YEARS = [2024, 2025, 2026]
AMOUNTS = ("total", "eligible", "outside_catalogue", "category_share", "excluded", "basic", "catastrophic", "aid",
           "patient")


@pytest.fixture(scope="module", autouse=True)
def _today_and_half_the_visits() -> Iterator[None]:
    """Autouse and module-scoped: set up before the module's ``demo`` build."""
    with clock.frozen(TODAY), pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_care, "VISITS_PER_RESIDENT_YEAR", 3.0)
        yield


def _settleable() -> Any:
    """The encounters the module settles: every one of an insurance year, stays once discharged."""
    return Encounter.objects.exclude(kind=EncounterKind.INPATIENT, end_date__isnull=True).filter(
        Q(end_date__year__in=YEARS) | Q(end_date__isnull=True, start_date__year__in=YEARS))


# ---------------------------------------------------------------- what the county looks like


def test_coverage_rises_toward_the_latest_year_with_some_villages_lower(demo: BuildResult) -> None:
    assert sorted(set(HouseholdEnrolment.objects.values_list("year", flat=True))) == YEARS
    totals = {year: coverage_rates(SYSTEM, year)[1] for year in YEARS}
    rates = {year: total.rate for year, total in totals.items()}
    # Households 89.5 → 95 → 99.5 %, less the planted duplicate records (no household, never insured).
    assert 0.82 <= rates[2024] <= 0.89 < rates[2025] <= 0.94 < rates[2026] <= 0.975, rates
    villages: list[float] = []
    for township in Division.objects.filter(level=DivisionLevel.TOWNSHIP):
        rows, _total = coverage_rates(SYSTEM, 2026, under=township.path)
        villages.extend(r.rate for r in rows if r.rate is not None and r.eligible >= 50)
    assert min(villages) < rates[2026] - 0.04 < rates[2026] + 0.01 < max(villages)  # some villages lower
    categories = Counter(Coverage.objects.filter(year=2026).values_list("category", flat=True))
    n = sum(categories.values())
    assert 0.002 <= categories["wubao"] / n <= 0.01
    assert 0.025 <= categories["dibao"] / n <= 0.06
    assert 0.06 <= categories["poverty"] / n <= 0.11
    # 资助参保: 特困 pay nothing, 低保 pay 30 %, 脱贫 50 % of the 400 (yunxi 2026), the subsidy 730 each.
    paid = dict(Coverage.objects.filter(year=2026).values_list("category").annotate(s=Sum("contribution"))
                .values_list("category", "s"))
    assert Decimal(paid["wubao"]) == 0
    assert Decimal(paid["dibao"]) == 120 * categories["dibao"]
    assert Decimal(paid["poverty"]) == 200 * categories["poverty"]
    report = fund_report(SYSTEM, 2026)
    assert report.per_capita == Decimal("1130.00") and report.enrolled == n
    assert HouseholdEnrolment.objects.filter(year=2026, paid_on__range=(dt.date(2025, 9, 1), dt.date(2025, 12, 31))
                                             ).count() == HouseholdEnrolment.objects.filter(year=2026).count()


def test_every_settleable_encounter_is_settled_at_every_level(demo: BuildResult) -> None:
    live = Settlement.objects.filter(status=SettlementStatus.SETTLED)
    reversed_only = Settlement.objects.filter(status=SettlementStatus.REVERSED).exclude(
        encounter_id__in=live.values("encounter_id")).count()
    assert live.count() + reversed_only == _settleable().count() > 10_000
    assert not live.values("encounter_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    levels = Counter(live.values_list("encounter_kind", "level"))
    for kind, level in (("outpatient", "village"), ("outpatient", "township"), ("outpatient", "county"),
                        ("outpatient", "tertiary"), ("inpatient", "township"), ("inpatient", "county"),
                        ("inpatient", "tertiary")):
        assert levels[(kind, level)] > 0, (kind, level)
    assert live.filter(in_county=False).exists() and not live.filter(in_county=False, institution__isnull=False)
    insured = live.filter(covered=True)
    assert insured.filter(basic__gt=0, level="village").exists()
    assert insured.filter(aid__gt=0).exists() and insured.filter(outside_catalogue__gt=0).exists()
    assert live.filter(policy="yunxi-county-2025").exists() and live.filter(policy="yunxi-county-2026").exists()
    # The uninsured pay it all, with the reason on the slip.
    uninsured = live.filter(covered=False)
    assert 0.02 <= uninsured.count() / live.count() <= 0.10
    assert not uninsured.filter(Q(basic__gt=0) | Q(aid__gt=0) | Q(catastrophic__gt=0) | Q(reason=""))
    assert uninsured.filter(reason="2026 年度未参加城乡居民医保").exists()
    # Each person's accumulators follow their settlements in date order.
    accumulator = Accumulator.objects.filter(year=2026, settlements__gte=3).order_by("id").first()
    assert accumulator is not None
    mine = list(live.filter(resident_id=accumulator.resident_id, year=2026).order_by("pk"))
    assert mine[0].ytd_before["outpatient_paid"] == "0.00"
    for before, after in itertools.pairwise(mine):
        assert before.service_date <= after.service_date and before.ytd_after == after.ytd_before


def test_reversals_and_resettlements_and_the_ledger_balances(demo: BuildResult) -> None:
    reversals = Settlement.objects.filter(kind=SettlementKind.REVERSAL)
    assert reversals.count() >= 2
    for reversal in reversals.select_related("reverses"):
        original = reversal.reverses
        assert original is not None and original.status == SettlementStatus.REVERSED
        assert reversal.total == -original.total and reversal.note
        assert reversal.settled_at >= original.settled_at
    again = list(Settlement.objects.filter(status=SettlementStatus.SETTLED, encounter__settlements__status=
                                           SettlementStatus.REVERSED).select_related("encounter"))
    assert again
    corrected = 0
    for settlement in again:
        first = Settlement.objects.get(encounter=settlement.encounter, status=SettlementStatus.REVERSED)
        assert settlement.total == settlement.encounter.total_cost and settlement.pk > first.pk
        assert settlement.idempotency_key == f"demo-{settlement.encounter_id}-2"
        corrected += settlement.total < first.total  # 费用更正: the drugs' cost was lowered
    assert corrected > 0
    check = services.ledger_check()
    assert check.ok, check
    report = fund_report(SYSTEM, 2026)
    assert report.income > report.fund > 0 and report.settlements > 0
    assert 0.5 < (report.in_county_share or 0) < 0.95


# ---------------------------------------------------------------- the bulk rows are the services' rows


def _values(rows: Any, *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(row[f] for f in fields) for row in rows]


def test_bulk_enrolments_equal_those_of_enrol_household(demo: BuildResult) -> None:
    """A sample of 2024 households (no settlement that year), deleted and enrolled again through
    the service with the same members, categories, payment day and receipt: the same rows."""
    assert not Settlement.objects.filter(year=2024).exists()
    sample: list[HouseholdEnrolment] = []
    for category in ("wubao", "dibao", "poverty", ""):
        sample.extend(HouseholdEnrolment.objects.filter(year=2024, coverages__category=category).distinct()
                      .order_by("id")[:2])
    enrolment_fields = ("household_id", "year", "path", "policy", "paid_on", "receipt_no", "members", "contribution",
                        "exempted", "subsidy", "collected_at_id", "created_by_id")
    coverage_fields = ("resident_id", "year", "path", "category", "contribution", "exempted", "subsidy", "valid_from",
                       "valid_to")
    entry_fields = ("source", "account", "amount", "year", "on", "institution_id", "settlement_id")
    accumulator_fields = ("resident_id", "year", "path", "outpatient_paid", "basic_paid", "settlements")

    def snapshot(enrolment: HouseholdEnrolment) -> dict[str, Any]:
        members = Coverage.objects.filter(enrolment=enrolment)
        return {
            "enrolment": _values(HouseholdEnrolment.objects.filter(pk=enrolment.pk).values(), *enrolment_fields),
            "coverages": _values(members.order_by("resident_id").values(), *coverage_fields),
            "entries": _values(LedgerEntry.objects.filter(enrolment=enrolment).order_by("account").values(),
                               *entry_fields),
            "postings": sorted(set(LedgerEntry.objects.filter(enrolment=enrolment).values_list("posting", flat=True))),
            "accumulators": _values(Accumulator.objects.filter(
                year=enrolment.year, resident_id__in=members.values("resident_id")).order_by("resident_id").values(),
                *accumulator_fields)}

    with transaction.atomic():
        for enrolment in sample:
            before = snapshot(enrolment)
            assert before["postings"] == [f"CB{enrolment.pk}-{enrolment.members}"]
            members = dict(Coverage.objects.filter(enrolment=enrolment).values_list("resident_id", "category"))
            Accumulator.objects.filter(year=enrolment.year, resident_id__in=list(members)).delete()
            LedgerEntry.objects.filter(enrolment=enrolment).delete()
            Coverage.objects.filter(enrolment=enrolment).delete()
            HouseholdEnrolment.objects.filter(pk=enrolment.pk).delete()
            again, added = services.enrol_household(SYSTEM, enrolment.household_id, year=enrolment.year,
                                                    members=members, paid_on=enrolment.paid_on,
                                                    receipt_no=enrolment.receipt_no)
            assert added == len(members)
            after = snapshot(again)
            assert after["postings"] == [f"CB{again.pk}-{again.members}"]
            before.pop("postings"), after.pop("postings")
            assert after == before
        transaction.set_rollback(True)


def test_bulk_settlements_equal_those_of_settle(demo: BuildResult) -> None:
    """A sample of people — with an assistance category, with stays, with outside-catalogue costs,
    uninsured — their settlements deleted, accumulators zeroed, and every encounter settled again
    through the service in the same order with the same outside-catalogue parts: the same rows."""
    live = Settlement.objects.filter(kind=SettlementKind.SETTLEMENT)
    corrected = set(Settlement.objects.filter(kind=SettlementKind.REVERSAL).values_list("resident_id", flat=True))
    people: list[int] = []
    for wanted in (Q(aid__gt=0, encounter_kind="inpatient"), Q(aid__gt=0, encounter_kind="outpatient"),
                   Q(encounter_kind="inpatient", level="tertiary"), Q(encounter_kind="inpatient", level="township"),
                   Q(outside_catalogue__gt=0), Q(covered=False), Q(year=2025)):
        people.extend(live.filter(wanted).exclude(resident_id__in=corrected | set(people))
                      .order_by("resident_id").values_list("resident_id", flat=True).distinct()[:2])
    fields = ("number", "kind", "status", "encounter_id", "resident_id", "path", "institution_id",
              "institution_path", "in_county", "encounter_kind", "level", "year", "service_date", "policy",
              "covered", "reason", "aid_category", *AMOUNTS, "lines", "costs", "ytd_before", "ytd_after",
              "idempotency_key", "reverses_id", "note", "settled_by_id")
    entry_fields = ("posting", "source", "account", "amount", "year", "on", "institution_id")
    accumulator_fields = ("resident_id", "year", "path", "outpatient_paid", "basic_paid", "catastrophic_base",
                          "catastrophic_paid", "aid_base", "aid_paid", "settlements")

    def snapshot() -> dict[str, Any]:
        mine = Settlement.objects.filter(resident_id__in=people).order_by("pk")
        numbers = {pk: number for pk, number in mine.values_list("pk", "number")}
        return {
            "settlements": [tuple(row[f] if f != "number" else row[f][:6] for f in fields)
                            for row in mine.values(*fields, "pk")],
            "numbers_follow_ids": all(number == f"JS{number[2:6]}{pk:08d}" for pk, number in numbers.items()),
            "entries": [tuple(row[f] if f != "posting" else row[f][:6] for f in entry_fields) for row in
                        LedgerEntry.objects.filter(settlement__in=mine).order_by("settlement_id", "account").values()],
            "accumulators": _values(Accumulator.objects.filter(resident_id__in=people).order_by("resident_id", "year")
                                    .values(), *accumulator_fields)}

    with transaction.atomic():
        before = snapshot()
        assert len(before["settlements"]) >= 20 and before["numbers_follow_ids"]
        replay = list(Settlement.objects.filter(resident_id__in=people).order_by("pk").values_list(
            "encounter_id", "idempotency_key", "costs"))
        mine = Settlement.objects.filter(resident_id__in=people)
        LedgerEntry.objects.filter(settlement__in=mine).delete()
        mine.delete()
        Accumulator.objects.filter(resident_id__in=people).update(
            settlements=0, **{name: 0 for name in accumulator_fields[3:-1]})
        for encounter_id, key, costs in replay:
            settlement, created = services.settle(SYSTEM, encounter_id, key=key,
                                                  outside_catalogue=costs["outside_catalogue"])
            assert created, settlement
        assert snapshot() == before
        transaction.set_rollback(True)


# ---------------------------------------------------------------- the same seed, the same rows


def _township_rows(path: str) -> dict[str, Any]:
    under = subtree_q(path, "path")
    settlements = Settlement.objects.filter(under)
    return {
        "enrolments": sorted(HouseholdEnrolment.objects.filter(under).values_list(
            "household_id", "year", "paid_on", "receipt_no", "members", "contribution", "exempted", "subsidy")),
        "coverages": sorted(Coverage.objects.filter(under).values_list("resident_id", "year", "category")),
        "settlements": sorted(settlements.values_list("encounter_id", "kind", "status", "service_date", *AMOUNTS,
                                                      "note")),
        "accumulators": sorted(Accumulator.objects.filter(under).values_list(
            "resident_id", "year", "basic_paid", "outpatient_paid", "aid_paid", "catastrophic_paid", "settlements")),
        "ledger": sorted(LedgerEntry.objects.filter(Q(settlement__in=settlements) | Q(enrolment__path__startswith=path))
                         .values("account").annotate(s=Sum("amount")).values_list("account", "s")),
    }


def _rebuild(path: str, seed: int, *, check: bool = False) -> dict[str, Any]:
    """The township's insurance rows deleted and built again alone with ``seed``, in a savepoint
    (``check``: and the whole ledger checked after it). The costs a re-settlement corrected (费用更正
    rewrites the encounter's costs) are put back first, from the reversed settlement's costs."""
    under = subtree_q(path, "path")
    with transaction.atomic():
        settlements = Settlement.objects.filter(under)
        for first in settlements.filter(status=SettlementStatus.REVERSED):
            costs = {k: Decimal(v) for k, v in first.costs["costs"].items()}
            for k, v in first.costs["outside_catalogue"].items():
                costs[k] += Decimal(v)
            EncounterCost.objects.filter(encounter_id=first.encounter_id).delete()
            EncounterCost.objects.bulk_create([EncounterCost(encounter_id=first.encounter_id, category=k, amount=v)
                                               for k, v in costs.items()])
            Encounter.objects.filter(pk=first.encounter_id).update(total_cost=sum(costs.values()))
        LedgerEntry.objects.filter(Q(settlement__in=settlements) | Q(enrolment__in=HouseholdEnrolment.objects.filter(
            under))).delete()
        settlements.filter(kind=SettlementKind.REVERSAL).delete()
        settlements.delete()
        Accumulator.objects.filter(under).delete()
        Coverage.objects.filter(under).delete()
        HouseholdEnrolment.objects.filter(under).delete()
        demo_insurance.build(BuildContext.create(seed=seed, scale="small"), under=path)
        rows = _township_rows(path)
        if check:
            assert services.ledger_check().ok
        transaction.set_rollback(True)
    return rows


def test_same_seed_same_rows_other_seed_differs(demo: BuildResult) -> None:
    # A township where a settlement was reversed and settled again (with its costs corrected, if any).
    corrected = Settlement.objects.filter(status=SettlementStatus.REVERSED).order_by(
        "-encounter__total_cost").values_list("path", flat=True)
    townships = Division.objects.filter(level=DivisionLevel.TOWNSHIP).order_by("code")
    township = next(t for t in townships if any(p.startswith(t.path + "/") for p in corrected))
    built = _township_rows(township.path)
    assert built["settlements"] and built["coverages"]
    assert any(row[1] == SettlementKind.REVERSAL for row in built["settlements"])
    again, other = _rebuild(township.path, SEED, check=True), _rebuild(township.path, SEED + 1)
    assert again == built
    assert other["coverages"] != built["coverages"]
    assert other["settlements"] != built["settlements"]
