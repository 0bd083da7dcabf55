"""Table tests from 国家免疫规划疫苗儿童免疫程序（2021年版）: recommended ages, intervals, catch-up."""

from __future__ import annotations

import datetime as dt

import pytest

from yigongti.programmes.engine import (
    BEFORE_MIN_AGE,
    INTERVAL_TOO_SHORT,
    VariantInvalid,
    fixture_specs,
    plan,
)
from yigongti.programmes.engine.types import PlanRow, Service

SPEC = fixture_specs()["immunisation"]
BIRTH = dt.date(2024, 1, 15)
D = dt.timedelta(days=1)


def age(*, years: int = 0, months: int = 0, days: int = 0) -> dt.date:
    index = BIRTH.year * 12 + BIRTH.month - 1 + years * 12 + months
    return dt.date(index // 12, index % 12 + 1, BIRTH.day) + days * D


COMMON = {
    "HepB-1": age(), "HepB-2": age(months=1), "HepB-3": age(months=6),
    "BCG-1": age(),
    "IPV-1": age(months=2), "IPV-2": age(months=3), "bOPV-1": age(months=4), "bOPV-2": age(years=4),
    "DTaP-1": age(months=3), "DTaP-2": age(months=4), "DTaP-3": age(months=5), "DTaP-4": age(months=18),
    "DT-1": age(years=6),
    "MMR-1": age(months=8), "MMR-2": age(months=18),
    "MPSV-A-1": age(months=6), "MPSV-A-2": age(months=9),
    "MPSV-AC-1": age(years=3), "MPSV-AC-2": age(years=6),
}
VARIANTS = {
    ("JE-L", "HepA-L"): {"JE-L-1": age(months=8), "JE-L-2": age(years=2), "HepA-L-1": age(months=18)},
    ("JE-I", "HepA-I"): {"JE-I-1": age(months=8), "JE-I-2": age(months=8, days=7), "JE-I-3": age(years=2),
                         "JE-I-4": age(years=6), "HepA-I-1": age(months=18), "HepA-I-2": age(years=2)},
}


def on_time_history(dues: dict[str, dt.date]) -> list[Service]:
    return [Service(item, day) for item, day in dues.items()]


@pytest.mark.parametrize(("je", "hepa"), list(VARIANTS))
def test_recommended_ages(je: str, hepa: str) -> None:
    expected = {**COMMON, **VARIANTS[(je, hepa)]}
    rows = plan(SPEC, anchor=BIRTH, history=[], as_of=BIRTH - D, variant={"JE": je, "HepA": hepa})
    assert {r.item: r.due for r in rows} == expected
    assert all(r.status == "not-yet" for r in rows)
    hepb1 = next(r for r in rows if r.item == "HepB-1")
    assert hepb1.window_end == BIRTH + D  # 出生24小时内


@pytest.mark.parametrize(("je", "hepa"), list(VARIANTS))
def test_all_given_on_time_all_done_without_flags(je: str, hepa: str) -> None:
    expected = {**COMMON, **VARIANTS[(je, hepa)]}
    rows = plan(SPEC, anchor=BIRTH, history=on_time_history(expected), as_of=age(years=7))
    assert {r.item: (r.status, r.done_on, r.flags, r.catch_up) for r in rows} == {
        item: ("done", day, (), False) for item, day in expected.items()}


def test_variant_inferred_from_history_and_default_live() -> None:
    default = {r.item for r in plan(SPEC, anchor=BIRTH, history=[], as_of=BIRTH)}
    assert {"JE-L-1", "JE-L-2", "HepA-L-1"} <= default and not any(i.startswith(("JE-I", "HepA-I")) for i in default)
    rows = plan(SPEC, anchor=BIRTH, history=[Service("JE-I-1", age(months=8))], as_of=age(months=9))
    assert {"JE-I-2", "JE-I-3", "JE-I-4"} <= {r.item for r in rows}


def test_unknown_variant_refused() -> None:
    with pytest.raises(VariantInvalid):
        plan(SPEC, anchor=BIRTH, history=[], as_of=BIRTH, variant={"JE": "JE-X"})
    with pytest.raises(VariantInvalid):
        plan(SPEC, anchor=BIRTH, history=[], as_of=BIRTH, variant={"Flu": "yes"})


@pytest.mark.parametrize(("item", "previous", "gap_days"), [
    ("HepB-2", "HepB-1", 28), ("HepB-3", "HepB-2", 60), ("IPV-2", "IPV-1", 28), ("bOPV-1", "IPV-2", 28),
    ("DTaP-2", "DTaP-1", 28), ("DTaP-3", "DTaP-2", 28), ("MMR-2", "MMR-1", 28),
])
def test_minimum_intervals_in_days(item: str, previous: str, gap_days: int) -> None:
    """A late previous dose pushes the next one to previous + minimum interval (catch-up)."""
    late = COMMON[item] + 10 * D  # the previous dose given late, 10 days after the next one's age
    rows = plan(SPEC, anchor=BIRTH, history=[Service(previous, late)], as_of=late)
    row = next(r for r in rows if r.item == item)
    assert row.due == late + gap_days * D


def test_dtap4_six_months_after_dtap3() -> None:
    dtap3 = age(months=14)
    rows = plan(SPEC, anchor=BIRTH, history=[Service("DTaP-3", dtap3)], as_of=dtap3)
    assert next(r for r in rows if r.item == "DTaP-4").due == age(months=20)


def test_dose_before_min_age_or_interval_is_flagged() -> None:
    history = [Service("IPV-1", age(months=1)), Service("IPV-2", age(months=1, days=20))]
    rows = {r.item: r for r in plan(SPEC, anchor=BIRTH, history=history, as_of=age(months=2))}
    assert rows["IPV-1"].status == "done" and BEFORE_MIN_AGE in rows["IPV-1"].flags
    assert INTERVAL_TOO_SHORT in rows["IPV-2"].flags


def by_item(rows: list[PlanRow]) -> dict[str, PlanRow]:
    return {r.item: r for r in rows}


def test_catch_up_example_first_seen_at_10_months() -> None:
    """A child with no dose seen at 10 months: missed doses are catch-up, the next ones move."""
    as_of = age(months=10)
    rows = by_item(plan(SPEC, anchor=BIRTH, history=[], as_of=as_of))
    assert rows["HepB-1"].status == "catch-up"
    assert rows["MMR-1"].status == "catch-up"
    # HepB-2 can be given at the earliest 28 days after HepB-1, which cannot be before today
    assert rows["HepB-2"].due == as_of + 28 * D and rows["HepB-2"].catch_up
    assert rows["HepB-3"].due == as_of + 88 * D
    assert rows["DTaP-4"].due == age(months=18)  # far enough away: stays at its age


def test_catch_up_limit_bcg_after_4_years() -> None:
    rows = by_item(plan(SPEC, anchor=BIRTH, history=[], as_of=age(years=3, months=11)))
    assert rows["BCG-1"].status == "catch-up"
    rows = by_item(plan(SPEC, anchor=BIRTH, history=[], as_of=age(years=4)))
    assert rows["BCG-1"].status == "overdue"
    assert rows["MPSV-A-1"].status == "overdue"  # A群流脑 only under 24 months
    assert rows["MMR-1"].status == "catch-up"


def test_statuses_around_a_window() -> None:
    ipv1 = COMMON["IPV-1"]
    assert by_item(plan(SPEC, anchor=BIRTH, history=[], as_of=ipv1 - D))["IPV-1"].status == "not-yet"
    assert by_item(plan(SPEC, anchor=BIRTH, history=[], as_of=ipv1))["IPV-1"].status == "due"
    row = by_item(plan(SPEC, anchor=BIRTH, history=[], as_of=ipv1 + 30 * D))["IPV-1"]
    assert row.status == "due" and row.window_end == ipv1 + 30 * D
    assert by_item(plan(SPEC, anchor=BIRTH, history=[], as_of=ipv1 + 31 * D))["IPV-1"].status == "catch-up"
