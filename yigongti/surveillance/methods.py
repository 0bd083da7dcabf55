"""Early-warning methods on a daily count series (预警方法, DOMAIN.md §4) — pure numpy, no database.

Every method takes the whole series (``NaN`` marks a missing day) and returns an
:class:`Evaluation`: per day the ``observed`` value it judged, the ``expected`` baseline, the
``upperbound`` (the largest value that does not alarm) and ``alarm``. Days without enough history
for a baseline have ``NaN`` there and ``alarm`` False, and ``ready`` False: the method says it
could not judge them rather than alarm. The daily run and ``ygt alerts --series`` call the same
functions.

- **EARS C1, C2, C3** (US CDC Early Aberration Reporting System, as R's ``surveillance::earsC``):
  a baseline of the ``baseline`` (7) days before ``t`` (C1), or before ``t − 2`` (C2, C3: a guard of
  two days); ``C2_t = (x_t − mean) / max(sd, min_sigma)`` with the sample standard deviation;
  C1/C2 alarm when ``x_t > mean + z·max(sd, min_sigma)`` with ``z = Φ⁻¹(1 − alpha)`` (alpha 0.001,
  z ≈ 3.09, the CDC's "3"); C3 alarms when ``Σ_{t−2..t} max(0, C2 − 1) > z`` (alpha 0.025,
  z ≈ 1.96, the CDC's "2"). For C3 the upperbound is the largest ``x_t`` that keeps the sum at or
  under ``z``: ``mean + sd·(1 + z − s)`` with ``s`` the two earlier days' terms; when ``s`` alone
  exceeds ``z`` no count is low enough, the upperbound is empty (NaN) and the day alarms. (R's earsC computes
  C3's upperbound as ``x_t + sd·(z − s)``, which leaves ``x_t``'s own term out of the alarm; we keep
  the published definition and say so here.) With ``min_sigma`` 0 and a flat baseline the
  standard deviation is 0: any rise alarms, which is why a floor is given for sparse series.
  Missing days are left out of a baseline; a baseline needs at least 3 values.
- **Moving percentile** (CIDARS): the count of the last ``window`` (7) days against the
  ``percentile``-th percentile of the same window in each of the previous ``years`` (3) years and
  the ``shifts`` (2) windows before and after it, week by week (15 values). A year is 365 days;
  percentiles interpolate linearly (R's type 7). ``expected`` is the baseline's median. A window
  with a missing day is left out; the baseline needs at least ``years`` values. Alarm when the count
  exceeds the percentile and is at least ``min_cases``.
- **CUSUM** (the usual third method): on the C2 standardisation, ``S_t = max(0, S_{t−1} + C2_t − k)``,
  alarm when ``S_t > h`` (k 0.5, h 4 by default); ``S`` restarts at 0 after an alarm and after a
  day it could not judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

MethodName = Literal["c1", "c2", "c3", "percentile", "cusum"]
METHODS: tuple[str, ...] = ("c1", "c2", "c3", "percentile", "cusum")
MIN_BASELINE_VALUES = 3  # R's earsC refuses a baseline under 3


@dataclass(frozen=True)
class Evaluation:
    """What a method concluded for every day of a series (arrays of the series' length)."""

    method: str
    observed: np.ndarray  # the value judged (the day's count; the 7-day sum for the percentile)
    expected: np.ndarray  # NaN where not judged
    upperbound: np.ndarray  # NaN where not judged
    alarm: np.ndarray  # bool
    ready: np.ndarray  # bool: judged (enough history, the day itself not missing)
    needs: int  # days of history the method needs before it can judge the first day

    def __len__(self) -> int:
        return len(self.observed)


class SeriesTooShort(ValueError):
    """The series is shorter than the history the method needs for any day."""

    def __init__(self, method: str, needs: int, length: int) -> None:
        self.method, self.needs, self.length = method, needs, length
        super().__init__(f"{method}: needs {needs + 1} values, got {length}")


def z_of(alpha: float) -> float:
    """``Φ⁻¹(1 − alpha)``, the standard normal quantile (earsC's ``qnorm(1 - alpha)``)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    return NormalDist().inv_cdf(1 - alpha)


def as_series(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """A float array with ``NaN`` for missing values (``None``)."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float) \
        if not isinstance(values, np.ndarray) else values.astype(float)


def _lagged(x: np.ndarray, first: int, last: int) -> np.ndarray:
    """Rows ``t``, columns ``x[t−last] … x[t−first]`` (NaN before the series starts)."""
    n = len(x)
    lags = np.arange(last, first - 1, -1)
    idx = np.arange(n)[:, None] - lags[None, :]
    out = np.full(idx.shape, np.nan)
    ok = idx >= 0
    out[ok] = x[idx[ok]]
    return out


def _baseline(x: np.ndarray, first: int, baseline: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sample sd and count of the non-missing values ``x[t−first−baseline+1 … t−first]``."""
    ref = _lagged(x, first, first + baseline - 1)
    count = np.sum(~np.isnan(ref), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.nansum(ref, axis=1) / np.maximum(count, 1), np.nan)
        sq = np.nansum((ref - mean[:, None]) ** 2, axis=1)
        sd = np.where(count > 1, np.sqrt(sq / np.maximum(count - 1, 1)), np.nan)
    return mean, sd, count


def _c2_scores(x: np.ndarray, first: int, baseline: int, min_sigma: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x − mean) / max(sd, min_sigma)`` per day, with mean, the floored sd and readiness."""
    mean, sd, count = _baseline(x, first, baseline)
    sigma = np.maximum(sd, min_sigma)
    ready = (count >= MIN_BASELINE_VALUES) & ~np.isnan(x)
    ready[: first + baseline - 1] = False  # the baseline must lie wholly inside the series
    diff = x - mean
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(sigma > 0, diff / np.where(sigma > 0, sigma, 1.0),
                         np.where(diff > 0, np.inf, np.where(diff < 0, -np.inf, 0.0)))
    score = np.where(ready, score, np.nan)
    return score, mean, sigma, ready


def ears(values: Sequence[float | None] | np.ndarray, method: str = "c1", *, alpha: float | None = None,
         baseline: int = 7, min_sigma: float = 0.0) -> Evaluation:
    """EARS C1, C2 or C3 for every day (see the module docstring for the definitions)."""
    method = method.lower()
    if method not in {"c1", "c2", "c3"}:
        raise ValueError(f"unknown EARS method {method!r}")
    if baseline < MIN_BASELINE_VALUES:
        raise ValueError(f"baseline must be at least {MIN_BASELINE_VALUES}")
    if min_sigma < 0:
        raise ValueError("min_sigma must not be negative")
    x = as_series(values)
    z = z_of(alpha if alpha is not None else (0.025 if method == "c3" else 0.001))
    guard = 0 if method == "c1" else 2
    needs = baseline + guard + (2 if method == "c3" else 0)
    if len(x) <= needs:
        raise SeriesTooShort(method, needs, len(x))
    score, mean, sigma, ready = _c2_scores(x, 1 + guard, baseline, min_sigma)
    if method in {"c1", "c2"}:
        upper = np.where(ready, mean + z * sigma, np.nan)
        alarm = ready & (x > upper)
        return Evaluation(method, x, np.where(ready, mean, np.nan), upper, alarm, ready, needs)
    terms = np.maximum(0.0, score - 1)  # NaN where not ready
    earlier = _lagged(terms, 1, 2)
    ready3 = ready & ~np.isnan(earlier).any(axis=1)
    ready3[:needs] = False
    s = np.nansum(earlier, axis=1)
    statistic = s + np.where(np.isnan(terms), 0.0, terms)
    with np.errstate(invalid="ignore"):
        upper = mean + sigma * (1 + z - s)
    # A zero sd with min_sigma 0: any rise scores +inf, so the bound is the mean itself. When the two
    # earlier days alone exceed z, every count alarms: there is no bound (NaN), the day still alarms.
    upper = np.where(s > z, np.nan, np.where(sigma > 0, upper, mean))
    upper = np.where(ready3, upper, np.nan)
    alarm = ready3 & (statistic > z)
    return Evaluation(method, x, np.where(ready3, mean, np.nan), upper, alarm, ready3, needs)


def cusum(values: Sequence[float | None] | np.ndarray, *, k: float = 0.5, h: float = 4.0, baseline: int = 7,
          min_sigma: float = 0.0) -> Evaluation:
    """CUSUM on the C2 standardisation (see the module docstring)."""
    if h <= 0 or k < 0:
        raise ValueError("h must be positive and k not negative")
    x = as_series(values)
    needs = baseline + 2
    if len(x) <= needs:
        raise SeriesTooShort("cusum", needs, len(x))
    score, mean, sigma, ready = _c2_scores(x, 3, baseline, min_sigma)
    n = len(x)
    upper = np.full(n, np.nan)
    alarm = np.zeros(n, dtype=bool)
    total = 0.0
    for t in range(n):
        if not ready[t]:
            total = 0.0
            continue
        # The largest x_t keeping S_t ≤ h: total + (x − mean)/sigma − k ≤ h.
        upper[t] = max(0.0, mean[t] + sigma[t] * (h + k - total)) if sigma[t] > 0 else (
            0.0 if total - k > h else mean[t])
        total = max(0.0, total + float(score[t]) - k)
        if total > h:
            alarm[t] = True
            total = 0.0
    return Evaluation("cusum", x, np.where(ready, mean, np.nan), upper, alarm, ready, needs)


def moving_percentile(values: Sequence[float | None] | np.ndarray, *, percentile: float = 50, window: int = 7,
                      years: int = 3, shifts: int = 2, year_days: int = 365, min_cases: float = 1
                      ) -> Evaluation:
    """CIDARS's moving percentile for every day (see the module docstring)."""
    if not 0 <= percentile <= 100:
        raise ValueError("percentile must lie between 0 and 100")
    x = as_series(values)
    n = len(x)
    needs = years * year_days + shifts * window + window - 1
    if n <= needs:
        raise SeriesTooShort("percentile", needs, n)
    # Trailing window sums (NaN when any day of the window is missing).
    padded = np.concatenate([np.full(window - 1, np.nan), x])
    sums = np.lib.stride_tricks.sliding_window_view(padded, window).sum(axis=1)
    offsets = [y * year_days - s * window for y in range(1, years + 1) for s in range(-shifts, shifts + 1)]
    ref = np.full((n, len(offsets)), np.nan)
    for column, offset in enumerate(offsets):
        if offset < n:
            ref[offset:, column] = sums[: n - offset]
    count = np.sum(~np.isnan(ref), axis=1)
    ready = (np.arange(n) >= needs) & (count >= years) & ~np.isnan(sums)
    expected = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    rows = np.flatnonzero(ready)
    if len(rows):
        expected[rows] = _row_percentile(ref[rows], 50)
        upper[rows] = _row_percentile(ref[rows], percentile)
    alarm = ready & (sums > upper) & (sums >= min_cases)
    return Evaluation("percentile", sums, expected, upper, alarm, ready, needs)


def _row_percentile(ref: np.ndarray, percentile: float) -> np.ndarray:
    """Per row, the ``percentile`` of its non-missing values, interpolated linearly (R's type 7, as
    ``np.nanpercentile``) — vectorised: ``np.nanpercentile`` along an axis with NaNs falls back to
    one Python call per row, which made a year of daily runs take half a minute per county."""
    ordered = np.sort(ref, axis=1)  # NaN sorts last
    count = np.sum(~np.isnan(ref), axis=1)
    position = (count - 1) * (percentile / 100)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, count - 1)
    rows = np.arange(len(ref))
    low, high = ordered[rows, below], ordered[rows, above]
    weight = position - below
    # numpy's lerp: from the nearer end, so a weight of 1 gives ``high`` exactly.
    diff = high - low
    return np.where(weight >= 0.5, high - diff * (1 - weight), low + diff * weight)


def evaluate(values: Sequence[float | None] | np.ndarray, method: str, *, alpha: float | None = None,
             baseline: int = 7, min_sigma: float = 0.0, percentile: float = 50, min_cases: float = 1,
             k: float = 0.5, h: float = 4.0) -> Evaluation:
    """One of :data:`METHODS` by name, with the parameters that apply to it."""
    if method in {"c1", "c2", "c3"}:
        return ears(values, method, alpha=alpha, baseline=baseline, min_sigma=min_sigma)
    if method == "percentile":
        return moving_percentile(values, percentile=percentile, min_cases=min_cases)
    if method == "cusum":
        return cusum(values, k=k, h=h, baseline=baseline, min_sigma=min_sigma)
    raise ValueError(f"unknown method {method!r}")
