"""Demo module ``care``: one year of encounters across the tiers, with results and repeat tests.

Rates (DESIGN.md "Scale": 120,000 encounters a year for 20,000 residents): about
:data:`VISITS_PER_RESIDENT_YEAR` visits per resident in the year up to ``core.clock.today()``,
more for the old, the young and the patients of the hypertension / diabetes programmes (whose
visits are often for I10 / E11). Where: about 55 % at the village clinic, 30 % at the township
centre, 12 % at county level (the county hospital, the TCM hospital, the MCH hospital for women
and children) and 3 % out of the county (``outside_institution`` named, no registry row); about
3 % are inpatient stays, mostly at county level. Diagnoses are ICD-10 by tier; costs per category
at the tier's usual level (a village visit about 30 yuan, township 120, county outpatient 300, a
county stay 3,000–15,000); the department is the institution's own when it has one for the
diagnosis; about 8 % of the county hospital's outpatient visits were booked (预约诊疗).

Results: a share of the township and county encounters have lab / imaging results from the
catalogue (``care`` rule fixtures — loaded here if ``ygt rules load`` has not), each with its
order (``done``). For about :data:`REPEAT_SHARE` of the result-bearing encounters whose items a
recognition rule covers, the patient is seen again at another institution within the rule's
window and the same items are ordered again: most as plain orders (``ordered`` — the repeat tests
recognition would have avoided), the rest already ``recognised`` with the fee saved.

Everything is drawn from ``ctx.rng`` (deterministic from the seed) a chunk of residents at a time
(memory stays flat, time grows linearly with the county) and written with bulk paths (COPY on
PostgreSQL). Leaves in ``ctx.made``: ``encounters`` (count by tier: village / township / county /
outside).
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from yigongti.care.choices import CostCategory as C
from yigongti.care.choices import DischargeStatus, EncounterKind, EncounterSource, OrderStatus, ResultKind
from yigongti.care.models import Diagnosis, Encounter, EncounterCost, Order, RecognitionRule, Result, ResultItem
from yigongti.core import clock
from yigongti.core.rule_fixtures import rule_fixtures, rules_load
from yigongti.programmes.models import Enrolment
from yigongti.registry.choices import InstitutionType, Tier
from yigongti.registry.models import Department, Institution, StaffMember
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

from .bulk_rows import ids_draw, table_insert
from .context import BuildContext

RESIDENTS_PER_CHUNK = 20_000
VISITS_PER_RESIDENT_YEAR = 6.0
# Relative visit rate by age (lower bound of the band, weight); normalised to the rate above.
RATE_BY_AGE = [(0, 1.3), (7, 0.6), (15, 0.7), (35, 1.0), (50, 1.3), (65, 1.9)]
CHRONIC_EXTRA = 0.8  # extra relative rate per programme (hypertension, diabetes)
CHRONIC_VISIT_SHARE = 0.45  # of a patient's visits, for the programme's disease
TIER_SHARES = [("village", 0.55), ("township", 0.30), ("county", 0.12), ("outside", 0.03)]
COUNTY_SHARES = [("hospital", 0.68), ("tcm", 0.20), ("mch", 0.12)]  # MCH: women 15–49 and children
INPATIENT_CHANCE = {"village": 0.0, "township": 0.03, "county": 0.15, "outside": 0.20}
EMERGENCY_CHANCE = {"village": 0.0, "township": 0.02, "county": 0.08, "outside": 0.05}
BOOKED_CHANCE = 0.08  # county hospital outpatient visits booked ahead (预约诊疗)
# Results: chance that an encounter has any, and how many items (outpatient / inpatient).
RESULT_CHANCE = {("township", False): 0.15, ("township", True): 0.8, ("county", False): 0.40, ("county", True): 1.0}
RESULT_ITEMS = {False: (1, 3), True: (2, 5)}
LAB_WEIGHT, IMAGING_WEIGHT = 3, 1
NORMAL_CHANCE, HIGH_CHANCE = 0.78, 0.14
REPEAT_SHARE = 0.15  # result-bearing encounters re-tested elsewhere within the recognition window
RECOGNISED_SHARE = 0.4  # of those repeats, already recognised (saved) rather than ordered again
REPEAT_MAX_DAYS = 30
NOT_CLINICIAN = r"护|技|药"  # nurses, technicians and pharmacists do not see patients alone

OUTSIDE = ["贵阳市第一人民医院", "贵州医科大学附属医院", "贵州省人民医院", "黔西南州人民医院", "兴义市人民医院",
           "昆明医科大学第一附属医院", "遵义医科大学附属医院"]

# ICD-10 (code, name, hospital department codes in order of preference, chief complaint).
DX: dict[str, tuple[str, tuple[str, ...], str]] = {
    "J06.9": ("急性上呼吸道感染", ("HXNK", "QKYX", "ZYNK"), "咳嗽、咽痛{n}天"),
    "J20.9": ("急性支气管炎", ("HXNK", "QKYX", "ZYNK"), "咳嗽、咳痰{n}天"),
    "K29.7": ("胃炎", ("XHNK", "ZYNK"), "上腹部不适{n}天"),
    "M54.5": ("腰痛", ("GK", "TTK", "ZJK", "GSK"), "腰痛{n}天"),
    "A09": ("感染性腹泻", ("XHNK", "GRK", "ZYNK"), "腹泻{n}天"),
    "R51": ("头痛", ("SJNK", "ZYNK"), "头痛{n}天"),
    "L30.9": ("皮炎", ("PFK", "ZYWK"), "皮疹伴瘙痒{n}天"),
    "M17.9": ("膝关节病", ("GJWK", "GK", "GSK"), "双膝关节疼痛{n}月"),
    "T14.0": ("浅表损伤", ("CSWK", "JZK", "GSK"), "外伤后局部疼痛{n}小时"),
    "I10": ("原发性高血压", ("XXGNK", "ZYNK"), "头晕{n}天"),
    "E11.9": ("2型糖尿病", ("NFMK", "ZYNK"), "口干、多饮{n}月"),
    "J18.9": ("肺炎", ("HXNK", "ZYNK"), "发热、咳嗽{n}天"),
    "N39.0": ("尿路感染", ("MNWK", "SNK"), "尿频、尿痛{n}天"),
    "J44.1": ("慢性阻塞性肺病伴急性加重", ("HXNK", "ZYNK"), "咳嗽、气促加重{n}天"),
    "I25.1": ("冠状动脉粥样硬化性心脏病", ("XXGNK", "ZYNK"), "胸闷{n}天"),
    "K80.1": ("胆囊结石伴胆囊炎", ("GDWK", "PWK", "ZYWK"), "右上腹痛{n}天"),
    "I63.9": ("脑梗死", ("SJNK", "ZYNK"), "一侧肢体无力{n}天"),
    "I50.9": ("心力衰竭", ("XXGNK",), "活动后气促{n}天"),
    "N18.9": ("慢性肾脏病", ("SNK",), "双下肢水肿{n}月"),
    "K35.8": ("急性阑尾炎", ("WCWK", "PWK"), "转移性右下腹痛{n}小时"),
    "S72.0": ("股骨颈骨折", ("GK", "CSWK", "GSK"), "摔伤后髋部疼痛{n}小时"),
    "C34.9": ("支气管和肺恶性肿瘤", ("ZLK", "XWK"), "咳嗽、痰中带血{n}月"),
    "O80": ("单胎顺产", ("CK",), "停经{n}周，下腹痛"),
    "Z34.9": ("正常妊娠监督", ("CK", "FNBJ"), "停经{n}周，产前检查"),
}
PEDIATRIC = {"J06.9", "J20.9", "A09", "J18.9", "L30.9", "T14.0"}
OBSTETRIC = {"O80", "Z34.9"}
# Primary diagnoses by tier (code, weight); inpatient stays draw from INPATIENT_DX.
TIER_DX: dict[str, list[tuple[str, float]]] = {
    "village": [("J06.9", 30), ("J20.9", 8), ("K29.7", 10), ("M54.5", 10), ("A09", 6), ("R51", 5), ("L30.9", 4),
                ("M17.9", 6), ("T14.0", 4), ("I10", 6)],
    "township": [("J06.9", 20), ("J20.9", 9), ("K29.7", 10), ("M54.5", 8), ("A09", 5), ("M17.9", 6), ("J18.9", 5),
                 ("N39.0", 5), ("J44.1", 4), ("I25.1", 4), ("I10", 6), ("E11.9", 3), ("T14.0", 4), ("Z34.9", 3)],
    "county": [("J06.9", 8), ("K29.7", 8), ("I10", 8), ("E11.9", 6), ("J18.9", 8), ("I25.1", 7), ("J44.1", 5),
               ("K80.1", 4), ("I63.9", 5), ("N18.9", 3), ("M17.9", 5), ("N39.0", 4), ("C34.9", 2), ("Z34.9", 5),
               ("T14.0", 4), ("M54.5", 5)],
}
INPATIENT_DX: list[tuple[str, float]] = [("J18.9", 20), ("J44.1", 12), ("I63.9", 12), ("I25.1", 8), ("I50.9", 6),
                                         ("K80.1", 6), ("K35.8", 6), ("S72.0", 4), ("O80", 10), ("E11.9", 4),
                                         ("I10", 4), ("C34.9", 3), ("N18.9", 3), ("A09", 2)]
PROCEDURES = {"K35.8": ("47.0901", "腹腔镜下阑尾切除术"), "K80.1": ("51.2301", "腹腔镜下胆囊切除术"),
              "S72.0": ("81.5201", "人工股骨头置换术"), "O80": ("73.5900", "自然分娩接生")}
DISCHARGE = [(DischargeStatus.CURED, 30), (DischargeStatus.IMPROVED, 60), (DischargeStatus.NOT_IMPROVED, 5),
             (DischargeStatus.TRANSFERRED, 3), (DischargeStatus.AGAINST_ADVICE, 2)]
# Outpatient costs in yuan: (category, chance, low, high) per tier; registration always.
OUTPATIENT_COSTS: dict[str, list[tuple[str, float, int, int]]] = {
    "village": [(C.REGISTRATION, 1.0, 5, 5), (C.DRUGS_WESTERN, 0.8, 8, 35), (C.DRUGS_CHINESE, 0.3, 5, 20),
                (C.TREATMENT, 0.25, 5, 30)],
    "township": [(C.REGISTRATION, 1.0, 10, 10), (C.DRUGS_WESTERN, 0.9, 30, 110), (C.DRUGS_CHINESE, 0.15, 10, 50),
                 (C.LAB, 0.35, 20, 80), (C.EXAMINATION, 0.2, 30, 120), (C.TREATMENT, 0.25, 10, 60)],
    "county": [(C.REGISTRATION, 1.0, 15, 30), (C.DRUGS_WESTERN, 0.9, 50, 250), (C.DRUGS_CHINESE, 0.1, 20, 80),
               (C.LAB, 0.55, 40, 200), (C.EXAMINATION, 0.35, 50, 300), (C.TREATMENT, 0.25, 20, 150),
               (C.MATERIALS, 0.1, 10, 50)],
}
OUTSIDE_FACTOR = 1.6
# Inpatient stays: total (low, mode, high) yuan, days (low, high), bed and nursing per day.
INPATIENT_TOTAL = {"township": (1500, 2500, 5000), "county": (3000, 6000, 15000), "outside": (6000, 15000, 40000)}
INPATIENT_DAYS = {"township": (3, 8), "county": (4, 14), "outside": (5, 16)}
PER_DAY = {"township": (20, 10), "county": (45, 25), "outside": (80, 40)}
INPATIENT_SPLIT = [(C.DRUGS_WESTERN, 0.36), (C.LAB, 0.14), (C.EXAMINATION, 0.13), (C.TREATMENT, 0.14),
                   (C.MATERIALS, 0.09), (C.DRUGS_CHINESE, 0.05), (C.OTHER, 0.04)]
SURGERY_SHARE = 0.18
IMAGING_FINDINGS = [(("未见明显异常。", "N"), 0.75), (("考虑炎性改变，建议复查。", "A"), 0.15),
                    (("退行性改变。", "A"), 0.10)]

Row = dict[str, Any]


# ---------------------------------------------------------------- what the generator reads


@dataclass
class _Place:
    id: int
    tier: str
    type: str
    path: str
    departments: dict[str, int] = field(default_factory=dict)  # code → id (clinical)
    clinicians: dict[int | None, list[tuple[int, str]]] = field(default_factory=dict)  # department → staff


@dataclass
class Catalogue:
    """The result items and the recognition rules in force (by item id)."""

    items: list[tuple[int, str, str, str, Decimal | None, Decimal | None, Decimal]] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)
    rules: dict[int, list[tuple[dt.date, dt.date | None, list[str], list[str], int]]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Catalogue:
        if not ResultItem.objects.exists():
            kinds = sorted({f.kind for f in rule_fixtures() if f.app_label == "care"})
            if kinds:
                rules_load(kinds=kinds)
        cat = cls()
        for row in ResultItem.objects.order_by("id").values_list("id", "code", "kind", "unit", "ref_low", "ref_high",
                                                                  "price"):
            cat.items.append(row)
            cat.weights.append(IMAGING_WEIGHT if row[2] == ResultKind.IMAGING else LAB_WEIGHT)
        for item_id, start, end, performed, ordering, days in RecognitionRule.objects.order_by(
                "item_id", "effective_from", "id").values_list("item_id", "effective_from", "effective_to",
                                                               "performed_tiers", "ordering_tiers", "valid_days"):
            cat.rules.setdefault(item_id, []).append((start, end, list(performed), list(ordering), days))
        return cat

    def window(self, item_id: int, on: dt.date, performed: str, ordering: str) -> int | None:
        """Days a result of ``item_id`` done at a ``performed`` tier is recognised by an ``ordering``
        tier under the rule in force ``on``; None when no rule covers it."""
        for start, end, performed_tiers, ordering_tiers, days in self.rules.get(item_id, ()):
            if start <= on and (end is None or on < end) and performed in performed_tiers \
                    and ordering in ordering_tiers:
                return days
        return None


class _Person:
    __slots__ = ("born", "centre_id", "clinic_id", "id", "path", "sex")

    def __init__(self, values: Sequence[Any]) -> None:
        self.id, self.sex, self.born, self.path, self.clinic_id, self.centre_id = values


_CUMULATIVE: dict[int, tuple[list[float], list[Any]]] = {}


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    """A value drawn by weight (the tables are module constants: their running sums are cached)."""
    table = _CUMULATIVE.get(id(weighted))
    if table is None:
        sums, values, total = [], [], 0.0
        for value, weight in weighted:
            total += weight
            sums.append(total)
            values.append(value)
        table = _CUMULATIVE[id(weighted)] = (sums, values)
    sums, values = table
    return values[min(len(values) - 1, bisect.bisect_right(sums, rng.random() * sums[-1]))]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (means here are below 30)."""
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _banded(age: int) -> float:
    rate = RATE_BY_AGE[0][1]
    for low, value in RATE_BY_AGE:
        if age >= low:
            rate = value
    return rate


