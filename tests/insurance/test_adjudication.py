"""Worked examples of adjudication, each with its arithmetic in the docstring.

``ec`` is the example city of DOMAIN.md §5 (一级 200 / 95 %, 二级 450 / 85 %, 三级 650 / 65 %, out of
the area 1,000 / 50 %, cap 500,000; materials 20 % self-pay for inpatients and outpatients,
registration excluded for inpatients; village outpatients 60 %, 30 per visit, 300 a year; 大病 from
15,000: 0–100,000 at 60 %, 100,000–200,000 at 70 %, above at 80 %; 低保 aid 70 % above 300 a year,
特困 100 %). ``yx`` is the Yunxi County 2025 policy (一级 100 / 90 %, township outpatients 50 % after
10 per visit, the county hospital's outpatients not pooled). No database.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from yigongti.insurance.adjudication import Settlement, adjudicate, case_from_mapping
from yigongti.insurance.policy import Policy, shipped_policies

D = Decimal


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    return {policy.code: policy for policy in shipped_policies()}


def settle(policy: Policy, **case: Any) -> Settlement:
    data = {"date": "2025-06-01", "in_county": True, **case}
    settlement = adjudicate(case_from_mapping(data), policy)
    assert settlement.basic + settlement.catastrophic + settlement.aid + settlement.patient == settlement.total
    return settlement


def rules(settlement: Settlement) -> list[str]:
    return [line.rule for line in settlement.lines]


def line(settlement: Settlement, rule: str) -> Any:
    found = [line for line in settlement.lines if line.rule == rule]
    assert len(found) == 1, (rule, rules(settlement))
    return found[0]


def test_township_stay(policies: dict[str, Policy]) -> None:
    """一级 stay of 3,000: deductible 200; 2,800 × 95 % = 2,660 from the fund; the patient 340.
    大病: 340 counts toward its threshold (15,000), nothing paid."""
    s = settle(policies["example-city"], kind="inpatient", level="township", costs={"drugs_western": 3000})
    assert (s.total, s.eligible, s.basic, s.catastrophic, s.aid, s.patient) == (
        D(3000), D(3000), D("2660.00"), D(0), D(0), D("340.00"))
    assert rules(s) == ["costs.total", "eligible", "inpatient.deductible", "inpatient.rate", "catastrophic.base",
                        "catastrophic.below_threshold", "fund.total", "patient"]
    deductible = line(s, "inpatient.deductible")
    assert deductible.zh == "起付线（一级医院）200.00 元，由个人负担"
    assert deductible.en == "Deductible (level 1) 200.00 yuan, borne by the patient"
    assert deductible.amount == D(200)
    assert line(s, "inpatient.rate").zh == "统筹基金支付（一级医院）2,800.00 元 × 95% = 2,660.00 元"
    assert s.ytd.basic_paid == D("2660.00") and s.ytd.catastrophic_base == D("340.00")


def test_county_hospital_stay(policies: dict[str, Policy]) -> None:
    """二级 stay of 10,000: deductible 450; 9,550 × 85 % = 8,117.50; the patient 450 + 1,432.50 = 1,882.50."""
    s = settle(policies["example-city"], kind="inpatient", level="county",
               costs={"drugs_western": 6000, "examination": 2500, "nursing": 1500})
    assert (s.basic, s.patient) == (D("8117.50"), D("1882.50"))
    assert line(s, "inpatient.deductible").zh == "起付线（二级医院）450.00 元，由个人负担"
    assert line(s, "inpatient.deductible").en == "Deductible (level 2) 450.00 yuan, borne by the patient"


def test_tertiary_stay(policies: dict[str, Policy]) -> None:
    """三级 stay of 20,000: deductible 650; 19,350 × 65 % = 12,577.50; the patient 650 + 6,772.50 = 7,422.50."""
    s = settle(policies["example-city"], kind="inpatient", level="tertiary", costs={"surgery": 20000})
    assert (s.basic, s.patient) == (D("12577.50"), D("7422.50"))


def test_out_of_county_stay(policies: dict[str, Policy]) -> None:
    """The same 20,000 at a 三级 hospital outside the area: deductible 1,000; 19,000 × 50 % = 9,500;
    the patient 10,500 (the out-of-area parameters, whatever the level)."""
    s = settle(policies["example-city"], kind="inpatient", level="tertiary", in_county=False,
               costs={"surgery": 20000})
    assert (s.basic, s.patient) == (D("9500.00"), D("10500.00"))
    assert line(s, "inpatient.deductible").zh == "起付线（县外医院）1,000.00 元，由个人负担"


def test_materials_self_pay_share(policies: dict[str, Policy]) -> None:
    """二级 stay: drugs 4,000 + materials 2,000. Materials 2,000 × 20 % = 400 self-paid first;
    eligible 5,600; deductible 450; 5,150 × 85 % = 4,377.50; the patient 400 + 450 + 772.50 = 1,622.50."""
    s = settle(policies["example-city"], kind="inpatient", level="county",
               costs={"drugs_western": 4000, "materials": 2000})
    assert (s.category_share, s.eligible, s.basic, s.patient) == (D(400), D(5600), D("4377.50"), D("1622.50"))
    share = line(s, "catalogue.self_pay_share")
    assert share.zh == "卫生材料费 2,000.00 元 × 先行自付 20% = 400.00 元，由个人负担"
    assert share.amount == D(400)


def test_outside_catalogue_and_excluded_items(policies: dict[str, Policy]) -> None:
    """一级 stay: drugs 2,000 in the catalogue, 300 of drugs outside it, registration 10 (excluded for
    inpatients). Total 2,310; eligible 2,000; deductible 200; 1,800 × 95 % = 1,710;
    the patient 300 + 10 + 200 + 90 = 600."""
    s = settle(policies["example-city"], kind="inpatient", level="township",
               costs={"drugs_western": 2000, "registration": 10}, outside_catalogue={"drugs_western": 300})
    assert (s.total, s.outside_catalogue, s.excluded, s.eligible) == (D(2310), D(300), D(10), D(2000))
    assert (s.basic, s.patient) == (D("1710.00"), D("600.00"))
    assert line(s, "catalogue.outside").zh == "目录外费用（西药费）300.00 元，全部自付"
    assert line(s, "catalogue.excluded").zh == "挂号/诊查费不予支付（住院）10.00 元，全部自付"


def test_annual_cap_hit_part_way(policies: dict[str, Policy]) -> None:
    """二级 stay of 10,000 with 495,000 already paid this year: the rate gives 9,550 × 85 % = 8,117.50,
    but only 500,000 − 495,000 = 5,000 is left under the cap; the fund pays 5,000, the patient 5,000,
    and the year's basic total stops at the cap."""
    s = settle(policies["example-city"], kind="inpatient", level="county", costs={"drugs_western": 10000},
               ytd={"basic_paid": 495000})
    assert (s.basic, s.patient) == (D("5000.00"), D("5000.00"))
    assert line(s, "inpatient.rate").amount == D("8117.50")
    cap = line(s, "inpatient.annual_cap")
    assert cap.amount == D(5000)
    assert cap.zh == "统筹基金年度最高支付限额 500,000.00 元，本年已支付 495,000.00 元，本次支付 5,000.00 元"
    assert s.ytd.basic_paid == D(500000)


