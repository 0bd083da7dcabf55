"""A synthetic rural population of 黔西南 (pure functions over a caller's Random; no database).

Households are drawn by type (three generations, grandparents with left-behind grandchildren,
elderly living alone, young families, single adults), which gives the pyramid of a rural county
with out-migration: many children and elderly, few people aged 20–40 at home.

Figures the shape is tuned against (第七次全国人口普查, 2020):
- Guizhou: 0–14 23.97 %, 15–59 60.65 %, ≥60 15.38 %, ≥65 11.56 % (贵州省第七次全国人口普查公报 第四号);
- rural China (乡村): ≥60 23.81 %, ≥65 17.72 % (全国第七次人口普查 城乡 data);
  a rural 黔西南 county with out-migration sits between the two: we aim at ≈14–18 % aged ≥65;
- sex ratio: Guizhou 105.73 (男/女 × 100) — boys slightly over-represented among children.

Then :func:`plant_duplicates` copies a share of the people with the errors clerks really make,
and returns the ground truth (original key ↔ duplicate key, error kind) for the MPI benchmark.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from yigongti.core.ids import resident_id_check_char

from . import names

# Ages are computed on this day, so the population is the same whatever day it is built.
AS_OF = dt.date(2025, 6, 30)
HOME_REGION = names.COUNTY[0]  # 522399 — the birth place in most IDs
# Other counties of 黔西南 (兴义 普安 晴隆 贞丰 望谟 册亨 安龙) and 六盘水/安顺: where brides come from.
OTHER_REGIONS = ["522301", "522323", "522324", "522325", "522326", "522327", "522328", "520201", "520402"]

# Ethnic mix per village (code → weight): 黔西南布依族苗族自治州 — 汉 about 60 %, 布依 about 26 %,
# 苗 about 7 %, then 回, 仡佬, 彝, 瑶, 壮 (州第七次人口普查公报, rounded). Villages are not mixed evenly:
# a village is mostly 汉, mostly 布依 or mostly 苗.
_VILLAGE_PROFILES: list[tuple[dict[str, int], int]] = [
    ({"01": 88, "09": 8, "06": 2, "03": 1, "37": 1}, 55),  # 汉 village
    ({"09": 75, "01": 20, "06": 3, "08": 2}, 30),  # 布依 village
    ({"06": 70, "01": 20, "09": 8, "13": 2}, 10),  # 苗 village
    ({"01": 45, "09": 25, "03": 10, "37": 8, "07": 7, "13": 5}, 5),  # mixed (回, 仡佬, 彝, 瑶)
]

BLOOD_TYPES = [("unknown", 45), ("O", 19), ("A", 17), ("B", 15), ("AB", 4)]
_HOUSEHOLD_TYPES = [("three_gen", 32), ("left_behind", 22), ("elderly", 9), ("young", 21), ("single", 12)]

# Homophones a clerk writes for one another (same tone-less pinyin).
HOMOPHONES: dict[str, str] = {
    "丽": "莉", "莉": "丽", "伟": "玮", "玮": "伟", "芳": "方", "华": "化", "明": "鸣", "军": "君",
    "红": "洪", "英": "应", "梅": "玫", "兰": "岚", "琴": "勤", "平": "萍", "萍": "平", "林": "琳", "琳": "林",
    "涛": "滔", "斌": "彬", "杰": "洁", "洁": "杰", "静": "敬", "燕": "艳", "艳": "燕", "玲": "铃", "春": "椿",
    "张": "章", "章": "张", "王": "汪", "汪": "王", "李": "黎", "杨": "阳", "吴": "伍", "陈": "晨",
    "刚": "钢", "强": "墙", "志": "智", "勇": "永", "永": "勇", "文": "雯", "雯": "文", "云": "芸", "凤": "风",
    "霞": "侠", "辉": "晖", "峰": "锋", "锋": "峰", "磊": "蕾", "浩": "皓", "宇": "雨", "波": "博", "成": "诚",
    "兴": "星", "贵": "桂", "桂": "贵", "富": "付", "付": "富", "荣": "容", "祥": "翔", "秀": "绣", "美": "梅",
    "敏": "闽", "娟": "鹃", "超": "潮", "鹏": "朋", "飞": "菲", "建": "健", "国": "果", "德": "得", "金": "今",
}

ERROR_KINDS = ("id_typo", "id_transposition", "id15", "swapped_month_day", "homophone", "missing_char",
               "changed_char", "married_woman", "id_missing")
_ERROR_WEIGHTS = [12, 8, 10, 10, 18, 8, 6, 14, 14]


@dataclass(frozen=True)
class VillageSpec:
    code: str  # 12-digit 统计用区划代码
    name: str
    township_name: str


@dataclass
class Person:
    """One synthetic resident. ``key`` is unique within the build (``<village>-<n>``)."""

    key: str
    name: str
    sex: str
    birth_date: dt.date
    id_number: str
    village_code: str
    household_code: str
    relation_to_head: str
    ethnicity: str
    phone: str
    address: str
    home_village: str = ""  # the village a 嫁入 bride comes from ("" = this one)
    blood_type: str = "unknown"
    allergies: list[str] = field(default_factory=list)
    past_history: list[dict[str, str]] = field(default_factory=list)
    kitchen: str = ""
    fuel: str = ""
    water: str = ""
    toilet: str = ""
    livestock_pen: str = ""

    def row(self) -> dict[str, Any]:
        """The row :func:`yigongti.residents.bulk.residents_bulk_insert` takes."""
        data = dict(self.__dict__)  # not dataclasses.asdict: it deep-copies, 20× slower
        del data["key"], data["home_village"]
        return data


@dataclass(frozen=True)
class TruthPair:
    """A planted duplicate: ``duplicate`` is a second record of the person ``original``."""

    original: str
    duplicate: str
    kind: str


def age_on(born: dt.date, on: dt.date = AS_OF) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class IdMaker:
    """Valid 18-digit IDs (GB 11643), unique within one build; ``twin_of`` gives the next sequence."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self, region: str, born: dt.date, sex: str) -> str:
        while True:
            sequence = self.rng.randrange(1, 490) * 2 + (1 if sex == "M" else 0)  # odd = male
            id_number = self._full(region, born, sequence)
            if id_number not in self.used:
                self.used.add(id_number)
                return id_number

    def twin_of(self, id_number: str, sex: str) -> str:
        """The ID of a twin: same place and birth date, the next free sequence of the right parity."""
        sequence = int(id_number[14:17])
        while True:
            sequence += 1
            if (sequence % 2 == 1) != (sex == "M"):
                continue
            candidate = self._full(id_number[:6], dt.date(int(id_number[6:10]), int(id_number[10:12]),
                                                           int(id_number[12:14])), sequence % 1000)
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate

    @staticmethod
    def _full(region: str, born: dt.date, sequence: int) -> str:
        first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
        return first17 + resident_id_check_char(first17)


