"""Properties of adjudication over random policies and cases (hypothesis; no database).

For every valid policy and case: every amount is ≥ 0; ``basic + catastrophic + aid + patient ==
total`` exactly; each layer pays only out of what the one before left (so never more than the
eligible cost, never more than the cost); no accumulator crosses its cap whatever it started at;
an uncovered person pays the total; and raising any one cost (in or outside the catalogue) never
lowers the patient's share, the funds' payment, nor any single layer.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from yigongti.insurance.adjudication import YTD_KEYS, Case, Settlement, adjudicate, case_from_mapping
from yigongti.insurance.money import ROUNDINGS, ZERO
from yigongti.insurance.policy import (
    AID_CATEGORIES,
    CATEGORIES,
    INPATIENT_LEVELS,
    OUTPATIENT_LEVELS,
    Policy,
    policy_from_mapping,
    shipped_policies,
)

FEN = Decimal("0.01")


def money(max_fen: int) -> st.SearchStrategy[Decimal]:
    return st.integers(0, max_fen).map(lambda n: Decimal(n) * FEN)


rates = st.integers(0, 1000).map(lambda n: Decimal(n) / 1000)  # 0 … 1 by 0.1 %
small = money(2_000_00)
large = money(600_000_00)
amounts = st.one_of(small, large, st.sampled_from([Decimal(0), FEN, Decimal("0.05")]))


@st.composite
def tiers(draw: st.DrawFn) -> list[dict[str, Any]]:
    bounds = sorted(set(draw(st.lists(st.integers(1, 300_000_00), max_size=3))))
    rows: list[dict[str, Any]] = [{"upto": str(Decimal(b) * FEN),
                                   "rate": str(draw(st.integers(500, 1000)) / Decimal(1000))} for b in bounds]
    rows.append({"rate": str(draw(st.integers(500, 1000)) / Decimal(1000))})
    return rows


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    catalogue: dict[str, dict[str, Any]] = {}
    for kind in ("inpatient", "outpatient"):
        entries: dict[str, Any] = {}
        for category in draw(st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=4)):
            entries[category] = (
                {"excluded": True} if draw(st.booleans()) and draw(st.booleans())
                else {"self_pay_share": str(draw(rates))})
        catalogue[kind] = entries
    outpatient = {level: {"rate": str(draw(rates)), "per_visit_cap": str(draw(small)),
                          "year_cap": str(draw(small)), "deductible": str(draw(money(50_00)))}
                  for level in draw(st.lists(st.sampled_from(OUTPATIENT_LEVELS), unique=True))}
    document: dict[str, Any] = {
        "code": "p", "name": "p", "county": "*", "effective_from": "2020-01-01", "source": "test",
        "rounding": draw(st.sampled_from(sorted(ROUNDINGS))), "catalogue": catalogue,
        "outpatient": {"levels": outpatient},
        "inpatient": {"annual_cap": str(draw(st.one_of(small, large))),
                      "levels": {level: {"deductible": str(draw(money(2000_00))), "rate": str(draw(rates))}
                                 for level in INPATIENT_LEVELS}},
    }
    if draw(st.booleans()):
        document["catastrophic"] = {
            "threshold": str(draw(st.one_of(small, money(30_000_00)))),
            "annual_cap": str(draw(st.one_of(small, large))),
            "tiers": draw(tiers()), "kinds": draw(st.sampled_from([["inpatient"], ["inpatient", "outpatient"]]))}
    if draw(st.booleans()):
        document["medical_aid"] = {
            "kinds": draw(st.sampled_from([["inpatient"], ["outpatient"], ["inpatient", "outpatient"]])),
            "categories": {category: {"rate": str(draw(rates)), "deductible": str(draw(money(1000_00))),
                                      "annual_cap": str(draw(st.one_of(small, large)))}
                           for category in draw(st.lists(st.sampled_from(AID_CATEGORIES), unique=True))}}
    return policy_from_mapping(document, name="hypothesis")


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["inpatient", "outpatient"]))
    levels = ["township", "county", "tertiary"] + (["village"] if kind == "outpatient" else [])
    costs = draw(st.dictionaries(st.sampled_from(CATEGORIES), amounts, max_size=5))
    outside = draw(st.dictionaries(st.sampled_from(CATEGORIES), amounts, max_size=2))
    ytd = {key: str(draw(st.one_of(st.just(ZERO), amounts))) for key in YTD_KEYS}
    return case_from_mapping({
        "date": "2025-06-01", "kind": kind, "level": draw(st.sampled_from(levels)), "in_county": draw(st.booleans()),
        "covered": draw(st.integers(0, 9)) > 0, "costs": {k: str(v) for k, v in costs.items()},
        "outside_catalogue": {k: str(v) for k, v in outside.items()},
        "aid_category": draw(st.one_of(st.none(), st.sampled_from(AID_CATEGORIES))), "ytd": ytd})


# Half of the runs on the shipped policies, half on random ones.
any_policy = st.one_of(st.sampled_from(shipped_policies()), policies())


def _amounts(settlement: Settlement) -> list[Decimal]:
    values = [settlement.total, settlement.eligible, settlement.outside_catalogue, settlement.category_share,
              settlement.excluded, settlement.uncovered, settlement.basic, settlement.catastrophic, settlement.aid,
              settlement.patient]
    values += [getattr(settlement.ytd, key) for key in YTD_KEYS]
    values += [line.amount for line in settlement.lines]
    return values


@given(any_policy, cases())
def test_layers_add_up_and_stay_within_what_is_left(policy: Policy, case: Case) -> None:
    s = adjudicate(case, policy)
    assert all(value >= 0 for value in _amounts(s))
    assert all(value == value.quantize(FEN) for value in _amounts(s))
    assert s.basic + s.catastrophic + s.aid + s.patient == s.total
    assert s.total == sum(case.costs.values(), ZERO) + sum(case.outside_catalogue.values(), ZERO)
    assert s.outside_catalogue + s.category_share + s.excluded + s.uncovered + s.eligible == s.total
    assert s.basic <= s.eligible
    assert s.catastrophic <= s.eligible - s.basic
    assert s.aid <= s.eligible - s.basic - s.catastrophic
    assert s.patient >= s.total - s.eligible  # what is outside the eligible cost is always the patient's


@given(any_policy, cases())
def test_no_accumulator_crosses_its_cap(policy: Policy, case: Case) -> None:
    s = adjudicate(case, policy)
    before, after = case.ytd, s.ytd
    assert after.basic_paid - before.basic_paid == (s.basic if case.kind == "inpatient" else 0)
    assert after.outpatient_paid - before.outpatient_paid == (s.basic if case.kind == "outpatient" else 0)
    assert after.catastrophic_paid - before.catastrophic_paid == s.catastrophic
    assert after.aid_paid - before.aid_paid == s.aid
    assert after.basic_paid <= max(before.basic_paid, policy.inpatient_annual_cap)
    level = policy.outpatient.get(case.level)
    if level is not None:
        assert after.outpatient_paid <= max(before.outpatient_paid, level.year_cap)
    else:
        assert after.outpatient_paid == before.outpatient_paid
    if policy.catastrophic is not None:
        assert after.catastrophic_paid <= max(before.catastrophic_paid, policy.catastrophic.annual_cap)
    else:
        assert s.catastrophic == 0
    rule = policy.medical_aid.categories.get(case.aid_category) if policy.medical_aid and case.aid_category else None
    if rule is not None:
        assert after.aid_paid <= max(before.aid_paid, rule.annual_cap)
    else:
        assert s.aid == 0
    for key in YTD_KEYS:
        assert getattr(after, key) >= getattr(before, key)


@given(any_policy, cases())
def test_an_uncovered_person_pays_the_total(policy: Policy, case: Case) -> None:
    s = adjudicate(dataclasses.replace(case, covered=False), policy)
    assert s.patient == s.total and s.fund == 0 and s.ytd == case.ytd
    assert [line.rule for line in s.lines] == ["costs.total", "coverage.uncovered", "fund.total", "patient"]


@given(any_policy, cases(), st.sampled_from(CATEGORIES), money(50_000_00).map(lambda d: d + FEN), st.booleans())
def test_raising_a_cost_never_lowers_the_patient_share_nor_any_payment(
        policy: Policy, case: Case, category: str, more: Decimal, outside: bool) -> None:
    field = "outside_catalogue" if outside else "costs"
    amounts = dict(getattr(case, field))
    amounts[category] = amounts.get(category, ZERO) + more
    before = adjudicate(case, policy)
    after = adjudicate(dataclasses.replace(case, **{field: amounts}), policy)
    assert after.total == before.total + more
    assert after.patient >= before.patient
    assert after.fund >= before.fund
    assert after.basic >= before.basic
    assert after.catastrophic >= before.catastrophic
    assert after.aid >= before.aid
    assert after.eligible >= before.eligible


@given(any_policy, cases())
def test_adjudication_is_pure(policy: Policy, case: Case) -> None:
    assert adjudicate(case, policy) == adjudicate(case, policy)
