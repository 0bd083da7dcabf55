"""Demo module ``analytics``: what the indicators need beyond the records — births, record dates, 常住人口.

Runs after the others (it reads the residents and the programmes' deliveries) and does three things,
each deterministic from the seed:

1. **Births.** The population (:mod:`.population`) is drawn as it stood on its ``AS_OF`` day, so
   nobody is born after it, while the maternal programme (:mod:`.programmes`) delivers babies in
   the last two months — the live births (活产数) that 早孕建册率, 产后访视率 and 新生儿访视率 divide by
   would be missing. So: every delivery after the last birth on file gets its baby, a resident born
   on the delivery date in the mother's household; the months between the last birth on file and
   the programme's recent deliveries get deliveries of their own (women of the county, at the
   programme's birth rate), each with its pregnancy, antenatal checks, postpartum visits and baby;
   and the children born before that, since the first of :func:`population_years`, get their
   mother's pregnancy record with the delivery on their birth date — a woman of their household,
   else (a left-behind child's mother works away) of their village.
   Every new baby is enrolled in child health and immunisation like the other children (newborn
   visit, vaccinations on schedule) and planned.
2. **Record dates (建档时间).** The bulk paths stamp every record with the build's moment, so the
   record coverage (电子健康档案建档率) would jump from 0 to 90 % on the demo day. Records are
   re-dated with bulk UPDATEs: most created years ago (from :data:`EHR_START`, when the national
   programme began), :data:`RECENT_SHARE` of the older ones over the last :data:`RECENT_MONTHS`
   months, a child's a few days to weeks after its birth (see :func:`created_on`).
3. **常住人口.** :class:`~yigongti.analytics.models.Population` per village and year, from
   :func:`population_years` up to this year: the village's people born by mid-year (the planted
   duplicate records excluded) ÷ the village's coverage ratio (about :data:`COVERAGE` ± 3 %:
   some residents have no record) — the denominator of 建档率 and of the per-1,000 indicators.

Leaves in ``ctx.made``: ``births`` (babies registered), ``deliveries`` (maternal records added),
``population_years``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from yigongti.analytics.models import Population
from yigongti.core import clock
from yigongti.programmes.bulk import enrolments_bulk_create, plans_rebuild, visits_bulk_create
from yigongti.programmes.choices import EnrolmentHow
from yigongti.programmes.engine.types import ProgrammeSpec, Service
from yigongti.programmes.models import Enrolment, Programme, Visit
from yigongti.programmes.specs import ProgrammeNotLoaded, spec_for
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division
from yigongti.residents.bulk import residents_bulk_insert
from yigongti.residents.choices import RecordStatus, Relation
from yigongti.residents.models import Resident

from . import names
from .context import BuildContext
from .programmes import (
    ANTENATAL_CHANCE,
    BIRTHS_PER_RESIDENT_YEAR,
    BOOKING_DAYS,
    DELIVERY_SPREAD_DAYS,
    PREGNANCY_DAYS,
    RECENT_DELIVERY_DAYS,
    Maker,
    _Person,
    age_on,
    history_start,
)

SEED_SALT = "analytics"
MOTHER_AGES = (20, 40)  # new deliveries
ALIGNED_MOTHER_AGES = (18, 45)  # the mother found in a child's household
BOY_SHARE = 0.53
EHR_START = dt.date(2010, 1, 1)  # 国家基本公共卫生服务项目 (2009): records from 2010 on
RECENT_MONTHS = 36
RECENT_SHARE = 0.12
REGISTERED_AFTER_BIRTH_DAYS = (3, 42)
WORK_HOURS = (8, 17)
COVERAGE = 0.9  # records ÷ resident population, per village ±3 %
COVERAGE_SPREAD = 0.03
# Relations to the household head, as stored.
_HEAD, _SPOUSE, _CHILD = Relation.HEAD.value, Relation.SPOUSE.value, Relation.CHILD.value
_CHILD_IN_LAW, _GRANDCHILD = Relation.CHILD_IN_LAW.value, Relation.GRANDCHILD.value
_MOTHERS = {_CHILD: (_HEAD, _SPOUSE), _GRANDCHILD: (_CHILD_IN_LAW, _CHILD)}  # a child's relation → its mother's
_BABY_RELATION = {_HEAD: _CHILD, _SPOUSE: _CHILD, _CHILD_IN_LAW: _GRANDCHILD, _CHILD: _GRANDCHILD}
_NEW_MOTHERS = (_HEAD, _SPOUSE, _CHILD_IN_LAW)
POPULATION_SOURCE = "演示数据：在册居民 ÷ 建档覆盖率（约 90%）估算"


@dataclass(slots=True)
class _Resident:
    """What this module reads of every resident (one query, in id order; names and addresses are
    read for the mothers only, when their babies are written)."""

    id: int
    sex: str
    born: dt.date
    path: str
    clinic_id: int | None
    centre_id: int | None
    household_id: int | None
    relation: str
    village_code: str

    def person(self) -> _Person:
        return _Person((self.id, self.sex, self.born, self.path, self.clinic_id, self.centre_id))


@dataclass(frozen=True)
class _Baby:
    mother: _Resident
    born: dt.date
    sex: str
    given_name: str
    relation: str  # to the household head ("" when the mother's record has no household)
    father_side: int | None  # the household head whose surname the baby takes (a man), else the mother's


_FIELDS = ("id", "sex", "birth_date", "path", "clinic_id", "township_centre_id", "household_id", "relation_to_head",
           "village__code")


def residents() -> list[_Resident]:
    shared: dict[str, str] = {}  # one string per village path, code and relation (a county has a million rows)
    return [_Resident(pk, sex, born, shared.setdefault(path, path), clinic, centre, household,
                      shared.setdefault(relation, relation), shared.setdefault(village, village))
            for pk, sex, born, path, clinic, centre, household, relation, village in
            Resident.objects.exclude(status=RecordStatus.MERGED).order_by("id").values_list(*_FIELDS).iterator(
                chunk_size=10_000)]


def build(ctx: BuildContext) -> None:
    today = clock.today()
    rng = random.Random(f"{SEED_SALT}-{ctx.seed}")
    ctx.step(_("出生登记与孕产妇记录"))
    births(ctx, rng, today)
    ctx.step(_("建档时间"))
    record_dates(rng, today)
    ctx.step(_("常住人口"))
    population(ctx, rng, today)


# ---------------------------------------------------------------- 1. births


def _specs(today: dt.date) -> tuple[dict[str, int], dict[str, ProgrammeSpec]]:
    programmes = dict(Programme.objects.values_list("code", "id"))
    specs: dict[str, ProgrammeSpec] = {}
    for code in programmes:
        try:
            specs[code] = spec_for(code, today)
        except ProgrammeNotLoaded:
            continue
    return programmes, specs


class _Births:
    """The deliveries and babies added, as rows for the bulk writers."""

    def __init__(self, rng: random.Random, today: dt.date, people: list[_Resident], maker: Maker) -> None:
        self.rng, self.today, self.maker = rng, today, maker
        self.people = {p.id: p for p in people}
        self.households: dict[int, list[_Resident]] = defaultdict(list)
        for p in people:
            if p.household_id is not None:
                self.households[p.household_id].append(p)
        self.women: dict[str, list[_Resident]] = defaultdict(list)  # by village: wives, heads, daughters-in-law
        for p in people:
            if p.sex == "F" and p.household_id is not None and p.relation in _NEW_MOTHERS:
                self.women[p.village_code].append(p)
        had = set(Enrolment.objects.filter(programme__code="maternal").values_list("resident_id", flat=True))
        self.used: set[int] = set(had)  # one pregnancy per woman in the demo's history
        self.babies: list[_Baby] = []
        self.deliveries = 0

    # ---------------------------------------------------------------- mothers

    def mother_of(self, child: _Resident) -> _Resident | None:
        """The child's mother: a woman of its household if one lives there; else (a left-behind
        child's mother works away) a woman of the same village, whose delivery the county counted."""
        if child.household_id is None:  # a planted duplicate record: its original has the mother
            return None
        relations = _MOTHERS.get(child.relation, ())
        for woman in self.households[child.household_id]:
            if (woman.sex == "F" and woman.relation in relations and woman.id not in self.used
                    and ALIGNED_MOTHER_AGES[0] <= age_on(woman.born, child.born) <= ALIGNED_MOTHER_AGES[1]):
                return woman
        return self.any_mother(self.women.get(child.village_code, []), child.born, ALIGNED_MOTHER_AGES)

    def any_mother(self, candidates: Sequence[_Resident], on: dt.date,
                   ages: tuple[int, int] = MOTHER_AGES) -> _Resident | None:
        """One of ``candidates`` of an age to deliver on ``on`` and not pregnant in the history yet."""
        for _attempt in range(50 if candidates else 0):
            woman = self.rng.choice(candidates)
            if woman.id not in self.used and ages[0] <= age_on(woman.born, on) <= ages[1]:
                return woman
        return None

    # ---------------------------------------------------------------- records

    def pregnancy(self, mother: _Resident, delivered: dt.date) -> None:
        """The maternal record of a pregnancy that ended on ``delivered`` (as the programmes module
        writes one: booked at 6–12 weeks, antenatal checks, the delivery, postpartum visits)."""
        maker, rng, person = self.maker, self.rng, mother.person()
        lmp = delivered - dt.timedelta(days=PREGNANCY_DAYS + rng.randint(*DELIVERY_SPREAD_DAYS))
        booked = min(self.today, lmp + dt.timedelta(days=rng.randint(*BOOKING_DAYS)))
        visits = maker.enrol(person, "maternal", anchor=lmp, enrolled_on=booked, how=EnrolmentHow.MANUAL)
        self.used.add(mother.id)
        if visits is None:
            return
        self.deliveries += 1
        maker.schedule(visits, person, "maternal", lmp, ANTENATAL_CHANCE, prefix="antenatal",
                       until=delivered - dt.timedelta(days=1))
        maker.visit(visits, person, "maternal", "delivery", delivered, institution=mother.centre_id)
        maker.schedule(visits, person, "maternal", lmp, ANTENATAL_CHANCE, prefix="postpartum",
                       history=[Service("delivery", delivered)])

    def baby(self, mother: _Resident, born: dt.date) -> None:
        """A resident born on ``born`` in the mother's household (no ID number yet)."""
        rng = self.rng
        sex = "M" if rng.random() < BOY_SHARE else "F"
        members = self.households.get(mother.household_id, []) if mother.household_id is not None else []
        head = next((m for m in members if m.relation == _HEAD and m.sex == "M"), None)
        self.babies.append(_Baby(mother, born, sex, names.given_name(rng, sex),
                                 _BABY_RELATION.get(mother.relation, ""), head.id if head is not None else None))


