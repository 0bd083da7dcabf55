"""Demo module ``programmes``: residents under the public-health programmes, with two years of history.

Who is enrolled (prevalences of a rural 黔西南 county, rounded): hypertension about a quarter of
the adults ≥35 and diabetes about a tenth (both rising with age); everyone ≥65 in the elderly
programme and its TCM 体质辨识; every child <7 in child health and immunisation (and <3 in TCM
调养); pregnancies in progress and recent deliveries at about 10 births per 1,000 a year;
severe mental disorders about 0.4 %; tuberculosis a few per 100,000.

The history runs up to ``core.clock.today()`` and reaches back to 1 January two years before: chronic follow-ups at
the interval the engine's classification sets (most patients kept well, some late, some lost to
follow-up; blood pressure and glucose controlled in about 60 % of visits, so the classifications
vary), vaccinations mostly on time with some late (catch-up) and a few missing, child visits,
antenatal care, yearly elderly checks for about two-thirds. Classifications come from the
engine (:func:`~yigongti.programmes.engine.classify`), dates from its plans, so the stored
history is what the rules say. Everything is drawn from ``ctx.rng`` (deterministic from the seed)
and written with the bulk paths; then :func:`~yigongti.programmes.bulk.plans_rebuild` makes the
plans. Leaves in ``ctx.made``: ``enrolments`` (count per programme code).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core import clock
from yigongti.programmes.bulk import enrolments_bulk_create, plans_rebuild, visits_bulk_create
from yigongti.programmes.choices import EnrolmentHow, VisitSource
from yigongti.programmes.engine import classify, plan
from yigongti.programmes.engine.types import ProgrammeSpec, Service
from yigongti.programmes.models import Programme
from yigongti.programmes.specs import ProgrammeNotLoaded, spec_for
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

from .context import VALID_FROM, BuildContext, weighted_choice

RESIDENTS_PER_CHUNK = 20_000
HISTORY_YEARS = 2  # history from 1 January two years back: two full calendar years and this one
NEW_PATIENT_SHARE = 0.2  # chronic patients diagnosed during the history; the others managed before it

# Prevalence of managed hypertension / type-2 diabetes by age band (lower bound of the band, share).
HYPERTENSION_BY_AGE = [(35, 0.10), (45, 0.20), (55, 0.30), (65, 0.36)]
DIABETES_BY_AGE = [(35, 0.05), (45, 0.09), (55, 0.12), (65, 0.13)]
CHRONIC_MIN_AGE = 35
ELDERLY_AGE = 65
CHILD_MAX_AGE = 7  # exclusive
TCM_CHILD_MAX_AGE = 3  # exclusive
BIRTHS_PER_RESIDENT_YEAR = 0.010
PREGNANCY_DAYS = 280
RECENT_DELIVERY_DAYS = 60
MOTHER_AGES = (20, 40)
BOOKING_DAYS = (42, 84)  # 建册 at 6–12 weeks
DELIVERY_SPREAD_DAYS = (-14, 7)
MENTAL_RATE, MENTAL_MIN_AGE = 0.005, 15  # ≈ 0.4 % of all residents
TB_RATE, TB_MIN_AGE, TB_NOTICE_DAYS = 0.00005, 15, 180

# How patients keep their follow-ups: (share, delay range in days, chance to drop out for good).
PATIENT_PROFILES = [("well", 0.75, (0, 7), 0.0), ("late", 0.17, (10, 60), 0.0), ("lost", 0.08, (0, 20), 0.5)]
CONTROLLED_PATIENT_SHARE = 0.65  # patients whose values are controlled at most visits
CONTROLLED_VISIT_CHANCE = (0.85, 0.25)  # per visit, for controlled / other patients
DANGER_CHANCE = 0.02
YEARLY_CHECK_CHANCE = 0.7
ELDERLY_CHECK_CHANCE = 0.65
CHILD_VISIT_CHANCE, TCM_CHILD_CHANCE, ANTENATAL_CHANCE = 0.88, 0.7, 0.9
VACCINE_LATE_CHANCE, VACCINE_MISSED_CHANCE = 0.15, 0.03
VACCINE_LATE_DAYS = (15, 120)
ON_TIME_DAYS = (0, 7)
MIN_DOSE_GAP_DAYS = 28  # 国家免疫规划: at least 28 days between two doses of one vaccine
VARIANTS = [({}, 0.8), ({"JE": "JE-I"}, 0.1), ({"HepA": "HepA-I"}, 0.1)]
DIAGNOSES = {"hypertension": ["I10"], "diabetes": ["E11.9", "E11"], "mental": ["F20", "F31", "F25", "F22"],
             "tb": ["A15.0", "A16.2"]}

Row = dict[str, Any]


class _Person:
    __slots__ = ("born", "centre_id", "clinic_id", "id", "path", "sex")

    def __init__(self, values: Sequence[Any]) -> None:
        self.id, self.sex, self.born, self.path, self.clinic_id, self.centre_id = values


def history_start(today: dt.date) -> dt.date:
    """The first day of the generated history of chronic and yearly services."""
    return dt.date(today.year - HISTORY_YEARS, 1, 1)


def age_on(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _birthday(born: dt.date, years: int) -> dt.date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return born.replace(year=born.year + years, day=28)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _banded(bands: Sequence[tuple[int, float]], age: int) -> float:
    share = 0.0
    for low, value in bands:
        if age >= low:
            share = value
    return share


class Maker:
    """Enrolments and visits of one chunk of residents (rows for the bulk writers)."""

    def __init__(self, rng: random.Random, today: dt.date, programmes: dict[str, int],
                 specs: dict[str, ProgrammeSpec], n_residents: int, n_mothers: int) -> None:
        self.rng, self.today, self.programmes, self.specs = rng, today, programmes, specs
        self.since = history_start(today)
        births = BIRTHS_PER_RESIDENT_YEAR * n_residents
        mothers = max(1, n_mothers)
        self.pregnant_chance = births * PREGNANCY_DAYS / 365 / mothers
        self.delivered_chance = births * RECENT_DELIVERY_DAYS / 365 / mothers
        self.enrolments: list[Row] = []
        self.visits: list[list[Row]] = []  # per enrolment, same order

    # ---------------------------------------------------------------- enrolment

    def person(self, p: _Person) -> None:
        age = age_on(p.born, self.today)
        rng = self.rng
        if age >= CHRONIC_MIN_AGE:
            if rng.random() < _banded(HYPERTENSION_BY_AGE, age):
                self.chronic(p, "hypertension")
            if rng.random() < _banded(DIABETES_BY_AGE, age):
                self.chronic(p, "diabetes")
        if age >= ELDERLY_AGE:
            self.elderly(p)
        if age < CHILD_MAX_AGE:
            self.child(p, age)
        if p.sex == "F" and MOTHER_AGES[0] <= age <= MOTHER_AGES[1]:
            draw = rng.random()
            if draw < self.pregnant_chance:
                self.maternal(p, self.today - dt.timedelta(days=rng.randint(20, PREGNANCY_DAYS - 1)))
            elif draw < self.pregnant_chance + self.delivered_chance:
                self.maternal(p, self.today - dt.timedelta(days=PREGNANCY_DAYS + rng.randint(0, RECENT_DELIVERY_DAYS)))
        if age >= MENTAL_MIN_AGE and rng.random() < MENTAL_RATE:
            self.chronic(p, "mental")
        if age >= TB_MIN_AGE and rng.random() < TB_RATE:
            self.chronic(p, "tb", notice=self.today - dt.timedelta(days=rng.randint(1, TB_NOTICE_DAYS)))

    def enrol(self, p: _Person, code: str, *, anchor: dt.date, enrolled_on: dt.date, how: str,
              diagnosis: str = "", variant: dict[str, str] | None = None) -> list[Row] | None:
        if code not in self.programmes or code not in self.specs:
            return None
        self.enrolments.append({
            "resident_id": p.id, "programme_id": self.programmes[code], "path": p.path, "anchor_date": anchor,
            "enrolled_on": enrolled_on, "how": how, "diagnosis_code": diagnosis, "variant": variant or {},
        })
        visits: list[Row] = []
        self.visits.append(visits)
        return visits

    def visit(self, visits: list[Row], p: _Person, code: str, item: str, on: dt.date,
              values: dict[str, Any] | None = None, *, previous: list[str] | None = None,
              institution: int | None = None) -> Row:
        values = values or {}
        row: Row = {"resident_id": p.id, "programme_id": self.programmes[code], "path": p.path, "item": item,
                    "visit_date": on, "institution_id": institution or p.clinic_id or p.centre_id,
                    "source": VisitSource.DEMO, **values}
        spec = self.specs[code]
        if previous is not None and item in spec.items:
            result = classify(spec, item=item, values=values, previous=previous)
            if result is not None:
                row["classification"], row["refer"] = result.code, result.refer
                months = getattr(result, "next_in_months", None)
                if result.next_in_days is not None:
                    row["next_due"] = on + dt.timedelta(days=result.next_in_days)
                elif months:
                    row["next_due"] = _add_months(on, months)
        visits.append(row)
        return row

    # ---------------------------------------------------------------- chronic follow-ups

    def chronic(self, p: _Person, code: str, *, notice: dt.date | None = None) -> None:
        rng = self.rng
        if notice is None:
            # Patients managed before the history starts are taken as enrolled on its first day
            # (the records the system took over); their plan, yearly checks included, runs from there.
            earliest = max(_birthday(p.born, CHRONIC_MIN_AGE if code != "mental" else MENTAL_MIN_AGE), self.since)
            latest = self.today - dt.timedelta(days=30)
            if earliest > latest:
                return
            new = earliest > self.since or rng.random() < NEW_PATIENT_SHARE
            enrolled = earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days)) if new else earliest
        else:
            enrolled = notice
        visits = self.enrol(p, code, anchor=enrolled, enrolled_on=enrolled, how=EnrolmentHow.MANUAL,
                            diagnosis=rng.choice(DIAGNOSES[code]))
        if visits is None:
            return
        profile = weighted_choice(rng, [(name, share) for name, share, _d, _l in PATIENT_PROFILES])
        delays, drop = next((d, lost) for name, _s, d, lost in PATIENT_PROFILES if name == profile)
        controlled = CONTROLLED_VISIT_CHANCE[0 if rng.random() < CONTROLLED_PATIENT_SHARE else 1]
        spec = self.specs[code]
        start = enrolled
        stop = self.today
        if drop and rng.random() < drop:  # lost to follow-up at some point of the two years
            stop = start + dt.timedelta(days=rng.randint(0, max(0, (self.today - start).days - 100)))
        history: list[Service] = []
        previous: list[str] = []
        due = start
        while True:
            on = due + dt.timedelta(days=rng.randint(*delays))
            if on > stop:
                break
            row = self.visit(visits, p, code, "followup", on, self.measure(code, controlled), previous=previous)
            previous.append(row.get("classification", ""))
            history.append(Service("followup", on, classification=row.get("classification", "")))
            if "next_due" in row:
                due = row["next_due"]
            else:
                upcoming = [r for r in plan(spec, anchor=enrolled, history=history, as_of=on)
                            if r.status != "done" and r.item == "followup" and r.due > on]
                if not upcoming:
                    break
                due = upcoming[0].due
        if "check" in spec.items:
            self.yearly(visits, p, code, "check", start, stop, YEARLY_CHECK_CHANCE, controlled)

    def measure(self, code: str, controlled: float) -> dict[str, Any]:
        rng = self.rng
        good = rng.random() < controlled
        values: dict[str, Any] = {}
        if code in ("hypertension", "diabetes", "elderly"):
            if rng.random() < DANGER_CHANCE:
                values["sbp"], values["dbp"] = rng.randint(180, 200), rng.randint(100, 115)
            elif good or code != "hypertension":
                values["sbp"], values["dbp"] = rng.randint(112, 138), rng.randint(68, 88)
            else:
                values["sbp"], values["dbp"] = rng.randint(141, 172), rng.randint(82, 104)
            values["heart_rate"] = rng.randint(62, 92)
            values["adherence"] = "regular" if good else rng.choice(["regular", "intermittent", "none"])
        if code in ("diabetes", "elderly"):
            low, high = (45, 68) if good or code == "elderly" else (72, 130)
            values["fpg"] = Decimal(rng.randint(low, high)) / 10
        if code == "mental":
            values["risk_grade"] = 0 if good else rng.choice([0, 1, 1, 2, 2, 3])
        if code == "tb":
            values["adherence"] = "regular" if good else "intermittent"
        return values

    def yearly(self, visits: list[Row], p: _Person, code: str, item: str, start: dt.date, stop: dt.date,
               chance: float, controlled: float = 1.0) -> None:
        for year in range(self.since.year, self.today.year + 1):
            first, last = max(start, dt.date(year, 1, 1)), min(stop, dt.date(year, 12, 31))
            if first <= last and self.rng.random() < chance:
                on = first + dt.timedelta(days=self.rng.randint(0, (last - first).days))
                self.visit(visits, p, code, item, on, self.measure(code, controlled))

    # ---------------------------------------------------------------- age schedules

    def elderly(self, p: _Person) -> None:
        enrolled = max(_birthday(p.born, ELDERLY_AGE), self.since)
        visits = self.enrol(p, "elderly", anchor=enrolled, enrolled_on=enrolled, how=EnrolmentHow.AUTO)
        if visits is not None:
            self.yearly(visits, p, "elderly", "check", max(enrolled, self.since), self.today, ELDERLY_CHECK_CHANCE,
                        CONTROLLED_VISIT_CHANCE[0])
        visits = self.enrol(p, "tcm", anchor=p.born, enrolled_on=enrolled, how=EnrolmentHow.AUTO)
        if visits is not None and "constitution" in self.specs["tcm"].items:
            self.yearly(visits, p, "tcm", "constitution", max(enrolled, self.since), self.today,
                        ELDERLY_CHECK_CHANCE)

    def child(self, p: _Person, age: int) -> None:
        enrolled = max(p.born, VALID_FROM)
        visits = self.enrol(p, "child", anchor=p.born, enrolled_on=enrolled, how=EnrolmentHow.AUTO)
        if visits is not None:
            self.schedule(visits, p, "child", p.born, CHILD_VISIT_CHANCE)
        variant = weighted_choice(self.rng, VARIANTS)
        visits = self.enrol(p, "immunisation", anchor=p.born, enrolled_on=enrolled, how=EnrolmentHow.AUTO,
                            variant=dict(variant))
        if visits is not None:
            self.vaccinate(visits, p, variant)
        if age < TCM_CHILD_MAX_AGE:
            visits = self.enrol(p, "tcm", anchor=p.born, enrolled_on=enrolled, how=EnrolmentHow.AUTO)
            if visits is not None:
                self.schedule(visits, p, "tcm", p.born, TCM_CHILD_CHANCE, prefix="tcm-")

    def schedule(self, visits: list[Row], p: _Person, code: str, anchor: dt.date, chance: float, *,
                 prefix: str = "", history: Sequence[Service] = (), until: dt.date | None = None) -> None:
        """Visits of an age schedule from its anchor (a child's whole record, not only two years):
        each item on time (in its window) with ``chance``, else missed."""
        until = until or self.today
        as_of = max([anchor, *(s.date for s in history)])
        for r in plan(self.specs[code], anchor=anchor, history=list(history), as_of=as_of):
            if r.status == "done" or not r.item.startswith(prefix):
                continue
            if self.rng.random() >= chance:
                continue
            slack = max(0, (r.window_end - r.due).days)
            on = r.due + dt.timedelta(days=self.rng.randint(0, min(slack, ON_TIME_DAYS[1] * 2)))
            if on > until:
                continue
            self.visit(visits, p, code, r.item, on, self.child_values(p, on) if code == "child" else {})

    def child_values(self, p: _Person, on: dt.date) -> dict[str, Any]:
        months = (on - p.born).days / 30.4
        weight = 3.3 + 0.7 * min(months, 6) + 0.25 * max(0, min(months, 24) - 6) + 0.17 * max(0, months - 24)
        height = 50 + 2.6 * min(months, 6) + 1.2 * max(0, min(months, 24) - 6) + 0.6 * max(0, months - 24)
        jitter = self.rng.uniform(0.92, 1.08)
        return {"weight_kg": Decimal(f"{weight * jitter:.1f}"), "height_cm": Decimal(f"{height * jitter:.1f}")}

    def vaccinate(self, visits: list[Row], p: _Person, variant: dict[str, str]) -> None:
        rng = self.rng
        last: dict[str, dt.date] = {}
        for r in plan(self.specs["immunisation"], anchor=p.born, history=[], as_of=p.born, variant=variant or None):
            vaccine = r.item.rsplit("-", 1)[0]
            draw = rng.random()
            if draw < VACCINE_MISSED_CHANCE:
                continue
            late = draw < VACCINE_MISSED_CHANCE + VACCINE_LATE_CHANCE
            on = r.due + dt.timedelta(days=rng.randint(*(VACCINE_LATE_DAYS if late else ON_TIME_DAYS)))
            if vaccine in last:
                on = max(on, last[vaccine] + dt.timedelta(days=MIN_DOSE_GAP_DAYS))
            if on > self.today:
                continue
            last[vaccine] = on
            self.visit(visits, p, "immunisation", r.item, on, {"lot_no": f"{on:%Y%m}{rng.randint(1, 99):02d}"},
                       institution=p.centre_id)

    def maternal(self, p: _Person, lmp: dt.date) -> None:
        booked = min(self.today, lmp + dt.timedelta(days=self.rng.randint(*BOOKING_DAYS)))
        visits = self.enrol(p, "maternal", anchor=lmp, enrolled_on=booked, how=EnrolmentHow.MANUAL)
        if visits is None:
            return
        delivered = lmp + dt.timedelta(days=PREGNANCY_DAYS + self.rng.randint(*DELIVERY_SPREAD_DAYS))
        spec = self.specs["maternal"]
        self.schedule(visits, p, "maternal", lmp, ANTENATAL_CHANCE, prefix="antenatal",
                      until=min(self.today, delivered - dt.timedelta(days=1)))
        if delivered > self.today or "delivery" not in spec.items:
            return
        self.visit(visits, p, "maternal", "delivery", delivered, institution=p.centre_id)
        self.schedule(visits, p, "maternal", lmp, ANTENATAL_CHANCE, prefix="postpartum",
                      history=[Service("delivery", delivered)])



def build(ctx: BuildContext) -> None:
    today = clock.today()
    programmes = dict(Programme.objects.values_list("code", "id"))
    specs: dict[str, ProgrammeSpec] = {}
    for code in programmes:
        try:
            specs[code] = spec_for(code, today)
        except ProgrammeNotLoaded:  # no version in force today: left out
            continue
    if not specs:
        ctx.step(_("未载入公共卫生服务项目规则，跳过"))
        return
    people = Resident.objects.filter(status=RecordStatus.ACTIVE).order_by("id")
    fields = ("id", "sex", "birth_date", "path", "clinic_id", "township_centre_id")
    ids = list(people.values_list("id", flat=True))
    mothers = sum(1 for sex, born in people.values_list("sex", "birth_date")
                  if sex == "F" and MOTHER_AGES[0] <= age_on(born, today) <= MOTHER_AGES[1])
    counts: Counter[str] = Counter()
    codes = {pk: code for code, pk in programmes.items()}
    total_visits = 0
    for start in range(0, len(ids), RESIDENTS_PER_CHUNK):
        chunk = ids[start:start + RESIDENTS_PER_CHUNK]
        ctx.step(_("项目管理 %(done)s/%(total)s 人") % {"done": start + len(chunk), "total": len(ids)})
        maker = Maker(ctx.rng, today, programmes, specs, len(ids), mothers)
        for values in people.filter(id__in=chunk).values_list(*fields):
            maker.person(_Person(values))
        enrolment_ids = enrolments_bulk_create(maker.enrolments)
        rows = []
        for enrolment_id, enrolment, visits in zip(enrolment_ids, maker.enrolments, maker.visits, strict=True):
            counts[codes[enrolment["programme_id"]]] += 1
            for visit in visits:
                visit["enrolment_id"] = enrolment_id
                rows.append(visit)
        total_visits += visits_bulk_create(rows)
    ctx.step(_("生成服务计划"))
    enrolled = sum(counts.values())
    written = plans_rebuild(as_of=today)  # in this module's transaction: one process
    ctx.counts["enrolments"] += enrolled
    ctx.counts["visits"] += total_visits
    ctx.counts["scheduled_visits"] += written
    ctx.made["enrolments"] = dict(counts)
