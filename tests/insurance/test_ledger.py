"""The double-entry ledger: money is never created or destroyed.

After a mix of enrolments, settlements and reversals every account has the balance computed by hand,
every posting sums to zero, the accounts together sum to zero and each accumulator equals the sums of
the person's settlements; a corrupted entry or accumulator is caught. A property test drives random
sequences of settlements, reversals and re-settlements through the services and checks the same.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yigongti.care.models import EncounterCost
from yigongti.insurance import services
from yigongti.insurance.models import Accumulator, LedgerEntry, Settlement
from yigongti.insurance.selectors import account_balances, unbalanced_postings

D = Decimal


def _mix(ins: Any) -> dict[str, Any]:
    """Enrolments 2025 and 2026 of one household (p1 ordinary, p2 低保), two settled stays, one
    reversal and one self-pay stay of a person never enrolled (p3)."""
    household, (p1, p2) = ins.household(size=2)
    members = {p1.pk: "", p2.pk: "dibao"}
    ins.enrol(household, 2025, members=members)
    ins.enrol(household, 2026, members=members)
    doctor = ins.county.clinician
    s1, _c = services.settle(doctor, ins.stay(p1).pk, key="s1")
    s2, _c = services.settle(doctor, ins.stay(p2).pk, key="s2")
    services.reverse(doctor, s1.pk, reason="误结算")
    _h, (p3,) = ins.household()
    s3, _c = services.settle(doctor, ins.stay(p3, costs={"drugs_western": "5000"}).pk, key="s3")
    return {"p1": p1, "p2": p2, "p3": p3, "s1": s1, "s2": s2, "s3": s3}


def test_every_account_balance_after_a_mix(ins: Any) -> None:
    """2025 enrolment: p1 400 + 700, p2 120 + aid 280 + 700 → basic +2,200, contributions −520, aid −280,
    subsidy −1,400. 2026 enrolment: the same with subsidy 730 → basic +2,260, −520, −280, −1,460.
    p1's stay 10,000: institution +10,000, basic −7,680, patient −2,320; reversed: the opposite.
    p2's stay 10,000: basic −7,680; bears 2,320, 低保 aid (2,320 − 400) × 70 % = 1,344 → aid −1,344;
    patient −976; institution +10,000. p3's self-pay stay: institution +5,000, patient −5,000.

    2026: basic 2,260 − 7,680 − 7,680 + 7,680 = −5,420; contributions −520; aid −280 − 1,344 = −1,624;
    subsidy −1,460; institution 15,000; patient −2,320 − 976 + 2,320 − 5,000 = −5,976; 大病 0: sum 0.
    All years: basic −3,220, contributions −1,040, aid −1,904, subsidy −2,860, the rest as 2026."""
    found = _mix(ins)
    assert (found["s2"].basic, found["s2"].aid, found["s2"].patient) == (D(7680), D(1344), D(976))
    assert not found["s3"].covered
    assert account_balances(2025) == {"basic": D(2200), "catastrophic": D(0), "aid": D(-280),
                                      "contributions": D(-520), "subsidy": D(-1400), "patient": D(0),
                                      "institution": D(0)}
    assert account_balances(2026) == {"basic": D(-5420), "catastrophic": D(0), "aid": D(-1624),
                                      "contributions": D(-520), "subsidy": D(-1460), "patient": D(-5976),
                                      "institution": D(15000)}
    check = services.ledger_check()
    assert check.balances == {"basic": D(-3220), "catastrophic": D(0), "aid": D(-1904), "contributions": D(-1040),
                              "subsidy": D(-2860), "patient": D(-5976), "institution": D(15000)}
    assert check.total == 0 and check.unbalanced == [] and check.accumulator_mismatches == []
    assert check.ok
    assert unbalanced_postings() == []
    # Each posting of a settlement is numbered by its settlement; the entries name the institution.
    entries = LedgerEntry.objects.filter(settlement=found["s2"])
    assert set(entries.values_list("posting", flat=True)) == {found["s2"].number}
    assert entries.get(account="institution").institution == ins.county.hospital


def test_a_corrupted_entry_is_caught(ins: Any) -> None:
    found = _mix(ins)
    entry = LedgerEntry.objects.filter(settlement=found["s2"], account="basic").get()
    LedgerEntry.objects.filter(pk=entry.pk).update(amount=entry.amount + D("0.01"))
    check = services.ledger_check()
    assert not check.ok
    assert check.total == D("0.01")
    assert check.unbalanced == [(found["s2"].number, D("0.01"))]


def test_a_corrupted_accumulator_is_caught(ins: Any) -> None:
    """A corrupted accumulator (the person's basic fund paid 1 yuan more than their settlements) is
    caught even when every posting balances."""
    found = _mix(ins)
    Accumulator.objects.filter(resident=found["p2"], year=2026).update(basic_paid=D(7681))
    check = services.ledger_check()
    assert not check.ok and check.total == 0 and check.unbalanced == []
    assert check.accumulator_mismatches == [(found["p2"].pk, 2026, "basic")]
    assert services.ledger_check(accumulators=False).ok


# ---------------------------------------------------------------- property: random sequences

amounts = st.integers(min_value=0, max_value=40_000_000).map(lambda fen: D(fen) / 100)
days = st.dates(min_value=dt.date(2026, 1, 5), max_value=dt.date(2026, 10, 31))
settle_op = st.tuples(st.just("settle"), st.integers(0, 2), st.sampled_from(["county", "township", "village"]),
                      amounts, days)
reverse_op = st.tuples(st.just("reverse"), st.integers(0, 50))
resettle_op = st.tuples(st.just("resettle"), st.integers(0, 50), amounts)
CAPS = {"basic_paid": D(300000), "outpatient_paid": D(400), "catastrophic_paid": D(300000), "aid_paid": D(80000)}


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(settle_op, reverse_op, resettle_op), min_size=1, max_size=6))
def test_random_settlements_and_reversals_keep_the_books(ins: Any, ops: list[tuple[Any, ...]]) -> None:
    """Whatever the sequence: every account sums to zero, every posting balances, accumulators equal the
    sums of the settlements and stay within the caps, each settlement's layers add up to its total,
    and at most one settlement per encounter is live. (Examples share the database: the invariants
    must hold across all of them.)"""
    people = getattr(ins, "_people", None)
    if people is None:
        people = []
        for category in ("", "wubao", "dibao"):
            household, (person,) = ins.household()
            ins.enrol(household, members={person.pk: category})
            people.append(person)
        ins._people = people
    office, county = ins.office, ins.county
    for op in ops:
        live = list(Settlement.objects.filter(status="settled").order_by("pk"))
        # A person's settlements of a year are reversed latest first: only those with no later live
        # covered settlement of the same person and year may be picked.
        live = [s for s in live if not s.covered or not any(
            o.covered and (o.resident_id, o.year) == (s.resident_id, s.year) and o.pk > s.pk for o in live)]
        if op[0] == "settle":
            _name, who, level, amount, day = op
            person, costs = people[who], {"drugs_western": str(amount)}
            if level == "county":
                encounter = ins.stay(person, costs=costs, start=day, days=3)
            elif level == "township":
                encounter = ins.visit(person, user=county.director, costs=costs, start=day)
            else:
                encounter = ins.visit(person, costs=costs, start=day)
            _settlement, created = services.settle(office, encounter.pk, key=f"p-{encounter.pk}")
            assert created
        elif op[0] == "reverse" and live:
            services.reverse(office, live[op[1] % len(live)].pk, reason="随机冲销")
        elif op[0] == "resettle" and live:
            _name, index, amount = op
            target = live[index % len(live)]
            # The encounter's costs corrected, then reversed and settled again in one go.
            EncounterCost.objects.filter(encounter_id=target.encounter_id).update(amount=amount)
            services.resettle(office, target.pk, reason="更正费用", key=f"r-{target.pk}")
    check = services.ledger_check()
    assert check.ok, check
    for acc in Accumulator.objects.filter(resident__in=people, year=2026):
        for name, cap in CAPS.items():
            assert getattr(acc, name) <= cap, (name, acc.resident_id)
    for s in Settlement.objects.all():
        assert s.basic + s.catastrophic + s.aid + s.patient == s.total
    live_encounters = list(Settlement.objects.filter(status="settled").values_list("encounter_id", flat=True))
    assert len(live_encounters) == len(set(live_encounters))