def _birth(rng: random.Random, age: int) -> dt.date:
    """A birth date that makes someone ``age`` on :data:`AS_OF`."""
    latest = dt.date(AS_OF.year - age, AS_OF.month, AS_OF.day)
    return latest - dt.timedelta(days=rng.randrange(365))


class Sampler:
    """Draws from ``(value, weight)`` pairs: bisect over cumulative weights (``random.choices`` is
    several times slower per draw, and this is the hot loop of a million people)."""

    def __init__(self, table: Sequence[tuple[Any, int]]) -> None:
        self.values = [v for v, _ in table]
        self.cumulative = list(itertools.accumulate(w for _, w in table))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.total)]


_SURNAME = Sampler(names.SURNAMES)
_PROFILE = Sampler(_VILLAGE_PROFILES)
_HOUSEHOLD = Sampler(_HOUSEHOLD_TYPES)
_BLOOD = Sampler(BLOOD_TYPES)
_KITCHEN = Sampler([("chimney", 45), ("fan", 20), ("hood", 15), ("none", 20)])
_FUEL = Sampler([("firewood", 35), ("coal", 30), ("lpg", 15), ("other", 15), ("biogas", 5)])
_WATER = Sampler([("tap", 80), ("well", 12), ("purified", 4), ("river", 4)])
_TOILET = Sampler([("sanitary", 55), ("one_pit", 20), ("simple", 15), ("open_pit", 10)])
_PEN = Sampler([("separate", 45), ("outdoor", 25), ("none", 25), ("indoor", 5)])


