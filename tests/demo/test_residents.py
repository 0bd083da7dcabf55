"""Residents of the small demo county: every village, valid IDs, a rural age pyramid, households with
one head, planted duplicates with their ground truth; the population generator is deterministic."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.db.models import Count, Q

from yigongti.accounts.models import User
from yigongti.core.ids import resident_id_birth_date, resident_id_problem, resident_id_sex
from yigongti.core.models import AuditAction, AuditEntry
from yigongti.core.scope import visible
from yigongti.demo.builder import BuildResult
from yigongti.demo.codes import FIRST_VILLAGE_CODE
from yigongti.demo.population import (
    ERROR_KINDS,
    VillageMaker,
    VillageSpec,
    age_on,
    plant_duplicates,
)
from yigongti.demo.residents import duplicates_truth, truth_path
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division
from yigongti.residents.bulk import _Pinyin
from yigongti.residents.choices import Relation
from yigongti.residents.identity import id_upgrade, name_pinyin
from yigongti.residents.models import Household, Resident

pytestmark = pytest.mark.django_db
# What this module checks needs only these demo modules (tests/demo/conftest.py).
DEMO_MODULES = "registry,accounts,residents"


def duplicate_record_nos() -> set[str]:
    return {right for _left, right, _kind in duplicates_truth()}


def test_every_village_has_residents_with_valid_ids(demo: BuildResult) -> None:
    villages = Division.objects.filter(level=DivisionLevel.VILLAGE)
    per_village = dict(Resident.objects.values_list("village__code").annotate(n=Count("id")))
    assert set(per_village) == set(villages.values_list("code", flat=True))
    assert 15_000 <= sum(per_village.values()) <= 26_000
    planted = duplicate_record_nos()
    originals = Resident.objects.exclude(record_no__in=planted)
    with_id = list(originals.exclude(id_number="").values_list("id_number", "birth_date", "sex"))
    assert len(with_id) > 0.8 * originals.count()
    for id_number, born, sex in with_id:
        assert resident_id_problem(id_number) is None, id_number
        assert resident_id_birth_date(id_number) == born and resident_id_sex(id_number) == sex
    for record_no, village_code, path in Resident.objects.values_list("record_no", "village__code", "path")[:2000]:
        assert len(record_no) == 17 and record_no.startswith(village_code) and path.endswith(village_code)
    assert not Resident.objects.filter(clinic__isnull=True, township_centre__isnull=True).exists()


def test_age_pyramid_of_a_rural_county_with_out_migration(demo: BuildResult) -> None:
    ages = [age_on(born) for born in Resident.objects.values_list("birth_date", flat=True)]
    n = len(ages)
    share = {
        "children": sum(a < 15 for a in ages) / n,
        "young_adults": sum(20 <= a < 40 for a in ages) / n,
        "middle": sum(40 <= a < 60 for a in ages) / n,
        "elderly": sum(a >= 65 for a in ages) / n,
    }
    assert 0.12 <= share["elderly"] <= 0.24
    assert share["children"] >= 0.18
    assert share["young_adults"] < share["middle"]  # out-migration of people in their 20s and 30s
    assert max(ages) <= 105
    sexes = Counter(Resident.objects.values_list("sex", flat=True))
    assert 0.95 <= sexes["M"] / sexes["F"] <= 1.15
    ethnicities = Counter(Resident.objects.values_list("ethnicity", flat=True))
    assert {"01", "09", "06"} <= set(ethnicities)  # 汉, 布依, 苗
    assert ethnicities["01"] > ethnicities["09"] > ethnicities["06"]


def test_record_items_hold_codes_of_their_tables(demo: BuildResult) -> None:
    for name in ("ethnicity", "blood_type", "kitchen", "fuel", "water", "toilet", "livestock_pen",
                 "relation_to_head", "sex"):
        field = Resident._meta.get_field(name)
        allowed = {str(value) for value, _label in field.choices or []} | {""}
        used = set(Resident.objects.values_list(name, flat=True).distinct())
        assert used <= allowed, (name, used - allowed)
    history = Counter(item["condition"] for items in Resident.objects.values_list("past_history", flat=True)
                      for item in items)
    assert history["hypertension"] > history["diabetes"] > 0


def test_households_have_exactly_one_head_who_is_a_member(demo: BuildResult) -> None:
    households = Household.objects.annotate(
        heads=Count("members", filter=Q(members__relation_to_head=Relation.HEAD)), size=Count("members"))
    assert households.count() > 3000
    assert not households.exclude(heads=1).exists()
    assert not households.filter(Q(size__lt=1) | Q(size__gt=6)).exists()
    assert not Household.objects.filter(head__isnull=True).exists()
    mismatched = [h.code for h in Household.objects.select_related("head")[:3000]
                  if h.head is None or h.head.household_id != h.pk or h.head.relation_to_head != Relation.HEAD]
    assert mismatched == []


def test_planted_duplicates_and_their_ground_truth(demo: BuildResult) -> None:
    truth = duplicates_truth()
    assert truth_path().exists()
    residents = Resident.objects.count()
    assert 0.02 * residents <= len(truth) <= 0.04 * residents
    kinds = Counter(kind for _l, _r, kind in truth)
    assert set(kinds) <= set(ERROR_KINDS) and len(kinds) >= 7
    records = {r.record_no: r for r in Resident.objects.filter(
        record_no__in=[n for pair in truth for n in pair[:2]])}
    assert len(records) == 2 * len(truth)
    for left, right, kind in truth:
        a, b = records[left], records[right]
        if kind == "id15":
            assert len(b.id_number) == 15 and id_upgrade(b.id_number) == a.id_number
        elif kind == "homophone":
            assert b.name != a.name and name_pinyin(b.name) == name_pinyin(a.name)
        elif kind == "married_woman":
            assert a.sex == "F" and b.village_id != a.village_id and b.name == a.name
        elif kind == "swapped_month_day":
            assert (b.birth_date.month, b.birth_date.day) == (a.birth_date.day, a.birth_date.month)
        elif kind in ("id_typo", "id_transposition"):
            assert (b.id_number != a.id_number and sorted(b.id_number) == sorted(a.id_number)) or \
                sum(x != y for x, y in zip(a.id_number, b.id_number, strict=True)) == 1
        assert b.id_number != a.id_number or not a.id_number


def test_each_resident_has_its_create_audit_entry(demo: BuildResult) -> None:
    created = AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="residents.resident")
    assert created.count() == Resident.objects.count()


def test_village_doctor_sees_the_residents_of_the_own_village(demo: BuildResult) -> None:
    cunyi = User.objects.get(username="cunyi")
    mine = visible(cunyi, Resident.objects.all())
    assert mine.count() > 50
    assert set(mine.values_list("village__code", flat=True)) == {FIRST_VILLAGE_CODE}


def test_bulk_pinyin_cache_agrees_with_name_pinyin(demo: BuildResult) -> None:
    names = list(Resident.objects.values_list("name", "name_pinyin")[:3000])
    fast = _Pinyin()
    assert [(n, fast[n]) for n, _p in names] == [(n, name_pinyin(n)) for n, _p in names]
    assert all(p == name_pinyin(n) for n, p in names)


def _generate(seed: int) -> tuple[list[tuple[object, ...]], list[tuple[str, str, str]]]:
    rng = random.Random(seed)
    specs = [VillageSpec(f"522399101{201 + i}", f"村{i}", "云峰镇") for i in range(4)]
    maker = VillageMaker(rng, specs)
    people = [p for spec in specs for p in maker.village(spec, 300)]
    dups, truth = plant_duplicates(rng, people, 0.05, specs)
    return ([(p.key, p.name, p.id_number, p.birth_date) for p in people + dups],
            [(t.original, t.duplicate, t.kind) for t in truth])


def test_population_is_deterministic_by_seed() -> None:
    first, again, other = _generate(3), _generate(3), _generate(4)
    assert first == again
    assert first[0] != other[0]
    assert len(first[1]) == round(0.05 * sum(1 for row in first[0] if "~" not in str(row[0])))


def test_twins_are_hard_negatives() -> None:
    rng = random.Random(11)
    specs = [VillageSpec(f"522399101{201 + i}", f"村{i}", "云峰镇") for i in range(10)]
    maker = VillageMaker(rng, specs)
    people = [p for spec in specs for p in maker.village(spec, 1500)]
    by_birth: dict[tuple[str, object], list[str]] = {}
    for p in people:
        if p.relation_to_head == "child" and p.id_number:
            by_birth.setdefault((p.household_code, p.birth_date), []).append(p.id_number)
    twins = [ids for ids in by_birth.values() if len(ids) == 2]
    assert twins, "the generator makes some twins"
    for a, b in twins:
        assert a[:14] == b[:14] and a != b and resident_id_problem(b) is None
