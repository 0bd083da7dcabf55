"""The ``coverage`` fact (:data:`yigongti.analytics.facts.COVERAGE`) from real enrolments: ``ygt analytics
refresh`` computes 参合率 (``insurance_coverage``) = residents enrolled for the year ÷ residents eligible
for it (:func:`yigongti.insurance.selectors.eligible_residents`), by the resident's village.

The MiniCounty (township 1: villages A, B; township 2: village C), every resident born 1980 unless said:

  A  household 1 (3 people) enrolled 2025 and 2026; household 2 (2 people) never enrolled
  B  household 3 (2 people): both enrolled 2025, only one of them 2026
  C  household 4 (3 people) enrolled 2025 and 2026, and its baby born 2026-03-01, enrolled 2026;
     household 5: one person enrolled 2025 who died 2025-08-01 (eligible and covered in 2025 only);
     one person who moved out 2024-10-01 (eligible in neither year)

  2025: A 3/5 = 60 % · B 2/2 = 100 % · township 1 5/7 = 71.43 % · C 4/4 = 100 % (the baby not yet born,
        the one who moved out not eligible) · township 2 4/4 · county 9/11 = 81.82 %
  2026: A 3/5 = 60 % · B 1/2 = 50 % · township 1 4/7 = 57.14 % · C 4/4 = 100 % (the baby in, the one who
        died out) · township 2 4/4 · county 8/11 = 72.73 %

Then household 2 enrols for 2026 and an incremental refresh gives A 5/5, township 1 6/7, county 10/11.
The county figures equal :func:`yigongti.insurance.selectors.coverage_rates`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.db import connections

from tests.factories.residents import ResidentFactory
from tests.insurance.conftest import Ins
from yigongti.analytics.facts import FACTS
from yigongti.analytics.models import IndicatorValue
from yigongti.analytics.rules import KIND, indicators_load
from yigongti.cli import main
from yigongti.core import clock
from yigongti.core.rule_fixtures import RuleFixture, rule_fixtures
from yigongti.core.scope import SYSTEM
from yigongti.insurance.selectors import coverage_rates
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Household, Resident

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)
CODE = "insurance_coverage"


def load_indicator(code: str) -> None:
    """One definition of the catalogue, loaded as ``ygt rules load`` loads it."""
    fixture = next(f for f in rule_fixtures() if f.kind == KIND)
    rows = [row for row in fixture.document["indicators"] if row.get("code") == code]
    assert len(rows) == 1
    indicators_load(RuleFixture(app_label=fixture.app_label, path=fixture.path, name=fixture.name, kind=KIND,
                                document={"kind": KIND, "indicators": rows}))


def refresh(*args: str) -> None:
    assert main(["analytics", "refresh", *args, "--quiet"]) == 0


def values(period: str) -> dict[str, tuple[Any, ...]]:
    """``org → (numerator, denominator, value rounded to 2)`` of the stored indicator for ``period``."""
    return {v.org_code: (v.numerator, v.denominator, None if v.value is None else round(v.value, 2))
            for v in IndicatorValue.objects.filter(indicator__code=CODE, period=period)}


@pytest.fixture
def county(ins: Ins, settings: LazySettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ins]:
    settings.YGT_ANALYTICS_DIR = tmp_path
    settings.YGT_ANALYTICS_MONTHS = 24
    monkeypatch.setattr(connections, "close_all", lambda: None)  # ``ygt`` inside the test's transaction
    load_indicator(CODE)
    c = ins.county
    h1, _a = ins.household(c.village_a, 3)
    ins.household(c.village_a, 2)
    h3, (b1, _b2) = ins.household(c.village_b, 2)
    h4, members4 = ins.household(c.village_c, 3)
    baby = ResidentFactory(village=c.village_c, household=h4, birth_date=dt.date(2026, 3, 1))
    h5, (died, moved) = ins.household(c.village_c, 2)
    for year in (2025, 2026):
        ins.enrol(h1, year)
        ins.enrol(h4, year, members={r.pk: "" for r in members4} | ({baby.pk: ""} if year == 2026 else {}))
    ins.enrol(h3, 2025)
    ins.enrol(h3, 2026, members={b1.pk: ""})
    ins.enrol(h5, 2025, members={died.pk: ""})
    Resident.objects.filter(pk=died.pk).update(status=RecordStatus.DECEASED, status_date=dt.date(2025, 8, 1))
    Resident.objects.filter(pk=moved.pk).update(status=RecordStatus.MOVED_OUT, status_date=dt.date(2024, 10, 1))
    with clock.frozen(TODAY):
        yield ins


def test_the_coverage_fact_has_its_source() -> None:
    assert not FACTS["coverage"].pending
    assert not [name for name, fact in FACTS.items() if fact.pending]


def test_refresh_computes_the_coverage_rate_per_village_township_and_county(county: Ins) -> None:
    c = county.county
    a, b, t1, t2, v_c, whole = (c.village_a.code, c.village_b.code, c.townships[0].code, c.townships[1].code,
                                c.village_c.code, c.county.code)
    refresh("--full")
    assert values("2025") == {a: (3, 5, 60.0), b: (2, 2, 100.0), t1: (5, 7, 71.43), v_c: (4, 4, 100.0),
                              t2: (4, 4, 100.0), whole: (9, 11, 81.82)}
    assert values("2026") == {a: (3, 5, 60.0), b: (1, 2, 50.0), t1: (4, 7, 57.14), v_c: (4, 4, 100.0),
                              t2: (4, 4, 100.0), whole: (8, 11, 72.73)}
    for year, (enrolled, eligible) in ((2025, (9, 11)), (2026, (8, 11))):
        _rows, total = coverage_rates(SYSTEM, year)
        assert (total.enrolled, total.eligible) == (enrolled, eligible)

    # Household 2 pays for 2026 late: the next (incremental) refresh sees the new coverages.
    h2 = Household.objects.filter(village=c.village_a).order_by("id")[1]
    county.enrol(h2, 2026)
    refresh()
    assert values("2026")[a] == (5, 5, 100.0)
    assert values("2026")[t1] == (6, 7, 85.71)
    assert values("2026")[whole] == (10, 11, 90.91)
    assert values("2025")[whole] == (9, 11, 81.82)


def test_a_move_counts_the_person_in_the_new_village_at_the_next_refresh(county: Ins) -> None:
    c = county.county
    refresh("--full")
    mover = Resident.objects.filter(village=c.village_b, insurance_coverages__year=2026).get()
    mover.village, mover.path = c.village_a, c.village_a.path
    mover.save()  # the register changed (updated_at): every insurance year is exported again
    refresh()
    assert values("2026")[c.village_a.code] == (4, 6, 66.67)
    assert values("2026")[c.village_b.code] == (0, 1, 0.0)
    assert values("2026")[c.county.code] == (8, 11, 72.73)