def test_catastrophic_crossing_its_threshold(policies: dict[str, Policy]) -> None:
    """二级 stay of 10,000 with 14,000 already counted toward the 大病 threshold: basic 8,117.50,
    the patient bears 1,882.50 → 15,882.50 this year, 882.50 above 15,000; × 60 % = 529.50 from 大病;
    the patient 1,882.50 − 529.50 = 1,353.00."""
    s = settle(policies["example-city"], kind="inpatient", level="county", costs={"drugs_western": 10000},
               ytd={"catastrophic_base": 14000})
    assert (s.basic, s.catastrophic, s.patient) == (D("8117.50"), D("529.50"), D("1353.00"))
    tier = line(s, "catastrophic.tier")
    assert tier.zh == "大病保险第 1 段（超过起付线 0.00–100,000.00 元）882.50 元 × 60% = 529.50 元"
    assert s.ytd.catastrophic_base == D("15882.50") and s.ytd.catastrophic_paid == D("529.50")


def test_catastrophic_crossing_the_threshold_and_a_tier_boundary(policies: dict[str, Policy]) -> None:
    """三级 stay of 400,000 with 14,000 counted toward 大病: basic (400,000 − 650) × 65 % = 259,577.50;
    the patient bears 140,422.50 → 154,422.50 this year, 139,422.50 above 15,000:
    100,000 × 60 % = 60,000 (tier 1) + 39,422.50 × 70 % = 27,595.75 (tier 2) = 87,595.75;
    the patient 140,422.50 − 87,595.75 = 52,826.75."""
    s = settle(policies["example-city"], kind="inpatient", level="tertiary", costs={"surgery": 400000},
               ytd={"catastrophic_base": 14000})
    assert (s.basic, s.catastrophic, s.patient) == (D("259577.50"), D("87595.75"), D("52826.75"))
    tiers = [line_.amount for line_ in s.lines if line_.rule == "catastrophic.tier"]
    assert tiers == [D("60000.00"), D("27595.75")]


