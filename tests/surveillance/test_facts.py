"""The ``cases`` fact (:data:`yigongti.analytics.facts.CASES`) from real cards: ``ygt analytics refresh``
computes 传染病报告及时率 (``notifiable_timeliness``, by the reporting institution) and 法定传染病报告发病率
(``notifiable_incidence``, by the patient's village, per 100,000 residents on file at mid-period).

Today 2026-06-30; residents on file since 2020: village A 4, B 1, C 5 (township 1: 5, township 2: 5,
county 10). Cards, all in 2026:
  1 clinic A, resident A1, HFMD, diagnosed 04-10 09:00, reported 10:00          on time  (A)
  2 clinic A, resident A2, measles, diagnosed 04-20 09:00, reported 04-21 12:00  late: 27 h > 24 h  (A)
  3 centre 1 (township 1), resident B1, HFMD, 05-05 09:00 → 15:00               on time  (B)
  4 county hospital, resident C1, cholera, 05-10 09:00 → 12:00                  late: 3 h > 2 h  (C)
  5 county hospital, resident C2, HFMD, 05-12 09:00 → 10:00, then deleted (a duplicate): left out
  6 county hospital, a patient from outside the county, HFMD, 05-15 09:00 → 10:00  on time (no village)

Timeliness (on time ÷ reported), by institution — the hospital counts only for the county:
  2026Q2: village A 1/2 = 50% · township 1 (A and centre 1) 2/3 = 66.67% · county 3/5 = 60%
  202604: village A 1/2 · township 1 1/2 · county 1/2 = 50%
  202605: township 1 1/1 = 100% · county 2/3 = 66.67% (cards 3, 4, 6)
Incidence (cards ÷ residents × 100,000), by residence; card 6 has no village and counts nowhere:
  2026Q2 and 2026: A 2/4 = 50,000 · B 1/1 = 100,000 · township 1 3/5 = 60,000 · C 1/5 = 20,000 ·
  township 2 1/5 = 20,000 · county 4/10 = 40,000
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.db import connections

from tests.analytics.builders import Builder, noon
from tests.surveillance.conftest import SurvCounty, at
from yigongti.analytics.facts import FACTS
from yigongti.analytics.models import IndicatorValue
from yigongti.analytics.rules import KIND, indicators_load
from yigongti.cli import main
from yigongti.core.rule_fixtures import RuleFixture, rule_fixtures
from yigongti.residents.models import Resident
from yigongti.surveillance.models import CaseCard
from yigongti.surveillance.services import card_delete

TODAY = dt.date(2026, 6, 30)
INDICATORS = ["notifiable_timeliness", "notifiable_incidence"]
d = dt.date


def load_indicators(codes: list[str]) -> None:
    """Only these definitions of the catalogue, loaded as ``ygt rules load`` loads them."""
    fixture = next(f for f in rule_fixtures() if f.kind == KIND)
    rows = [row for row in fixture.document["indicators"] if row.get("code") in codes]
    assert len(rows) == len(codes)
    indicators_load(RuleFixture(app_label=fixture.app_label, path=fixture.path, name=fixture.name, kind=KIND,
                                document={"kind": KIND, "indicators": rows}))


@dataclass
class Cards:
    surv: SurvCounty
    cards: list[CaseCard]


@pytest.fixture
def cards(surv: SurvCounty, settings: LazySettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cards]:
    settings.YGT_ANALYTICS_DIR = tmp_path
    settings.YGT_ANALYTICS_MONTHS = 12
    monkeypatch.setattr(connections, "close_all", lambda: None)  # ``ygt`` inside the test's transaction
    load_indicators(INDICATORS)
    b = Builder(surv.county)
    Resident.objects.filter(pk=surv.resident.pk).update(created_at=noon(d(2020, 1, 1)))
    a1 = surv.resident
    a2, _a3, _a4 = (b.resident(b.a) for _ in range(3))
    b1 = b.resident(b.b)
    c1, c2, *_rest = (b.resident(b.c) for _ in range(5))
    hospital = dict(user=surv.clinician, institution=surv.hospital)
    filed = [
        surv.report(resident=a1, diagnosed=at(d(2026, 4, 10), 9), reported=at(d(2026, 4, 10), 10)),
        surv.report(resident=a2, icd10="B05", diagnosed=at(d(2026, 4, 20), 9), reported=at(d(2026, 4, 21), 12)),
        surv.report(user=surv.director, institution=surv.centres[0], resident=b1, diagnosed=at(d(2026, 5, 5), 9),
                    reported=at(d(2026, 5, 5), 15)),
        surv.report(**hospital, resident=c1, icd10="A00", diagnosed=at(d(2026, 5, 10), 9),
                    reported=at(d(2026, 5, 10), 12)),
        surv.report(**hospital, resident=c2, diagnosed=at(d(2026, 5, 12), 9), reported=at(d(2026, 5, 12), 10)),
        surv.report(**hospital, patient_name="过客", address="邻县某镇", diagnosed=at(d(2026, 5, 15), 9),
                    reported=at(d(2026, 5, 15), 10)),
    ]
    card_delete(user=surv.cdc_user, card=filed[4], reason="与他院报告重复")
    assert [c.on_time for c in filed] == [True, False, True, False, True, True]
    yield Cards(surv, filed)


def values(code: str, period: str) -> dict[str, tuple[Any, ...]]:
    """``org → (numerator, denominator, value rounded to 2)`` of one stored indicator and period."""
    return {v.org_code: (v.numerator, v.denominator, None if v.value is None else round(v.value, 2))
            for v in IndicatorValue.objects.filter(indicator__code=code, period=period)}


def refresh(*args: str) -> None:
    assert main(["analytics", "refresh", *args, "--quiet"]) == 0


def test_the_cases_and_coverage_facts_have_their_sources() -> None:
    assert not FACTS["cases"].pending
    assert not FACTS["coverage"].pending  # the insurance app gives the coverage fact its source


def test_refresh_computes_timeliness_by_the_reporting_institution(cards: Cards) -> None:
    refresh("--full")
    s = cards.surv
    a, t1, t2, county = s.village_a.code, s.townships[0].code, s.townships[1].code, s.county.county.code
    quarter = values("notifiable_timeliness", "2026Q2")
    assert quarter[a] == (1, 2, 50.0)
    assert quarter[t1] == (2, 3, 66.67)
    assert quarter[county] == (3, 5, 60.0)
    assert t2 not in quarter or quarter[t2][1] == 0
    april, may = values("notifiable_timeliness", "202604"), values("notifiable_timeliness", "202605")
    assert april[a] == (1, 2, 50.0) and april[t1] == (1, 2, 50.0) and april[county] == (1, 2, 50.0)
    assert may[t1] == (1, 1, 100.0) and may[county] == (2, 3, 66.67)


def test_refresh_computes_incidence_by_the_patients_village(cards: Cards) -> None:
    refresh("--full")
    s = cards.surv
    a, b, c = s.village_a.code, s.village_b.code, s.village_c.code
    t1, t2, county = s.townships[0].code, s.townships[1].code, s.county.county.code
    for period in ("2026Q2", "2026"):
        found = values("notifiable_incidence", period)
        assert found[a] == (2, 4, 50000.0), period
        assert found[b] == (1, 1, 100000.0), period
        assert found[t1] == (3, 5, 60000.0), period
        assert found[c] == (1, 5, 20000.0), period
        assert found[t2] == (1, 5, 20000.0), period
        assert found[county] == (4, 10, 40000.0), period


def test_a_card_deleted_after_a_refresh_leaves_the_next_incremental_refresh(cards: Cards) -> None:
    """Card 1 deleted in place (its ``updated_at`` moves the April fingerprint): village A's 2026Q2
    timeliness becomes 0/1, the county's 2/4 = 50%; incidence in A 1/4 = 25,000."""
    refresh("--full")
    s = cards.surv
    card_delete(user=s.cdc_user, card=cards.cards[0], reason="误报")
    refresh()
    a, county = s.village_a.code, s.county.county.code
    assert values("notifiable_timeliness", "2026Q2")[a] == (0, 1, 0.0)
    assert values("notifiable_timeliness", "2026Q2")[county] == (2, 4, 50.0)
    assert values("notifiable_incidence", "2026Q2")[a] == (1, 4, 25000.0)


def test_neither_indicator_is_skipped(cards: Cards, capsys: pytest.CaptureFixture[str]) -> None:
    from yigongti.analytics.refresh import refresh as run

    report = run(full=True)
    assert report.skipped == {}
    assert set(IndicatorValue.objects.values_list("indicator__code", flat=True)) == set(INDICATORS)
