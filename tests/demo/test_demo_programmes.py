"""Demo module ``programmes`` on the MiniCounty with a few thousand generated residents: realistic
prevalence, a history of two years and this one that never reaches the future, a plan for every active enrolment,
varied classifications, and a worklist for the demo village doctor with work left to do."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Min

from tests.conftest import MiniCounty
from yigongti.core import clock
from yigongti.demo import programmes as demo_programmes
from yigongti.demo.codes import FIRST_VILLAGE_CODE
from yigongti.demo.context import BuildContext
from yigongti.demo.population import VillageMaker, VillageSpec
from yigongti.programmes.choices import EnrolmentStatus
from yigongti.programmes.engine import fixture_specs
from yigongti.programmes.models import Enrolment, ScheduledVisit, Visit
from yigongti.programmes.selectors import worklist_for_org
from yigongti.residents.bulk import residents_bulk_insert
from yigongti.residents.models import Resident

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 16)
PER_VILLAGE = 900
SEED = 4242


@pytest.fixture
def built(county: MiniCounty) -> Iterator[BuildContext]:
    call_command("rules", "load", stdout=io.StringIO())
    specs = [VillageSpec(v.code, v.name, t.name) for t in county.townships for v in county.villages[t.code]]
    maker = VillageMaker(random.Random(SEED), specs)
    residents_bulk_insert([p.row() for spec in specs for p in maker.village(spec, PER_VILLAGE)])
    ctx = BuildContext.create(seed=SEED, scale="small")
    with clock.frozen(TODAY):
        demo_programmes.build(ctx)
        yield ctx


def ages() -> dict[int, int]:
    return {pk: demo_programmes.age_on(born, TODAY) for pk, born in Resident.objects.values_list("id", "birth_date")}


def enrolled(code: str) -> set[int]:
    return set(Enrolment.objects.filter(programme__code=code).values_list("resident_id", flat=True))


def test_prevalence_is_realistic(built: BuildContext) -> None:
    age = ages()
    adults = {pk for pk, a in age.items() if a >= 35}
    hypertension, diabetes = enrolled("hypertension"), enrolled("diabetes")
    assert hypertension <= adults and diabetes <= adults
    assert 0.17 <= len(hypertension) / len(adults) <= 0.35
    assert 0.05 <= len(diabetes) / len(adults) <= 0.16
    assert enrolled("elderly") == {pk for pk, a in age.items() if a >= 65}
    children = {pk for pk, a in age.items() if a < 7}
    assert children and enrolled("child") == children == enrolled("immunisation")
    assert enrolled("tcm") == {pk for pk, a in age.items() if a >= 65 or a < 3}
    mothers = enrolled("maternal")
    assert 0 < len(mothers) <= 0.03 * len(age)
    assert set(Resident.objects.filter(pk__in=mothers).values_list("sex", flat=True)) == {"F"}
    assert len(enrolled("mental")) <= 0.012 * len(age)
    assert len(enrolled("tb")) <= 3
    assert built.made["enrolments"] == dict(Counter(Enrolment.objects.values_list("programme__code", flat=True)))


def test_history_is_within_two_years_and_never_in_the_future(built: BuildContext) -> None:
    visits = Visit.objects.all()
    assert visits.count() > 1000
    assert not visits.filter(visit_date__gt=TODAY).exists()
    assert not visits.filter(visit_date__lt=F("resident__birth_date")).exists()
    since = demo_programmes.history_start(TODAY)
    assert since.year == TODAY.year - 2 and (since.month, since.day) == (1, 1)
    chronic = visits.filter(programme__code__in=["hypertension", "diabetes", "elderly", "mental", "tb"])
    assert chronic.exists() and not chronic.filter(visit_date__lt=since).exists()
    assert chronic.aggregate(first=Min("visit_date"))["first"] <= since + dt.timedelta(days=30)
    # one visit per enrolment, item and day; every visit belongs to its resident's enrolment
    assert not visits.values("enrolment", "item", "visit_date").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not visits.exclude(enrolment__resident_id=F("resident_id")).exists()


def test_every_active_enrolment_has_a_plan(built: BuildContext) -> None:
    active = Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE)
    assert not active.exclude(planned_at=TODAY).exists()
    without_rows = active.exclude(pk__in=ScheduledVisit.objects.values("enrolment_id"))
    # nothing pending only when all is done: a 6-year-old with every dose, a mother after the
    # 42-day check, an elderly resident checked this year
    assert without_rows.count() <= 0.1 * active.count()
    assert not without_rows.exclude(pk__in=Visit.objects.values("enrolment_id")).exists()
    assert not without_rows.filter(programme__code__in=["hypertension", "diabetes", "mental", "tb"]).exists()
    assert ScheduledVisit.objects.filter(programme__code="immunisation").exists()


def test_classifications_and_follow_up_vary(built: BuildContext) -> None:
    hypertension = Enrolment.objects.filter(programme__code="hypertension")
    codes = Counter(hypertension.values_list("classification", flat=True))
    assert len([c for c in codes if c]) >= 2, codes
    recent = hypertension.filter(last_visit_on__gte=TODAY - dt.timedelta(days=120)).count()
    assert 0.5 <= recent / hypertension.count() <= 0.97  # most kept, some lost to follow-up
    immunisation = Visit.objects.filter(programme__code="immunisation")
    assert immunisation.filter(item="HepB-1").count() >= 0.9 * len(enrolled("immunisation"))


def test_the_demo_village_doctor_has_work_left(built: BuildContext, county: MiniCounty) -> None:
    assert county.village_doctor.view_unit.code == FIRST_VILLAGE_CODE
    worklist = worklist_for_org(user=county.village_doctor, org_code=FIRST_VILLAGE_CODE, on=TODAY)
    todo = len(worklist.due) + len(worklist.overdue)
    assert todo > 0
    village = Enrolment.objects.filter(path=county.village_a.path, status=EnrolmentStatus.ACTIVE)
    seen = village.filter(last_visit_on__gte=TODAY.replace(month=1, day=1)).count()
    assert 0 < seen < village.count()  # not everything done, not nothing done
    assert len(worklist.overdue) < ScheduledVisit.objects.filter(path=county.village_a.path).count()


def test_the_generator_is_deterministic() -> None:
    specs = fixture_specs(TODAY)
    programmes = {code: i for i, code in enumerate(sorted(specs), start=1)}
    rng = random.Random(0)
    people = [demo_programmes._Person((i, "MF"[i % 2], TODAY - dt.timedelta(days=rng.randint(0, 90 * 365)),
                                       "/p", 1, 2)) for i in range(600)]

    def run() -> tuple[list[dict[str, object]], list[list[dict[str, object]]]]:
        maker = demo_programmes.Maker(random.Random(SEED), TODAY, programmes, specs, len(people), 100)
        for person in people:
            maker.person(person)
        return maker.enrolments, maker.visits

    first, second = run(), run()
    assert first == second and len(first[0]) > 100