def births(ctx: BuildContext, rng: random.Random, today: dt.date) -> None:
    programmes, specs = _specs(today)
    if "maternal" not in specs or "child" not in specs:
        ctx.step(_("未载入孕产妇与儿童项目规则，跳过出生登记"))
        return
    people = residents()
    if not people:
        return
    maker = Maker(rng, today, programmes, specs, len(people), 1)
    work = _Births(rng, today, people, maker)
    since = dt.date(population_years(today)[0], 1, 1)  # the first year the indicators' periods reach
    last_birth = max(p.born for p in people)
    gap_start = max(since, last_birth + dt.timedelta(days=1))

    # the children born since then, before the gap: their mother's pregnancy, aligned to their birth
    delivered: set[tuple[int | None, dt.date]] = set()
    for child in people:
        if since <= child.born < gap_start and (child.household_id, child.born) not in delivered:
            mother = work.mother_of(child)
            if mother is not None:
                work.pregnancy(mother, child.born)
                delivered.add((child.household_id, child.born))  # twins: one delivery

    # the programme's own deliveries after the last birth on file: their babies
    for resident_id, on in (Visit.objects.filter(programme__code="maternal", item="delivery", visit_date__gte=gap_start)
                            .order_by("visit_date", "id").values_list("resident_id", "visit_date")):
        if resident_id in work.people:
            work.baby(work.people[resident_id], on)

    # the months between: deliveries at the programme's birth rate, each with its baby
    fill_end = today - dt.timedelta(days=RECENT_DELIVERY_DAYS)
    if fill_end > gap_start:
        women = [woman for village in sorted(work.women) for woman in work.women[village]]
        n = round(BIRTHS_PER_RESIDENT_YEAR * len(people) * (fill_end - gap_start).days / 365)
        days = sorted(gap_start + dt.timedelta(days=rng.randrange((fill_end - gap_start).days)) for _ in range(n))
        for on in days:
            mother = work.any_mother(women, on) if women else None
            if mother is not None:
                work.pregnancy(mother, on)
                work.baby(mother, on)

    _write(ctx, work, today)


