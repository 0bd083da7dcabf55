"""Reversal (冲销) and re-settlement after a correction, through the services.

Yunxi 2026 二级 stay of 10,000 drugs: (10,000 − 400) × 80 % = 7,680 from the basic fund, the patient
2,320. Corrected to 8,000: (8,000 − 400) × 80 % = 6,080, the patient 1,920.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from yigongti.care.models import EncounterCost
from yigongti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.insurance import services
from yigongti.insurance.errors import NotSettleable, ReversalRefused
from yigongti.insurance.models import Accumulator, LedgerEntry, Settlement
from yigongti.insurance.money import ZERO

D = Decimal
AMOUNTS = ("total", "eligible", "outside_catalogue", "category_share", "excluded", "basic", "catastrophic", "aid",
           "patient")


@pytest.fixture
def settled(ins: Any) -> Any:
    household, (person,) = ins.household()
    ins.enrol(household)
    stay = ins.stay(person)
    settlement, _created = services.settle(ins.county.clinician, stay.pk, key="first")
    return person, stay, settlement


def ytd(person: Any) -> dict[str, Any]:
    acc = Accumulator.objects.get(resident=person, year=2026)
    return {name: getattr(acc, name) for name in ("outpatient_paid", "basic_paid", "catastrophic_base",
                                                  "catastrophic_paid", "aid_base", "aid_paid", "settlements")}


def snapshot() -> tuple[Any, ...]:
    return (Settlement.objects.count(), LedgerEntry.objects.count(),
            tuple(Settlement.objects.order_by("pk").values_list("status", flat=True)))


def test_a_reversal_negates_the_amounts_and_puts_the_accumulators_back(ins: Any, settled: Any) -> None:
    person, stay, original = settled
    assert ytd(person)["basic_paid"] == D(7680)
    reversal = services.reverse(ins.county.clinician, original.pk, reason="费用录入错误")
    for name in AMOUNTS:
        assert getattr(reversal, name) == -getattr(original, name), name
    assert (reversal.kind, reversal.status, reversal.reverses_id, reversal.note) == (
        "reversal", "reversal", original.pk, "费用录入错误")
    assert reversal.number.startswith("CX2026") and reversal.encounter_id == stay.pk
    assert reversal.lines[0]["zh"] == f"冲销结算单 {original.number}：费用录入错误"
    original.refresh_from_db()
    assert original.status == "reversed"
    assert ytd(person) == {"outpatient_paid": ZERO, "basic_paid": ZERO, "catastrophic_base": ZERO,
                           "catastrophic_paid": ZERO, "aid_base": ZERO, "aid_paid": ZERO, "settlements": 0}
    assert reversal.ytd_before["basic_paid"] == "7680.00" and reversal.ytd_after["basic_paid"] == "0.00"
    entries = dict(LedgerEntry.objects.filter(settlement=reversal).values_list("account", "amount"))
    assert entries == {"institution": D(-10000), "basic": D(7680), "patient": D(2320)}
    assert services.ledger_check().ok
    audit = AuditEntry.objects.get(object_type="insurance.settlement", object_id=str(original.pk), action="update")
    assert audit.detail == {"reversed_by": reversal.number, "reason": "费用录入错误"}


def test_settled_again_after_the_costs_were_corrected(ins: Any, settled: Any) -> None:
    """The stay's drugs corrected to 8,000 after the reversal: 6,080 and 1,920."""
    person, stay, original = settled
    services.reverse(ins.county.clinician, original.pk, reason="药费多录 2,000 元")
    EncounterCost.objects.filter(encounter=stay, category="drugs_western").update(amount=D(8000))
    again, created = services.settle(ins.county.clinician, stay.pk, key="second")
    assert created and again.pk != original.pk
    assert (again.total, again.basic, again.patient) == (D(8000), D(6080), D(1920))
    assert ytd(person)["basic_paid"] == D(6080) and ytd(person)["settlements"] == 1
    assert list(Settlement.objects.filter(encounter=stay).order_by("pk").values_list("status", flat=True)) == [
        "reversed", "reversal", "settled"]
    check = services.ledger_check()
    assert check.ok, check