def full_name(rng: random.Random, sex: str) -> str:
    """Surname by regional frequency + :func:`names.given_name`."""
    return _SURNAME(rng) + names.given_name(rng, sex)


class VillageMaker:
    """Draws the households of villages; one per build (it keeps the IDs unique)."""

    def __init__(self, rng: random.Random, villages: Sequence[VillageSpec]) -> None:
        self.rng = rng
        self.ids = IdMaker(rng)
        self.villages = list(villages)
        self.county_name = names.COUNTY[1]

    # ------------------------------------------------------------ one village

    def village(self, spec: VillageSpec, size: int) -> list[Person]:
        """About ``size`` residents of ``spec`` in households of 1–6."""
        rng = self.rng
        profile = Sampler(list(_PROFILE(rng).items()))  # this village's ethnic mix
        people: list[Person] = []
        number = 0
        per_group = rng.randint(25, 45)  # households per 村民小组
        while len(people) < size:
            number += 1
            group = 1 + (number - 1) // per_group
            address = f"{self.county_name}{spec.township_name}{spec.name}{group}组{number}号"
            household = f"{spec.code}{number:04d}"
            members = self._household(spec, household, address, profile)
            self._living_conditions(members)
            people.extend(members)
        for n, person in enumerate(people, start=1):
            person.key = f"{spec.code}-{n}"
        return people

    def _person(self, spec: VillageSpec, household: str, address: str, ethnicity: str, relation: str,
                sex: str, age: int, *, region: str = HOME_REGION, home_village: str = "") -> Person:
        rng = self.rng
        age = max(0, min(age, 102))
        born = _birth(rng, age)
        id_number = self.ids.make(region, born, sex)
        if (age < 16 and rng.random() < 0.3) or (age >= 85 and rng.random() < 0.35) or rng.random() < 0.01:
            id_number = ""  # children under 16 and the very old often have no ID on file
        phone = names.mobile(rng) if 16 <= age < 80 and rng.random() < 0.85 else ""
        person = Person(key="", name=full_name(rng, sex), sex=sex, birth_date=born, id_number=id_number,
                        village_code=spec.code, household_code=household, relation_to_head=relation,
                        ethnicity=ethnicity, phone=phone, address=address, home_village=home_village)
        self._health(person, age)
        return person

    def _household(self, spec: VillageSpec, household: str, address: str,
                   profile: Sampler) -> list[Person]:
        rng = self.rng
        kind = _HOUSEHOLD(rng)
        ethnicity = profile(rng)
        members: list[Person] = []

        def add(relation: str, sex: str, age: int, **extra: Any) -> Person:
            person = self._person(spec, household, address, extra.pop("ethnicity", ethnicity), relation, sex,
                                  age, **extra)
            members.append(person)
            return person

        def bride(age: int) -> Person:
            # Most wives married in (嫁入) from another village of the county, some from another county.
            other = rng.choice(self.villages)
            region = rng.choice(OTHER_REGIONS) if rng.random() < 0.15 else HOME_REGION
            home = other.code if other.code != spec.code and region == HOME_REGION else ""
            eth = ethnicity if rng.random() < 0.8 else profile(rng)
            return add("spouse", "F", age, region=region, home_village=home, ethnicity=eth)

        if kind == "single":
            add("head", "M" if rng.random() < 0.6 else "F", rng.randint(18, 75))
        elif kind == "elderly":
            head_age = rng.randint(60, 95)
            if rng.random() < 0.55:
                add("head", "M", head_age)
                bride(head_age - rng.randint(-1, 5))
            else:
                add("head", "F" if rng.random() < 0.6 else "M", head_age)
        elif kind == "left_behind":
            head_age = rng.randint(50, 76)
            add("head", "M", head_age)
            if rng.random() < 0.8:
                bride(head_age - rng.randint(-1, 5))
            base = max(0, head_age - rng.randint(44, 58))
            for _ in range(rng.choice([1, 1, 2, 2, 3])):
                add("grandchild", "M" if rng.random() < 0.53 else "F", max(0, min(15, base + rng.randint(-3, 3))))
        else:  # three_gen, young
            head_age = rng.randint(36, 58) if kind == "three_gen" else rng.randint(26, 42)
            add("head", "M" if rng.random() < 0.92 else "F", head_age)
            wife_age = head_age - rng.randint(-2, 6)
            if rng.random() < 0.9:
                bride(wife_age)
            kids = rng.choice([1, 2, 2, 3])
            for i in range(kids):
                if kind == "young":
                    age = rng.randint(0, max(0, min(14, wife_age - 21)))
                else:
                    age = max(0, wife_age - rng.randint(20, 34))
                if 16 <= age and rng.random() < 0.75:
                    continue  # grown children work in 广东/浙江: not at home
                child = add("child", "M" if rng.random() < 0.53 else "F", age)
                if i == 0 and rng.random() < 0.015:
                    self._twin(child, members)
            if kind == "three_gen":
                for sex in rng.sample(["M", "F"], rng.choice([0, 1, 1, 2])):
                    parent_age = head_age + rng.randint(22, 34)
                    if parent_age <= 98 and len(members) < 6:
                        add("parent", sex, parent_age)
        return members[:6]

    def _twin(self, first: Person, members: list[Person]) -> None:
        """A twin of ``first``: same birth date, surname and household; consecutive ID sequence."""
        rng = self.rng
        sex = first.sex if rng.random() < 0.6 else ("F" if first.sex == "M" else "M")
        twin = dataclasses.replace(first, sex=sex, name=first.name[0] + names.given_name(rng, sex))
        if first.id_number:
            twin.id_number = self.ids.twin_of(first.id_number, sex)
        if twin.name == first.name:
            twin.name = first.name[0] + ("小" if len(first.name) == 2 else first.name[1]) + (
                rng.choice("龙虎凤兰") if sex == first.sex else first.name[-1])
        members.append(twin)

    # ------------------------------------------------------------ record items

    def _health(self, person: Person, age: int) -> None:
        rng = self.rng
        person.blood_type = _BLOOD(rng)
        for code, p in (("penicillin", 0.03), ("sulfonamide", 0.01), ("streptomycin", 0.005)):
            if rng.random() < p:
                person.allergies.append(code)
        # Recorded prevalence rising with age (中国居民营养与慢性病状况报告 2020: hypertension 27.5 %
        # of adults, over half of those ≥60; diabetes 11.9 %) — recorded, so below the true rates.
        if age >= 35:
            if rng.random() < min(0.55, 0.04 + (age - 35) * 0.011):
                person.past_history.append(self._diagnosis("hypertension", person.birth_date, age))
            if rng.random() < min(0.16, 0.015 + (age - 35) * 0.0035):
                person.past_history.append(self._diagnosis("diabetes", person.birth_date, age))
            if age >= 55 and rng.random() < 0.03:
                person.past_history.append(self._diagnosis(rng.choice(["stroke", "chd", "copd"]),
                                                           person.birth_date, age))

    def _diagnosis(self, condition: str, born: dt.date, age: int) -> dict[str, str]:
        year = born.year + self.rng.randint(35, max(35, age))
        return {"condition": condition, "diagnosed": f"{min(year, AS_OF.year)}-{self.rng.randint(1, 12):02d}"}

    def _living_conditions(self, members: list[Person]) -> None:
        rng = self.rng
        kitchen, fuel, water, toilet, pen = _KITCHEN(rng), _FUEL(rng), _WATER(rng), _TOILET(rng), _PEN(rng)
        for person in members:
            person.kitchen, person.fuel, person.water, person.toilet, person.livestock_pen = (
                kitchen, fuel, water, toilet, pen)