def _write(ctx: BuildContext, work: _Births, today: dt.date) -> None:
    wanted = {b.mother.id for b in work.babies} | {b.father_side for b in work.babies if b.father_side}
    known: dict[int, tuple[str, str, str, str]] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 5000):
        for pk, name, ethnicity, address, household in (Resident.objects.filter(pk__in=ids[start:start + 5000])
                                                         .values_list("id", "name", "ethnicity", "address",
                                                                      "household__code")):
            known[pk] = (name, ethnicity, address, household or "")
    rows: list[dict[str, Any]] = []
    for b in work.babies:
        name, ethnicity, address, household = known[b.mother.id]
        surname = (known[b.father_side][0] if b.father_side else name)[:1]
        rows.append({"name": surname + b.given_name, "sex": b.sex, "birth_date": b.born,
                     "village_code": b.mother.village_code, "household_code": household if b.relation else "",
                     "relation_to_head": b.relation, "ethnicity": ethnicity, "address": address})
    residents_bulk_insert(rows)
    for row, b in zip(rows, work.babies, strict=True):
        baby = _Resident(row["id"], b.sex, b.born, b.mother.path, b.mother.clinic_id, b.mother.centre_id, None,
                         b.relation, b.mother.village_code)
        work.maker.child(baby.person(), age_on(b.born, today))
    enrolment_ids = enrolments_bulk_create(work.maker.enrolments)
    visits = []
    for enrolment_id, enrolment_visits in zip(enrolment_ids, work.maker.visits, strict=True):
        for visit in enrolment_visits:
            visit["enrolment_id"] = enrolment_id
            visits.append(visit)
    written = visits_bulk_create(visits)
    scheduled = plans_rebuild(enrolment_ids, as_of=today) if enrolment_ids else 0
    ctx.counts["residents"] += len(rows)
    ctx.counts["enrolments"] += len(enrolment_ids)
    ctx.counts["visits"] += written
    ctx.counts["scheduled_visits"] += scheduled
    ctx.made["births"] = len(rows)
    ctx.made["deliveries"] = work.deliveries


