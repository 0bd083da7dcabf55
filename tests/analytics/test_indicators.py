"""Every indicator of ``analytics/fixtures/indicators.yaml`` on a tiny hand-built fixture.

Each test writes a handful of rows into the MiniCounty with every date chosen, exports the facts to
Parquet, runs the indicator's compiled SQL on DuckDB (:func:`tests.analytics.builders.compute` —
the same compiler, engine and ``combine`` as the refresh) and compares every stored row —
``(period, org) → (numerator, denominator, value)`` — with the numbers worked out by hand in the
test's docstring. Rows absent from an expectation must be absent from the result (a unit with
numerator 0 and no denominator is not stored).

The tree: county 522399 → township T1 (villages A, B), township T2 (villages C, D). Institutions:
the county hospital (county level only), a centre per township, a clinic per village. "Today" is
2026-06-30. Stock dates: a period's last month (``at: mid``: its middle month); ages and stocks
count whole months (see periods.py and compiler.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import LazySettings

from tests.analytics.builders import Builder, Result, catalogue, compute, export_facts, write_fact
from tests.conftest import MiniCounty
from tests.factories.programmes import load_programmes
from tests.factories.registry import InstitutionFactory
from yigongti.core.clock import frozen
from yigongti.registry.choices import InstitutionType
from yigongti.registry.models import Institution

TODAY = dt.date(2026, 6, 30)
d = dt.date

COUNTY, T1, T2 = "522399", "522399101", "522399102"
A, B, C, D = "522399101201", "522399101202", "522399102201", "522399102202"

Expected = dict[tuple[str, str], tuple[float, float | None, float | None]]


@pytest.fixture
def make(county: MiniCounty, settings: LazySettings, tmp_path: Path) -> Iterator[Builder]:
    settings.YGT_ANALYTICS_DIR = tmp_path
    with frozen(TODAY):
        yield Builder(county)


def _rounded(rows: Result | Expected) -> dict[tuple[str, str], tuple[float | None, ...]]:
    return {key: tuple(None if x is None else round(float(x), 4) for x in row) for key, row in rows.items()}


def check(code: str, expected: Expected, *, export: bool = True) -> None:
    """``code`` computed over the exported facts for the periods of ``expected`` gives exactly ``expected``."""
    if export:
        export_facts()
    periods = sorted({period for period, _org in expected})
    assert _rounded(compute(code, periods)) == _rounded(expected)


def pct(numerator: float, denominator: float) -> float:
    return numerator / denominator * 100


# ================================================================ 健康档案


def test_record_rate(make: Builder) -> None:
    """电子健康档案建档率 = records on file at the period's end ÷ population (statistics) × 100.

    Village A (population 2025: 10; the 2024 figure 100 must not be used for 2025):
      A1–A3 created 2020, active · A4 created 2025-11-10 · A5 moved out 2025-10-20 ·
      A6 died 2025-12-31.
      2025 (end Dec): A1–A3, A4 = 4 (A5 gone Oct, A6 gone Dec) → 4/10 = 40%
      2025Q3 (end Sep): A1–A3, A5, A6 = 5 (A4 not yet) → 5/10 = 50%
      202511 (end Nov): A1–A3, A4, A6 = 5 (A5 gone in Oct) → 5/10 = 50%
    Village B (population 5): B1 → 1/5 = 20%. T1: 2025 5/15 = 33.3%; Q3 and Nov 6/15 = 40%.
    Village C (population 20): C1, C2 → 2/20 = 10%.
    Village D: D1, no population figure → 1/0 → value None ("—"), stored with denominator 0.
    T2: 3/20 = 15%. County: 2025 8/35 = 22.86%; Q3 and Nov 9/35 = 25.71%.
    """
    b = make
    for _ in range(3):
        b.resident(b.a)
    b.resident(b.a, created=d(2025, 11, 10))
    b.resident(b.a, status="moved_out", status_date=d(2025, 10, 20))
    b.resident(b.a, status="deceased", status_date=d(2025, 12, 31))
    b.resident(b.b)
    b.resident(b.c)
    b.resident(b.c)
    b.resident(b.d)
    b.population(b.a, 2025, 10)
    b.population(b.a, 2024, 100)
    b.population(b.b, 2025, 5)
    b.population(b.c, 2025, 20)
    check("record_rate", {
        ("2025", A): (4, 10, 40.0), ("2025", B): (1, 5, 20.0), ("2025", T1): (5, 15, pct(5, 15)),
        ("2025", C): (2, 20, 10.0), ("2025", D): (1, 0, None), ("2025", T2): (3, 20, 15.0),
        ("2025", COUNTY): (8, 35, pct(8, 35)),
        ("2025Q3", A): (5, 10, 50.0), ("2025Q3", B): (1, 5, 20.0), ("2025Q3", T1): (6, 15, 40.0),
        ("2025Q3", C): (2, 20, 10.0), ("2025Q3", D): (1, 0, None), ("2025Q3", T2): (3, 20, 15.0),
        ("2025Q3", COUNTY): (9, 35, pct(9, 35)),
        ("202511", A): (5, 10, 50.0), ("202511", B): (1, 5, 20.0), ("202511", T1): (6, 15, 40.0),
        ("202511", C): (2, 20, 10.0), ("202511", D): (1, 0, None), ("202511", T2): (3, 20, 15.0),
        ("202511", COUNTY): (9, 35, pct(9, 35)),
    })


def test_record_use_rate(make: Builder) -> None:
    """健康档案使用率 = records with a service or an encounter in the period ÷ records on file at its end.

    Village A (A1–A4 created 2020): A1 encounter 2025-08-10 · A2 elderly check 2025-11-05 ·
      A3 encounter 2024-12-30 only · A4 nothing.
      2025: A1, A2 active of 4 → 50% · 2025Q3: A1 only → 1/4 = 25%
    Village B: B1 a visit 2025-07-01 and an encounter 2025-07-02 (one record, counted once) → 100%.
    T1: 2025 3/5 = 60% · Q3 2/5 = 40%.
    Village C: C1 created 2025-10-01, encounter 2025-10-02 · C2 moved out 2025-11-10, encounter
      2025-08-01. 2025 (end Dec): on file C1 only, active → 1/1 · Q3 (end Sep): C2 only (C1 not yet),
      active in Aug → 1/1.
    County: 2025 4/6 = 66.7% · Q3 3/6 = 50%.
    """
    b = make
    a1, a2, a3, _a4 = (b.resident(b.a) for _ in range(4))
    b.encounter(a1, d(2025, 8, 10))
    b.visit(b.enrol(a2, "elderly", d(2025, 1, 1)), "check", d(2025, 11, 5))
    b.encounter(a3, d(2024, 12, 30))
    b1 = b.resident(b.b)
    b.visit(b.enrol(b1, "hypertension", d(2025, 1, 1)), "followup", d(2025, 7, 1))
    b.encounter(b1, d(2025, 7, 2))
    c1 = b.resident(b.c, created=d(2025, 10, 1))
    b.encounter(c1, d(2025, 10, 2))
    c2 = b.resident(b.c, status="moved_out", status_date=d(2025, 11, 10))
    b.encounter(c2, d(2025, 8, 1))
    check("record_use_rate", {
        ("2025", A): (2, 4, 50.0), ("2025", B): (1, 1, 100.0), ("2025", T1): (3, 5, 60.0),
        ("2025", C): (1, 1, 100.0), ("2025", T2): (1, 1, 100.0), ("2025", COUNTY): (4, 6, pct(4, 6)),
        ("2025Q3", A): (1, 4, 25.0), ("2025Q3", B): (1, 1, 100.0), ("2025Q3", T1): (2, 5, 40.0),
        ("2025Q3", C): (1, 1, 100.0), ("2025Q3", T2): (1, 1, 100.0), ("2025Q3", COUNTY): (3, 6, 50.0),
    })


# ================================================================ 慢病管理


def test_htn_mgmt_rate(make: Builder) -> None:
    """高血压患者管理率 = hypertensives under management at the end ÷ (residents ≥35 × 25%) × 100.

    Village A, residents ≥35 (months from the birth month to the stock month ≥ 420):
      P1 1960, enrolled 2025-03-01 · P2 1970, enrolled 2025-11-15 · P3 1950, enrolled 2024-01-01,
      closed 2025-10-20 · P4 born 1990-07-15 (420 months only from July 2025) · P6–P9 1975, not
      enrolled · P5 born 2000 (under 35) with a diabetes enrolment (neither count).
      2025 (end Dec): managed P1, P2 = 2; ≥35: P1–P4, P6–P9 = 8 → 8 × 0.25 = 2.0 → 100%
      2025Q2 (end Jun): managed P1, P3 = 2; ≥35: 7 (P4 is 34: 419 months) → 1.75 → 114.29%
      202510 (end Oct): managed P1 (P3 closed in Oct, P2 not yet) = 1; ≥35: 8 → 2.0 → 50%
    Village C: Q1–Q4 born 1950, Q1 enrolled 2025-01-10 → 1 ÷ (4 × 0.25) = 100% in every period.
    County: 2025 3/3.0 = 100% · Q2 3/2.75 = 109.09% · Oct 2/3.0 = 66.67%.
    """
    b = make
    p1, p2, p3 = (b.resident(b.a, born=born) for born in (d(1960, 1, 1), d(1970, 1, 1), d(1950, 1, 1)))
    b.resident(b.a, born=d(1990, 7, 15))  # P4
    for _ in range(4):
        b.resident(b.a, born=d(1975, 3, 3))
    p5 = b.resident(b.a, born=d(2000, 1, 1))
    b.enrol(p1, "hypertension", d(2025, 3, 1))
    b.enrol(p2, "hypertension", d(2025, 11, 15))
    b.enrol(p3, "hypertension", d(2024, 1, 1), closed=d(2025, 10, 20))
    b.enrol(p5, "diabetes", d(2025, 1, 1))
    q1 = b.resident(b.c, born=d(1950, 6, 6))
    for _ in range(3):
        b.resident(b.c, born=d(1950, 6, 6))
    b.enrol(q1, "hypertension", d(2025, 1, 10))
    expected: Expected = {
        ("2025", A): (2, 2.0, 100.0), ("2025", T1): (2, 2.0, 100.0),
        ("2025Q2", A): (2, 1.75, pct(2, 1.75)), ("2025Q2", T1): (2, 1.75, pct(2, 1.75)),
        ("202510", A): (1, 2.0, 50.0), ("202510", T1): (1, 2.0, 50.0),
        ("2025", COUNTY): (3, 3.0, 100.0), ("2025Q2", COUNTY): (3, 2.75, pct(3, 2.75)),
        ("202510", COUNTY): (2, 3.0, pct(2, 3)),
    }
    for period in ("2025", "2025Q2", "202510"):
        expected[(period, C)] = expected[(period, T2)] = (1, 1.0, 100.0)
    check("htn_mgmt_rate", expected)


def test_htn_standard_rate(make: Builder) -> None:
    """高血压患者规范管理率 = managed hypertensives with ≥4 follow-ups in the period ÷ managed at its end.

    Village A:
      E1 enrolled 2024-06 · follow-ups 2025-02/05/08/11-10, 2026-02-10
      E2 enrolled 2025-01-05 · follow-ups 2025-03/06/09-10, a 'check' 2025-12-10 (not a follow-up),
         follow-ups 2026-01/03/05-10
      E3 enrolled 2024-01, closed 2025-10-20 · four follow-ups in 2025 (not managed at the end)
      E5 enrolled 2026-01-15 · follow-ups 2026-02/03/04/05-15
      2025: managed E1, E2; E1 has 4 → 1/2 = 50%
      202606R12 (2025-07…2026-06, end Jun 2026): managed E1, E2, E5; E1 3 (Aug, Nov, Feb),
         E2 4 (Sep, Jan, Mar, May), E5 4 → 2/3 = 66.7%
    Village C: E4 enrolled 2025-02 · follow-ups 2025-03/06/09/12-01 → 2025: 1/1 = 100%;
      R12: 2 (Sep, Dec) → 0/1 = 0%.
    County: 2025 2/3 = 66.7% · R12 2/4 = 50%.
    """
    b = make

    def patient(village: Any, enrolled: dt.date, days: list[dt.date], closed: dt.date | None = None) -> Any:
        enrolment = b.enrol(b.resident(village, born=d(1960, 1, 1)), "hypertension", enrolled, closed=closed)
        b.followups(enrolment, days, sbp=130, dbp=80)
        return enrolment

    patient(b.a, d(2024, 6, 1), [d(2025, 2, 10), d(2025, 5, 10), d(2025, 8, 10), d(2025, 11, 10), d(2026, 2, 10)])
    e2 = patient(b.a, d(2025, 1, 5), [d(2025, 3, 10), d(2025, 6, 10), d(2025, 9, 10), d(2026, 1, 10), d(2026, 3, 10),
                                      d(2026, 5, 10)])
    b.visit(e2, "check", d(2025, 12, 10))
    patient(b.a, d(2024, 1, 1), [d(2025, 1, 10), d(2025, 3, 10), d(2025, 5, 10), d(2025, 7, 10)],
            closed=d(2025, 10, 20))
    patient(b.a, d(2026, 1, 15), [d(2026, 2, 15), d(2026, 3, 15), d(2026, 4, 15), d(2026, 5, 15)])
    patient(b.c, d(2025, 2, 1), [d(2025, 3, 1), d(2025, 6, 1), d(2025, 9, 1), d(2025, 12, 1)])
    check("htn_standard_rate", {
        ("2025", A): (1, 2, 50.0), ("2025", T1): (1, 2, 50.0), ("2025", C): (1, 1, 100.0),
        ("2025", T2): (1, 1, 100.0), ("2025", COUNTY): (2, 3, pct(2, 3)),
        ("202606R12", A): (2, 3, pct(2, 3)), ("202606R12", T1): (2, 3, pct(2, 3)), ("202606R12", C): (0, 1, 0.0),
        ("202606R12", T2): (0, 1, 0.0), ("202606R12", COUNTY): (2, 4, 50.0),
    })


def test_htn_control_rate(make: Builder) -> None:
    """管理人群血压控制率 = managed hypertensives whose latest follow-up in the period had SBP <140 and
    DBP <90 ÷ managed at the end. Everyone enrolled 2025-01-01.

    Village A:
      E1 2025-03-15 150/95, 2025-11-20 130/80 → 2025 ✓ (Nov) · Q4 ✓
      E2 2025-06-15 130/80, 2025-12-15 145/85 → 2025 ✗ (Dec) · Q4 ✗
      E3 2025-08-15 120/70 → 2025 ✓ · Q4 ✗ (no follow-up in Q4)
      E4 2025-10-05 135/85, 2025-10-06 142/88 → ✗ · ✗
      E5 2025-09-01 138/88, 2025-12-01 SBP 130 without DBP (ignored) → 2025 ✓ (Sep) · Q4 ✗
      E6 follow-up 2025-10-10 128/78, a 'check' 2025-12-30 160/100 (not a follow-up) → ✓ · ✓
      2025: 4/6 = 66.7% · 2025Q4: 2/6 = 33.3%
    Village B: E7 2025-05-20 139/89 (just under) → 2025 1/1 · Q4 0/1.
    T1 = county: 2025 5/7 = 71.4% · Q4 2/7 = 28.6%.
    """
    b = make

    def patient(village: Any, *visits: tuple[dt.date, int | None, int | None, str]) -> None:
        enrolment = b.enrol(b.resident(village, born=d(1960, 1, 1)), "hypertension", d(2025, 1, 1))
        for day, sbp, dbp, item in visits:
            b.visit(enrolment, item, day, sbp=sbp, dbp=dbp)

    fu = "followup"
    patient(b.a, (d(2025, 3, 15), 150, 95, fu), (d(2025, 11, 20), 130, 80, fu))
    patient(b.a, (d(2025, 6, 15), 130, 80, fu), (d(2025, 12, 15), 145, 85, fu))
    patient(b.a, (d(2025, 8, 15), 120, 70, fu))
    patient(b.a, (d(2025, 10, 5), 135, 85, fu), (d(2025, 10, 6), 142, 88, fu))
    patient(b.a, (d(2025, 9, 1), 138, 88, fu), (d(2025, 12, 1), 130, None, fu))
    patient(b.a, (d(2025, 10, 10), 128, 78, fu), (d(2025, 12, 30), 160, 100, "check"))
    patient(b.b, (d(2025, 5, 20), 139, 89, fu))
    check("htn_control_rate", {
        ("2025", A): (4, 6, pct(4, 6)), ("2025", B): (1, 1, 100.0), ("2025", T1): (5, 7, pct(5, 7)),
        ("2025", COUNTY): (5, 7, pct(5, 7)),
        ("2025Q4", A): (2, 6, pct(2, 6)), ("2025Q4", B): (0, 1, 0.0), ("2025Q4", T1): (2, 7, pct(2, 7)),
        ("2025Q4", COUNTY): (2, 7, pct(2, 7)),
    })


def test_dm_mgmt_rate(make: Builder) -> None:
    """2型糖尿病患者管理率 = diabetics under management at the end ÷ (residents ≥35 × 10%) × 100.

    Village A: 20 residents born 1960 and 2 born 1995 (under 35) → 20 × 0.1 = 2.0 in every period.
      D1 enrolled 2025-02-01 · D2 enrolled 2025-09-10 · D3 enrolled 2024-03-01, closed 2025-05-01 ·
      a hypertension enrolment (not counted).
      2025 (end Dec): D1, D2 → 2/2.0 = 100% · 2025Q2 (end Jun): D1 → 1/2.0 = 50% ·
      202504 (end Apr): D1, D3 (closed in May) → 2/2.0 = 100%
    Village C: 10 born 1960, D4 enrolled 2025-01-01 → 1/1.0 = 100%.
    County: 2025 3/3.0 = 100% · Q2 2/3.0 = 66.7% · Apr 3/3.0 = 100%.
    """
    b = make
    a = [b.resident(b.a, born=d(1960, 2, 2)) for _ in range(20)]
    b.resident(b.a, born=d(1995, 1, 1))
    b.resident(b.a, born=d(1995, 1, 1))
    b.enrol(a[0], "diabetes", d(2025, 2, 1))
    b.enrol(a[1], "diabetes", d(2025, 9, 10))
    b.enrol(a[2], "diabetes", d(2024, 3, 1), closed=d(2025, 5, 1))
    b.enrol(a[3], "hypertension", d(2025, 1, 1))
    c = [b.resident(b.c, born=d(1960, 2, 2)) for _ in range(10)]
    b.enrol(c[0], "diabetes", d(2025, 1, 1))
    expected: Expected = {}
    for period, managed in (("2025", 2), ("2025Q2", 1), ("202504", 2)):
        expected[(period, A)] = expected[(period, T1)] = (managed, 2.0, pct(managed, 2.0))
        expected[(period, C)] = expected[(period, T2)] = (1, 1.0, 100.0)
        expected[(period, COUNTY)] = (managed + 1, 3.0, pct(managed + 1, 3.0))
    check("dm_mgmt_rate", expected)


def test_dm_standard_rate(make: Builder) -> None:
    """2型糖尿病患者规范管理率 = managed diabetics with ≥4 follow-ups in the period ÷ managed at the end.

    Village A:
      D1 enrolled 2024-06 · follow-ups 2025-02/05/08/11-10, 2026-03-10 → 2025 ✓ (4) · R12 ✗ (3)
      D2 enrolled 2025-01 · follow-ups 2025-01…05-10 → 2025 ✓ (5) · R12 ✗ (0)
      D3 enrolled 2025-03 · follow-ups 2025-04/07/10-10, 2026-01/04-10 → 2025 ✗ (3) · R12 ✓ (4)
      a hypertensive with 4 follow-ups in 2025 (another programme: not counted)
      2025: 2/3 = 66.7% · 202606R12: 1/3 = 33.3%
    Village C: D4 enrolled 2025-01 · four 'check' visits (not follow-ups) → 0/1 in both.
    County: 2025 2/4 = 50% · R12 1/4 = 25%.
    """
    b = make

    def patient(village: Any, programme: str, enrolled: dt.date, days: list[dt.date], item: str = "followup") -> None:
        enrolment = b.enrol(b.resident(village, born=d(1960, 1, 1)), programme, enrolled)
        for day in days:
            b.visit(enrolment, item, day, fpg=Decimal("6.5"))

    patient(b.a, "diabetes", d(2024, 6, 1), [d(2025, 2, 10), d(2025, 5, 10), d(2025, 8, 10), d(2025, 11, 10),
                                             d(2026, 3, 10)])
    patient(b.a, "diabetes", d(2025, 1, 1), [d(2025, m, 10) for m in range(1, 6)])
    patient(b.a, "diabetes", d(2025, 3, 1), [d(2025, 4, 10), d(2025, 7, 10), d(2025, 10, 10), d(2026, 1, 10),
                                             d(2026, 4, 10)])
    patient(b.a, "hypertension", d(2024, 1, 1), [d(2025, m, 15) for m in (1, 4, 7, 10)])
    patient(b.c, "diabetes", d(2025, 1, 1), [d(2025, m, 10) for m in (2, 3, 4, 5)], item="check")
    check("dm_standard_rate", {
        ("2025", A): (2, 3, pct(2, 3)), ("2025", T1): (2, 3, pct(2, 3)), ("2025", C): (0, 1, 0.0),
        ("2025", T2): (0, 1, 0.0), ("2025", COUNTY): (2, 4, 50.0),
        ("202606R12", A): (1, 3, pct(1, 3)), ("202606R12", T1): (1, 3, pct(1, 3)), ("202606R12", C): (0, 1, 0.0),
        ("202606R12", T2): (0, 1, 0.0), ("202606R12", COUNTY): (1, 4, 25.0),
    })


def test_dm_control_rate(make: Builder) -> None:
    """管理人群血糖控制率 = managed diabetics whose latest follow-up in the period had FPG <7.0 ÷ managed.
    Everyone enrolled 2025-01-01.

    Village A:
      D1 2025-03-10 8.2, 2025-11-10 6.5 → 2025 ✓ · Q4 ✓
      D2 2025-10-10 6.9, 2025-12-10 7.0 (not < 7.0) → ✗ · ✗
      D3 2025-05-10 6.0 → 2025 ✓ · Q4 ✗ (none in Q4)
      D4 2025-11-10 6.8, 2025-12-10 without FPG (ignored) → ✓ · ✓
      2025: 3/4 = 75% · 2025Q4: 2/4 = 50%
    Village C: D5 no follow-up → 0/1.
    County: 2025 3/5 = 60% · Q4 2/5 = 40%.
    """
    b = make

    def patient(village: Any, *visits: tuple[dt.date, str | None]) -> None:
        enrolment = b.enrol(b.resident(village, born=d(1960, 1, 1)), "diabetes", d(2025, 1, 1))
        for day, fpg in visits:
            b.visit(enrolment, "followup", day, fpg=None if fpg is None else Decimal(fpg))

    patient(b.a, (d(2025, 3, 10), "8.2"), (d(2025, 11, 10), "6.5"))
    patient(b.a, (d(2025, 10, 10), "6.9"), (d(2025, 12, 10), "7.0"))
    patient(b.a, (d(2025, 5, 10), "6.0"))
    patient(b.a, (d(2025, 11, 10), "6.8"), (d(2025, 12, 10), None))
    patient(b.c)
    check("dm_control_rate", {
        ("2025", A): (3, 4, 75.0), ("2025", T1): (3, 4, 75.0), ("2025", C): (0, 1, 0.0), ("2025", T2): (0, 1, 0.0),
        ("2025", COUNTY): (3, 5, 60.0),
        ("2025Q4", A): (2, 4, 50.0), ("2025Q4", T1): (2, 4, 50.0), ("2025Q4", C): (0, 1, 0.0),
        ("2025Q4", T2): (0, 1, 0.0), ("2025Q4", COUNTY): (2, 5, 40.0),
    })


# ================================================================ 老年人


def test_elderly_mgmt_rate(make: Builder) -> None:
    """老年人健康管理率 = residents ≥65 with the elderly annual check in the period ÷ residents ≥65.

    Village A:
      O1 born 1950-03 · check 2025-04-10 → 2025 ✓ · R12 ✗ (before Jul 2025)
      O2 born 1955-05 · check 2025-09-01 → ✓ · ✓
      O3 born 1958-08 · only a hypertension follow-up → ✗ · ✗
      O4 born 1961-01-15 · checks 2025-11-05 and 2026-02-01: 779 months at Dec 2025 (not 65 yet: out
         of the 2025 denominator), 785 at Jun 2026 → R12 ✓
      O5 born 1940, died 2025-06-01 · check 2025-03-01 → not on file at either end: out
      2025 (end Dec): O1, O2 of O1–O3 → 2/3 = 66.7% · 202606R12: O2, O4 of O1–O4 → 2/4 = 50%
    Village B: O6 born 1950, no check → 0/1.
    T1 = county: 2025 2/4 = 50% · R12 2/5 = 40%.
    """
    b = make

    def elder(village: Any, born: dt.date, checks: list[dt.date], **status: Any) -> None:
        resident = b.resident(village, born=born, **status)
        enrolment = b.enrol(resident, "elderly", d(2024, 1, 1))
        for day in checks:
            b.visit(enrolment, "check", day)

    elder(b.a, d(1950, 3, 1), [d(2025, 4, 10)])
    elder(b.a, d(1955, 5, 5), [d(2025, 9, 1)])
    o3 = b.resident(b.a, born=d(1958, 8, 8))
    b.visit(b.enrol(o3, "hypertension", d(2024, 1, 1)), "followup", d(2025, 6, 1))
    elder(b.a, d(1961, 1, 15), [d(2025, 11, 5), d(2026, 2, 1)])
    elder(b.a, d(1940, 1, 1), [d(2025, 3, 1)], status="deceased", status_date=d(2025, 6, 1))
    b.resident(b.b, born=d(1950, 1, 1))
    check("elderly_mgmt_rate", {
        ("2025", A): (2, 3, pct(2, 3)), ("2025", B): (0, 1, 0.0), ("2025", T1): (2, 4, 50.0),
        ("2025", COUNTY): (2, 4, 50.0),
        ("202606R12", A): (2, 4, 50.0), ("202606R12", B): (0, 1, 0.0), ("202606R12", T1): (2, 5, 40.0),
        ("202606R12", COUNTY): (2, 5, 40.0),
    })


# ================================================================ 儿童


def _child(b: Builder, village: Any, born: dt.date, visits: list[tuple[str, dt.date]]) -> Any:
    """A child of ``village`` born (and registered) on ``born`` with child-health visits."""
    child = b.resident(village, born=born)
    enrolment = b.enrol(child, "child", born)
    for item, day in visits:
        b.visit(enrolment, item, day)
    return child


def test_newborn_visit_rate(make: Builder) -> None:
    """新生儿访视率 = children born in the period with a newborn visit at 0–28 days (whenever it was
    recorded) ÷ live births in the period.

    Village A: N1 born 2025-07-10, visit day 10 ✓ · N2 born 2025-08-05, visit 2025-09-02 = day 28 ✓ ·
      N3 born 2025-08-20, visit 2025-09-18 = day 29 ✗ · N4 born 2025-09-28, visit 2025-10-05 (day 7,
      next quarter: still counts for Q3) ✓ · N5 born 2025-03-01, only a one-month check ✗.
    Village B: N6 born 2025-08-15, no visit. Village C: N7 born 2025-11-01, visit day 3 ✓.
      2025Q3: A 3/4 = 75%, B 0/1, T1 3/5 = 60%, county 3/5 = 60%
      202508: A N2 of N2, N3 → 1/2 = 50%, B 0/1, T1 = county 1/3 = 33.3%
      2025: A 3/5 = 60%, B 0/1, T1 3/6 = 50%, C 1/1, T2 1/1, county 4/7 = 57.1%
    """
    b = make
    _child(b, b.a, d(2025, 7, 10), [("newborn", d(2025, 7, 20))])
    _child(b, b.a, d(2025, 8, 5), [("newborn", d(2025, 9, 2))])
    _child(b, b.a, d(2025, 8, 20), [("newborn", d(2025, 9, 18))])
    _child(b, b.a, d(2025, 9, 28), [("newborn", d(2025, 10, 5))])
    _child(b, b.a, d(2025, 3, 1), [("child-1m", d(2025, 3, 31))])
    _child(b, b.b, d(2025, 8, 15), [])
    _child(b, b.c, d(2025, 11, 1), [("newborn", d(2025, 11, 4))])
    check("newborn_visit_rate", {
        ("2025Q3", A): (3, 4, 75.0), ("2025Q3", B): (0, 1, 0.0), ("2025Q3", T1): (3, 5, 60.0),
        ("2025Q3", COUNTY): (3, 5, 60.0),
        ("202508", A): (1, 2, 50.0), ("202508", B): (0, 1, 0.0), ("202508", T1): (1, 3, pct(1, 3)),
        ("202508", COUNTY): (1, 3, pct(1, 3)),
        ("2025", A): (3, 5, 60.0), ("2025", B): (0, 1, 0.0), ("2025", T1): (3, 6, 50.0), ("2025", C): (1, 1, 100.0),
        ("2025", T2): (1, 1, 100.0), ("2025", COUNTY): (4, 7, pct(4, 7)),
    })


def test_child_mgmt_rate(make: Builder) -> None:
    """儿童健康管理率 = children 0–6 (under 84 months at the end) with ≥1 child-health visit in the
    period ÷ children 0–6.

    Village A:
      K1 born 2019-03-10 · visit 2025-05-10 → 81 months at Dec 2025 ✓ (counted) · 87 at Jun 2026: out
      K2 born 2018-12-20 · visit 2025-06-10 → 84 months at Dec 2025: 7 years, out of both
      K3 born 2023-01-01 · visit 2026-01-10 → 2025 ✗ · R12 ✓
      K4 born 2025-10-01 · newborn visit 2025-10-05 → ✓ · ✓
      K5 born 2024-05-01 · no visit → ✗ · ✗
      K6 born 2026-03-01 · visit 2026-03-05 → not born in 2025 · R12 ✓
      2025: K1, K4 of K1, K3, K4, K5 → 2/4 = 50% · 202606R12: K3, K4, K6 of K3–K6 → 3/4 = 75%
    Village C: K7 born 2022-01-01 · visit 2025-12-31 → 1/1 in both.
    County: 2025 3/5 = 60% · R12 4/5 = 80%.
    """
    b = make
    _child(b, b.a, d(2019, 3, 10), [("child-6y", d(2025, 5, 10))])
    _child(b, b.a, d(2018, 12, 20), [("child-6y", d(2025, 6, 10))])
    _child(b, b.a, d(2023, 1, 1), [("child-36m", d(2026, 1, 10))])
    _child(b, b.a, d(2025, 10, 1), [("newborn", d(2025, 10, 5))])
    _child(b, b.a, d(2024, 5, 1), [])
    _child(b, b.a, d(2026, 3, 1), [("newborn", d(2026, 3, 5))])
    _child(b, b.c, d(2022, 1, 1), [("child-4y", d(2025, 12, 31))])
    check("child_mgmt_rate", {
        ("2025", A): (2, 4, 50.0), ("2025", T1): (2, 4, 50.0), ("2025", C): (1, 1, 100.0),
        ("2025", T2): (1, 1, 100.0), ("2025", COUNTY): (3, 5, 60.0),
        ("202606R12", A): (3, 4, 75.0), ("202606R12", T1): (3, 4, 75.0), ("202606R12", C): (1, 1, 100.0),
        ("202606R12", T2): (1, 1, 100.0), ("202606R12", COUNTY): (4, 5, 80.0),
    })


def test_child_system_rate(make: Builder) -> None:
    """3岁以下儿童系统管理率 = children under 3 with as many checks in the period as their age in months
    (at the end) calls for ÷ children under 3. Checks required for age a (months), one each:
    a<12, 3≤a<15, 6≤a<18, 8≤a<20, 12≤a<24, 18≤a<30, 24≤a<36, 30≤a<42; the one-month check does not count.

    Village A:
      S1 born 2025-06-10: newborn 06-15, child-1m 07-10, child-3m 09-10, child-6m 12-10, child-8m 2026-02-10
         2025 (6 months → needs 1+1+1 = 3): newborn, 3m, 6m = 3 ✓
         202606R12 (12 months → needs 3m,6m,8m,12m rules = 4): 3m, 6m, 8m = 3 ✗
      S2 born 2024-01-15: child-12m 2025-01-20, child-18m 2025-07-20, child-24m 2026-01-20
         2025 (23 months → 12≤a<24, 18≤a<30 → 2): 12m, 18m ✓ · R12 (29 → 18≤a<30, 24≤a<36 → 2): 18m, 24m ✓
      S4 born 2022-10-01 (38 months at Dec 2025: not under 3)
      2025: 2/2 = 100% · R12: 1/2 = 50%
    Village C: S3 born 2023-02-01: child-24m 2025-02-05
         2025 (34 months → 24≤a<36, 30≤a<42 → 2): 1 ✗ → 0/1 · R12: 40 months, not under 3 (no row)
    County: 2025 2/3 = 66.7% · R12 1/2 = 50%.
    """
    b = make
    _child(b, b.a, d(2025, 6, 10), [("newborn", d(2025, 6, 15)), ("child-1m", d(2025, 7, 10)),
                                    ("child-3m", d(2025, 9, 10)), ("child-6m", d(2025, 12, 10)),
                                    ("child-8m", d(2026, 2, 10))])
    _child(b, b.a, d(2024, 1, 15), [("child-12m", d(2025, 1, 20)), ("child-18m", d(2025, 7, 20)),
                                    ("child-24m", d(2026, 1, 20))])
    _child(b, b.a, d(2022, 10, 1), [("child-36m", d(2025, 10, 5))])
    _child(b, b.c, d(2023, 2, 1), [("child-24m", d(2025, 2, 5))])
    check("child_system_rate", {
        ("2025", A): (2, 2, 100.0), ("2025", T1): (2, 2, 100.0), ("2025", C): (0, 1, 0.0),
        ("2025", T2): (0, 1, 0.0), ("2025", COUNTY): (2, 3, pct(2, 3)),
        ("202606R12", A): (1, 2, 50.0), ("202606R12", T1): (1, 2, 50.0), ("202606R12", COUNTY): (1, 2, 50.0),
    })


# ================================================================ 孕产妇


def _mother(b: Builder, village: Any, lmp: dt.date, visits: list[tuple[str, dt.date]], *,
            baby_village: Any = None) -> None:
    """A woman of ``village`` with a maternal enrolment anchored on her last menstrual period ``lmp``
    and ``visits``; for a delivery, her baby is registered (born that day) in ``baby_village``."""
    mother = b.resident(village, born=d(1995, 4, 4), sex="F")
    enrolment = b.enrol(mother, "maternal", lmp, anchor=lmp)
    for item, day in visits:
        b.visit(enrolment, item, day)
        if item == "delivery":
            b.resident(baby_village or village, born=day)


def test_early_booking_rate(make: Builder) -> None:
    """早孕建册率 = women delivering in the period with the 1st antenatal check before 13 weeks
    (days from the LMP < 91) ÷ live births in the period.

    Village A: M1 LMP 2024-10-20, antenatal-1 2024-12-01 (day 42 ✓), delivery 2025-07-25 ·
      M2 LMP 2024-11-01, antenatal-1 2025-01-31 (day 91 ✗), delivery 2025-08-08 ·
      M3 LMP 2024-12-01, antenatal-1 2025-03-01 (day 90 ✓), delivery 2025-08-30 ·
      M4 LMP 2024-12-10, only antenatal-2, delivery 2025-09-10 ✗. A baby for each delivery.
    Village B: a baby born 2025-08-15 (mother not on file). Village C: M5 antenatal-1 day 45 ✓,
      delivery 2025-10-12, baby in C.
      2025Q3: A 2/4 = 50%, B 0/1, T1 = county 2/5 = 40%
      202508: A M3 / (M2, M3 babies) = 1/2 = 50%, B 0/1, T1 = county 1/3 = 33.3%
      2025: A 2/4, B 0/1, T1 2/5 = 40%, C 1/1, T2 1/1, county 3/6 = 50%
    """
    b = make
    _mother(b, b.a, d(2024, 10, 20), [("antenatal-1", d(2024, 12, 1)), ("delivery", d(2025, 7, 25))])
    _mother(b, b.a, d(2024, 11, 1), [("antenatal-1", d(2025, 1, 31)), ("delivery", d(2025, 8, 8))])
    _mother(b, b.a, d(2024, 12, 1), [("antenatal-1", d(2025, 3, 1)), ("delivery", d(2025, 8, 30))])
    _mother(b, b.a, d(2024, 12, 10), [("antenatal-2", d(2025, 4, 10)), ("delivery", d(2025, 9, 10))])
    b.resident(b.b, born=d(2025, 8, 15))
    _mother(b, b.c, d(2025, 1, 1), [("antenatal-1", d(2025, 2, 15)), ("delivery", d(2025, 10, 12))])
    check("early_booking_rate", {
        ("2025Q3", A): (2, 4, 50.0), ("2025Q3", B): (0, 1, 0.0), ("2025Q3", T1): (2, 5, 40.0),
        ("2025Q3", COUNTY): (2, 5, 40.0),
        ("202508", A): (1, 2, 50.0), ("202508", B): (0, 1, 0.0), ("202508", T1): (1, 3, pct(1, 3)),
        ("202508", COUNTY): (1, 3, pct(1, 3)),
        ("2025", A): (2, 4, 50.0), ("2025", B): (0, 1, 0.0), ("2025", T1): (2, 5, 40.0), ("2025", C): (1, 1, 100.0),
        ("2025", T2): (1, 1, 100.0), ("2025", COUNTY): (3, 6, 50.0),
    })


def test_postpartum_visit_rate(make: Builder) -> None:
    """产后访视率 = women delivering in the period with a postpartum visit 0–28 days after the delivery
    (recorded in any period) ÷ live births in the period.

    Village A: M1 delivery 2025-07-10, visit 07-17 (7 days ✓) · M2 delivery 08-01, visit 08-29 (28 ✓) ·
      M3 delivery 09-01, visit 09-30 (29 ✗) · M4 delivery 09-20, visit 10-05 (15 ✓, next quarter).
    Village B: M5 delivery 2025-11-03, no visit.
      2025Q3: A = T1 = county 3/4 = 75% · 202509: M4 of M3, M4 → 1/2 = 50% ·
      2025: A 3/4, B 0/1, T1 = county 3/5 = 60%
    """
    b = make
    for delivered, visited in ((d(2025, 7, 10), d(2025, 7, 17)), (d(2025, 8, 1), d(2025, 8, 29)),
                               (d(2025, 9, 1), d(2025, 9, 30)), (d(2025, 9, 20), d(2025, 10, 5))):
        _mother(b, b.a, delivered - dt.timedelta(days=280), [("delivery", delivered), ("postpartum", visited)])
    _mother(b, b.b, d(2025, 1, 27), [("delivery", d(2025, 11, 3))])
    check("postpartum_visit_rate", {
        ("2025Q3", A): (3, 4, 75.0), ("2025Q3", T1): (3, 4, 75.0), ("2025Q3", COUNTY): (3, 4, 75.0),
        ("202509", A): (1, 2, 50.0), ("202509", T1): (1, 2, 50.0), ("202509", COUNTY): (1, 2, 50.0),
        ("2025", A): (3, 4, 75.0), ("2025", B): (0, 1, 0.0), ("2025", T1): (3, 5, 60.0),
        ("2025", COUNTY): (3, 5, 60.0),
    })


def test_maternal_system_rate(make: Builder) -> None:
    """孕产妇系统管理率 = women delivering in the period with early booking (antenatal-1 before day 91),
    ≥5 antenatal checks and a postpartum visit within 28 days ÷ live births in the period.

    Village A (LMP 2024-11-01; antenatal-2…5 on 2025-02-20, 03-25, 05-20, 07-15):
      M1 antenatal-1 2024-12-15 (day 44), 5 checks, delivery 2025-08-01, postpartum 08-10 → ✓
      M2 antenatal-1 day 44 but only antenatal-1…4 (4 checks), delivery 08-05, postpartum 08-12 → ✗
      M3 antenatal-1 2025-02-04 (day 95), 5 checks, delivery 08-10, postpartum 08-15 → ✗
      M4 5 checks, early, delivery 08-10, postpartum 09-15 (36 days) → ✗
    Village C: M5 LMP 2025-02-01, antenatal-1 03-20 (day 47), 5 checks, delivery 2025-11-20,
      postpartum 11-25 → ✓
      2025Q3: A = T1 = county 1/4 = 25% · 2025: A 1/4, C 1/1, T2 1/1, county 2/5 = 40%
    """
    b = make
    later = [("antenatal-2", d(2025, 2, 20)), ("antenatal-3", d(2025, 3, 25)), ("antenatal-4", d(2025, 5, 20)),
             ("antenatal-5", d(2025, 7, 15))]
    lmp = d(2024, 11, 1)
    _mother(b, b.a, lmp, [("antenatal-1", d(2024, 12, 15)), *later, ("delivery", d(2025, 8, 1)),
                          ("postpartum", d(2025, 8, 10))])
    _mother(b, b.a, lmp, [("antenatal-1", d(2024, 12, 15)), *later[:3], ("delivery", d(2025, 8, 5)),
                          ("postpartum", d(2025, 8, 12))])
    _mother(b, b.a, lmp, [("antenatal-1", d(2025, 2, 4)), *later, ("delivery", d(2025, 8, 10)),
                          ("postpartum", d(2025, 8, 15))])
    _mother(b, b.a, lmp, [("antenatal-1", d(2024, 12, 15)), *later, ("delivery", d(2025, 8, 10)),
                          ("postpartum", d(2025, 9, 15))])
    _mother(b, b.c, d(2025, 2, 1), [("antenatal-1", d(2025, 3, 20)), ("antenatal-2", d(2025, 5, 10)),
                                    ("antenatal-3", d(2025, 6, 10)), ("antenatal-4", d(2025, 8, 20)),
                                    ("antenatal-5", d(2025, 10, 25)), ("delivery", d(2025, 11, 20)),
                                    ("postpartum", d(2025, 11, 25))])
    check("maternal_system_rate", {
        ("2025Q3", A): (1, 4, 25.0), ("2025Q3", T1): (1, 4, 25.0), ("2025Q3", COUNTY): (1, 4, 25.0),
        ("2025", A): (1, 4, 25.0), ("2025", T1): (1, 4, 25.0), ("2025", C): (1, 1, 100.0),
        ("2025", T2): (1, 1, 100.0), ("2025", COUNTY): (2, 5, 40.0),
    })


# ================================================================ 预防接种


def _vaccinated(b: Builder, village: Any, born: dt.date, given: dict[str, dt.date],
                variant: dict[str, str] | None = None) -> None:
    """A child born on ``born`` with an immunisation enrolment and the doses ``given`` ({item: day})."""
    child = b.resident(village, born=born)
    enrolment = b.enrol(child, "immunisation", born, variant=variant)
    for item, day in given.items():
        b.visit(enrolment, item, day)


@pytest.fixture
def schedule(make: Builder) -> Builder:
    """The immunisation schedule loaded (the doses fact derives each child's doses from it)."""
    load_programmes()
    return make


def test_imm_rate_and_hepb_1(schedule: Builder) -> None:
    """国家免疫规划疫苗及时接种率 (all doses) and 乙肝疫苗第1剂及时接种率: doses given inside their on-time
    window (HepB-1: day 0–1; the others: 0–30 days after the recommended date) ÷ doses whose
    recommended date falls in the period.

    X3 (village A) born 2026-02-15:
      2026Q1: HepB-1 02-15 given 02-15 ✓ · BCG-1 02-15 given 02-16 ✓ · HepB-2 03-15 given 03-20 ✓ → 3/3
      2026Q2: IPV-1 04-15 given 04-15 ✓ · IPV-2 05-15 not given ✗ · DTaP-1 05-15 given 05-16 ✓ ·
              bOPV-1 06-15 given 06-14 (a day early) ✗ · DTaP-2 06-15 not given ✗ → 2/5
    X1 (village A) born 2026-05-10, 2026Q2: HepB-1 given 05-11 ✓ · BCG-1 given 06-15 (window ended
      06-09) ✗ · HepB-2 06-10 given 06-12 ✓ → 2/3 (IPV-1 is due 07-10: not in Q2)
    X2 (village C) born 2026-04-20, 2026Q2: HepB-1 given 04-22 (window ended 04-21) ✗ · BCG-1 given
      04-20 ✓ · HepB-2 05-20 not given ✗ · IPV-1 06-20 not given ✗ → 1/4
    imm_rate: 2026Q1 A = T1 = county 3/3 · 2026Q2 A 4/8 = 50%, C 1/4 = 25%, county 5/12 = 41.7%
    imm_rate_hepb_1: 2026Q1 A 1/1 (X3) · 2026Q2 A 1/1 (X1), C 0/1 (X2), county 1/2 = 50%
    """
    b = schedule
    _vaccinated(b, b.a, d(2026, 2, 15), {"HepB-1": d(2026, 2, 15), "BCG-1": d(2026, 2, 16), "HepB-2": d(2026, 3, 20),
                                         "IPV-1": d(2026, 4, 15), "DTaP-1": d(2026, 5, 16), "bOPV-1": d(2026, 6, 14)})
    _vaccinated(b, b.a, d(2026, 5, 10), {"HepB-1": d(2026, 5, 11), "BCG-1": d(2026, 6, 15), "HepB-2": d(2026, 6, 12)})
    _vaccinated(b, b.c, d(2026, 4, 20), {"HepB-1": d(2026, 4, 22), "BCG-1": d(2026, 4, 20)})
    check("imm_rate", {
        ("2026Q1", A): (3, 3, 100.0), ("2026Q1", T1): (3, 3, 100.0), ("2026Q1", COUNTY): (3, 3, 100.0),
        ("2026Q2", A): (4, 8, 50.0), ("2026Q2", T1): (4, 8, 50.0), ("2026Q2", C): (1, 4, 25.0),
        ("2026Q2", T2): (1, 4, 25.0), ("2026Q2", COUNTY): (5, 12, pct(5, 12)),
    })
    check("imm_rate_hepb_1", {
        ("2026Q1", A): (1, 1, 100.0), ("2026Q1", T1): (1, 1, 100.0), ("2026Q1", COUNTY): (1, 1, 100.0),
        ("2026Q2", A): (1, 1, 100.0), ("2026Q2", T1): (1, 1, 100.0), ("2026Q2", C): (0, 1, 0.0),
        ("2026Q2", T2): (0, 1, 0.0), ("2026Q2", COUNTY): (1, 2, 50.0),
    }, export=False)


def test_imm_rate_current_year_counts_only_doses_already_due(schedule: Builder) -> None:
    """Today is 2026-06-30. A child born 2026-05-10 has had HepB-1, BCG-1 and HepB-2 come due (all
    given on time); IPV-1 (07-10), DTaP-1 (08-10) … come due later in 2026 and have not been missed.
    2026 so far: 3/3 = 100% — not 3 ÷ (every dose the schedule puts in 2026)."""
    b = schedule
    _vaccinated(b, b.a, d(2026, 5, 10), {"HepB-1": d(2026, 5, 10), "BCG-1": d(2026, 5, 10), "HepB-2": d(2026, 6, 10)})
    check("imm_rate", {("2026", A): (3, 3, 100.0), ("2026", T1): (3, 3, 100.0), ("2026", COUNTY): (3, 3, 100.0)})


def test_imm_rate_mmr_1(schedule: Builder) -> None:
    """麻腮风疫苗第1剂及时接种率 (MMR-1 recommended at 8 months, on time within 30 days).

    Village A: Z1 born 2025-01-15 → due 2025-09-15, given 09-20 ✓ · Z2 born 2025-02-10 → due 10-10,
      given 11-15 (window ended 11-09) ✗ · Z5 born 2025-11-15 → due 2026-07-15 (not in these periods).
    Village C: Z3 born 2025-03-05 → due 11-05, not given ✗.
      2025Q3: A = T1 = county 1/1 · 2025Q4: A 0/1, C 0/1, county 0/2 = 0% (stored: the denominator
      is not 0) · 2025: A 1/2 = 50%, C 0/1, county 1/3 = 33.3%
    """
    b = schedule
    _vaccinated(b, b.a, d(2025, 1, 15), {"MMR-1": d(2025, 9, 20)})
    _vaccinated(b, b.a, d(2025, 2, 10), {"MMR-1": d(2025, 11, 15)})
    _vaccinated(b, b.a, d(2025, 11, 15), {})
    _vaccinated(b, b.c, d(2025, 3, 5), {})
    check("imm_rate_mmr_1", {
        ("2025Q3", A): (1, 1, 100.0), ("2025Q3", T1): (1, 1, 100.0), ("2025Q3", COUNTY): (1, 1, 100.0),
        ("2025Q4", A): (0, 1, 0.0), ("2025Q4", T1): (0, 1, 0.0), ("2025Q4", C): (0, 1, 0.0),
        ("2025Q4", T2): (0, 1, 0.0), ("2025Q4", COUNTY): (0, 2, 0.0),
        ("2025", A): (1, 2, 50.0), ("2025", T1): (1, 2, 50.0), ("2025", C): (0, 1, 0.0), ("2025", T2): (0, 1, 0.0),
        ("2025", COUNTY): (1, 3, pct(1, 3)),
    })


def test_imm_rate_je_i_2_counts_only_children_on_inactivated_je(schedule: Builder) -> None:
    """乙脑灭活疫苗第2剂及时接种率: only children on the inactivated JE variant have JE-I doses (JE-I-2 at
    8 months, on time within 30 days); the others have the live JE doses instead.

    Village A: J1 born 2025-01-15, variant JE-I: JE-I-1 09-15, JE-I-2 given 2025-09-25 (due 09-15) ✓ ·
      J2 born 2025-02-01, no variant and no JE dose → the default live JE: no JE-I dose at all ·
      J4 born 2025-03-10, variant JE-I: JE-I-2 given 2025-12-01 (due 11-10, window to 12-10) ✓.
    Village C: J3 born 2025-02-20, no variant but JE-I-1 given 2025-10-20 (the history chooses JE-I):
      JE-I-2 due 10-20, not given ✗.
      2025Q3: A = T1 = county 1/1 (J1) · 2025Q4: A 1/1 (J4), C 0/1 (J3), county 1/2 = 50% ·
      2025: A 2/2, C 0/1, county 2/3 = 66.7%
    imm_rate_je_l_1 (live JE dose 1, 8 months) 2025Q4: only J2 is on live JE: due 10-01, not given → A 0/1.
    """
    b = schedule
    _vaccinated(b, b.a, d(2025, 1, 15), {"JE-I-1": d(2025, 9, 15), "JE-I-2": d(2025, 9, 25)}, {"JE": "JE-I"})
    _vaccinated(b, b.a, d(2025, 2, 1), {})
    _vaccinated(b, b.a, d(2025, 3, 10), {"JE-I-2": d(2025, 12, 1)}, {"JE": "JE-I"})
    _vaccinated(b, b.c, d(2025, 2, 20), {"JE-I-1": d(2025, 10, 20)})
    check("imm_rate_je_i_2", {
        ("2025Q3", A): (1, 1, 100.0), ("2025Q3", T1): (1, 1, 100.0), ("2025Q3", COUNTY): (1, 1, 100.0),
        ("2025Q4", A): (1, 1, 100.0), ("2025Q4", T1): (1, 1, 100.0), ("2025Q4", C): (0, 1, 0.0),
        ("2025Q4", T2): (0, 1, 0.0), ("2025Q4", COUNTY): (1, 2, 50.0),
        ("2025", A): (2, 2, 100.0), ("2025", T1): (2, 2, 100.0), ("2025", C): (0, 1, 0.0), ("2025", T2): (0, 1, 0.0),
        ("2025", COUNTY): (2, 3, pct(2, 3)),
    })
    check("imm_rate_je_l_1", {
        ("2025Q4", A): (0, 1, 0.0), ("2025Q4", T1): (0, 1, 0.0), ("2025Q4", COUNTY): (0, 1, 0.0),
    }, export=False)


def test_every_dose_has_an_indicator() -> None:
    """The catalogue has one on-time rate per dose of the national schedule (28 doses), each with the
    same shape — the three tested above stand for the rest."""
    doses = {code for code in catalogue() if code.startswith("imm_rate_")}
    assert len(doses) == 28
    for code in doses:
        definition = catalogue()[code]
        assert definition.numerator.fact == definition.denominator.fact == "doses"  # type: ignore[union-attr]
        assert "on_time" in definition.numerator.where and "on_time" not in definition.denominator.where  # type: ignore[union-attr]


# ================================================================ 传染病 (the cases fact written by hand)


def _case(reported: dt.date, *, on_time: bool, institution: tuple[str, str | None, str | None],
          residence: tuple[str, str | None, str | None] = (COUNTY, T2, D), status: str = "confirmed") -> dict[str, Any]:
    return {"disease": "B03", "disease_class": "B", "diagnosed_on": reported, "reported_on": reported,
            "on_time": on_time, "status": status, "county": residence[0], "township": residence[1],
            "village": residence[2], "inst_county": institution[0], "inst_township": institution[1],
            "inst_village": institution[2]}


def test_notifiable_timeliness(make: Builder) -> None:
    """传染病报告及时率 = cases reported within the deadline ÷ cases reported (deleted cards out),
    by the reporting institution (the patients all live in village D — that must not matter).

    Hospital (county level only): 2025-07-03 on time · 07-10 late · 08-01 on time but deleted (out).
    Centre 1 (T1): 07-15 on time · 09-30 on time. Clinic A: 08-20 late. Centre 2 (T2): 10-02 on time.
      2025Q3: A 0/1 = 0% · T1 2/3 = 66.7% · county (with the hospital's 1/2) 3/5 = 60%
      202507: T1 1/1 · county 2/3 = 66.7%
      2025: A 0/1 · T1 2/3 · T2 1/1 · county 4/6 = 66.7%
    """
    hospital, centre1, clinic_a, centre2 = (COUNTY, None, None), (COUNTY, T1, None), (COUNTY, T1, A), (COUNTY, T2, None)
    export_facts()
    write_fact("cases", 202501, [
        _case(d(2025, 7, 3), on_time=True, institution=hospital),
        _case(d(2025, 7, 10), on_time=False, institution=hospital),
        _case(d(2025, 8, 1), on_time=True, institution=hospital, status="deleted"),
        _case(d(2025, 7, 15), on_time=True, institution=centre1),
        _case(d(2025, 9, 30), on_time=True, institution=centre1),
        _case(d(2025, 8, 20), on_time=False, institution=clinic_a),
        _case(d(2025, 10, 2), on_time=True, institution=centre2),
    ])
    check("notifiable_timeliness", {
        ("2025Q3", A): (0, 1, 0.0), ("2025Q3", T1): (2, 3, pct(2, 3)), ("2025Q3", COUNTY): (3, 5, 60.0),
        ("202507", T1): (1, 1, 100.0), ("202507", COUNTY): (2, 3, pct(2, 3)),
        ("2025", A): (0, 1, 0.0), ("2025", T1): (2, 3, pct(2, 3)), ("2025", T2): (1, 1, 100.0),
        ("2025", COUNTY): (4, 6, pct(4, 6)),
    }, export=False)


def test_notifiable_incidence(make: Builder) -> None:
    """法定传染病报告发病率 = cases reported in the period (deleted out), by the patient's village ÷
    records on file at the middle of the period (June for a year, August for 2025Q3) × 100,000.

    Village A: A1–A4 created 2020 · A5 created 2025-07-10 · A6 moved out 2025-07-20.
      Cases: 2025-02-10, 2025-08-05, 2025-08-06 deleted.
      2025 (mid: end of June): A1–A4, A6 = 5; cases 2 → 40,000 · 2025Q3 (mid: end of Aug): A1–A5 = 5;
      cases 1 → 20,000
    Village B: 2 records; a case 2025-09-15 → 1/2 → 50,000 in both. T1: 2025 3/7 → 42,857.14 ·
      Q3 2/7 → 28,571.43. Village C: 1 record, no case → 0 (stored: the denominator is 1).
    County: 2025 3/8 → 37,500 · Q3 2/8 → 25,000.
    """
    b = make
    for _ in range(4):
        b.resident(b.a)
    b.resident(b.a, created=d(2025, 7, 10))
    b.resident(b.a, status="moved_out", status_date=d(2025, 7, 20))
    b.resident(b.b)
    b.resident(b.b)
    b.resident(b.c)
    export_facts()
    hospital, village_a, village_b = (COUNTY, None, None), (COUNTY, T1, A), (COUNTY, T1, B)
    write_fact("cases", 202501, [
        _case(d(2025, 2, 10), on_time=True, institution=hospital, residence=village_a),
        _case(d(2025, 8, 5), on_time=True, institution=hospital, residence=village_a),
        _case(d(2025, 8, 6), on_time=True, institution=hospital, residence=village_a, status="deleted"),
        _case(d(2025, 9, 15), on_time=False, institution=hospital, residence=village_b),
    ])
    check("notifiable_incidence", {
        ("2025", A): (2, 5, 40000.0), ("2025", B): (1, 2, 50000.0), ("2025", T1): (3, 7, 3 / 7 * 100000),
        ("2025", C): (0, 1, 0.0), ("2025", T2): (0, 1, 0.0), ("2025", COUNTY): (3, 8, 37500.0),
        ("2025Q3", A): (1, 5, 20000.0), ("2025Q3", B): (1, 2, 50000.0), ("2025Q3", T1): (2, 7, 2 / 7 * 100000),
        ("2025Q3", C): (0, 1, 0.0), ("2025Q3", T2): (0, 1, 0.0), ("2025Q3", COUNTY): (2, 8, 25000.0),
    }, export=False)


# ================================================================ 医疗服务


def test_in_county_rate(make: Builder) -> None:
    """县域内就诊率 = encounters inside the county ÷ all encounters, by the patient's village.

    Village A: R1 2025-03-05 clinic, 03-20 hospital, 05-02 out of county · R2 03-28 out of county.
    Village B: R3 2025-02-01 centre 1. Village C: R4 2025-06-10 inpatient at the hospital, 06-12 out.
      2025Q1: A 2/3 = 66.7%, B 1/1, T1 = county 3/4 = 75%
      2025Q2: A 0/1, T1 0/1, C 1/2 = 50%, T2 1/2, county 1/3 = 33.3%
      2025: A 2/4 = 50%, B 1/1, T1 3/5 = 60%, C 1/2, T2 1/2, county 4/7 = 57.1%
    """
    b = make
    r1, r2, r3, r4 = b.resident(b.a), b.resident(b.a), b.resident(b.b), b.resident(b.c)
    b.encounter(r1, d(2025, 3, 5))
    b.encounter(r1, d(2025, 3, 20), institution=b.hospital)
    b.encounter(r1, d(2025, 5, 2), in_county=False)
    b.encounter(r2, d(2025, 3, 28), in_county=False)
    b.encounter(r3, d(2025, 2, 1), institution=b.centre1)
    b.encounter(r4, d(2025, 6, 10), institution=b.hospital, kind="inpatient")
    b.encounter(r4, d(2025, 6, 12), in_county=False)
    check("in_county_rate", {
        ("2025Q1", A): (2, 3, pct(2, 3)), ("2025Q1", B): (1, 1, 100.0), ("2025Q1", T1): (3, 4, 75.0),
        ("2025Q1", COUNTY): (3, 4, 75.0),
        ("2025Q2", A): (0, 1, 0.0), ("2025Q2", T1): (0, 1, 0.0), ("2025Q2", C): (1, 2, 50.0),
        ("2025Q2", T2): (1, 2, 50.0), ("2025Q2", COUNTY): (1, 3, pct(1, 3)),
        ("2025", A): (2, 4, 50.0), ("2025", B): (1, 1, 100.0), ("2025", T1): (3, 5, 60.0), ("2025", C): (1, 2, 50.0),
        ("2025", T2): (1, 2, 50.0), ("2025", COUNTY): (4, 7, pct(4, 7)),
    })


def test_primary_share(make: Builder) -> None:
    """基层诊疗量占比 = outpatient/emergency visits at township and village institutions ÷ all
    outpatient/emergency visits in the county, by institution (one patient from village D throughout).

    Hospital: outpatient 2025-01-10, 02-10; inpatient 02-12 (not a visit). Centre 1: outpatient 02-15,
    emergency 03-01. Clinic A: outpatient 01-05, 02-20. Clinic C: outpatient 05-05. Out of county 02-01.
      2025Q1: A 2/2, T1 4/4 = 100%, county 4/6 = 66.7%
      202502: A 1/1, T1 2/2, county 2/3 = 66.7%
      2025: A 2/2, T1 4/4, C 1/1, T2 1/1, county 5/7 = 71.4%
    """
    b = make
    patient = b.resident(b.d)
    for day, institution, kind in ((d(2025, 1, 10), b.hospital, "outpatient"),
                                   (d(2025, 2, 10), b.hospital, "outpatient"),
                                   (d(2025, 2, 12), b.hospital, "inpatient"),
                                   (d(2025, 2, 15), b.centre1, "outpatient"),
                                   (d(2025, 3, 1), b.centre1, "emergency"),
                                   (d(2025, 1, 5), b.clinic(b.a), "outpatient"),
                                   (d(2025, 2, 20), b.clinic(b.a), "outpatient"),
                                   (d(2025, 5, 5), b.clinic(b.c), "outpatient")):
        b.encounter(patient, day, institution=institution, kind=kind)
    b.encounter(patient, d(2025, 2, 1), in_county=False)
    check("primary_share", {
        ("2025Q1", A): (2, 2, 100.0), ("2025Q1", T1): (4, 4, 100.0), ("2025Q1", COUNTY): (4, 6, pct(4, 6)),
        ("202502", A): (1, 1, 100.0), ("202502", T1): (2, 2, 100.0), ("202502", COUNTY): (2, 3, pct(2, 3)),
        ("2025", A): (2, 2, 100.0), ("2025", T1): (4, 4, 100.0), ("2025", C): (1, 1, 100.0),
        ("2025", T2): (1, 1, 100.0), ("2025", COUNTY): (5, 7, pct(5, 7)),
    })


def test_booking_rate(make: Builder) -> None:
    """预约诊疗率 = outpatient/emergency visits booked ahead ÷ outpatient/emergency visits, by institution.

    Hospital: booked 2025-01-10, not booked 01-11, an inpatient stay booked 01-12 (not a visit).
    Centre 1: emergency not booked 02-02, booked 03-03. Clinic A: booked 03-15. Clinic C: not booked 04-01.
      2025Q1: A 1/1, T1 2/3 = 66.7%, county 3/5 = 60% · 202501: county 1/2 = 50% (hospital only) ·
      2025: A 1/1, T1 2/3, C 0/1, T2 0/1, county 3/6 = 50%
    """
    b = make
    patient = b.resident(b.b)
    for day, institution, kind, booked in ((d(2025, 1, 10), b.hospital, "outpatient", True),
                                           (d(2025, 1, 11), b.hospital, "outpatient", False),
                                           (d(2025, 1, 12), b.hospital, "inpatient", True),
                                           (d(2025, 2, 2), b.centre1, "emergency", False),
                                           (d(2025, 3, 3), b.centre1, "outpatient", True),
                                           (d(2025, 3, 15), b.clinic(b.a), "outpatient", True),
                                           (d(2025, 4, 1), b.clinic(b.c), "outpatient", False)):
        b.encounter(patient, day, institution=institution, kind=kind, booked=booked)
    check("booking_rate", {
        ("2025Q1", A): (1, 1, 100.0), ("2025Q1", T1): (2, 3, pct(2, 3)), ("2025Q1", COUNTY): (3, 5, 60.0),
        ("202501", COUNTY): (1, 2, 50.0),
        ("2025", A): (1, 1, 100.0), ("2025", T1): (2, 3, pct(2, 3)), ("2025", C): (0, 1, 0.0),
        ("2025", T2): (0, 1, 0.0), ("2025", COUNTY): (3, 6, 50.0),
    })


def test_income(make: Builder) -> None:
    """业务收入 = the total cost of encounters at the county's institutions (yuan; no denominator).

    Hospital: 2025-01-10 1,200.50 · 02-01 inpatient 3,000.40. Centre 1: 01-20 80.25.
    Clinic A: 03-05 25.30 · 04-02 30.20. Out of county: 01-15 5,000.00 (not income).
      2025Q1: A 25.30 · T1 105.55 · county 4,306.45 · 202501: T1 80.25 · county 1,280.75 ·
      2025: A 55.50 · T1 135.75 · county 4,336.65
    (Amounts with cents: see test_refresh.test_whole_yuan_amounts_export on SQLite.)
    """
    b = make
    patient = b.resident(b.c)
    for day, institution, cost, kind in ((d(2025, 1, 10), b.hospital, "1200.50", "outpatient"),
                                         (d(2025, 2, 1), b.hospital, "3000.40", "inpatient"),
                                         (d(2025, 1, 20), b.centre1, "80.25", "outpatient"),
                                         (d(2025, 3, 5), b.clinic(b.a), "25.30", "outpatient"),
                                         (d(2025, 4, 2), b.clinic(b.a), "30.20", "outpatient")):
        b.encounter(patient, day, institution=institution, cost=cost, kind=kind)
    b.encounter(patient, d(2025, 1, 15), in_county=False, cost="5000.00")
    check("income", {
        ("2025Q1", A): (25.3, None, 25.3), ("2025Q1", T1): (105.55, None, 105.55),
        ("2025Q1", COUNTY): (4306.45, None, 4306.45),
        ("202501", T1): (80.25, None, 80.25), ("202501", COUNTY): (1280.75, None, 1280.75),
        ("2025", A): (55.5, None, 55.5), ("2025", T1): (135.75, None, 135.75),
        ("2025", COUNTY): (4336.65, None, 4336.65),
    })


def test_income_growth(make: Builder) -> None:
    """业务收入同比增长率 = (income − income of the same period a year earlier) ÷ that × 100.

    Hospital: 2024-03-10 1,000.40 · 2025-03-12 1,200.48. Clinic A: 2024-02-01 200.80 · 2025-02-01 150.60.
    Centre 2: 2025-01-15 300.30 (nothing a year earlier). Clinic C: 2024-01-20 100.10 (nothing in 2025).
      2025Q1 vs 2024Q1: A (150.60 − 200.80)/200.80 = −25% · T1 −25% · C (0 − 100.10)/100.10 = −100% ·
        T2 (300.30 − 100.10)/100.10 = +200% ·
        county (1,651.38 − 1,301.30)/1,301.30 = 350.08/1,301.30 = +26.90%
      202503 vs 202403: county (1,200.48 − 1,000.40)/1,000.40 = +20% (nothing else in March)
    The denominator stored is last year's income.
    """
    b = make
    patient = b.resident(b.b)
    for day, institution, cost in ((d(2024, 3, 10), b.hospital, "1000.40"), (d(2025, 3, 12), b.hospital, "1200.48"),
                                   (d(2024, 2, 1), b.clinic(b.a), "200.80"), (d(2025, 2, 1), b.clinic(b.a), "150.60"),
                                   (d(2025, 1, 15), b.centre2, "300.30"), (d(2024, 1, 20), b.clinic(b.c), "100.10")):
        b.encounter(patient, day, institution=institution, cost=cost)
    check("income_growth", {
        ("2025Q1", A): (150.6, 200.8, -25.0), ("2025Q1", T1): (150.6, 200.8, -25.0),
        ("2025Q1", C): (0, 100.1, -100.0), ("2025Q1", T2): (300.3, 100.1, 200.0),
        ("2025Q1", COUNTY): (1651.38, 1301.3, 350.08 / 1301.3 * 100),
        ("202503", COUNTY): (1200.48, 1000.4, 20.0),
    })


# ================================================================ 双向转诊


def test_referrals_up_and_down(make: Builder) -> None:
    """上转人次 / 下转人次 = referrals requested in the period, rejected and cancelled ones out, by the
    patient's village (counts: no denominator).

    Village A: up 2025-05-10 completed ✓, 05-20 rejected ✗, 06-02 cancelled ✗, 06-15 requested ✓;
      down 06-20 requested ✓, 06-21 cancelled ✗.
    Village B: up 2025-04-01 accepted ✓; down 05-05 completed ✓. Village C: up 2025-07-01 arrived ✓;
      down 08-09 accepted ✓.
      up — 2025Q2: A 2, B 1, T1 3, county 3 · 202505: A 1, T1 1, county 1 · 2025: A 2, B 1, T1 3, C 1, T2 1, county 4
      down — 2025Q2: A 1, B 1, T1 2, county 2 · 202505: B 1, T1 1, county 1 · 2025: A 1, B 1, T1 2, C 1, T2 1, county 3
    """
    b = make
    ra, rb, rc = b.resident(b.a), b.resident(b.b), b.resident(b.c)
    for resident, day, direction, status in (
            (ra, d(2025, 5, 10), "up", "completed"), (ra, d(2025, 5, 20), "up", "rejected"),
            (ra, d(2025, 6, 2), "up", "cancelled"), (ra, d(2025, 6, 15), "up", "requested"),
            (ra, d(2025, 6, 20), "down", "requested"), (ra, d(2025, 6, 21), "down", "cancelled"),
            (rb, d(2025, 4, 1), "up", "accepted"), (rb, d(2025, 5, 5), "down", "completed"),
            (rc, d(2025, 7, 1), "up", "arrived"), (rc, d(2025, 8, 9), "down", "accepted")):
        b.referral(resident, day, direction=direction, status=status)

    def counts(rows: dict[tuple[str, str], int]) -> Expected:
        return {key: (n, None, float(n)) for key, n in rows.items()}

    check("referrals_up", counts({
        ("2025Q2", A): 2, ("2025Q2", B): 1, ("2025Q2", T1): 3, ("2025Q2", COUNTY): 3,
        ("202505", A): 1, ("202505", T1): 1, ("202505", COUNTY): 1,
        ("2025", A): 2, ("2025", B): 1, ("2025", T1): 3, ("2025", C): 1, ("2025", T2): 1, ("2025", COUNTY): 4,
    }))
    check("referrals_down", counts({
        ("2025Q2", A): 1, ("2025Q2", B): 1, ("2025Q2", T1): 2, ("2025Q2", COUNTY): 2,
        ("202505", B): 1, ("202505", T1): 1, ("202505", COUNTY): 1,
        ("2025", A): 1, ("2025", B): 1, ("2025", T1): 2, ("2025", C): 1, ("2025", T2): 1, ("2025", COUNTY): 3,
    }), export=False)


# ================================================================ 卫生资源 (per 1,000 population)


def _populations(b: Builder) -> None:
    """常住人口 2025: A 2,000 · B 3,000 · C 4,000 · D 1,000 → in thousands: T1 5, T2 5, county 10."""
    for village, number in ((b.a, 2000), (b.b, 3000), (b.c, 4000), (b.d, 1000)):
        b.population(village, 2025, number)


def test_beds_per_1000(make: Builder) -> None:
    """每千人口床位数 = beds of the area's institutions at the end ÷ (population ÷ 1,000).

    Beds: hospital 200 (county only) · centre 1 40 · centre 2 30 · clinic A 2 (and a consult room, not
    a bed) · a second clinic in village B opened 2025-07-01 with 5 beds.
      2025 (end Dec): county 277/10 = 27.7 · T1 47/5 = 9.4 · T2 30/5 = 6.0 · A 2/2 = 1.0 ·
        B 5/3 = 1.67 · C 0/4 = 0 · D 0/1 = 0
      2025Q1 (end Mar, the new clinic not open): county 272/10 = 27.2 · T1 42/5 = 8.4 · T2 6.0 ·
        A 1.0 · B 0/3 = 0 · C 0 · D 0
    """
    b = make
    _populations(b)
    new_clinic = cast(Institution, InstitutionFactory(code="VNEW", name="新村卫生室",
                                                      type=InstitutionType.VILLAGE_CLINIC, division=b.b,
                                                      parent=b.centre1, valid_from=d(2025, 7, 1)))
    for institution, beds in ((b.hospital, 200), (b.centre1, 40), (b.centre2, 30), (b.clinic(b.a), 2),
                              (new_clinic, 5)):
        b.beds(institution, beds)
    b.clinic(b.a).capacities.create(kind="consult_room", quantity=1)
    check("beds_per_1000", {
        ("2025", COUNTY): (277, 10.0, 27.7), ("2025", T1): (47, 5.0, 9.4), ("2025", T2): (30, 5.0, 6.0),
        ("2025", A): (2, 2.0, 1.0), ("2025", B): (5, 3.0, 5 / 3), ("2025", C): (0, 4.0, 0.0),
        ("2025", D): (0, 1.0, 0.0),
        ("2025Q1", COUNTY): (272, 10.0, 27.2), ("2025Q1", T1): (42, 5.0, 8.4), ("2025Q1", T2): (30, 5.0, 6.0),
        ("2025Q1", A): (2, 2.0, 1.0), ("2025Q1", B): (0, 3.0, 0.0), ("2025Q1", C): (0, 4.0, 0.0),
        ("2025Q1", D): (0, 1.0, 0.0),
    })


def test_tech_and_doctors_per_1000(make: Builder) -> None:
    """每千人口卫生技术人员数 (physician, assistant physician, nurse, GP — a village doctor is not one) and
    每千人口执业（助理）医师数 (physician, assistant physician, GP): distinct staff with a valid
    qualification at the end ÷ (population ÷ 1,000), by the staff's institution.

    Hospital: S1 physician + GP (one person) · S2 nurse · S3 physician, no longer at post (not counted) ·
      S4 nurse until 2025-06-30. Centre 1: S5 assistant physician · S6 nurse from 2025-10-01.
    Clinic A: S7 village doctor · S8 GP. Clinic C: S9 physician until 2025-05-31.
      tech 2025Q1 (end Mar): hospital S1, S2, S4 + S5 + S8 + S9 → county 6/10 = 0.6 · T1 (S5, S8) 2/5 = 0.4 ·
        T2 (S9) 1/5 = 0.2 · A 1/2 = 0.5 · C 1/4 = 0.25 · B 0/3 · D 0/1
      tech 2025 (end Dec): S1, S2 + S5, S6 + S8 → county 5/10 = 0.5 · T1 3/5 = 0.6 · T2 0/5 · A 0.5 · C 0
      doctors 2025Q1: S1 + S5 + S8 + S9 → county 4/10 = 0.4 · T1 2/5 = 0.4 · T2 0.2 · A 0.5 · C 0.25
      doctors 2025: S1 + S5 + S8 → county 3/10 = 0.3 · T1 0.4 · T2 0 · A 0.5 · C 0
    """
    b = make
    _populations(b)
    s1 = b.qualification(b.hospital, "physician").staff
    b.qualification(b.hospital, "gp", staff=s1)
    b.qualification(b.hospital, "nurse")
    b.qualification(b.hospital, "physician", active=False)
    b.qualification(b.hospital, "nurse", valid_to=d(2025, 6, 30))
    b.qualification(b.centre1, "assistant_physician")
    b.qualification(b.centre1, "nurse", valid_from=d(2025, 10, 1))
    b.qualification(b.clinic(b.a), "village_doctor")
    b.qualification(b.clinic(b.a), "gp")
    b.qualification(b.clinic(b.c), "physician", valid_to=d(2025, 5, 31))
    zero = {(p, org): (0, den, 0.0) for p in ("2025Q1", "2025") for org, den in ((B, 3.0), (D, 1.0))}
    check("tech_per_1000", {
        **zero,
        ("2025Q1", COUNTY): (6, 10.0, 0.6), ("2025Q1", T1): (2, 5.0, 0.4), ("2025Q1", T2): (1, 5.0, 0.2),
        ("2025Q1", A): (1, 2.0, 0.5), ("2025Q1", C): (1, 4.0, 0.25),
        ("2025", COUNTY): (5, 10.0, 0.5), ("2025", T1): (3, 5.0, 0.6), ("2025", T2): (0, 5.0, 0.0),
        ("2025", A): (1, 2.0, 0.5), ("2025", C): (0, 4.0, 0.0),
    })
    check("doctors_per_1000", {
        **zero,
        ("2025Q1", COUNTY): (4, 10.0, 0.4), ("2025Q1", T1): (2, 5.0, 0.4), ("2025Q1", T2): (1, 5.0, 0.2),
        ("2025Q1", A): (1, 2.0, 0.5), ("2025Q1", C): (1, 4.0, 0.25),
        ("2025", COUNTY): (3, 10.0, 0.3), ("2025", T1): (2, 5.0, 0.4), ("2025", T2): (0, 5.0, 0.0),
        ("2025", A): (1, 2.0, 0.5), ("2025", C): (0, 4.0, 0.0),
    }, export=False)


# ================================================================ 结果互认


def test_recognition_items_rate_and_saved(make: Builder) -> None:
    """检查检验结果互认 by the ordering institution: items (recognised orders), rate (recognised ÷ orders
    not cancelled × 100) and the fees saved (yuan). One patient from village D.

    Hospital: 2025-01-10 recognised 50.40 · 01-20 done · 02-05 cancelled.
    Centre 1: 02-10 recognised 30.30 · 03-01 recognised 12.50 · 03-02 ordered.
    Clinic A: 03-10 done · 03-11 done. Centre 2: 04-15 recognised 20.20.
      items — 2025Q1: T1 2, county 3 (A has none: not stored) · 202502: T1 1, county 1 · 2025: T1 2, T2 1, county 4
      rate — 2025Q1: A 0/2, T1 2/5 = 40%, county 3/7 = 42.9% · 202502 (hospital's order cancelled):
        T1 1/1, county 1/1 · 2025: A 0/2, T1 2/5, T2 1/1, county 4/8 = 50%
      saved — 2025Q1: T1 42.80, county 93.20 · 202502: T1 30.30, county 30.30 · 2025: T1 42.80,
        T2 20.20, county 113.40
    """
    b = make
    patient = b.resident(b.d)
    for day, institution, status, saved in ((d(2025, 1, 10), b.hospital, "recognised", "50.40"),
                                            (d(2025, 1, 20), b.hospital, "done", "0"),
                                            (d(2025, 2, 5), b.hospital, "cancelled", "0"),
                                            (d(2025, 2, 10), b.centre1, "recognised", "30.30"),
                                            (d(2025, 3, 1), b.centre1, "recognised", "12.50"),
                                            (d(2025, 3, 2), b.centre1, "ordered", "0"),
                                            (d(2025, 3, 10), b.clinic(b.a), "done", "0"),
                                            (d(2025, 3, 11), b.clinic(b.a), "done", "0"),
                                            (d(2025, 4, 15), b.centre2, "recognised", "20.20")):
        b.order(patient, day, institution=institution, status=status, saved=saved)
    check("recognition_items", {
        ("2025Q1", T1): (2, None, 2.0), ("2025Q1", COUNTY): (3, None, 3.0),
        ("202502", T1): (1, None, 1.0), ("202502", COUNTY): (1, None, 1.0),
        ("2025", T1): (2, None, 2.0), ("2025", T2): (1, None, 1.0), ("2025", COUNTY): (4, None, 4.0),
    })
    check("recognition_rate", {
        ("2025Q1", A): (0, 2, 0.0), ("2025Q1", T1): (2, 5, 40.0), ("2025Q1", COUNTY): (3, 7, pct(3, 7)),
        ("202502", T1): (1, 1, 100.0), ("202502", COUNTY): (1, 1, 100.0),
        ("2025", A): (0, 2, 0.0), ("2025", T1): (2, 5, 40.0), ("2025", T2): (1, 1, 100.0),
        ("2025", COUNTY): (4, 8, 50.0),
    }, export=False)
    check("recognition_saved", {
        ("2025Q1", T1): (42.8, None, 42.8), ("2025Q1", COUNTY): (93.2, None, 93.2),
        ("202502", T1): (30.3, None, 30.3), ("202502", COUNTY): (30.3, None, 30.3),
        ("2025", T1): (42.8, None, 42.8), ("2025", T2): (20.2, None, 20.2), ("2025", COUNTY): (113.4, None, 113.4),
    }, export=False)


# ================================================================ 医保 (the coverage fact written by hand)


def test_insurance_coverage(make: Builder) -> None:
    """参保率 = residents enrolled (paid) for the year ÷ residents eligible for the year (year only).

    2025: A 3 eligible, 2 enrolled · B 1 of 1 · C 0 of 2. 2024: A 2 of 2 (must not leak into 2025).
      2025: A 2/3 = 66.7% · B 1/1 · T1 3/4 = 75% · C 0/2 · T2 0/2 · county 3/6 = 50%
      2024: A = T1 = county 2/2 = 100%
    """
    export_facts()
    village = {A: (COUNTY, T1, A), B: (COUNTY, T1, B), C: (COUNTY, T2, C)}

    def row(year: int, code: str, enrolled: bool) -> dict[str, Any]:
        county_, township, village_ = village[code]
        return {"year": year, "enrolled": enrolled, "valid_from": d(year, 1, 1), "valid_to": d(year + 1, 1, 1),
                "county": county_, "township": township, "village": village_}

    write_fact("coverage", 202501, [row(2025, A, True), row(2025, A, True), row(2025, A, False), row(2025, B, True),
                                    row(2025, C, False), row(2025, C, False)])
    write_fact("coverage", 202401, [row(2024, A, True), row(2024, A, True)])
    check("insurance_coverage", {
        ("2025", A): (2, 3, pct(2, 3)), ("2025", B): (1, 1, 100.0), ("2025", T1): (3, 4, 75.0),
        ("2025", C): (0, 2, 0.0), ("2025", T2): (0, 2, 0.0), ("2025", COUNTY): (3, 6, 50.0),
        ("2024", A): (2, 2, 100.0), ("2024", T1): (2, 2, 100.0), ("2024", COUNTY): (2, 2, 100.0),
    }, export=False)


# ================================================================ the catalogue is covered


TESTED = {
    "record_rate", "record_use_rate", "htn_mgmt_rate", "htn_standard_rate", "htn_control_rate", "dm_mgmt_rate",
    "dm_standard_rate", "dm_control_rate", "elderly_mgmt_rate", "newborn_visit_rate", "child_mgmt_rate",
    "child_system_rate", "early_booking_rate", "postpartum_visit_rate", "maternal_system_rate", "imm_rate",
    "imm_rate_hepb_1", "imm_rate_mmr_1", "imm_rate_je_i_2", "imm_rate_je_l_1", "notifiable_timeliness",
    "notifiable_incidence", "in_county_rate", "primary_share", "booking_rate", "income", "income_growth",
    "referrals_up", "referrals_down", "beds_per_1000", "tech_per_1000", "doctors_per_1000", "recognition_items",
    "recognition_rate", "recognition_saved", "insurance_coverage",
}


def test_every_indicator_of_the_catalogue_has_a_hand_worked_test() -> None:
    """A new indicator in the fixture must come with its test here (the per-dose rates share one shape,
    see :func:`test_every_dose_has_an_indicator`)."""
    untested = {code for code in catalogue() if not code.startswith("imm_rate_")} - TESTED
    assert not untested, f"indicators without a hand-worked test: {sorted(untested)}"
    assert TESTED <= set(catalogue())