def population(rng: random.Random, villages: Sequence[VillageSpec], per_village: int) -> Iterator[list[Person]]:
    """The residents of each village in turn (about ``per_village`` each, ±30 %)."""
    maker = VillageMaker(rng, villages)
    for spec in villages:
        yield maker.village(spec, max(1, round(per_village * rng.uniform(0.7, 1.3))))


# ---------------------------------------------------------------- planted duplicates


def plant_duplicates(rng: random.Random, people: Sequence[Person], rate: float,
                     villages: Sequence[VillageSpec] = ()) -> tuple[list[Person], list[TruthPair]]:
    """Second records of ``rate`` × len(people) people, each with one realistic clerk error.

    A duplicate never repeats its original's exact 18-digit ID (one live record per ID is a
    database rule, and in real data a second record carries an ID typo, an old 15-digit ID, or
    none). Kinds: :data:`ERROR_KINDS`. Returns the duplicates (keys ``<original key>~d``) and the
    ground truth. The married-woman kind puts the duplicate in her birth village (needs ``villages``
    to know its name for the address).
    """
    by_code = {v.code: v for v in villages}
    chosen = rng.sample(range(len(people)), round(len(people) * rate)) if people else []
    taken = {p.id_number for p in people if p.id_number}
    duplicates: list[Person] = []
    truth: list[TruthPair] = []
    for index in sorted(chosen):
        original = people[index]
        kind = rng.choices(ERROR_KINDS, weights=_ERROR_WEIGHTS)[0]
        dup = _with_error(rng, original, kind, by_code)
        if dup is not None and dup.id_number in taken:
            dup = None  # a typo that hit someone else's ID (a twin's): one live record per ID
        if dup is None:  # the kind does not apply (no ID, day > 12, …): the ID goes missing instead
            kind = "id_missing"
            dup = _with_error(rng, original, kind, by_code)
        assert dup is not None
        dup.key = f"{original.key}~d"
        dup.household_code = ""
        dup.relation_to_head = ""
        if rng.random() < 0.5:
            dup.phone = names.mobile(rng) if rng.random() < 0.5 else ""
        if dup.id_number:
            taken.add(dup.id_number)
        duplicates.append(dup)
        truth.append(TruthPair(original.key, dup.key, kind))
    return duplicates, truth