def test_resettle_does_both_in_one_call(ins: Any, settled: Any) -> None:
    person, stay, original = settled
    EncounterCost.objects.filter(encounter=stay, category="drugs_western").update(amount=D(8000))
    reversal, again = services.resettle(ins.county.clinician, original.pk, reason="更正药费", key="second")
    assert reversal.reverses_id == original.pk and reversal.total == D(-10000)
    assert (again.encounter_id, again.status, again.basic, again.patient) == (stay.pk, "settled", D(6080), D(1920))
    assert ytd(person)["basic_paid"] == D(6080)
    # The same request again (a double submit) returns what the first one did and writes nothing.
    before = snapshot()
    replay = services.resettle(ins.county.clinician, original.pk, reason="更正药费", key="second")
    assert (replay[0].pk, replay[1].pk) == (reversal.pk, again.pk)
    assert snapshot() == before
    assert services.ledger_check().ok


def test_resettle_with_the_reversed_settlements_key_is_refused_before_anything_is_written(ins: Any,
                                                                                        settled: Any) -> None:
    """Re-using the first settlement's key would return that (reversed) settlement and leave the
    encounter unsettled: refused, nothing written."""
    person, _stay, original = settled
    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        services.resettle(ins.county.clinician, original.pk, reason="更正", key="first")
    assert caught.value.params["field"] == "idempotency_key" and original.number in str(caught.value)
    assert snapshot() == before and ytd(person)["basic_paid"] == D(7680)


def test_resettle_is_both_or_neither(ins: Any, settled: Any) -> None:
    """The corrected costs cannot be settled (a negative amount slipped in): the reversal is rolled
    back with the failed settlement — the original stays live, accumulators and ledger untouched."""
    person, stay, original = settled
    EncounterCost.objects.create(encounter=stay, category="lab", amount=D("-50"))
    before, accumulators, entries = snapshot(), ytd(person), list(LedgerEntry.objects.values_list("pk", "amount"))
    with pytest.raises(NotSettleable) as caught:
        services.resettle(ins.county.clinician, original.pk, reason="更正", key="second")
    assert caught.value.params["field"] == "costs.lab"
    assert snapshot() == before
    assert ytd(person) == accumulators
    assert list(LedgerEntry.objects.values_list("pk", "amount")) == entries
    original.refresh_from_db()
    assert original.status == "settled"
    assert not AuditEntry.objects.filter(object_type="insurance.settlement", action="update").exists()


def test_a_reversal_cannot_be_reversed(ins: Any, settled: Any) -> None:
    _person, _stay, original = settled
    reversal = services.reverse(ins.county.clinician, original.pk, reason="更正")
    before = snapshot()
    with pytest.raises(ReversalRefused) as caught:
        services.reverse(ins.county.clinician, reversal.pk, reason="再冲销")
    assert reversal.number in str(caught.value) and "冲销单不能再冲销" in str(caught.value)
    assert snapshot() == before


def test_reversing_twice_names_the_reversal(ins: Any, settled: Any) -> None:
    _person, _stay, original = settled
    reversal = services.reverse(ins.county.clinician, original.pk, reason="更正")
    before = snapshot()
    with pytest.raises(ReversalRefused) as caught:
        services.reverse(ins.office, original.pk, reason="再次冲销")
    assert original.number in str(caught.value) and reversal.number in str(caught.value)
    assert snapshot() == before
    assert services.ledger_check().ok


