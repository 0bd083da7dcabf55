"""``ygt insurance report --year Y [--format table|json|csv]``: the figures of a hand-computed year.

The year 2026 of the MiniCounty (Yunxi 2026 policy):

- household A (village 1 of township 1): p1 ordinary (400 + 730), p2 低保 (pays 120, aid 280, 730):
  contributions 520, exempted 280, subsidy 1,460, income 2,260 — 人均筹资 1,130. p3 (township 2)
  is not enrolled. 参合率: township 1 2 / 2 (one exempted), township 2 0 / 1; the county 2 / 3.
- p1, county hospital, discharged 2026-03-07, 10,000: basic (10,000 − 400) × 80 % = 7,680; patient 2,320.
- p2, township centre, discharged 2026-04-06, 3,500: basic (3,500 − 100) × 90 % = 3,060; bears 440,
  低保 aid (440 − 400) × 70 % = 28; patient 412.
- p1, outside the county, discharged 2026-05-09, 20,000: basic (20,000 − 1,200) × 55 % = 10,340;
  patient 9,660.
- p3, county hospital, discharged 2026-06-06, 5,000, not enrolled: the patient 5,000.
- p1, village visit 2026-07-01, 80: 30 + 50, then reversed: net 0, not counted.

Totals: cost 38,500; basic 21,080; 大病 0; aid 28; the funds 21,108; the patients 17,392; 4 settlements.
实际报销比 21,108 ÷ 38,500 = 0.5483; in-county fund 7,680 + 3,060 + 28 = 10,768, 医保县域内支出占比
10,768 ÷ 21,108 = 0.5101. Ledger: basic 2,260 − 7,680 − 3,060 − 10,340 = −18,820; contributions −520;
subsidy −1,460; aid −280 − 28 = −308; institutions +38,500; patients −17,392: sum 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from yigongti.insurance import services
from yigongti.insurance.models import LedgerEntry

D = Decimal


@pytest.fixture
def year_2026(ins: Any) -> Any:
    county = ins.county
    household, (p1, p2) = ins.household(county.village_a, 2)
    ins.enrol(household, members={p1.pk: "", p2.pk: "dibao"})
    _other, (p3,) = ins.household(county.village_c)
    doctor, director, office = county.clinician, county.director, ins.office
    services.settle(doctor, ins.stay(p1, start=dt.date(2026, 3, 2)).pk, key="a")
    services.settle(director, ins.stay(p2, user=director, costs={"drugs_western": "3000", "lab": "500"},
                                       start=dt.date(2026, 4, 1)).pk, key="b")
    services.settle(office, ins.stay(p1, costs={"drugs_western": "20000"}, start=dt.date(2026, 5, 4),
                                     outside_institution="贵州省人民医院").pk, key="c")
    services.settle(doctor, ins.stay(p3, costs={"drugs_western": "5000"}, start=dt.date(2026, 6, 1)).pk, key="d")
    visit, _created = services.settle(office, ins.visit(p1, costs={"drugs_western": "80"},
                                                        start=dt.date(2026, 7, 1)).pk, key="e")
    services.reverse(office, visit.pk, reason="重复录入")
    return ins


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("insurance", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_report(year_2026: Any) -> None:
    out, err = run("report", "--year", "2026", "--format", "json")
    data = json.loads(out)
    assert err == ""
    assert data["year"] == 2026
    assert data["income"] == {"households": 1, "enrolled": 2, "contributions": "520.00", "exempted": "280.00",
                              "subsidy": "1460.00", "total": "2260.00", "per_capita": "1130.00"}
    assert data["payouts"] == {"settlements": 4, "total": "38500.00", "basic": "21080.00", "catastrophic": "0.00",
                               "aid": "28.00", "fund": "21108.00", "patient": "17392.00",
                               "in_county_fund": "10768.00", "in_county_share": 0.5101,
                               "reimbursement_ratio": 0.5483}
    assert [(r["kind"], r["settlements"], r["total"]) for r in data["by_kind"]] == [
        ("inpatient", 4, "38500.00"), ("outpatient", 0, "0.00")]
    assert [(r["code"], r["in_county"], r["settlements"], r["total"], r["basic"], r["aid"], r["patient"])
            for r in data["by_institution"]] == [
        ("H0001", True, 2, "15000.00", "7680.00", "0.00", "7320.00"),
        ("T522399101", True, 1, "3500.00", "3060.00", "28.00", "412.00"),
        ("V522399101201", True, 0, "0.00", "0.00", "0.00", "0.00"),
        ("", False, 1, "20000.00", "10340.00", "0.00", "9660.00")]
    assert data["by_institution"][3]["name"] == "县外医疗机构"
    assert [(r["month"], r["settlements"], r["fund"]) for r in data["by_month"]] == [
        ("2026-03", 1, "7680.00"), ("2026-04", 1, "3088.00"), ("2026-05", 1, "10340.00"), ("2026-06", 1, "0.00"),
        ("2026-07", 0, "0.00")]
    assert [(r["name"], r["eligible"], r["enrolled"], r["exempted"], r["rate"])
            for r in data["coverage"]["townships"]] == [("镇1", 2, 2, 1, 1.0), ("镇2", 1, 0, 0, 0.0)]
    assert data["coverage"]["total"] == {"eligible": 3, "enrolled": 2, "exempted": 1, "rate": 0.6667}
    assert data["ledger"] == {
        "ok": True, "total": "0.00", "unbalanced": [], "accumulator_mismatches": [],
        "balances": {"basic": "-18820.00", "catastrophic": "0.00", "aid": "-308.00", "contributions": "-520.00",
                     "subsidy": "-1460.00", "patient": "-17392.00", "institution": "38500.00"}}


def test_table_report(year_2026: Any) -> None:
    out, err = run("report", "--year", "2026")
    assert err == ""
    assert "城乡居民医保基金报告 · 2026 年度" in out
    for label, value in (("人均筹资", "1,130.00"), ("筹资合计", "2,260.00"), ("统筹基金", "21,080.00"),
                         ("基金支付合计", "21,108.00"), ("实际报销比", "54.8%"), ("医保县域内支出占比", "51.0%")):
        line = next(line for line in out.splitlines() if line.strip().startswith(label))
        assert line.split()[-1] == value, line
    assert "县外医疗机构（县外）" in out and "云溪县人民医院 H0001" in out
    assert "66.7%" in out  # 参合率 of the county
    assert "结论" in out and "平衡" in out.split("结论")[1]


def test_csv_report(year_2026: Any) -> None:
    out, _err = run("report", "--year", "2026", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["section", "key", "name", "measure", "value"]
    cell = {(r["section"], r["key"], r["measure"]): r["value"] for r in rows}
    assert cell[("income", "", "per_capita")] == "1130.00"
    assert cell[("payouts", "", "fund")] == "21108.00"
    assert cell[("payouts", "", "in_county_share")] == "0.5101"
    assert cell[("by_institution", "H0001", "basic")] == "7680.00"
    assert cell[("by_month", "2026-04", "aid")] == "28.00"
    assert cell[("coverage", "522399102", "rate")] == "0.0"
    assert cell[("coverage", "total", "rate")] == "0.6667"
    assert cell[("ledger", "institution", "balance")] == "38500.00"
    assert cell[("ledger", "", "ok")] == "true"


def test_an_unbalanced_ledger_exits_1_with_one_clear_line(year_2026: Any) -> None:
    entry = LedgerEntry.objects.filter(account="patient").order_by("pk").first()
    assert entry is not None
    LedgerEntry.objects.filter(pk=entry.pk).update(amount=entry.amount - D(1))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("insurance", "report", "--year", "2026", "--format", "json", stdout=out, stderr=err)
    assert exited.value.code == 1
    assert json.loads(out.getvalue())["ledger"]["ok"] is False  # the report is printed all the same
    lines = err.getvalue().strip().splitlines()
    assert lines == ["ygt insurance: 账务不平：账户合计 -1.00 元，1 个凭证不平，0 项年度累计与结算不符"]


def test_a_year_without_data(ins: Any) -> None:
    data = json.loads(run("report", "--year", "2024", "--format", "json")[0])
    assert data["income"]["per_capita"] is None and data["payouts"]["in_county_share"] is None
    assert data["payouts"]["reimbursement_ratio"] is None and data["by_institution"] == []
    assert data["coverage"]["total"] == {"eligible": 0, "enrolled": 0, "exempted": 0, "rate": None}
    assert data["ledger"]["ok"] is True
    out, _err = run("report", "--year", "2024")
    assert "（无结算）" in out and "—" in out


@pytest.mark.parametrize("year", ["1999", "2101"])
def test_a_year_out_of_range_is_an_error(ins: Any, year: str) -> None:
    with pytest.raises(CommandError) as caught:
        run("report", "--year", year)
    assert "年度应在 2000 至 2100 之间" in str(caught.value)
