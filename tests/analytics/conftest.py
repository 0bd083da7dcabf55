"""Stored indicator values for the screen and API tests — no refresh run.

:func:`store_values` loads the real catalogue (``ygt rules load`` of ``analytics.indicators``) and
writes :class:`IndicatorValue` rows by hand for the MiniCounty (county 522399, townships …101 and
…102, villages A/B under …101 and C/D under …102), with a ``RefreshRun`` that ended in December
2025. The numbers are chosen so a test can work out what the screens must show:

``record_rate`` (电子健康档案建档率, %, target 90), year 2025::

    A 90/100 = 90.0   B 40/50 = 80.0   C 70/70 = 100.0   D 30/60 = 50.0
    township 101: 130/150 = 86.7      township 102: 100/130 = 76.9      county 230/280 = 82.1

and monthly values 2024-01 … 2025-12 for every unit (village k, month i: (40 + 2i + k) / 100;
townships and county the sums) — except the county in 2024-06: a gap.

``htn_mgmt_rate`` (高血压患者管理率), year 2025: A 10/40, B 5/20, C 8/32, **D 3/0 → value None**,
township 101 15/60, township 102 11/32, county 26/92.

``referrals_up`` (上转人次, no denominator), year 2025: county 12, township 101 7, township 102 5,
A 4, B 3, C 5 (D: no row).

``dm_mgmt_rate`` has no stored row at all (the board shows "—").
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from tests.conftest import MiniCounty
from yigongti.analytics.models import Indicator, IndicatorValue, RefreshRun
from yigongti.analytics.periods import make, month_index, parse
from yigongti.core.rule_fixtures import rules_load
from yigongti.registry.models import Division

LAST = month_index(2025, 12)
FIRST_TREND = LAST - 23  # 2024-01
YEAR = "2025"
GAP = "202406"  # the county has no value that month


@dataclass
class StoredValues:
    c: MiniCounty
    county: Division
    t1: Division
    t2: Division
    a: Division
    b: Division
    c3: Division
    d: Division
    run: RefreshRun
    period: str = YEAR
    last_month: int = LAST


def _value(indicator: Indicator, division: Division, period: str, numerator: float,
           denominator: float | None, factor: float = 100) -> IndicatorValue:
    value = None
    if denominator is None:
        value = numerator
    elif denominator:
        value = numerator / denominator * factor
    return IndicatorValue(indicator=indicator, org_code=division.code, org_level=division.level,
                          org_path=division.path, period=period, period_type=parse(period).type, numerator=numerator,
                          denominator=denominator, value=value, computed_at=timezone.now())


def store_values(county: MiniCounty) -> StoredValues:
    rules_load(kinds=["analytics.indicators"])
    record, htn, referrals = (Indicator.objects.get(code=code)
                              for code in ("record_rate", "htn_mgmt_rate", "referrals_up"))
    t1, t2 = county.townships
    a, b = county.villages[t1.code]
    c3, d = county.villages[t2.code]
    rows: list[IndicatorValue] = []

    yearly = {a: (90, 100), b: (40, 50), c3: (70, 70), d: (30, 60), t1: (130, 150), t2: (100, 130),
              county.county: (230, 280)}
    rows += [_value(record, unit, YEAR, n, den) for unit, (n, den) in yearly.items()]
    for i, mi in enumerate(range(FIRST_TREND, LAST + 1)):
        key = make("month", mi).key
        villages = {unit: 40 + 2 * i + k for k, unit in enumerate((a, b, c3, d))}
        sums = {t1: villages[a] + villages[b], t2: villages[c3] + villages[d]}
        units: dict[Division, tuple[float, float]] = {unit: (n, 100) for unit, n in villages.items()}
        units.update({unit: (n, 200) for unit, n in sums.items()})
        if key != GAP:
            units[county.county] = (sums[t1] + sums[t2], 400)
        rows += [_value(record, unit, key, n, den) for unit, (n, den) in units.items()]

    htn_2025 = {a: (10, 40), b: (5, 20), c3: (8, 32), d: (3, 0), t1: (15, 60), t2: (11, 32), county.county: (26, 92)}
    rows += [_value(htn, unit, YEAR, n, den) for unit, (n, den) in htn_2025.items()]
    ups = {county.county: 12, t1: 7, t2: 5, a: 4, b: 3, c3: 5}
    rows += [_value(referrals, unit, YEAR, n, None) for unit, n in ups.items()]
    IndicatorValue.objects.bulk_create(rows)

    now = timezone.now()
    run = RefreshRun.objects.create(started_at=now, finished_at=now, engine="duckdb", full=True,
                                    status=RefreshRun.Status.DONE, first_month=LAST - 35, last_month=LAST,
                                    periods=1, values=len(rows))
    return StoredValues(c=county, county=county.county, t1=t1, t2=t2, a=a, b=b, c3=c3, d=d, run=run)


@pytest.fixture
def stored_values(county: MiniCounty) -> StoredValues:
    return store_values(county)
