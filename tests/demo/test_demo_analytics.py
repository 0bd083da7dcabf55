"""Demo module ``analytics``: 常住人口 for every village and year, live births with their mothers'
records, and records created over the years — what the indicators divide by — and ``ygt demo``
computing the indicators once after a build. The county is built on a fixed day (the module's
clock is frozen) so that what "this year" holds does not depend on when the tests run."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from yigongti.analytics.models import Population
from yigongti.core import clock
from yigongti.demo import analytics as demo_analytics
from yigongti.demo.builder import BuildResult
from yigongti.demo.management.commands import demo as demo_command
from yigongti.demo.programmes import history_start
from yigongti.demo.residents import duplicates_truth
from yigongti.programmes.models import Enrolment, ScheduledVisit, Visit
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division
from yigongti.residents.choices import Relation
from yigongti.residents.models import Resident

pytestmark = pytest.mark.django_db
# What this module checks needs the residents and the programmes (tests/demo/conftest.py).
DEMO_MODULES = "registry,accounts,residents,programmes,analytics"
TODAY = dt.date(2026, 3, 16)


@pytest.fixture(scope="module", autouse=True)
def _today() -> Iterator[None]:
    """Autouse and module-scoped: set up before the module's ``demo`` build, so it runs on TODAY."""
    with clock.frozen(TODAY):
        yield


def test_created_on_is_deterministic_and_bounded() -> None:
    def draw(seed: int) -> list[dt.date]:
        rng = random.Random(seed)
        return [demo_analytics.created_on(rng, dt.date(1950 + i % 76, 1 + i % 12, 1), TODAY) for i in range(2000)]

    first = draw(1)
    assert first == draw(1) and first != draw(2)
    assert all(demo_analytics.EHR_START <= day <= TODAY for day in first)


# ---------------------------------------------------------------- before the module's county is built
# (these tests take no ``demo``: they run first, each in its own transaction)


def _fake_refresh(calls: list[dict[str, Any]]) -> Any:
    def refresh(**kwargs: Any) -> Any:
        calls.append(kwargs)
        kwargs["progress"]("计算 record_rate")
        return type("Report", (), {"indicators": 60, "values": 1234, "seconds": 1.5})()
    return refresh


