"""The notifiable-disease case generator of the demo (and of ``benchmarks/bench_alerts.py``): new cases
with seasons, then the 传染病报告卡 a county would hold for them.

**New cases** (:func:`baseline_cases`). Every township × disease of :data:`PROFILES` gets a Poisson
count of new cases a day: the township's people × the disease's reported incidence (per 100,000 a
year) ÷ 365 × the month's seasonal factor × a factor for the year (some years are bigger than
others). Rates are rounded from China's national notifiable-disease reports of 2015–2019 (国家卫生健康委
《全国法定传染病疫情概况》: 手足口病 130–250, 流行性感冒 50–260 reported and rising, 其它感染性腹泻病
90–100, 肺结核 55–65 — higher in Guizhou —, 病毒性肝炎 85–95, 梅毒 30–38, 流行性腮腺炎 13–20, 淋病 7–9,
猩红热 4–6, 痢疾 6–8, 艾滋病 4–5 …) and the seasonality of the literature: 手足口病 peaks in April–June
and again in September–October, influenza in December–February, diarrhoea in summer, mumps in spring.

**Cards** (:class:`CaseMaker`). Mostly residents of the township of an age fitting the disease (HFMD
under 6, mumps children, TB adults …; never a second live card of the same patient and disease within
the episode — :class:`ResidentPool`), a few non-residents with an address in the township; reported
by the patient's village clinic, the township centre or the county hospital (weighted per disease),
``diagnosed_at`` 0–3 days after onset, reported 0.5–12 h after diagnosis (≈ 4 % after the deadline);
reviewed as the services would (township 初审 then county 终审 for the township's cards, the CDC
directly for the hospital's; some returned and corrected; ≈ 1 % deleted duplicates pointing at the
original), each step a :class:`~yigongti.surveillance.models.CardEvent`. A card that would be
reported after "now" is not written. The invariants of
:func:`~yigongti.surveillance.services.card_report` hold: deadline, on-time flag, township, paths,
card number (report day + id). Written with bulk paths (COPY on PostgreSQL).
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from yigongti.accounts.models import Role, User
from yigongti.core import clock
from yigongti.registry.choices import DivisionLevel, InstitutionType
from yigongti.registry.models import Division, Institution
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident
from yigongti.surveillance.choices import CardAction, CardStatus, DiagnosisType
from yigongti.surveillance.models import CardEvent, CaseCard, Disease

from .bulk_rows import ids_draw, table_insert
from .care import places_load
from .context import weighted_choice
from .people import PersonMaker

Row = dict[str, Any]
NON_RESIDENT_SHARE = 0.04
LATE_SHARE = 0.04
DUPLICATE_SHARE = 0.01
RETURN_SHARE = 0.02
DIAGNOSIS_LAG = [(0, 0.35), (1, 0.35), (2, 0.18), (3, 0.12)]  # days from onset


@dataclass(frozen=True)
class Profile:
    """How one disease occurs: reported incidence per 100,000 a year, 12 monthly factors (January
    first, relative), age bands ``(from, to, weight)`` in years, where it is reported (village
    clinic, township centre, county hospital), whether laboratory-confirmed, year-to-year spread."""

    per_100k: float
    season: tuple[float, ...]
    ages: tuple[tuple[int, int, float], ...]
    places: tuple[float, float, float] = (0.15, 0.45, 0.40)
    lab: bool = False
    year_sd: float = 0.1


FLAT = (1.0,) * 12
_STI = (0.0, 0.25, 0.75)  # sexually transmitted and blood-borne: mostly the county hospital's clinics
_CHILD = (0.2, 0.5, 0.3)
PROFILES: dict[str, Profile] = {
    "hfmd": Profile(220, (0.3, 0.2, 0.5, 1.4, 2.3, 2.2, 1.2, 0.6, 1.1, 1.3, 0.6, 0.4),
                    ((0, 1, 0.12), (1, 3, 0.45), (3, 6, 0.35), (6, 10, 0.06), (10, 40, 0.02)), _CHILD, year_sd=0.25),
    "influenza": Profile(250, (2.8, 1.8, 1.0, 0.6, 0.4, 0.4, 0.5, 0.4, 0.3, 0.4, 0.9, 2.5),
                         ((0, 5, 0.25), (5, 15, 0.35), (15, 60, 0.28), (60, 90, 0.12)), _CHILD, year_sd=0.3),
    "diarrhoea": Profile(150, (1.0, 0.7, 0.6, 0.7, 1.0, 1.4, 1.6, 1.5, 1.1, 0.8, 0.8, 0.9),
                         ((0, 3, 0.45), (3, 15, 0.1), (15, 60, 0.25), (60, 90, 0.2)), _CHILD),
    "tb": Profile(60, (0.9, 0.9, 1.2, 1.2, 1.1, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0),
                  ((15, 30, 0.15), (30, 60, 0.45), (60, 90, 0.4)), (0.0, 0.1, 0.9), lab=True),
    "hepatitis": Profile(70, FLAT, ((20, 40, 0.3), (40, 60, 0.45), (60, 85, 0.25)), _STI, lab=True),
    "syphilis": Profile(30, FLAT, ((20, 40, 0.35), (40, 60, 0.35), (60, 85, 0.3)), _STI, lab=True),
    "gonorrhoea": Profile(8, FLAT, ((18, 30, 0.4), (30, 50, 0.5), (50, 65, 0.1)), _STI, lab=True),
    "hiv": Profile(8, FLAT, ((20, 40, 0.4), (40, 60, 0.35), (60, 80, 0.25)), _STI, lab=True),
    "mumps": Profile(20, (0.7, 0.5, 0.9, 1.4, 1.6, 1.5, 1.2, 0.7, 0.7, 0.9, 1.0, 0.9),
                     ((3, 6, 0.25), (6, 15, 0.65), (15, 30, 0.1)), _CHILD),
    "scarlet_fever": Profile(6, (1.2, 0.6, 0.8, 1.1, 1.4, 1.3, 0.8, 0.5, 0.6, 0.9, 1.3, 1.5),
                             ((3, 6, 0.45), (6, 12, 0.5), (12, 20, 0.05)), _CHILD),
    "dysentery": Profile(6, (0.5, 0.5, 0.6, 0.8, 1.1, 1.5, 1.7, 1.6, 1.2, 0.9, 0.6, 0.5),
                         ((0, 5, 0.3), (5, 60, 0.45), (60, 85, 0.25))),
    "pertussis": Profile(3, (0.8, 0.7, 0.9, 1.1, 1.2, 1.3, 1.3, 1.1, 0.9, 0.9, 0.9, 0.9),
                         ((0, 1, 0.5), (1, 6, 0.3), (6, 12, 0.2)), _CHILD),
    "typhoid": Profile(1.5, (0.6, 0.6, 0.7, 0.9, 1.2, 1.4, 1.5, 1.4, 1.2, 0.9, 0.8, 0.8), ((5, 60, 1.0),)),
    "rubella": Profile(1.5, (0.8, 0.8, 1.2, 1.5, 1.4, 1.1, 0.9, 0.7, 0.7, 0.9, 1.0, 1.0), ((5, 30, 1.0),)),
    "conjunctivitis": Profile(2, (0.5, 0.5, 0.6, 0.7, 0.9, 1.2, 1.6, 1.8, 1.6, 1.1, 0.8, 0.7), ((5, 40, 1.0),)),
}
LAB_TYPES = [(DiagnosisType.CONFIRMED, 0.9), (DiagnosisType.CLINICAL, 0.1)]
CLINICAL_TYPES = [(DiagnosisType.CLINICAL, 0.6), (DiagnosisType.CONFIRMED, 0.35), (DiagnosisType.SUSPECTED, 0.05)]
RETURN_REASONS = ["现住址未填写到村组，请补充", "发病日期晚于就诊日期，请核实", "病例分类与实验室结果不符，请订正",
                  "有效证件号码有误，请核对"]
DELETE_REASON = "重卡：同一病例已由其他单位报告"
NON_RESIDENT_ADDRESS = "（外县务工人员，暂住）"


def baseline_cases(rng: random.Random, populations: Mapping[str, int], start: dt.date, end: dt.date,
                   profiles: Mapping[str, Profile] = PROFILES) -> list[tuple[str, str, dt.date, int]]:
    """New cases by (township code, disease code, onset day, count) for ``start`` … ``end``: Poisson
    around population × rate × season × the year's factor (numpy, seeded from ``rng``)."""
    generator = np.random.default_rng(rng.getrandbits(64))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    months = np.array([d.month - 1 for d in days])
    years = np.array([d.year for d in days])
    codes = sorted(populations)
    people = np.array([populations[c] for c in codes], dtype=float)
    found: list[tuple[str, str, dt.date, int]] = []
    for disease in sorted(profiles):
        profile = profiles[disease]
        season = np.array(profile.season) * 12 / sum(profile.season)
        by_year = {y: float(np.exp(generator.normal(0, profile.year_sd) - profile.year_sd ** 2 / 2))
                   for y in sorted(set(years.tolist()))}
        daily = season[months] * np.array([by_year[y] for y in years]) * profile.per_100k / 100_000 / 365
        counts = generator.poisson(people[:, None] * daily[None, :])
        for t, d in zip(*np.nonzero(counts), strict=True):
            found.append((codes[t], disease, days[d], int(counts[t, d])))
    return found