def _yuan(rng: random.Random, low: float, high: float) -> Decimal:
    cents = int(low * 100) + int(rng.random() * (int(high * 100) - int(low * 100) + 1))
    return Decimal(cents).scaleb(-2)


# ---------------------------------------------------------------- the generator


class Maker:
    """Encounters, diagnoses, costs, results and orders of one chunk of residents."""

    def __init__(self, rng: random.Random, today: dt.date, places: dict[int, _Place], county: dict[str, _Place],
                 chronic: Mapping[int, tuple[str, ...]], catalogue: Catalogue, scale: float) -> None:
        self.rng, self.today, self.places, self.county = rng, today, places, county
        self.chronic, self.catalogue, self.scale = chronic, catalogue, scale
        self.first = today - dt.timedelta(days=364)
        self.tz = clock.LOCAL_TZ
        self.encounters: list[Row] = []
        self.diagnoses: list[Row] = []
        self.costs: list[Row] = []
        self.results: list[Row] = []
        self.orders: list[Row] = []
        self.tiers: Counter[str] = Counter()
        self.pending: list[tuple[Row, list[Row], str]] = []  # (encounter, its results, primary dx) for repeats

    def weight(self, p: _Person) -> float:
        return _banded(_age(p.born, self.today)) + CHRONIC_EXTRA * len(self.chronic.get(p.id, ()))

    def person(self, p: _Person) -> None:
        rng = self.rng
        for _visit in range(_poisson(rng, self.weight(p) * self.scale)):
            on = self.first + dt.timedelta(days=rng.randint(0, 364))
            self.encounter(p, on)

    def encounter(self, p: _Person, on: dt.date) -> None:
        rng = self.rng
        tier = _pick(rng, TIER_SHARES)
        age = _age(p.born, on)
        place: _Place | None = None
        if tier == "village":
            place = self.places.get(p.clinic_id) or self.places.get(p.centre_id)
        elif tier == "township":
            place = self.places.get(p.centre_id)
        elif tier == "county":
            which = _pick(rng, COUNTY_SHARES)
            if which == "mch" and not (age < 14 or (p.sex == "F" and 15 <= age <= 49)):
                which = "hospital"
            place = self.county.get(which) or self.county.get("hospital")
        if tier != "outside" and place is None:
            tier, place = "outside", None
        tier = place.tier if place is not None else "outside"
        inpatient = rng.random() < INPATIENT_CHANCE[tier]
        kind = EncounterKind.INPATIENT if inpatient else (
            EncounterKind.EMERGENCY if rng.random() < EMERGENCY_CHANCE[tier] else EncounterKind.OUTPATIENT)
        primary = self.diagnosis(p, age, tier, inpatient, place)
        encounter = self.write(p, on, tier, place, kind, primary, booked=(
            place is not None and place.type == InstitutionType.COUNTY_HOSPITAL and kind == EncounterKind.OUTPATIENT
            and rng.random() < BOOKED_CHANCE))
        self.tiers[tier] += 1
        key = (tier, inpatient)
        if place is not None and key in RESULT_CHANCE and rng.random() < RESULT_CHANCE[key] and self.catalogue.items:
            results = self.lab(p, encounter, place, inpatient)
            if results:
                self.pending.append((encounter, results, primary))

    def diagnosis(self, p: _Person, age: int, tier: str, inpatient: bool, place: _Place | None) -> str:
        rng = self.rng
        chronic = self.chronic.get(p.id, ())
        if chronic and not inpatient and rng.random() < CHRONIC_VISIT_SHARE:
            return rng.choice(chronic)
        table = INPATIENT_DX if inpatient else TIER_DX["county" if tier == "outside" else tier]
        for _attempt in range(5):
            code = _pick(rng, table)
            if code in OBSTETRIC and not (p.sex == "F" and 18 <= age <= 45):
                continue
            if age < 14 and code not in PEDIATRIC:
                continue
            if place is not None and place.type == InstitutionType.MCH and age >= 14 and code not in OBSTETRIC:
                continue
            return code
        return "J06.9"

    def write(self, p: _Person, on: dt.date, tier: str, place: _Place | None, kind: str, primary: str, *,
              booked: bool = False) -> Row:
        rng = self.rng
        inpatient = kind == EncounterKind.INPATIENT
        name, depts, complaint = DX[primary]
        department_id = None
        clinician: tuple[int, str] | None = None
        if place is not None:
            wanted = ("JZK",) if kind == EncounterKind.EMERGENCY else ("EK",) if _age(p.born, on) < 14 else depts
            department_id = next((place.departments[c] for c in (*wanted, *depts) if c in place.departments), None)
            if department_id is None and place.departments:
                department_id = rng.choice(list(place.departments.values()))
            staff = place.clinicians.get(department_id) or place.clinicians.get(None)
            if staff:
                clinician = rng.choice(staff)
        row: Row = {
            "resident_id": p.id, "path": p.path, "kind": kind, "institution_id": place.id if place else None,
            "outside_institution": "" if place else rng.choice(OUTSIDE), "in_county": place is not None,
            "tier": place.tier if place else "", "institution_path": place.path if place else "",
            "department_id": department_id,
            "clinician_id": clinician[0] if clinician else None, "clinician_name": clinician[1] if clinician else "",
            "start_date": on, "chief_complaint": complaint.format(n=rng.randint(1, 7)), "procedures": [],
            "booked": booked, "source": EncounterSource.DEMO,
        }
        costs: list[tuple[str, Decimal]] = []
        if inpatient:
            days = rng.randint(*INPATIENT_DAYS[tier])
            row["end_date"] = min(on + dt.timedelta(days=days), self.today)
            row["discharge_status"] = _pick(rng, DISCHARGE)
            surgery = PROCEDURES.get(primary)
            if surgery and tier != "township":
                row["procedures"] = [{"code": surgery[0], "name": surgery[1],
                                      "date": (on + dt.timedelta(days=1)).isoformat()}]
            costs = self.stay_costs(tier, days, bool(row["procedures"]))
        else:
            factor = OUTSIDE_FACTOR if tier == "outside" else 1.2 if kind == EncounterKind.EMERGENCY else 1.0
            for category, chance, low, high in OUTPATIENT_COSTS["county" if tier == "outside" else tier]:
                if rng.random() < chance:
                    costs.append((category, _yuan(rng, low * factor, high * factor)))
        row["id"] = None  # drawn when the chunk is written
        row["total_cost"] = sum((amount for _c, amount in costs), Decimal("0.00"))
        row["_costs"] = costs
        dx = [(primary, name)]
        for other in self.chronic.get(p.id, ()):
            if other != primary:
                dx.append((other, DX[other][0]))
        row["_dx"] = dx
        self.encounters.append(row)
        return row

    def stay_costs(self, tier: str, days: int, surgery: bool) -> list[tuple[str, Decimal]]:
        rng = self.rng
        low, mode, high = INPATIENT_TOTAL[tier]
        total = rng.triangular(low, high, mode)
        bed, nursing = PER_DAY[tier]
        costs: list[tuple[str, Decimal]] = [(C.BED, Decimal(bed * days)), (C.NURSING, Decimal(nursing * days))]
        rest = max(0.0, total - bed * days - nursing * days)
        if surgery:
            costs.append((C.SURGERY, _yuan(rng, rest * SURGERY_SHARE * 0.8, rest * SURGERY_SHARE * 1.2)))
            rest *= 1 - SURGERY_SHARE
        for category, share in INPATIENT_SPLIT:
            costs.append((category, _yuan(rng, rest * share * 0.8, rest * share * 1.2)))
        return costs

    def lab(self, p: _Person, encounter: Row, place: _Place, inpatient: bool) -> list[Row]:
        rng = self.rng
        cat = self.catalogue
        n = rng.randint(*RESULT_ITEMS[inpatient])
        chosen: list[int] = []
        for _attempt in range(n * 2):
            i = rng.choices(range(len(cat.items)), weights=cat.weights)[0]
            if i not in chosen:
                chosen.append(i)
            if len(chosen) == n:
                break
        on: dt.date = encounter["start_date"]
        results = []
        for i in chosen:
            item_id, _code, kind, unit, low, high, _price = cat.items[i]
            reported = dt.datetime.combine(on + dt.timedelta(days=1 if inpatient and rng.random() < 0.5 else 0),
                                           dt.time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=self.tz)
            result: Row = {"resident_id": p.id, "path": p.path, "item_id": item_id, "unit": unit,
                           "performed_by_id": place.id, "performer_tier": place.tier, "reported_at": reported,
                           "_encounter": encounter}
            if kind == ResultKind.IMAGING:
                text, flag = _pick(rng, IMAGING_FINDINGS)
                result.update(report=text, flag=flag)
            else:
                result.update(self.value(low, high))
            results.append(result)
            self.results.append(result)
            self.orders.append({"_encounter": encounter, "path": p.path, "resident_id": p.id,
                                "institution_id": place.id, "item_id": item_id, "status": OrderStatus.DONE,
                                "ordered_on": on, "_result": result})
        return results

    def value(self, low: Decimal | None, high: Decimal | None) -> Row:
        rng = self.rng
        if low is None and high is None:
            positive = rng.random() > NORMAL_CHANCE + HIGH_CHANCE
            return {"value_text": "阳性" if positive else "阴性", "flag": "A" if positive else "N"}
        lo = float(low) if low is not None else float(high or 0) * 0.3
        hi = float(high) if high is not None else lo * 2.5
        ref = f"{low if low is not None else ''}-{high if high is not None else ''}"
        draw = rng.random()
        if draw < NORMAL_CHANCE or (draw >= NORMAL_CHANCE + HIGH_CHANCE and lo <= 0):
            value, flag = rng.uniform(lo, hi), "N"
        elif draw < NORMAL_CHANCE + HIGH_CHANCE:
            value, flag = hi * rng.uniform(1.05, 1.6), "H"
        else:
            value, flag = lo * rng.uniform(0.5, 0.95), "L"
        return {"value": Decimal(f"{value:.2f}"), "ref_range": ref, "flag": flag}

    def repeats(self, people: Mapping[int, _Person]) -> None:
        """Re-test a share of the result-bearing encounters at another institution in the window."""
        rng = self.rng
        for encounter, results, primary in self.pending:
            if rng.random() >= REPEAT_SHARE:
                continue
            performer = self.places[encounter["institution_id"]]
            p = people[encounter["resident_id"]]
            target = self.other_place(performer, p)
            if target is None:
                continue
            reported: dt.date = encounter["start_date"]
            covered = []
            for result in results:
                days = self.catalogue.window(result["item_id"], reported, performer.tier, target.tier)
                if days:
                    covered.append((result, days))
            if not covered:
                continue
            limit = min(REPEAT_MAX_DAYS, *(days - 1 for _r, days in covered), (self.today - reported).days)
            if limit < 2:
                continue
            on = reported + dt.timedelta(days=rng.randint(2, limit))
            again = self.write(p, on, target.tier, target, EncounterKind.OUTPATIENT, primary)
            self.tiers[target.tier] += 1
            for result, _days in covered:
                price = next(item[6] for item in self.catalogue.items if item[0] == result["item_id"])
                recognised = rng.random() < RECOGNISED_SHARE
                self.orders.append({
                    "_encounter": again, "path": p.path, "resident_id": p.id, "institution_id": target.id,
                    "item_id": result["item_id"], "ordered_on": on,
                    "status": OrderStatus.RECOGNISED if recognised else OrderStatus.ORDERED,
                    "_recognised": result if recognised else None, "saved": price if recognised else Decimal(0)})

    def other_place(self, performer: _Place, p: _Person) -> _Place | None:
        if performer.tier == Tier.TOWNSHIP:
            return self.county.get("hospital" if self.rng.random() < 0.7 else "tcm")
        if performer.type == InstitutionType.COUNTY_HOSPITAL:
            centre = self.places.get(p.centre_id)
            return centre if centre is not None and self.rng.random() < 0.7 else self.county.get("tcm")
        return self.county.get("hospital")

    # ------------------------------------------------------------ writing a chunk

    def flush(self) -> dict[str, int]:
        encounter_ids = ids_draw(Encounter, len(self.encounters))
        for pk, row in zip(encounter_ids, self.encounters, strict=True):
            row["id"] = pk
            row["source_no"] = f"{'ZY' if row['kind'] == EncounterKind.INPATIENT else 'MZ'}{pk:010d}"
            for position, (code, name) in enumerate(row.pop("_dx")):
                self.diagnoses.append({"encounter_id": pk, "code": code, "name": name, "is_primary": position == 0,
                                       "position": position})
            for category, amount in row.pop("_costs"):
                self.costs.append({"encounter_id": pk, "category": category, "amount": amount})
        result_ids = ids_draw(Result, len(self.results))
        for pk, row in zip(result_ids, self.results, strict=True):
            row["id"] = pk
            row["encounter_id"] = row.pop("_encounter")["id"]
        for order in self.orders:
            order["encounter_id"] = order.pop("_encounter")["id"]
            order.pop("_result", None)
            recognised = order.pop("_recognised", None)
            order["recognised_result_id"] = recognised["id"] if recognised else None
        counts = {"encounters": table_insert(Encounter, self.encounters),
                  "diagnoses": table_insert(Diagnosis, self.diagnoses),
                  "encounter_costs": table_insert(EncounterCost, self.costs),
                  "results": table_insert(Result, self.results), "orders": table_insert(Order, self.orders)}
        return counts


