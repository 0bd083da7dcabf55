"""Property tests of the plan engine (hypothesis): ages, windows, statuses, catch-up, re-planning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yigongti.programmes.engine import BEFORE_MIN_AGE, classify, fixture_specs, plan, spec_from_document, still_to_do
from yigongti.programmes.engine.compiled import Offset
from yigongti.programmes.engine.spec import SpecInvalid
from yigongti.programmes.engine.types import PlanRow, Service

SPECS = fixture_specs()
DAY = dt.timedelta(days=1)
dates = st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2030, 12, 31))
offsets = st.integers(min_value=0, max_value=7 * 365)


def months_after(day: dt.date, months: int) -> dt.date:
    return Offset(months=months).after(day)


def check_statuses(rows: list[PlanRow], as_of: dt.date) -> None:
    for row in rows:
        assert row.window_start <= row.due <= row.window_end, row
        if row.status == "done":
            assert row.done_on is not None
        elif row.status == "not-yet":
            assert as_of < row.window_start, row
        elif row.status == "due":
            assert row.window_start <= as_of <= row.window_end, row
        else:
            assert row.status in ("overdue", "catch-up") and as_of > row.window_end, row
    assert [r.due for r in rows] == sorted(r.due for r in rows)


# ---------------------------------------------------------------- child health


CHILD_AGES = {"child-3m": 3, "child-6m": 6, "child-8m": 8, "child-12m": 12, "child-18m": 18, "child-24m": 24,
              "child-30m": 30, "child-36m": 36, "child-4y": 48, "child-5y": 60, "child-6y": 72}


@given(birth=dates, after=offsets)
def test_child_visits_at_their_ages(birth: dt.date, after: int) -> None:
    as_of = birth + after * DAY
    rows = plan(SPECS["child"], anchor=birth, history=[], as_of=as_of)
    by_item = {r.item: r for r in rows}
    check_statuses(rows, as_of)
    assert set(by_item) == {"newborn", "child-1m", *CHILD_AGES}  # under 7: nothing dropped
    for item, months in CHILD_AGES.items():
        assert by_item[item].due == months_after(birth, months)
    # 满月 at 28–30 days; newborn visit within 7 days
    assert (by_item["child-1m"].window_start, by_item["child-1m"].window_end) == (birth + 28 * DAY, birth + 30 * DAY)
    assert by_item["newborn"].window_end == birth + 7 * DAY


@given(birth=dates, after=offsets)
def test_tcm_child_visits_and_yearly_constitution(birth: dt.date, after: int) -> None:
    as_of = birth + after * DAY
    rows = plan(SPECS["tcm"], anchor=birth, history=[], as_of=as_of)
    check_statuses(rows, as_of)
    for months in (6, 12, 18, 24, 30, 36):
        assert [r.due for r in rows if r.item == f"tcm-{months}m"] == [months_after(birth, months)]
    assert not [r for r in rows if r.item == "constitution"]  # 65 is far away


@given(birth=st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(1960, 12, 31)), year=st.integers(2020, 2030))
def test_tcm_constitution_once_per_year_from_65(birth: dt.date, year: int) -> None:
    as_of = dt.date(year, 6, 30)
    done = [Service("constitution", dt.date(y, 3, 1)) for y in range(2015, year)]
    rows = plan(SPECS["tcm"], anchor=birth, history=done, as_of=as_of)
    check_statuses(rows, as_of)
    assert not [r for r in rows if r.item.startswith("tcm-")]  # dropped after 7
    constitution = [r for r in rows if r.item == "constitution"]
    years = [r.window_start.year for r in constitution]
    assert len(years) == len(set(years))
    assert all(r.window_start >= months_after(birth, 65 * 12) for r in constitution)


@given(lmp=dates, after=st.integers(0, 330))
def test_maternal_from_lmp(lmp: dt.date, after: int) -> None:
    as_of = lmp + after * DAY
    rows = plan(SPECS["maternal"], anchor=lmp, history=[], as_of=as_of)
    check_statuses(rows, as_of)
    by_item = {r.item: r for r in rows}
    week = 7 * DAY
    assert by_item["antenatal-1"].window_end < lmp + 13 * week
    assert by_item["antenatal-2"].window_start == lmp + 16 * week
    assert by_item["antenatal-3"].window_start == lmp + 21 * week
    assert by_item["antenatal-4"].window_start == lmp + 28 * week
    assert by_item["antenatal-5"].window_start == lmp + 37 * week
    assert by_item["postpartum-42"].due == lmp + 280 * DAY + 42 * DAY


def test_maternal_delivery_re_anchors_postpartum() -> None:
    lmp = dt.date(2025, 1, 1)
    delivery = dt.date(2025, 8, 20)  # early: 33 weeks
    rows = plan(SPECS["maternal"], anchor=lmp, history=[Service("delivery", delivery)], as_of=dt.date(2025, 8, 21))
    by_item = {r.item: r for r in rows}
    assert by_item["postpartum-42"].due == delivery + 42 * DAY
    assert by_item["postpartum"].window_start == delivery
    assert "antenatal-5" not in by_item  # after the delivery, no antenatal check is due


# ---------------------------------------------------------------- immunisation


@given(birth=dates, after=offsets, je=st.sampled_from(["JE-L", "JE-I"]), hepa=st.sampled_from(["HepA-L", "HepA-I"]))
@settings(max_examples=150)
def test_immunisation_no_history_never_before_min_age(birth: dt.date, after: int, je: str, hepa: str) -> None:
    as_of = birth + after * DAY
    spec = SPECS["immunisation"]
    rows = plan(spec, anchor=birth, history=[], as_of=as_of, variant={"JE": je, "HepA": hepa})
    check_statuses(rows, as_of)
    doses = {d.item: d for d in spec.schedule.doses}  # type: ignore[union-attr]
    for row in rows:
        dose = doses[row.item]
        assert row.due >= dose.min_age.after(birth)
        assert row.due >= dose.at.after(birth)
        assert not row.item.startswith(("JE-", "HepA-")) or row.item.startswith((je + "-", hepa + "-"))
    # by series, each dose at least the minimum interval after the previous one's due
    last: dict[str, dt.date] = {}
    for dose in spec.schedule.doses:  # type: ignore[union-attr]
        row = next((r for r in rows if r.item == dose.item), None)
        if row is None:
            continue
        if dose.series in last and dose.min_interval is not None:
            assert row.due >= dose.min_interval.after(last[dose.series])
        last[dose.series] = max(row.due, as_of)


@given(birth=dates, given_after=st.lists(st.integers(0, 2000), min_size=1, max_size=12), after=offsets)
@settings(max_examples=150)
def test_immunisation_catch_up_respects_min_age_and_interval(birth: dt.date, given_after: list[int],
                                                             after: int) -> None:
    spec = SPECS["immunisation"]
    order = [d.item for d in spec.schedule.doses if d.option in ("", "JE-L", "HepA-L")]  # type: ignore[union-attr]
    history = [Service(order[i], birth + days * DAY) for i, days in enumerate(sorted(given_after)) if i < len(order)]
    as_of = birth + max(after, max(given_after)) * DAY
    rows = plan(spec, anchor=birth, history=history, as_of=as_of)
    check_statuses(rows, as_of)
    done = {r.item: r.done_on for r in rows if r.status == "done"}
    assert set(done) == {s.item for s in history}
    last: dict[str, dt.date] = {}
    for dose in spec.schedule.doses:  # type: ignore[union-attr]
        row = next((r for r in rows if r.item == dose.item), None)
        if row is None:
            continue
        if row.status != "done":
            assert row.due >= dose.min_age.after(birth)
            if dose.series in last and dose.min_interval is not None:
                assert row.due >= dose.min_interval.after(last[dose.series])
            if row.due > dose.window.around(dose.at.after(birth))[1]:
                assert row.catch_up
            last[dose.series] = max(row.due, as_of)
        else:
            assert row.done_on is not None
            if row.done_on < dose.min_age.after(birth):
                assert BEFORE_MIN_AGE in row.flags
            last[dose.series] = row.done_on


# ---------------------------------------------------------------- interval programmes: re-planning


BP = st.tuples(st.integers(90, 200), st.integers(50, 120))


@given(anchor=dates, visits=st.lists(st.tuples(st.integers(1, 120), BP), min_size=1, max_size=8),
       programme=st.sampled_from(["hypertension", "diabetes"]))
@settings(max_examples=150)
def test_followup_replanned_after_each_classification(anchor: dt.date, visits: list[tuple[int, tuple[int, int]]],
                                                      programme: str) -> None:
    spec = SPECS[programme]
    history: list[Service] = []
    previous: list[str] = []
    day = anchor
    for gap, (sbp, dbp) in visits:
        day = day + gap * DAY
        values: dict[str, object] = {"sbp": sbp, "dbp": dbp}
        if programme == "diabetes":
            values["fpg"] = Decimal(sbp) / 20  # 4.5 … 10 mmol/L
        history.append(Service("followup", day, values))  # type: ignore[arg-type]
        rows = plan(spec, anchor=anchor, history=history, as_of=day)
        pending = [r for r in rows if r.item == "followup" and r.status != "done"]
        result = classify(spec, item="followup", values=values, previous=previous)  # type: ignore[arg-type]
        assert result is not None
        danger = sbp >= 180 or dbp >= 110
        good = (sbp < 140 and dbp < 90) if programme == "hypertension" else values["fpg"] < Decimal("7.0")
        if danger or (not good and previous and previous[-1] in ("unsatisfactory", "refer")):
            assert result.code == "refer" and result.refer
            assert pending[0].due == day + 14 * DAY and pending[0].refer
        elif good:
            assert result.code == "satisfactory"
            assert pending[0].due == months_after(day, 3)
        else:
            assert result.code == "unsatisfactory"
            assert pending[0].due == day + 14 * DAY
        assert pending[0].window_start > day
        previous.append(result.code)


@given(anchor=dates, gap=st.integers(0, 900), horizon=st.integers(30, 800))
def test_missed_followup_is_one_overdue_row(anchor: dt.date, gap: int, horizon: int) -> None:
    as_of = anchor + gap * DAY
    rows = plan(SPECS["hypertension"], anchor=anchor, history=[], as_of=as_of, horizon_days=horizon)
    check_statuses(rows, as_of)
    followups = [r for r in rows if r.item == "followup"]
    assert len([r for r in followups if r.status == "overdue"]) <= 1
    assert followups[0].due == anchor
    for later in followups[1:]:
        assert later.due > max(anchor, as_of)
        assert later.due <= as_of + horizon * DAY
    checks = [r for r in rows if r.item == "check"]
    assert len({r.window_start.year for r in checks}) == len(checks)
    assert len([r for r in checks if r.status == "overdue"]) <= 1


@given(anchor=dates, risk=st.integers(0, 5), recovery=st.sampled_from(["full", "partial", "none"]))
def test_mental_classification(anchor: dt.date, risk: int, recovery: str) -> None:
    spec = SPECS["mental"]
    history = [Service("followup", anchor, {"risk_grade": risk, "recovery": recovery})]
    rows = plan(spec, anchor=anchor, history=history, as_of=anchor)
    nxt = next(r for r in rows if r.item == "followup" and r.status != "done")
    if risk >= 3 or recovery == "none":
        assert nxt.due == anchor + 14 * DAY and nxt.refer
    elif risk >= 1 or recovery == "partial":
        assert nxt.due == months_after(anchor, 1)
    else:
        assert nxt.due == months_after(anchor, 3)


def test_tb_phases() -> None:
    notice = dt.date(2025, 3, 1)
    rows = plan(SPECS["tb"], anchor=notice, history=[], as_of=notice, horizon_days=400)
    dues = [r.due for r in rows]
    assert rows[0].window_end == notice + 3 * DAY  # 72 hours
    assert dues[1] - dues[0] == 10 * DAY
    assert all(d <= months_after(notice, 6) for d in dues)
    late = [d for d in dues if d >= months_after(notice, 2)]
    assert len(late) >= 2 and all(months_after(a, 1) == b for a, b in pairwise(late[1:]))


def test_elderly_check_once_per_calendar_year() -> None:
    enrolled = dt.date(2023, 5, 10)
    history = [Service("check", dt.date(2023, 6, 1)), Service("check", dt.date(2023, 9, 1))]
    rows = plan(SPECS["elderly"], anchor=enrolled, history=history, as_of=dt.date(2026, 2, 1))
    # 2024 missed long ago drops out; 2025 missed stays overdue; 2027 opens within the horizon
    assert [(r.window_start.year, r.status) for r in rows] == [
        (2023, "done"), (2025, "overdue"), (2026, "due"), (2027, "not-yet")]
    assert rows[-2].due == dt.date(2026, 5, 10)
    # What stays to be done: 2025 cannot be made up now that 2026 is open
    assert [(r.window_start.year, r.status) for r in still_to_do(SPECS["elderly"], rows, as_of=dt.date(2026, 2, 1))] \
        == [(2026, "due"), (2027, "not-yet")]


def test_plan_is_deterministic_and_pure() -> None:
    spec = SPECS["immunisation"]
    args = {"anchor": dt.date(2024, 2, 29), "history": [Service("HepB-1", dt.date(2024, 3, 5))],
            "as_of": dt.date(2025, 1, 1)}
    assert plan(spec, **args) == plan(spec, **args)  # type: ignore[arg-type]


def test_spec_invalid_names_file_and_key() -> None:
    document = dict(SPECS["hypertension"].document)
    document["anchor"] = "moon"
    with pytest.raises(SpecInvalid) as error:
        spec_from_document(document, name="x.yaml")
    assert "x.yaml" in str(error.value) and "anchor" in str(error.value)
    document = dict(SPECS["hypertension"].document, colour="blue")
    with pytest.raises(SpecInvalid, match="colour"):
        spec_from_document(document, name="x.yaml")


def test_spec_round_trips_through_json_document() -> None:
    for spec in SPECS.values():
        again = spec_from_document(spec.document, name="db")
        assert again.schedule == spec.schedule and again.items == spec.items and again.fields == spec.fields


def test_fixture_specs_by_date() -> None:
    before_2021 = fixture_specs(dt.date(2019, 1, 1))
    assert "hypertension" in before_2021 and "immunisation" not in before_2021
    assert fixture_specs(dt.date(2016, 1, 1)) == {}
    assert fixture_specs(dt.date(2026, 1, 1)).keys() == SPECS.keys()


@given(birth=st.dates(dt.date(2018, 1, 1), dt.date(2026, 6, 1)), days=st.integers(0, 7 * 365),
       code=st.sampled_from(["child", "immunisation", "tcm"]))
def test_still_to_do_keeps_everything_that_can_still_be_done(birth: dt.date, days: int, code: str) -> None:
    as_of = birth + days * DAY
    rows = plan(SPECS[code], anchor=birth, history=[], as_of=as_of)
    kept = still_to_do(SPECS[code], rows, as_of=as_of)
    assert all(row in rows and row.status != "done" for row in kept)
    # what is due, to be caught up or not yet due is never dropped; only what is past making up
    assert [r for r in rows if r.status in ("due", "catch-up", "not-yet")] == [r for r in kept if r.status != "overdue"]
    # of an age schedule at most the latest missed visit stays, until the next one opens
    assert len([r for r in kept if r.status == "overdue" and r.item != "constitution"]) <= 1