# ---------------------------------------------------------------- the county as the maker sees it


@dataclass
class County:
    """Townships, villages, institutions and users, read once (plain values)."""

    townships: dict[str, tuple[int, str]] = field(default_factory=dict)  # code → (division id, name)
    villages: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)  # township id → (id, path, name)
    clinic_of: dict[int, int] = field(default_factory=dict)  # village id → clinic id
    centre_of: dict[int, int] = field(default_factory=dict)  # township id → centre id
    hospital: int | None = None
    paths: dict[int, str] = field(default_factory=dict)  # institution id → path
    clinicians: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    reporter: dict[int, int] = field(default_factory=dict)  # institution id → a user of it
    checker: dict[int, int] = field(default_factory=dict)  # township id → township staff user
    cdc_user: int | None = None

    @classmethod
    def load(cls) -> County:
        county = cls()
        for pk, code, name in Division.objects.filter(level=DivisionLevel.TOWNSHIP).order_by("code").values_list(
                "id", "code", "name"):
            county.townships[code] = (pk, name)
        for pk, parent, path, name in Division.objects.filter(level=DivisionLevel.VILLAGE).order_by(
                "code").values_list("id", "parent_id", "path", "name"):
            county.villages.setdefault(parent, []).append((pk, path, name))
        for pk, kind, division, path in Institution.objects.order_by("id").values_list("id", "type", "division_id",
                                                                                         "path"):
            county.paths[pk] = path
            if kind == InstitutionType.VILLAGE_CLINIC:
                county.clinic_of.setdefault(division, pk)
            elif kind in (InstitutionType.TOWNSHIP_CENTRE, InstitutionType.COMMUNITY_CENTRE):
                county.centre_of.setdefault(division, pk)
            elif kind == InstitutionType.COUNTY_HOSPITAL and county.hospital is None:
                county.hospital = pk
        places, _county = places_load()
        county.clinicians = {pk: place.clinicians.get(None, []) for pk, place in places.items()}
        for institution, user in User.objects.filter(institution__isnull=False).order_by("-id").values_list(
                "institution_id", "id"):
            county.reporter[institution] = user  # ordered by -id: the first user of each institution wins
        for unit, user in User.objects.filter(role=Role.TOWNSHIP_STAFF).order_by("-id").values_list("entry_unit_id",
                                                                                                 "id"):
            county.checker[unit] = user
        county.cdc_user = (User.objects.filter(role=Role.CDC).order_by("id").values_list("id", flat=True).first())
        return county