# ---------------------------------------------------------------- the module


def places_load() -> tuple[dict[int, _Place], dict[str, _Place]]:
    """Every institution that sees patients (with clinical departments and physicians), and the
    county-level ones by role."""
    places: dict[int, _Place] = {}
    for pk, tier, kind, path in Institution.objects.exclude(type=InstitutionType.CDC).order_by("id").values_list(
            "id", "tier", "type", "path"):
        places[pk] = _Place(pk, tier, kind, path)
    for inst_id, code, pk in Department.objects.filter(is_clinical=True).order_by("id").values_list(
            "institution_id", "code", "id"):
        if inst_id in places:
            places[inst_id].departments.setdefault(code, pk)
    staff = StaffMember.objects.filter(active=True).exclude(title__regex=NOT_CLINICIAN).order_by("id")
    for inst_id, dept_id, pk, name in staff.values_list("institution_id", "department_id", "id", "name"):
        if inst_id in places:
            places[inst_id].clinicians.setdefault(dept_id, []).append((pk, name))
            places[inst_id].clinicians.setdefault(None, []).append((pk, name))
    county: dict[str, _Place] = {}
    for role, kind in (("hospital", InstitutionType.COUNTY_HOSPITAL), ("tcm", InstitutionType.TCM_HOSPITAL),
                       ("mch", InstitutionType.MCH)):
        found = next((p for p in places.values() if p.type == kind), None)
        if found is not None:
            county[role] = found
    return places, county