def test_demo_computes_the_indicators_after_building_the_analytics_module(
        settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    settings.YGT_ANALYTICS_DIR = tmp_path
    settings.YGT_DEMO_MODULES = ["registry", "accounts", "analytics"]  # no residents: no births, no population
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(demo_command, "refresh", _fake_refresh(calls))
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    assert [call["full"] for call in calls] == [True]
    assert "指标计算完成：60 个指标，1,234 个指标值" in out.getvalue()
    assert not Population.objects.exists()


def test_demo_without_the_analytics_module_computes_nothing(
        settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    settings.YGT_ANALYTICS_DIR = tmp_path
    settings.YGT_DEMO_MODULES = ["registry", "accounts"]
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(demo_command, "refresh", _fake_refresh(calls))
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    assert calls == [] and "指标计算完成" not in out.getvalue()


# ---------------------------------------------------------------- the county of this module


def test_population_for_every_village_and_year(demo: BuildResult) -> None:
    years = list(demo_analytics.population_years(TODAY))
    assert years[0] <= history_start(TODAY).year and years[-1] == TODAY.year
    assert years[0] <= TODAY.year - 3  # the 36 months the indicators keep
    villages = set(Division.objects.filter(level=DivisionLevel.VILLAGE).values_list("code", flat=True))
    stored = {(code, year): n for code, year, n in Population.objects.values_list("division__code", "year",
                                                                                   "population")}
    assert {code for code, _year in stored} == villages
    assert set(stored) == {(code, year) for code in villages for year in years}
    # residents of the village (duplicates left out) ÷ a coverage of about 0.9 ± 3 %
    duplicates = {right for _left, right, _kind in duplicates_truth()}
    people = Counter(code for code, record_no, born in
                     Resident.objects.values_list("village__code", "record_no", "birth_date")
                     if record_no not in duplicates and born <= dt.date(TODAY.year, 6, 30))
    for code in villages:
        ratio = people[code] / stored[(code, TODAY.year)]
        assert 0.9 * 0.97 - 0.01 <= ratio <= 0.9 * 1.03 + 0.01, (code, ratio)
    coverages = {round(people[code] / stored[(code, TODAY.year)], 3) for code in villages}
    assert len(coverages) > 20  # each village its own ratio, not one constant
    # the population grows with the births: never smaller than the year before
    assert all(stored[(code, year)] >= stored[(code, year - 1)] for code in villages for year in years[1:])
    assert set(Population.objects.values_list("source", flat=True)) == {demo_analytics.POPULATION_SOURCE}


def test_births_in_the_demo_year_and_every_recent_month(demo: BuildResult) -> None:
    born = Counter((d.year, d.month) for d in Resident.objects.filter(
        birth_date__gte=dt.date(TODAY.year - 1, 1, 1)).values_list("birth_date", flat=True))
    assert sum(n for (year, _month), n in born.items() if year == TODAY.year) > 0
    # every month of the last twelve (up to last month) has live births: the rates by month have a denominator
    for back in range(1, 13):
        month = demo_analytics._months_back(TODAY, back)
        assert born[(month.year, month.month)] > 0, month
    assert not Resident.objects.filter(birth_date__gt=TODAY).exists()


def test_every_delivery_since_the_last_birth_on_file_has_its_baby(demo: BuildResult) -> None:
    deliveries = Visit.objects.filter(programme__code="maternal", item="delivery")
    recent = deliveries.filter(visit_date__gte=dt.date(TODAY.year, 1, 1))
    assert recent.count() > 5
    for mother_id, household_id, path, on in recent.values_list("resident_id", "resident__household_id",
                                                                "resident__path", "visit_date"):
        babies = Resident.objects.filter(birth_date=on, path=path)
        if household_id is not None:  # a mother's planted duplicate record has no household
            babies = babies.filter(household_id=household_id,
                                   relation_to_head__in=[Relation.CHILD, Relation.GRANDCHILD])
        assert babies.exists(), (mother_id, on)
    # one pregnancy per woman; a delivery only once a woman is 18
    assert not deliveries.values("resident_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    for born, on in deliveries.values_list("resident__birth_date", "visit_date"):
        assert demo_analytics.age_on(born, on) >= 18
    # the babies are children of the programmes: newborn visit, vaccinations, a plan
    babies = Resident.objects.filter(birth_date__gte=dt.date(TODAY.year, 1, 1))
    assert Enrolment.objects.filter(programme__code="child", resident__in=babies).count() == babies.count()
    assert Enrolment.objects.filter(programme__code="immunisation", resident__in=babies).count() == babies.count()
    month_old = babies.filter(birth_date__lt=TODAY - dt.timedelta(days=30))
    visited = Visit.objects.filter(programme__code="child", item="newborn", resident__in=month_old)
    assert visited.count() >= 0.7 * month_old.count() > 0
    assert ScheduledVisit.objects.filter(resident__in=babies).exists()


def test_children_born_before_the_last_birth_on_file_have_their_mothers_pregnancy(demo: BuildResult) -> None:
    """Children born since the indicators' first year, up to the population's last birth: a woman of
    their household (else of their village) has the delivery on the child's birth date."""
    since = dt.date(demo_analytics.population_years(TODAY)[0], 1, 1)
    last_on_file = dt.date(2025, 6, 30)  # demo.population.AS_OF
    children = list(Resident.objects.filter(birth_date__gte=since, birth_date__lte=last_on_file,
                                            household__isnull=False).values_list("path", "birth_date"))
    deliveries = Visit.objects.filter(programme__code="maternal", item="delivery")
    delivered = set(deliveries.values_list("resident__path", "visit_date"))
    aligned = sum(1 for child in children if child in delivered)
    assert aligned >= 0.8 * len(children) > 100
    in_household = set(deliveries.values_list("resident__household_id", "visit_date"))
    at_home = sum(1 for household, born in Resident.objects.filter(
        birth_date__gte=since, birth_date__lte=last_on_file, relation_to_head=Relation.CHILD)
        .values_list("household_id", "birth_date") if (household, born) in in_household)
    assert at_home > 0.3 * aligned  # most mothers of a young family's child are the wife of its household
    anchors = dict(Enrolment.objects.filter(programme__code="maternal").values_list("id", "anchor_date"))
    early = [on for enrolment, on in Visit.objects.filter(programme__code="maternal", item="antenatal-1")
             .values_list("enrolment_id", "visit_date") if (on - anchors[enrolment]).days < 91]
    assert len(early) >= 0.7 * len(delivered)  # 早孕建册 has a numerator


def test_records_are_created_over_the_years(demo: BuildResult) -> None:
    created = list(Resident.objects.values_list("created_at", "birth_date"))
    local = [(timezone.localtime(at).date(), born) for at, born in created]
    assert all(born <= day <= TODAY for day, born in local)
    window = demo_analytics._months_back(TODAY, demo_analytics.RECENT_MONTHS)
    old = sum(1 for day, _born in local if day < window)
    assert 0.75 * len(local) <= old <= 0.92 * len(local)  # most created years ago
    assert min(day for day, _born in local) < dt.date(2012, 1, 1)
    by_month = Counter((day.year, day.month) for day, _born in local)
    for back in range(1, demo_analytics.RECENT_MONTHS):
        month = demo_analytics._months_back(TODAY, back)
        assert 30 <= by_month[(month.year, month.month)] <= 0.03 * len(local), month
    assert max(by_month.values()) < 0.05 * len(local)  # no jump on one day or month
    # a child's record is created a few days to weeks after its birth
    children = [(day - born).days for day, born in local if born >= demo_analytics.EHR_START
                and born + dt.timedelta(days=demo_analytics.REGISTERED_AFTER_BIRTH_DAYS[1]) <= TODAY]
    assert children and all(demo_analytics.REGISTERED_AFTER_BIRTH_DAYS[0] <= days
                            <= demo_analytics.REGISTERED_AFTER_BIRTH_DAYS[1] for days in children)
