"""The early-warning methods (:mod:`yigongti.surveillance.methods`) against values worked out by hand
from their published definitions (DOMAIN.md §4; EARS as R's ``surveillance::earsC``: baseline 7,
a guard of 2 days for C2/C3, the sample standard deviation, ``z = qnorm(1 − alpha)`` with alpha
0.001 for C1/C2 and 0.025 for C3; CIDARS's moving percentile; CUSUM on the C2 standardisation).

Indices are 0-based. The normal quantiles used below: ``qnorm(0.999) = 3.090232``,
``qnorm(0.975) = 1.959964``. No database.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.surveillance.methods import SeriesTooShort, cusum, ears, evaluate, moving_percentile, z_of

Z_C1 = 3.090232  # qnorm(1 − 0.001)
Z_C3 = 1.959964  # qnorm(1 − 0.025)
BASELINE = [2, 4, 3, 5, 1, 3, 3]
# mean 21/7 = 3; deviations −1, 1, 0, 2, −2, 0, 0 → squares sum to 10; sample sd √(10/6) = 1.290994
BASELINE_MEAN, BASELINE_SD = 3.0, 1.290994


def test_the_thresholds_are_the_normal_quantiles_of_one_minus_alpha() -> None:
    assert z_of(0.001) == pytest.approx(Z_C1, abs=1e-6)
    assert z_of(0.025) == pytest.approx(Z_C3, abs=1e-6)
    with pytest.raises(ValueError):
        z_of(0)
    with pytest.raises(ValueError):
        z_of(1)


# ---------------------------------------------------------------- EARS C1


def test_c1_judges_day_7_against_the_seven_days_before_it() -> None:
    """x = 2 4 3 5 1 3 3 | 9. Baseline x0…x6: mean 3, sd 1.290994.
    upperbound = 3 + 3.090232 × 1.290994 = 3 + 3.989473 = 6.989473; 9 > 6.989473 → alarm."""
    result = ears([*BASELINE, 9], "c1")
    assert list(result.ready) == [False] * 7 + [True]
    assert result.expected[7] == pytest.approx(BASELINE_MEAN)
    assert result.upperbound[7] == pytest.approx(6.989473, abs=1e-5)
    assert result.alarm[7]
    assert all(math.isnan(v) for v in result.upperbound[:7]) and not result.alarm[:7].any()


def test_c1_does_not_alarm_at_or_under_the_upperbound() -> None:
    """Same baseline, x7 = 6 ≤ 6.989473: no alarm."""
    result = ears([*BASELINE, 6], "c1")
    assert result.ready[7] and not result.alarm[7]


# ---------------------------------------------------------------- EARS C2


def test_c2_skips_a_guard_of_two_days_and_judges_day_9_first() -> None:
    """x = 2 4 3 5 1 3 3 | 50 50 | 8. C2 at day 9 uses x0…x6 (the guard x7, x8 is left out):
    mean 3, sd 1.290994, upperbound 6.989473; 8 > 6.989473 → alarm.
    C1 at day 9 uses x2…x8 = 3 5 1 3 3 50 50 (mean 115/7 = 16.43) and does not alarm on 8."""
    series = [*BASELINE, 50, 50, 8]
    c2 = ears(series, "c2")
    assert list(c2.ready) == [False] * 9 + [True]
    assert c2.expected[9] == pytest.approx(BASELINE_MEAN)
    assert c2.upperbound[9] == pytest.approx(6.989473, abs=1e-5)
    assert c2.alarm[9]
    c1 = ears(series, "c1")
    assert c1.expected[9] == pytest.approx(115 / 7) and not c1.alarm[9]


# ---------------------------------------------------------------- EARS C3


C3_SERIES = [*BASELINE, 3, 3, 5, 6]  # then day 11


def test_c3_sums_the_c2_excess_of_three_days_and_judges_day_11_first() -> None:
    """x = 2 4 3 5 1 3 3 3 3 | 5 6 | x11, with C2 standardisation (guard 2) on each of days 9, 10, 11:
      day 9: baseline x0…x6 mean 3, sd 1.290994; C2 = (5 − 3)/1.290994 = 1.549193 → max(0, C2 − 1) = 0.549193
      day 10: baseline x1…x7 = 4 3 5 1 3 3 3: mean 22/7 = 3.142857, Σx² = 78, SS = 78 − 22²/7 = 8.857143,
              sd = √(8.857143/6) = 1.214986; C2 = (6 − 3.142857)/1.214986 = 2.351588 → 1.351588
      day 11: baseline x2…x8 = 3 5 1 3 3 3 3: mean 3, SS = 71 − 63 = 8, sd = √(8/6) = 1.154701
      earlier terms s = 0.549193 + 1.351588 = 1.900781 ≤ 1.959964 (no alarm without day 11's own term)
      upperbound = 3 + 1.154701 × (1 + 1.959964 − 1.900781) = 3 + 1.154701 × 1.059183 = 4.223040
      x11 = 4: C2 = 0.866025 → term 0 → C3 = 1.900781 ≤ 1.959964: no alarm
      x11 = 5: C2 = 1.732051 → term 0.732051 → C3 = 2.632832 > 1.959964: alarm."""
    quiet = ears([*C3_SERIES, 4], "c3")
    assert list(quiet.ready) == [False] * 11 + [True]
    assert quiet.expected[11] == pytest.approx(3.0)
    assert quiet.upperbound[11] == pytest.approx(4.223040, abs=1e-5)
    assert not quiet.alarm.any()
    loud = ears([*C3_SERIES, 5], "c3")
    assert loud.upperbound[11] == pytest.approx(4.223040, abs=1e-5)
    assert list(loud.alarm) == [False] * 11 + [True]


def test_c3_alarms_on_an_accumulation_that_c2_alone_lets_pass() -> None:
    """Day 11 = 5 of the C3 example: C2's own upperbound is 3 + 3.090232 × 1.154701 = 6.568293 > 5."""
    c2 = ears([*C3_SERIES, 5], "c2")
    assert c2.upperbound[11] == pytest.approx(6.568293, abs=1e-5)
    assert not c2.alarm[11]
    assert ears([*C3_SERIES, 5], "c3").alarm[11]


def test_alpha_changes_the_threshold() -> None:
    """alpha 0.05 → z = 1.644854: C1 upperbound 3 + 1.644854 × 1.290994 = 5.123497; 6 alarms."""
    result = ears([*BASELINE, 6], "c1", alpha=0.05)
    assert result.upperbound[7] == pytest.approx(5.123497, abs=1e-5)
    assert result.alarm[7]


# ---------------------------------------------------------------- sparse series, missing days


def test_a_flat_baseline_with_no_floor_alarms_on_any_rise_and_not_on_equal() -> None:
    """Baseline 2 2 2 2 2 2 2: mean 2, sd 0. With min_sigma 0 the upperbound is the mean, 2."""
    rise = ears([2] * 7 + [3], "c1")
    assert rise.upperbound[7] == 2.0 and rise.alarm[7]
    equal = ears([2] * 7 + [2], "c1")
    assert equal.upperbound[7] == 2.0 and equal.ready[7] and not equal.alarm[7]
    assert ears([0] * 9 + [1], "c2").alarm[9]


def test_a_floor_on_sigma_makes_the_bound_mean_plus_z_times_the_floor() -> None:
    """Flat baseline 2, min_sigma 0.5: upperbound 2 + 3.090232 × 0.5 = 3.545116; 3 passes, 4 alarms."""
    three = ears([2] * 7 + [3], "c1", min_sigma=0.5)
    assert three.upperbound[7] == pytest.approx(3.545116, abs=1e-5) and not three.alarm[7]
    assert ears([2] * 7 + [4], "c1", min_sigma=0.5).alarm[7]


def test_a_floor_below_the_baseline_sd_changes_nothing() -> None:
    """sd 1.290994 > 0.5: the floor does not apply."""
    assert ears([*BASELINE, 9], "c1", min_sigma=0.5).upperbound[7] == pytest.approx(6.989473, abs=1e-5)


def test_a_missing_day_is_left_out_of_the_baseline() -> None:
    """x = 2 — 4 3 5 1 3 3 9 (day 1 missing).
      day 7: baseline 2 4 3 5 1 3 (6 values): mean 3, Σx² = 64, SS = 64 − 54 = 10, sd = √(10/5) = 1.414214,
             upperbound 3 + 3.090232 × 1.414214 = 7.370248
      day 8: baseline 4 3 5 1 3 3: mean 19/6 = 3.166667, Σx² = 69, SS = 69 − 361/6 = 8.833333,
             sd = √(8.833333/5) = 1.329160, upperbound 3.166667 + 3.090232 × 1.329160 = 7.274080; 9 alarms."""
    result = ears([2, None, 4, 3, 5, 1, 3, 3, 9], "c1")
    assert result.ready[7] and result.ready[8]
    assert result.expected[7] == pytest.approx(3.0)
    assert result.upperbound[7] == pytest.approx(7.370248, abs=1e-5)
    assert result.expected[8] == pytest.approx(19 / 6)
    assert result.upperbound[8] == pytest.approx(7.274080, abs=1e-5)
    assert list(result.alarm) == [False] * 8 + [True]


def test_a_missing_day_is_not_judged_itself() -> None:
    result = ears([*BASELINE, None, 9], "c1")
    assert not result.ready[7] and not result.alarm[7] and math.isnan(result.upperbound[7])
    assert math.isnan(result.observed[7])
    # day 8's baseline x1…x7 leaves the missing day out: 4 3 5 1 3 3, mean 19/6
    assert result.ready[8] and result.expected[8] == pytest.approx(19 / 6)


def test_a_baseline_with_fewer_than_three_values_is_not_judged() -> None:
    """Day 7's baseline x0…x6 holds two values (1, 2): not judged, even with 50 on the day."""
    result = ears([None, None, None, None, None, 1, 2, 50], "c1")
    assert not result.ready.any() and not result.alarm.any()
    three = ears([None, None, None, None, 1, 1, 2, 50], "c1")  # three values: judged
    assert three.ready[7] and three.alarm[7]


@pytest.mark.parametrize(("method", "length"), [("c1", 7), ("c2", 9), ("c3", 11)])
def test_a_series_too_short_for_any_baseline_is_refused(method: str, length: int) -> None:
    with pytest.raises(SeriesTooShort) as caught:
        ears([1] * length, method)
    assert caught.value.needs == length and caught.value.length == length
    ears([1] * (length + 1), method)  # one more day: the first judged day exists


def test_too_short_for_the_percentile_and_cusum() -> None:
    with pytest.raises(SeriesTooShort):
        moving_percentile([1] * (3 * 365 + 20))  # needs 3 years + 3 weeks (1,116 days)
    moving_percentile([1] * (3 * 365 + 21))
    with pytest.raises(SeriesTooShort):
        cusum([1] * 9)


# ---------------------------------------------------------------- moving percentile (CIDARS)

N = 3 * 365 + 21  # 1,116 days: the last day, 1,115, is the first (and only) one with a full baseline
T = N - 1
# The 15 baseline windows of day T end T − (365·y ± 7·s) days, y = 1…3, s = −2…2: windows ending on
# these days (each year's five windows tile 35 consecutive days). One count per window, on its last day.
WINDOW_SUMS = {
    764: 2, 757: 0, 750: 3, 743: 1, 736: 5,  # a year before: 736 = T − 379 … 764 = T − 351
    399: 4, 392: 2, 385: 6, 378: 1, 371: 3,  # two years before
    34: 0, 27: 2, 20: 8, 13: 4, 6: 3,  # three years before: the earliest window is days 0…6
}


def _percentile_series(observed_on_t: float) -> np.ndarray:
    x = np.zeros(N)
    for end, count in WINDOW_SUMS.items():
        x[end] = count
    x[T] = observed_on_t  # the window of day T (days 1109…1115) holds only this
    return x


def test_moving_percentile_compares_the_week_with_15_windows_of_3_previous_years() -> None:
    """The 15 window sums sorted: 0 0 1 1 2 2 2 3 3 3 4 4 5 6 8 (v1…v15).
    Percentiles by linear interpolation (R type 7: h = 14·p + 1):
      median h = 8 → v8 = 3 (expected)
      P75 h = 11.5 → v11 + 0.5 (v12 − v11) = 4 + 0 = 4
      P80 h = 12.2 → v12 + 0.2 (v13 − v12) = 4 + 0.2 = 4.2
      P90 h = 13.6 → v13 + 0.6 (v14 − v13) = 5 + 0.6 = 5.6
    The week's count 5: alarms against P75 and P80, not against P90."""
    for percentile, upper, alarm in ((50, 3.0, True), (75, 4.0, True), (80, 4.2, True), (90, 5.6, False)):
        result = moving_percentile(_percentile_series(5), percentile=percentile)
        assert list(np.flatnonzero(result.ready)) == [T]
        assert result.observed[T] == 5
        assert result.expected[T] == pytest.approx(3.0)
        assert result.upperbound[T] == pytest.approx(upper), percentile
        assert bool(result.alarm[T]) is alarm, percentile


def test_moving_percentile_alarms_only_above_the_percentile() -> None:
    """P80 = 4.2: a week of 4 passes."""
    result = moving_percentile(_percentile_series(4), percentile=80)
    assert result.ready[T] and not result.alarm[T]


def test_moving_percentile_needs_at_least_min_cases() -> None:
    """Every baseline window 0 → P50 = 0: a week of 1 exceeds it but is under min_cases 2; 2 alarms."""
    x = np.zeros(N)
    x[T] = 1
    assert not moving_percentile(x, min_cases=2).alarm[T]
    assert moving_percentile(x, min_cases=1).alarm[T]
    x[T] = 2
    assert moving_percentile(x, min_cases=2).alarm[T]


def test_moving_percentile_leaves_out_a_window_with_a_missing_day() -> None:
    """Day 19 missing: the window of days 14…20 (sum 8) is left out; 14 values remain:
    0 0 1 1 2 2 2 3 3 3 4 4 5 6. h = 13·p + 1:
      median h = 7.5 → v7 + 0.5 (v8 − v7) = 2 + 0.5 = 2.5
      P80 h = 11.4 → v11 + 0.4 (v12 − v11) = 4."""
    x = _percentile_series(5)
    x[19] = np.nan
    result = moving_percentile(x, percentile=80)
    assert result.expected[T] == pytest.approx(2.5)
    assert result.upperbound[T] == pytest.approx(4.0)
    assert result.alarm[T]


def test_moving_percentile_does_not_judge_a_week_with_a_missing_day() -> None:
    x = _percentile_series(5)
    x[T - 3] = np.nan
    result = moving_percentile(x, percentile=80)
    assert not result.ready[T] and not result.alarm[T]


def test_moving_percentile_needs_three_baseline_values() -> None:
    """Only two of the 15 windows complete (the rest each hold a missing day): not judged."""
    x = _percentile_series(5)
    for end in list(WINDOW_SUMS)[2:]:
        x[end - 1] = np.nan
    assert not moving_percentile(x).ready[T]


# ---------------------------------------------------------------- CUSUM


def test_cusum_accumulates_the_excess_and_restarts_after_an_alarm() -> None:
    """x = 2 ×9 | 3 4 5 | 3, k 0.5, h 4, min_sigma 1 (the flat baseline's sd 0 is floored to 1).
    C2 baselines (t−9…t−3): days 9–11 see only 2s: mean 2, σ 1.
      day 9: C2 = 1 → S = 0 + 1 − 0.5 = 0.5;  upperbound = 2 + 1 × (4 + 0.5 − 0) = 6.5
      day 10: C2 = 2 → S = 0.5 + 1.5 = 2.0;   upperbound = 2 + (4.5 − 0.5) = 6.0
      day 11: C2 = 3 → S = 2.0 + 2.5 = 4.5 > 4: alarm, S restarts at 0; upperbound 2 + (4.5 − 2) = 4.5
      day 12: baseline x3…x9 = 2 2 2 2 2 2 3: mean 15/7 = 2.142857, sd 0.377964 → σ 1;
              C2 = 3 − 2.142857 = 0.857143 → S = 0.357143: no alarm (without the restart,
              4.5 + 0.357143 = 4.857143 would have alarmed); upperbound 2.142857 + 4.5 = 6.642857."""
    result = cusum([2] * 9 + [3, 4, 5, 3], min_sigma=1.0)
    assert list(np.flatnonzero(result.ready)) == [9, 10, 11, 12]
    assert list(result.upperbound[9:]) == pytest.approx([6.5, 6.0, 4.5, 6.642857], abs=1e-5)
    assert list(result.expected[9:]) == pytest.approx([2, 2, 2, 15 / 7])
    assert list(np.flatnonzero(result.alarm)) == [11]


def test_cusum_restarts_after_a_day_it_cannot_judge() -> None:
    """x = 2 ×9 | 3 4 — 5: S reaches 2.0 on day 10; day 11 is missing, so S restarts; day 12:
    C2 = 5 − 15/7 = 2.857143 → S = 2.357143 ≤ 4 (carried over it would be 4.357143 > 4)."""
    result = cusum([2] * 9 + [3, 4, None, 5], min_sigma=1.0)
    assert not result.ready[11]
    assert result.upperbound[12] == pytest.approx(15 / 7 + 4.5)
    assert not result.alarm.any()


def test_evaluate_dispatches_by_name() -> None:
    assert evaluate([*BASELINE, 9], "c1").alarm[7]
    assert evaluate([2] * 9 + [3, 4, 5, 3], "cusum", min_sigma=1.0).alarm[11]
    with pytest.raises(ValueError):
        evaluate([1] * 30, "c4")


# ---------------------------------------------------------------- properties

counts = st.lists(st.one_of(st.integers(min_value=0, max_value=40), st.none()), min_size=12, max_size=40)
# Powers of two and small integers: multiplying by them is exact in binary floating point, so the
# property tests the method and not the rounding of a product like 0.1 × 3.
factors = st.sampled_from([0.25, 0.5, 2.0, 3.0, 4.0, 7.0, 1024.0])


@given(values=counts, method=st.sampled_from(["c1", "c2"]), min_sigma=st.sampled_from([0.0, 0.5, 1.0]))
def test_c1_and_c2_alarm_exactly_when_the_observed_exceeds_the_upperbound(
        values: list[int | None], method: str, min_sigma: float) -> None:
    result = ears(values, method, min_sigma=min_sigma)
    ready = result.ready
    assert list(result.alarm[ready]) == list(result.observed[ready] > result.upperbound[ready])
    assert not result.alarm[~ready].any()


@given(values=counts, method=st.sampled_from(["c1", "c2", "c3"]), factor=factors)
def test_scaling_a_series_leaves_the_alarms_unchanged(values: list[int | None], method: str,
                                                      factor: float) -> None:
    scaled = [None if v is None else v * factor for v in values]
    assert list(ears(scaled, method).alarm) == list(ears(values, method).alarm)


@given(values=counts, method=st.sampled_from(["c1", "c2", "c3"]), shift=st.integers(min_value=1, max_value=500))
def test_adding_a_constant_leaves_the_alarms_unchanged(values: list[int | None], method: str, shift: int) -> None:
    shifted = [None if v is None else v + shift for v in values]
    assert list(ears(shifted, method).alarm) == list(ears(values, method).alarm)


@given(seed=st.integers(min_value=0, max_value=2**32 - 1), missing=st.sampled_from([0.0, 0.01, 0.05]),
       percentile=st.sampled_from([50, 75, 80, 90]))
def test_moving_percentile_agrees_with_the_definition_window_by_window(seed: int, missing: float,
                                                                      percentile: int) -> None:
    """On random Poisson counts with random missing days, every judged day: the 7-day sum, and the
    median and P-th percentile (numpy's linear, R's type 7) of the complete windows among the 15 —
    computed here one window at a time, straight from the definition."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(1.5, N + 9).astype(float)
    x[rng.random(len(x)) < missing] = np.nan
    result = moving_percentile(x, percentile=percentile)

    def window(end: int) -> float:
        return float(x[end - 6: end + 1].sum())  # NaN when a day is missing

    for t in range(N - 1, len(x)):
        ref = [window(t - (365 * y - 7 * s)) for y in (1, 2, 3) for s in (-2, -1, 0, 1, 2)]
        ref = [v for v in ref if not math.isnan(v)]
        judged = len(ref) >= 3 and not math.isnan(window(t))
        assert bool(result.ready[t]) is judged
        if judged:
            assert result.observed[t] == window(t)
            assert result.expected[t] == pytest.approx(float(np.percentile(ref, 50)))
            assert result.upperbound[t] == pytest.approx(float(np.percentile(ref, percentile)))
            assert bool(result.alarm[t]) is bool(window(t) > result.upperbound[t] and window(t) >= 1)


def test_c3_alarms_with_no_upperbound_when_the_two_days_before_already_exceed_the_threshold() -> None:
    """Baseline zeros, min_sigma 1, so C2 = x. Days 9 and 10 count 5: C2 = 5, terms max(0, 5 − 1) = 4
    each. On day 11 (count 0) the two earlier terms sum to 8 > z(0.975) ≈ 1.96: C3 = 8 + 0 alarms
    whatever day 11 counts, so no count is low enough — the upperbound is empty (NaN), not a number
    the observed 0 would have to exceed."""
    result = ears([0] * 9 + [5, 5, 0], "c3", min_sigma=1.0)
    assert bool(result.ready[11]) and bool(result.alarm[11])
    assert math.isnan(result.upperbound[11])