class ResidentPool:
    """Active residents by township sorted by birth date, to draw a patient of a given age who has
    no live card of the disease within the episode."""

    def __init__(self, rng: random.Random, villages: Mapping[int, list[tuple[int, str, str]]]) -> None:
        self.rng = rng
        township_of = {v: t for t, vs in villages.items() for v, _p, _n in vs}
        self.born: dict[int, list[int]] = {}
        self.ids: dict[int, list[tuple[int, int]]] = {}  # (resident, village)
        for pk, born, village in Resident.objects.filter(status=RecordStatus.ACTIVE).order_by(
                "birth_date", "id").values_list("id", "birth_date", "village_id"):
            township = township_of.get(village)
            if township is not None:
                self.born.setdefault(township, []).append(born.toordinal())
                self.ids.setdefault(township, []).append((pk, village))
        self.last: dict[tuple[int, str], list[dt.datetime]] = {}

    def pick(self, township: int, onset: dt.date, ages: tuple[int, int], disease: str, diagnosed: dt.datetime,
             episode_days: int) -> tuple[int, int] | None:
        """A resident (and their village) aged ``ages[0]`` to ``ages[1]`` (exclusive) at onset."""
        born = self.born.get(township)
        if not born:
            return None
        low = bisect.bisect_right(born, onset.toordinal() - int(ages[1] * 365.25))
        high = bisect.bisect_right(born, onset.toordinal() - int(ages[0] * 365.25))
        if high <= low:
            return None
        window = dt.timedelta(days=episode_days)
        for _attempt in range(6):
            pk, village = self.ids[township][self.rng.randrange(low, high)]
            seen = self.last.setdefault((pk, disease), [])
            if all(abs(diagnosed - other) >= window for other in seen):
                seen.append(diagnosed)
                return pk, village
        return None

    @staticmethod
    def details(ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        found: dict[int, tuple[Any, ...]] = {}
        for start in range(0, len(ids), 900):
            for row in Resident.objects.filter(id__in=ids[start:start + 900]).values_list(
                    "id", "name", "sex", "birth_date", "id_number", "phone", "village_id", "address"):
                found[row[0]] = row[1:]
        return found


# ---------------------------------------------------------------- the cards


class CaseMaker:
    """Case cards with their review history, from (township, disease, onset) — written with
    :meth:`flush`. ``pool`` None: every patient a non-resident with an address in the township."""

    def __init__(self, rng: random.Random, county: County, diseases: Mapping[str, Disease], now: dt.datetime,
                 pool: ResidentPool | None = None) -> None:
        self.rng, self.county, self.diseases, self.now, self.pool = rng, county, diseases, now, pool
        self.people = PersonMaker(rng, home_share=0.3)
        self.cards: list[Row] = []
        self.events: list[list[Row]] = []
        self.village_of_township = {pk: county.villages.get(pk, []) for pk, _name in county.townships.values()}

    def case(self, township: str, disease_code: str, onset: dt.date, *, ages: tuple[int, int] | None = None,
             lag: int | None = None, places: tuple[float, float, float] | None = None) -> Row | None:
        """One card (and maybe its deleted duplicate), or None when it is not reported by now."""
        rng = self.rng
        disease = self.diseases[disease_code]
        profile = PROFILES.get(disease_code)
        township_id, township_name = self.county.townships[township]
        villages = self.village_of_township.get(township_id)
        if not villages:
            return None
        days = lag if lag is not None else weighted_choice(rng, DIAGNOSIS_LAG)
        diagnosed = dt.datetime.combine(onset + dt.timedelta(days=days), dt.time(rng.randint(8, 19),
                                        rng.randint(0, 59)), tzinfo=clock.LOCAL_TZ)
        reported = diagnosed + dt.timedelta(hours=self.delay(disease.deadline_hours))
        if reported > self.now:
            return None  # not diagnosed or not reported yet
        band = ages or (weighted_choice(rng, [((lo, hi), w) for lo, hi, w in profile.ages]) if profile else (20, 60))
        patient = self.patient(township_id, township_name, villages, onset, band, disease_code, diagnosed,
                               disease.episode_days)
        institution = self.institution(patient["_clinic"], township_id,
                                       places or (profile.places if profile else (0.0, 0.5, 0.5)))
        kind = weighted_choice(rng, LAB_TYPES if profile is not None and profile.lab else CLINICAL_TYPES)
        staff: list[tuple[int | None, str]] = [*self.county.clinicians.get(institution, [])] or [(None, "")]
        clinician = rng.choice(staff)
        card: Row = {
            **{k: v for k, v in patient.items() if not k.startswith("_")}, "township_id": township_id,
            "disease_id": disease.pk, "icd10": rng.choice(disease.icd10) if disease.icd10 else "",
            "diagnosis_type": kind, "onset_date": onset, "diagnosed_at": diagnosed, "reported_at": reported,
            "deadline_at": diagnosed + dt.timedelta(hours=disease.deadline_hours),
            "institution_id": institution, "institution_path": self.county.paths[institution],
            "clinician_id": clinician[0], "clinician_name": clinician[1],
            "created_by_id": self.county.reporter.get(institution), "return_reason": "", "delete_reason": "",
        }
        card["on_time"] = card["reported_at"] <= card["deadline_at"]
        self.review(card, route="county" if institution == self.county.hospital else "township")
        if rng.random() < DUPLICATE_SHARE and card["status"] != CardStatus.RETURNED:
            self.duplicate(card, disease)
        return card

    def delay(self, deadline: int) -> float:
        """Hours from diagnosis to report: ≈ 4 % late, most 0.5–12 h for a 24-hour deadline."""
        rng = self.rng
        if rng.random() < LATE_SHARE:
            return deadline + rng.uniform(0.5, 48)
        if deadline <= 2:
            return rng.uniform(0.1, deadline - 0.1)
        if rng.random() < 0.9:
            return min(12.0, 0.5 + rng.expovariate(1 / 3))
        return rng.uniform(12, deadline - 0.1)

    def patient(self, township_id: int, township_name: str, villages: list[tuple[int, str, str]], onset: dt.date,
                ages: tuple[int, int], disease: str, diagnosed: dt.datetime, episode_days: int) -> Row:
        rng = self.rng
        picked = None
        if self.pool is not None and rng.random() >= NON_RESIDENT_SHARE:
            picked = self.pool.pick(township_id, onset, ages, disease, diagnosed, episode_days)
        if picked is not None:  # the other fields come from the resident at flush
            return {"resident_id": picked[0], "_clinic": self.county.clinic_of.get(picked[1])}
        village_id, path, village_name = rng.choice(villages)
        years = ages[0] + rng.random() * (ages[1] - ages[0])
        born = onset - dt.timedelta(days=int(years * 365.25))
        person = self.people.make(born_from=born - dt.timedelta(days=180), born_to=min(born, onset))
        return {"resident_id": None, "patient_name": person.name, "sex": person.sex, "birth_date": person.born,
                "id_number": person.id_number, "phone": f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}",
                "division_id": village_id, "path": path, "_clinic": self.county.clinic_of.get(village_id),
                "address": f"{township_name}{village_name}{NON_RESIDENT_ADDRESS}"}

    def institution(self, clinic: int | None, township_id: int, weights: tuple[float, float, float]) -> int:
        centre = self.county.centre_of.get(township_id)
        options = [(clinic, weights[0]), (centre, weights[1]), (self.county.hospital, weights[2])]
        options = [(pk, w) for pk, w in options if pk is not None and w > 0]
        if not options:
            options = [(pk, 1.0) for pk in (centre, self.county.hospital) if pk is not None]
        return int(weighted_choice(self.rng, options))

    def review(self, card: Row, route: str) -> None:
        """Status, review times and events: the steps the services would have taken by now."""
        rng, county = self.rng, self.county
        checker, cdc = county.checker.get(card["township_id"]), county.cdc_user
        at: dt.datetime = card["reported_at"]
        steps: list[Row] = [self.step(CardAction.REPORT, at, card["created_by_id"], CardStatus.REPORTED)]
        if rng.random() < RETURN_SHARE:
            reason = rng.choice(RETURN_REASONS)
            at += dt.timedelta(hours=rng.uniform(1, 20))
            steps.append(self.step(CardAction.RETURN, at, checker if route == "township" else cdc, CardStatus.RETURNED,
                                   reason))
            at += dt.timedelta(hours=rng.uniform(2, 30))
            steps.append(self.step(CardAction.CORRECT, at, card["created_by_id"], CardStatus.REPORTED))
        if route == "township":
            at += dt.timedelta(hours=rng.uniform(0.5, 24))
            steps.append(self.step(CardAction.TOWNSHIP_ACCEPT, at, checker, CardStatus.TOWNSHIP_CHECKED))
        at += dt.timedelta(hours=rng.uniform(2, 48))
        steps.append(self.step(CardAction.ACCEPT, at, cdc, CardStatus.ACCEPTED))
        done = [s for s in steps if s["at"] <= self.now]
        card["status"] = done[-1].pop("_status")
        for s in steps:
            s.pop("_status", None)
        for s in done:
            if s["action"] == CardAction.RETURN:
                card["return_reason"] = s["note"]
            elif s["action"] == CardAction.TOWNSHIP_ACCEPT:
                card["township_checked_at"] = s["at"]
            elif s["action"] == CardAction.ACCEPT:
                card["reviewed_at"] = s["at"]
        self.cards.append(card)
        self.events.append(done)

    @staticmethod
    def step(action: str, at: dt.datetime, by: int | None, status: str, note: str = "") -> Row:
        return {"action": action, "at": at, "by_id": by, "note": note, "changes": {}, "_status": status}

    def duplicate(self, original: Row, disease: Disease) -> None:
        """重卡: the same case reported again by another institution, deleted by the CDC."""
        rng = self.rng
        others = [pk for pk in (self.county.hospital, self.county.centre_of.get(original["township_id"]))
                  if pk is not None and pk != original["institution_id"]]
        if not others:
            return
        institution = others[0]
        diagnosed = original["diagnosed_at"] + dt.timedelta(hours=rng.uniform(2, 30))
        reported = diagnosed + dt.timedelta(hours=self.delay(disease.deadline_hours))
        deleted = reported + dt.timedelta(hours=rng.uniform(1, 24))
        if deleted > self.now:
            return
        card = {**original, "diagnosed_at": diagnosed, "reported_at": reported,
                "deadline_at": diagnosed + dt.timedelta(hours=disease.deadline_hours),
                "institution_id": institution, "institution_path": self.county.paths[institution],
                "created_by_id": self.county.reporter.get(institution), "status": CardStatus.DELETED,
                "delete_reason": DELETE_REASON, "township_checked_at": None, "reviewed_at": None, "_original": original}
        card["on_time"] = card["reported_at"] <= card["deadline_at"]
        staff: list[tuple[int | None, str]] = [*self.county.clinicians.get(institution, [])] or [(None, "")]
        card["clinician_id"], card["clinician_name"] = rng.choice(staff)
        self.cards.append(card)
        self.events.append([
            self.step(CardAction.REPORT, reported, card["created_by_id"], ""),
            {**self.step(CardAction.DELETE, deleted, self.county.cdc_user, "", DELETE_REASON), "_original": original}])

    def flush(self) -> tuple[int, int]:
        """Write the cards (ids in report order; card_no = report day + id) and their events."""
        order = sorted(range(len(self.cards)), key=lambda i: (self.cards[i]["reported_at"], i))
        for pk, i in zip(ids_draw(CaseCard, len(order)), order, strict=True):
            card = self.cards[i]
            card["id"] = pk
            card["card_no"] = f"{card['reported_at'].astimezone(clock.LOCAL_TZ):%Y%m%d}{pk:08d}"
        residents = ResidentPool.details(sorted({c["resident_id"] for c in self.cards if c["resident_id"]}))
        villages = {v: path for vs in self.county.villages.values() for v, path, _n in vs}
        for card in self.cards:
            original = card.pop("_original", None)
            card["duplicate_of_id"] = original["id"] if original else None
            card.pop("_clinic", None)
            if card["resident_id"] and "patient_name" not in card:
                name, sex, born, id_number, phone, village, address = residents[card["resident_id"]]
                card.update(patient_name=name, sex=sex, birth_date=born, id_number=id_number, phone=phone,
                            division_id=village, path=villages[village], address=address)
        events = []
        for card, steps in zip(self.cards, self.events, strict=True):
            for s in steps:
                s.pop("_status", None)
                original = s.pop("_original", None)
                if original is not None:
                    s["changes"] = {"duplicate_of": ["", original["card_no"]]}
                events.append({**s, "card_id": card["id"]})
        written = table_insert(CaseCard, [self.cards[i] for i in order])
        return written, table_insert(CardEvent, events)