def test_catastrophic_within_a_later_tier(policies: dict[str, Policy]) -> None:
    """三级 stay of 30,000 with 110,000 counted (95,000 above the threshold): basic
    29,350 × 65 % = 19,077.50; the patient bears 10,922.50, band 95,000–105,922.50 above the threshold:
    5,000 × 60 % = 3,000 + 5,922.50 × 70 % = 4,145.75 → 大病 7,145.75; the patient 3,776.75."""
    s = settle(policies["example-city"], kind="inpatient", level="tertiary", costs={"surgery": 30000},
               ytd={"catastrophic_base": 110000})
    assert (s.basic, s.catastrophic, s.patient) == (D("19077.50"), D("7145.75"), D("3776.75"))


def test_medical_aid_for_a_dibao_patient(policies: dict[str, Policy]) -> None:
    """低保, 一级 stay of 3,000, aid deductible not yet met: basic 2,660; the patient bears 340 (大病:
    below its threshold); aid deductible 300 a year → 300 stays with the patient, 40 × 70 % = 28 from
    aid; the patient 312."""
    s = settle(policies["example-city"], kind="inpatient", level="township", costs={"drugs_western": 3000},
               aid_category="dibao")
    assert (s.basic, s.catastrophic, s.aid, s.patient) == (D("2660.00"), D(0), D("28.00"), D("312.00"))
    assert line(s, "aid.deductible").amount == D(300)
    assert line(s, "aid.rate").zh == "医疗救助（低保）40.00 元 × 70% = 28.00 元"
    assert (s.ytd.aid_base, s.ytd.aid_paid) == (D("340.00"), D("28.00"))


def test_medical_aid_after_the_yearly_deductible(policies: dict[str, Policy]) -> None:
    """低保 again, 500 already counted toward the aid deductible (300): all 340 is above it;
    340 × 70 % = 238 from aid; the patient 102."""
    s = settle(policies["example-city"], kind="inpatient", level="township", costs={"drugs_western": 3000},
               aid_category="dibao", ytd={"aid_base": 500})
    assert (s.aid, s.patient) == (D("238.00"), D("102.00"))
    assert "aid.deductible" not in rules(s)


def test_wubao_patient_pays_nothing_of_the_eligible_cost(policies: dict[str, Policy]) -> None:
    """特困 (wubao), 二级 stay of 10,000: basic 8,117.50; 1,882.50 left × 100 % from aid; the patient 0."""
    s = settle(policies["example-city"], kind="inpatient", level="county", costs={"drugs_western": 10000},
               aid_category="wubao")
    assert (s.basic, s.aid, s.patient) == (D("8117.50"), D("1882.50"), D(0))


def test_village_visit_per_visit_cap(policies: dict[str, Policy]) -> None:
    """Village visit of 80: 80 × 60 % = 48, capped at 30 per visit; the patient 50."""
    s = settle(policies["example-city"], kind="outpatient", level="village", costs={"drugs_western": 80})
    assert (s.basic, s.patient) == (D("30.00"), D("50.00"))
    assert line(s, "outpatient.rate").amount == D("48.00")
    assert line(s, "outpatient.per_visit_cap").zh == "门诊统筹每次最高支付 30.00 元（村卫生室）"
    assert s.ytd.outpatient_paid == D(30) and s.ytd.basic_paid == D(0)


