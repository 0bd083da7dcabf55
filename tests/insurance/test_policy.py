"""Policies as data: the shipped files against DOMAIN.md §5, validation naming the key and the reason,
and the choice of the policy in force (overlaps refused). No database."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from yigongti.insurance.errors import NoPolicy, PolicyInvalid, PolicyOverlap
from yigongti.insurance.policy import (
    POLICY_DIR,
    Policy,
    check_policies,
    policy_for,
    policy_from_file,
    policy_from_mapping,
    shipped_policies,
)

D = Decimal

VALID: dict[str, Any] = {
    "kind": "insurance.policy", "code": "t", "name": "测试政策", "county": "522399", "effective_from": "2025-01-01",
    "source": "test", "catalogue": {"inpatient": {"materials": {"self_pay_share": 0.2}}},
    "outpatient": {"levels": {"village": {"rate": 0.6, "per_visit_cap": 30, "year_cap": 300}}},
    "inpatient": {"annual_cap": 500000, "levels": {
        "township": {"deductible": 200, "rate": 0.95}, "county": {"deductible": 450, "rate": 0.85},
        "tertiary": {"deductible": 650, "rate": 0.65}, "out_of_county": {"deductible": 1000, "rate": 0.5}}},
    "catastrophic": {"threshold": 15000, "annual_cap": 400000,
                     "tiers": [{"upto": 100000, "rate": 0.6}, {"upto": 200000, "rate": 0.7}, {"rate": 0.8}]},
    "medical_aid": {"categories": {"dibao": {"rate": 0.7, "deductible": 300, "annual_cap": 50000}}},
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """A copy of VALID with the value at dotted ``path`` replaced (``...`` deletes it)."""
    document = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node: Any = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


def refused(document: Any) -> PolicyInvalid:
    with pytest.raises(PolicyInvalid) as caught:
        policy_from_mapping(document, name="t.yaml")
    return caught.value


# ---------------------------------------------------------------- the shipped policies


def test_shipped_policies_load_and_do_not_overlap() -> None:
    codes = sorted(policy.code for policy in shipped_policies())
    assert codes == ["example-city", "yunxi-county-2025", "yunxi-county-2026"]


def test_example_city_has_the_numbers_of_domain_md() -> None:
    """DOMAIN.md §5: 一级 200 yuan / 95 %, 二级 450 / 85 %, 三级 650 / 65 %, out of area 1,000 / 50 %,
    cap 500,000 a year; 大病 pays ≥ 50 % above its threshold."""
    policy = policy_from_file(POLICY_DIR / "policy-example-city.yaml")
    levels = {level: (p.deductible, p.rate) for level, p in policy.inpatient.items()}
    assert levels == {"township": (D(200), D("0.95")), "county": (D(450), D("0.85")),
                      "tertiary": (D(650), D("0.65")), "out_of_county": (D(1000), D("0.5"))}
    assert policy.inpatient_annual_cap == D(500000)
    assert policy.catastrophic is not None and all(t.rate >= D("0.5") for t in policy.catastrophic.tiers)
    assert "illustrative" in policy.source and policy.county == "*" and policy.rounding == "ROUND_HALF_UP"


def test_yunxi_policy_is_the_demo_countys_for_2025() -> None:
    policy = policy_from_file(POLICY_DIR / "policy-yunxi-county-2025.yaml")
    assert (policy.county, policy.effective_from, policy.effective_to) == (
        "522399", dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    village = policy.outpatient["village"]
    assert (village.rate, village.per_visit_cap, village.year_cap) == (D("0.6"), D(30), D(300))
    assert policy.outpatient["township"].rate == D("0.5")
    assert policy.catastrophic is not None and policy.catastrophic.threshold == D(15000)
    assert [t.rate for t in policy.catastrophic.tiers] == [D("0.6"), D("0.7"), D("0.8")]
    assert policy.medical_aid is not None and set(policy.medical_aid.categories) == {"wubao", "dibao", "poverty"}
    assert "县医保局" in policy.source or "医疗保障局" in policy.source
    assert policy.catalogue_rule("inpatient", "registration").excluded


def test_yunxi_enrolment_standard() -> None:
    """2025: 个人缴费 400, 财政补助 700 per person; 特困 exempt in full, 低保 70 %, 脱贫人口 50 %."""
    policy = policy_from_file(POLICY_DIR / "policy-yunxi-county-2025.yaml")
    assert policy.enrolment is not None
    assert (policy.enrolment.individual, policy.enrolment.subsidy) == (D(400), D(700))
    assert [policy.enrolment.exempt_share(c) for c in ("wubao", "dibao", "poverty", None)] == [
        D("1.0"), D("0.7"), D("0.5"), D(0)]


def test_rules_load_sees_every_shipped_policy() -> None:
    """``ygt rules load`` reads the same ``fixtures/policy-*.yaml`` the CLI does."""
    from yigongti.core.rule_fixtures import rule_fixtures

    loaded = sorted(f.document["code"] for f in rule_fixtures() if f.kind == "insurance.policy")
    assert loaded == sorted(policy.code for policy in shipped_policies())


# ---------------------------------------------------------------- validation


def test_a_valid_document_reads() -> None:
    policy = policy_from_mapping(VALID, name="t.yaml")
    assert policy.catalogue_rule("inpatient", "materials").self_pay_share == D("0.2")
    assert policy.catalogue_rule("outpatient", "materials").self_pay_share == 0
    assert policy.medical_aid is not None and policy.medical_aid.kinds == ("outpatient", "inpatient")
    assert policy.catastrophic is not None and policy.catastrophic.kinds == ("inpatient",)


@pytest.mark.parametrize(("path", "value", "key", "reason"), [
    ("inpatient.levels.county.rate", 1.2, "inpatient.levels.county.rate", "应在 0 与 1 之间"),
    ("inpatient.levels.township.deductible", -200, "inpatient.levels.township.deductible", "不能为负数"),
    ("inpatient.levels.township.deductible", "two hundred", "inpatient.levels.township.deductible", "应为数字"),
    ("inpatient.levels.township.deductible", 200.001, "inpatient.levels.township.deductible", "两位小数"),
    ("catastrophic.tiers.1.upto", 50000, "catastrophic.tiers[1].upto", "递增"),
    ("catastrophic.tiers.1.upto", 100000, "catastrophic.tiers[1].upto", "递增"),
    ("catastrophic.tiers.2", {"upto": 300000, "rate": 0.8}, "catastrophic.tiers[2].upto", "最后一段"),
    ("catastrophic.tiers.1", {"rate": 0.7}, "catastrophic.tiers[1].upto", "只有最后一段"),
    ("catastrophic.tiers.0.rate", 0.4, "catastrophic.tiers[0].rate", "应在 0.5 与 1 之间"),
    ("catastrophic.tiers", [], "catastrophic.tiers", "非空列表"),
    ("inpatient.levels.hospital", {"deductible": 1, "rate": 0.5}, "inpatient.levels.hospital", "未知的键"),
    ("inpatient.levels.tertiary", ..., "inpatient.levels.tertiary", "必须填写"),
    ("outpatient.levels.tertiary", {"rate": 0.5, "per_visit_cap": 1, "year_cap": 1}, "outpatient.levels.tertiary",
     "未知的键"),
    ("outpatient.levels.village.year_cap", ..., "outpatient.levels.village.year_cap", "必须填写"),
    ("catalogue.inpatient.medicines", {"self_pay_share": 0.1}, "catalogue.inpatient.medicines", "未知的键"),
    ("catalogue.inpatient.materials", {"excluded": "yes"}, "catalogue.inpatient.materials.excluded", "true 或 false"),
    ("catalogue.inpatient.materials", {"excluded": True, "self_pay_share": 0.1}, "catalogue.inpatient.materials",
     "不能再设"),
    ("catalogue.emergency", {}, "catalogue.emergency", "未知的键"),
    ("medical_aid.categories.orphan", {"rate": 1, "annual_cap": 1}, "medical_aid.categories.orphan", "未知的键"),
    ("medical_aid.kinds", ["daycare"], "medical_aid.kinds", "未知的就诊类型"),
    ("source", ..., "source", "必须填写"),
    ("source", "  ", "source", "必须填写"),
    ("code", ..., "code", "必须填写"),
    ("county", "5223", "county", "6 位"),
    ("effective_from", "2025-13-01", "effective_from", "不是有效日期"),
    ("effective_to", "2024-12-31", "effective_to", "应晚于"),
    ("rounding", "ROUND_05UP", "rounding", "未知的舍入方式"),
    ("kind", "insurance.tariff", "kind", "insurance.policy"),
    ("deductibles", {}, "deductibles", "未知的键"),
    ("inpatient", ..., "inpatient", "必须填写"),
])
def test_each_bad_value_is_named_with_its_key_and_reason(path: str, value: Any, key: str, reason: str) -> None:
    error = refused(with_change(path, value))
    assert error.params["key"] == key, str(error)
    assert reason in str(error), str(error)
    assert str(error).startswith("医保政策 t.yaml 有误：")


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert "应为映射" in str(refused(["not", "a", "policy"]))


def test_a_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("code: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyInvalid, match=r"broken\.yaml"):
        policy_from_file(path)


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyInvalid, match=r"absent\.yaml"):
        policy_from_file(tmp_path / "absent.yaml")


# ---------------------------------------------------------------- which one is in force


def _policy(code: str, county: str, start: str, end: str | None) -> Policy:
    policy = policy_from_mapping(VALID, name=code)
    return dataclasses.replace(policy, code=code, county=county, effective_from=dt.date.fromisoformat(start),
                               effective_to=dt.date.fromisoformat(end) if end else None)


def test_overlapping_effective_dates_for_one_county_are_refused() -> None:
    first = _policy("a-2025", "522399", "2025-01-01", "2026-01-01")
    second = _policy("a-2025b", "522399", "2025-07-01", None)
    with pytest.raises(PolicyOverlap) as caught:
        check_policies([first, second])
    assert "a-2025" in str(caught.value) and "a-2025b" in str(caught.value) and "2025-07-01" in str(caught.value)
    with pytest.raises(PolicyOverlap):
        policy_for([second, first], county="522399", on=dt.date(2024, 3, 1))


def test_an_open_ended_policy_overlaps_any_later_one() -> None:
    with pytest.raises(PolicyOverlap):
        check_policies([_policy("old", "*", "2019-01-01", None), _policy("new", "*", "2025-01-01", None)])


def test_consecutive_policies_and_other_counties_do_not_overlap() -> None:
    policies = [_policy("y2024", "522399", "2024-01-01", "2025-01-01"),
                _policy("y2025", "522399", "2025-01-01", None),
                _policy("other", "522301", "2020-01-01", None),
                _policy("any", "*", "2020-01-01", None)]
    check_policies(policies)
    assert policy_for(policies, county="522399", on=dt.date(2024, 12, 31)).code == "y2024"
    assert policy_for(policies, county="522399", on=dt.date(2025, 1, 1)).code == "y2025"
    assert policy_for(policies, county="522301", on=dt.date(2025, 1, 1)).code == "other"
    assert policy_for(policies, county="522302", on=dt.date(2025, 1, 1)).code == "any"
    assert policy_for(policies, county=None, on=dt.date(2025, 1, 1)).code == "any"
    assert policy_for(policies, county="522399", on=dt.date(2023, 6, 1)).code == "any"


def test_two_policies_with_one_code_are_refused() -> None:
    with pytest.raises(PolicyInvalid, match="同一编码"):
        check_policies([_policy("x", "522399", "2024-01-01", "2025-01-01"), _policy("x", "*", "2020-01-01", None)])


def test_no_policy_in_force_is_an_error() -> None:
    policies = [_policy("y2025", "522399", "2025-01-01", "2026-01-01")]
    with pytest.raises(NoPolicy) as caught:
        policy_for(policies, county="522399", on=dt.date(2026, 1, 1))
    assert "2026-01-01" in str(caught.value) and "522399" in str(caught.value)
    with pytest.raises(NoPolicy):
        policy_for(policies, county=None, on=dt.date(2025, 6, 1))


def test_the_shipped_policies_choose_yunxi_in_2025_and_the_example_city_elsewhere() -> None:
    policies = shipped_policies()
    assert policy_for(policies, county="522399", on=dt.date(2025, 6, 1)).code == "yunxi-county-2025"
    assert policy_for(policies, county="522399", on=dt.date(2024, 6, 1)).code == "example-city"
    assert policy_for(policies, county="110101", on=dt.date(2025, 6, 1)).code == "example-city"
    with pytest.raises(NoPolicy):
        policy_for(policies, county="522399", on=dt.date(2018, 6, 1))