def chronic_patients() -> dict[int, tuple[str, ...]]:
    """Residents in the hypertension / diabetes programmes → their diagnosis codes (I10, E11.9)."""
    codes = {"hypertension": "I10", "diabetes": "E11.9"}
    found: defaultdict[int, list[str]] = defaultdict(list)
    for resident_id, programme in Enrolment.objects.filter(programme__code__in=list(codes)).order_by(
            "resident_id", "programme__code").values_list("resident_id", "programme__code"):
        if codes[programme] not in found[resident_id]:
            found[resident_id].append(codes[programme])
    return {pk: tuple(v) for pk, v in found.items()}


def build(ctx: BuildContext) -> None:
    today = clock.today()
    places, county = places_load()
    if not places:
        ctx.step(_("没有医疗机构，跳过就诊记录"))
        return
    catalogue = Catalogue.load()
    chronic = chronic_patients()
    people = Resident.objects.filter(status=RecordStatus.ACTIVE).order_by("id")
    fields = ("id", "sex", "birth_date", "path", "clinic_id", "township_centre_id")
    ids = list(people.values_list("id", flat=True))
    if not ids:
        return
    # Normalise the relative rates so that the county averages VISITS_PER_RESIDENT_YEAR.
    probe = Maker(ctx.rng, today, places, county, chronic, catalogue, 1.0)
    total_weight = sum(probe.weight(_Person(v)) for v in people.values_list(*fields))
    scale = VISITS_PER_RESIDENT_YEAR * len(ids) / total_weight
    tiers: Counter[str] = Counter()
    for start in range(0, len(ids), RESIDENTS_PER_CHUNK):
        chunk = ids[start:start + RESIDENTS_PER_CHUNK]
        ctx.step(_("就诊记录 %(done)s/%(total)s 人") % {"done": start + len(chunk), "total": len(ids)})
        maker = Maker(ctx.rng, today, places, county, chronic, catalogue, scale)
        persons = {v[0]: _Person(v) for v in people.filter(id__in=chunk).values_list(*fields)}
        for pk in chunk:
            if pk in persons:
                maker.person(persons[pk])
        maker.repeats(persons)
        for table, n in maker.flush().items():
            ctx.counts[table] += n
        tiers.update(maker.tiers)
    ctx.made["encounters"] = dict(tiers)