def test_village_visit_yearly_cap(policies: dict[str, Policy]) -> None:
    """Village visit of 40 with 290 paid this year: 40 × 60 % = 24 (under 30 per visit), but only
    300 − 290 = 10 left of the year cap; the fund 10, the patient 30; the year ends at 300."""
    s = settle(policies["example-city"], kind="outpatient", level="village", costs={"drugs_western": 40},
               ytd={"outpatient_paid": 290})
    assert (s.basic, s.patient, s.ytd.outpatient_paid) == (D("10.00"), D("30.00"), D(300))
    assert line(s, "outpatient.year_cap").amount == D(10)


def test_township_visit_with_a_per_visit_deductible(policies: dict[str, Policy]) -> None:
    """Yunxi township centre visit of 100: deductible 10 per visit; 90 × 50 % = 45; the patient 55."""
    s = settle(policies["yunxi-county-2025"], county="522399", kind="outpatient", level="township",
               costs={"drugs_western": 70, "registration": 30})
    assert (s.basic, s.patient) == (D("45.00"), D("55.00"))


def test_county_hospital_outpatients_are_not_pooled_in_yunxi(policies: dict[str, Policy]) -> None:
    """Yunxi pools outpatients at village and township only: a county-hospital visit of 200 is all the patient's."""
    s = settle(policies["yunxi-county-2025"], county="522399", kind="outpatient", level="county",
               costs={"examination": 200})
    assert (s.basic, s.patient) == (D(0), D("200.00"))
    assert line(s, "outpatient.not_pooled").zh == "门诊统筹不支付县级医院门诊费用"


def test_uncovered_person_pays_everything_with_the_reason(policies: dict[str, Policy]) -> None:
    """Not enrolled this year: total 3,000 (2,800 + 200 outside the catalogue), all self-paid, with the
    reason on the settlement; nothing counts toward any accumulator."""
    ytd = {"basic_paid": 100, "catastrophic_base": 50}
    s = settle(policies["example-city"], kind="inpatient", level="township", covered=False,
               reason="户未缴纳 2025 年度个人缴费", costs={"drugs_western": 2800},
               outside_catalogue={"materials": 200}, ytd=ytd)
    assert (s.total, s.eligible, s.fund, s.patient, s.uncovered) == (D(3000), D(0), D(0), D(3000), D(3000))
    assert rules(s) == ["costs.total", "coverage.uncovered", "fund.total", "patient"]
    assert line(s, "coverage.uncovered").zh == "未参保（户未缴纳 2025 年度个人缴费）：全部费用 3,000.00 元由个人自付"
    assert (s.ytd.basic_paid, s.ytd.catastrophic_base) == (D(100), D(50))


def test_rounding_of_a_fen(policies: dict[str, Policy]) -> None:
    """Yunxi 一级 stay of 1,100.05: deductible 100; 1,000.05 × 90 % = 900.045 → 900.05 half-up; the
    patient 200.00. Under a ROUND_HALF_EVEN policy the same stay gives 900.04 and the patient 200.01."""
    yunxi = policies["yunxi-county-2025"]
    s = settle(yunxi, county="522399", kind="inpatient", level="township", costs={"drugs_western": "1100.05"})
    assert (s.basic, s.patient) == (D("900.05"), D("200.00"))
    even = settle(dataclasses.replace(yunxi, rounding="ROUND_HALF_EVEN"), county="522399", kind="inpatient",
                  level="township", costs={"drugs_western": "1100.05"})
    assert (even.basic, even.patient) == (D("900.04"), D("200.01"))


def test_input_amounts_are_rounded_half_up_to_the_fen(policies: dict[str, Policy]) -> None:
    """A cost of 80.005 is 80.01 (half up); 80.01 × 60 % = 48.006 → capped at 30 anyway; total 80.01."""
    s = settle(policies["example-city"], kind="outpatient", level="village", costs={"lab": "80.005"})
    assert s.total == D("80.01") and s.patient == D("50.01")


def test_settlement_json_has_strings_for_money(policies: dict[str, Policy]) -> None:
    s = settle(policies["example-city"], kind="inpatient", level="township", costs={"drugs_western": 3000})
    data = s.as_dict()
    assert data["layers"] == {"basic": "2660.00", "catastrophic": "0.00", "aid": "0.00"}
    assert data["patient"] == "340.00" and data["total"] == "3000.00"
    assert data["lines"][2] == {"rule": "inpatient.deductible", "zh": "起付线（一级医院）200.00 元，由个人负担",
                                "en": "Deductible (level 1) 200.00 yuan, borne by the patient", "amount": "200.00"}