# ---------------------------------------------------------------- 2. record dates


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def created_on(rng: random.Random, born: dt.date, today: dt.date) -> dt.date:
    """The day a record was created, never after ``today``: for someone born since
    :data:`EHR_START`, a few days to weeks after the birth (the newborn visit opens the record);
    for the others a day since :data:`EHR_START` — :data:`RECENT_SHARE` of them in the last
    :data:`RECENT_MONTHS` months (people registering late, moving in), most years before."""
    if born >= EHR_START:
        return min(born + dt.timedelta(days=rng.randint(*REGISTERED_AFTER_BIRTH_DAYS)), today)
    recent = _months_back(today, RECENT_MONTHS)
    first, last = (recent, today) if rng.random() < RECENT_SHARE else (EHR_START, recent - dt.timedelta(days=1))
    return min(first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days))), today)


def record_dates(rng: random.Random, today: dt.date) -> None:
    """Re-date ``created_at`` of every record, one UPDATE per day (the ids of that day)."""
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for pk, born in Resident.objects.order_by("id").values_list("id", "birth_date"):
        by_day[created_on(rng, born, today)].append(pk)
    zone = timezone.get_current_timezone()
    now = timezone.now()
    for day in sorted(by_day):
        moment = dt.datetime.combine(day, dt.time(rng.randint(*WORK_HOURS), rng.randrange(60)), tzinfo=zone)
        ids = by_day[day]
        for start in range(0, len(ids), 5000):
            Resident.objects.filter(pk__in=ids[start:start + 5000]).update(created_at=min(moment, now))


# ---------------------------------------------------------------- 3. resident population


def population_years(today: dt.date) -> range:
    """The years the indicators' periods reach (``YGT_ANALYTICS_MONTHS`` back) and the programmes'
    history covers, up to this year."""
    months = int(getattr(settings, "YGT_ANALYTICS_MONTHS", RECENT_MONTHS))
    first = min(history_start(today).year, today.year - math.ceil(months / 12))
    return range(first, today.year + 1)


def population(ctx: BuildContext, rng: random.Random, today: dt.date) -> None:
    """常住人口 per village and year: people born by 30 June of the year ÷ the village's coverage."""
    duplicates = {row[1] for row in ctx.made.get("duplicates_truth", [])}
    births: dict[str, list[dt.date]] = defaultdict(list)
    for code, record_no, born in (Resident.objects.exclude(status=RecordStatus.MERGED).order_by("id")
                                  .values_list("village__code", "record_no", "birth_date")):
        if record_no not in duplicates:
            births[code].append(born)
    years = population_years(today)
    rows = []
    for village_id, code in Division.objects.filter(level=DivisionLevel.VILLAGE).order_by("code").values_list(
            "id", "code"):
        coverage = COVERAGE * rng.uniform(1 - COVERAGE_SPREAD, 1 + COVERAGE_SPREAD)
        dates = births.get(code, [])
        if not dates:
            continue
        for year in years:
            mid = dt.date(year, 6, 30)
            people = sum(1 for born in dates if born <= mid)
            if people:
                rows.append(Population(division_id=village_id, year=year, population=round(people / coverage),
                                       source=POPULATION_SOURCE))
    Population.objects.bulk_create(rows, batch_size=2000)
    ctx.counts["population"] += len(rows)
    ctx.made["population_years"] = list(years)


__all__ = ["build", "created_on", "population_years", "record_dates"]