def test_a_reason_is_required(ins: Any, settled: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.reverse(ins.county.clinician, settled[2].pk, reason="  ")
    assert caught.value.params["field"] == "reason"


def test_who_may_reverse(ins: Any, settled: Any) -> None:
    """The township director sees the patient (his township) but did not treat them: denied; the
    other township's director does not see the settlement at all; the insurance office may."""
    _person, _stay, original = settled
    with pytest.raises(PermissionDenied):
        services.reverse(ins.county.director, original.pk, reason="更正")
    with pytest.raises(NotFound):
        services.reverse(ins.county.other_director, original.pk, reason="更正")
    assert services.reverse(ins.office, original.pk, reason="更正").reverses_id == original.pk


def test_reversing_an_uncovered_settlement(ins: Any) -> None:
    """Self-pay (not enrolled): the reversal gives the patient back 5,000 and touches no accumulator."""
    _household, (person,) = ins.household()
    stay = ins.stay(person, costs={"drugs_western": "5000"})
    original, _created = services.settle(ins.county.clinician, stay.pk, key="self-pay")
    assert not original.covered and original.patient == D(5000)
    reversal = services.reverse(ins.county.clinician, original.pk, reason="已补办参保")
    assert reversal.patient == D(-5000) and reversal.ytd_before == {} and reversal.ytd_after == {}
    assert not Accumulator.objects.filter(resident=person).exists()
    assert services.ledger_check().ok


def test_settlements_are_reversed_latest_first(ins: Any) -> None:
    """Two stays (60,000 then 30,000, 大病 2,184 on the second, priced on the first's 12,320 of base).
    Reversing the first under the second would let a re-settlement of the first pay 大病 again, so it
    is refused naming the second; reversing the second and then the first puts the accumulators back
    to zero, and re-settling the first pays 大病 nothing (it is again below the 15,000 threshold)."""
    household, (person,) = ins.household()
    ins.enrol(household)
    first, _c = services.settle(ins.county.clinician, ins.stay(person, costs={"drugs_western": "60000"}).pk, key="a")
    second, _c = services.settle(ins.county.clinician, ins.stay(person, costs={"drugs_western": "30000"},
                                                                start=dt.date(2026, 5, 4)).pk, key="b")
    assert second.catastrophic == D(2184)
    with pytest.raises(ReversalRefused) as refused:
        services.reverse(ins.county.clinician, first.pk, reason="误结算")
    assert second.number in str(refused.value)
    services.reverse(ins.county.clinician, second.pk, reason="误结算")
    services.reverse(ins.county.clinician, first.pk, reason="误结算")
    acc = ytd(person)
    assert (acc["basic_paid"], acc["catastrophic_base"], acc["catastrophic_paid"], acc["settlements"]) == (
        D(0), D(0), D(0), 0)
    again, _c = services.settle(ins.county.clinician, first.encounter_id, key="c")
    assert (again.basic, again.catastrophic) == (first.basic, D(0))
    check = services.ledger_check()
    assert check.ok, check


def test_resettle_with_corrected_costs(ins: Any, settled: Any) -> None:
    """The stay was billed 10,000 of drugs; corrected to 8,000 drugs + 500 lab at re-settlement:
    (8,500 − 400) × 80 % = 6,480 from the fund, the patient 2,020. The encounter's costs and total are
    the corrected ones, and the correction is in the audit log with the old and new costs."""
    _person, _stay, original = settled
    _reversal, again = services.resettle(ins.county.clinician, original.pk, reason="药费录多，补录化验费", key="fixed",
                                        costs={"drugs_western": "8000", "lab": "500"})
    assert (again.total, again.basic, again.patient) == (D(8500), D(6480), D(2020))
    encounter = again.encounter
    encounter.refresh_from_db()
    assert encounter.total_cost == D(8500)
    assert dict(encounter.costs.values_list("category", "amount")) == {"drugs_western": D(8000), "lab": D(500)}
    entry = AuditEntry.objects.filter(object_type="care.encounter", object_id=str(encounter.pk),
                                      action="update").get()
    assert entry.detail["costs_before"] == {"drugs_western": "10000.00"}
    assert entry.detail["reason"] == "药费录多，补录化验费"
    assert services.ledger_check().ok


def test_resettle_with_a_negative_corrected_cost_changes_nothing(ins: Any, settled: Any) -> None:
    _person, stay, original = settled
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        services.resettle(ins.county.clinician, original.pk, reason="更正", key="bad",
                          costs={"drugs_western": "-5"})
    assert "不能为负数" in str(refused.value)
    assert snapshot() == before
    assert dict(stay.costs.values_list("category", "amount")) == {"drugs_western": D(10000)}