def _with_error(rng: random.Random, p: Person, kind: str, villages: dict[str, VillageSpec]) -> Person | None:
    dup = dataclasses.replace(p, allergies=list(p.allergies), past_history=[dict(h) for h in p.past_history])
    id_number = p.id_number
    if kind in ("id_typo", "id_transposition", "id15") and not id_number:
        return None
    if kind == "id_typo":
        pos = rng.randrange(17)
        digit = rng.choice([d for d in "0123456789" if d != id_number[pos]])
        dup.id_number = id_number[:pos] + digit + id_number[pos + 1:]
    elif kind == "id_transposition":
        spots = [i for i in range(6, 16) if id_number[i] != id_number[i + 1]]
        if not spots:
            return None
        i = rng.choice(spots)
        dup.id_number = id_number[:i] + id_number[i + 1] + id_number[i] + id_number[i + 2:]
    elif kind == "id15":
        if p.birth_date.year >= 2000 or not id_number.startswith(("52", "53")) or id_number[6:8] != "19":
            return None
        dup.id_number = id_number[:6] + id_number[8:17]
    elif kind == "swapped_month_day":
        born = p.birth_date
        if born.day > 12 or born.day == born.month:
            return None
        dup.birth_date = born.replace(month=born.day, day=born.month)
        dup.id_number = ""
    elif kind == "homophone":
        spots = [i for i, ch in enumerate(p.name) if ch in HOMOPHONES]
        if not spots:
            return None
        i = rng.choice(spots)
        dup.name = p.name[:i] + HOMOPHONES[p.name[i]] + p.name[i + 1:]
        dup.id_number = ""
    elif kind == "missing_char":
        if len(p.name) < 3:
            return None
        i = rng.choice([1, 2])
        dup.name = p.name[:i] + p.name[i + 1:]
        dup.id_number = ""
    elif kind == "changed_char":
        i = rng.randrange(1, len(p.name))
        dup.name = p.name[:i] + rng.choice([c for c in "华明英红文德金玉兰" if c != p.name[i]]) + p.name[i + 1:]
        dup.id_number = ""
    elif kind == "married_woman":
        home = villages.get(p.home_village)
        if home is None or p.sex != "F":
            return None
        dup.village_code = home.code
        dup.address = f"{names.COUNTY[1]}{home.township_name}{home.name}{rng.randint(1, 8)}组{rng.randint(1, 200)}号"
        # her maiden record: registered before the ID was on file, or with the old 15-digit ID
        old = id_number and id_number[6:8] == "19"
        dup.id_number = id_number[:6] + id_number[8:17] if old and rng.random() < 0.3 else ""
    elif kind == "id_missing":
        dup.id_number = ""
    return dup
