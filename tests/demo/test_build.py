"""The small demo county: structure, sizes, valid IDs, users, planted shortfalls, no duplicates."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.auth.hashers import check_password
from django.db.models import Count

from yigongti.accounts.models import Role, User
from yigongti.core.ids import resident_id_problem, resident_id_sex
from yigongti.core.tree import join
from yigongti.demo.accounts import DEMO_LOGINS, DEMO_PASSWORD
from yigongti.demo.builder import BuildResult, county_build, row_counts
from yigongti.demo.codes import COUNTY_CODE, HOSPITAL_CODE, SUBDISTRICT_CODE
from yigongti.demo.registry import PLANTED_SHORTFALLS
from yigongti.registry.choices import (
    AllianceRole,
    CapacityKind,
    DivisionLevel,
    Grade,
    InstitutionType,
    QualificationKind,
)
from yigongti.registry.models import (
    AllianceMembership,
    Capacity,
    Department,
    Division,
    DivisionParentPeriod,
    Institution,
    InstitutionPeriod,
    Qualification,
    StaffMember,
)
from yigongti.registry.standards import standards_check

pytestmark = pytest.mark.django_db
# What this module checks needs only these demo modules (tests/demo/conftest.py).
DEMO_MODULES = "registry,accounts"


def test_divisions_form_the_county_tree(demo: BuildResult) -> None:
    assert demo.built
    county = Division.objects.get(code=COUNTY_CODE)
    assert county.name == "云溪县"
    assert county.parent is not None and county.parent.code == "5223"
    assert county.parent.parent is not None and county.parent.parent.code == "52"
    townships = list(Division.objects.filter(level=DivisionLevel.TOWNSHIP))
    villages = list(Division.objects.filter(level=DivisionLevel.VILLAGE))
    assert len(townships) == 17
    assert 130 <= len(villages) <= 160
    assert [t.code for t in townships if t.name.endswith("街道")] == [SUBDISTRICT_CODE]
    assert all(t.name.endswith(("镇", "乡")) for t in townships if t.code != SUBDISTRICT_CODE)
    assert all(len(t.code) == 9 and t.code.startswith(COUNTY_CODE) for t in townships)
    for v in villages:
        assert len(v.code) == 12 and v.parent_id is not None
        if v.code.startswith(SUBDISTRICT_CODE):
            assert v.name.endswith("社区") and v.code[9] == "0"
        else:
            assert v.name.endswith("村") and v.code[9] == "2"
    assert len({v.name for v in villages}) == len(villages)
    for division in Division.objects.select_related("parent"):
        expected = join(division.parent.path if division.parent else None, division.code)
        assert division.path == expected
    # every division below the province has its parent period, open since the demo's start
    assert DivisionParentPeriod.objects.filter(valid_to__isnull=True).count() == Division.objects.count() - 1


def test_institutions_alliance_and_capacities(demo: BuildResult) -> None:
    by_type = Counter(Institution.objects.values_list("type", flat=True))
    townships = Division.objects.filter(level=DivisionLevel.TOWNSHIP).count()
    villages = Division.objects.filter(level=DivisionLevel.VILLAGE).count()
    assert by_type[InstitutionType.COUNTY_HOSPITAL] == by_type[InstitutionType.TCM_HOSPITAL] == 1
    assert by_type[InstitutionType.MCH] == by_type[InstitutionType.CDC] == 1
    assert by_type[InstitutionType.COMMUNITY_CENTRE] == 1
    assert by_type[InstitutionType.TOWNSHIP_CENTRE] == townships - 1
    assert by_type[InstitutionType.VILLAGE_CLINIC] == villages - 1  # one village planted without a clinic

    hospital = Institution.objects.get(code=HOSPITAL_CODE)
    assert hospital.grade == Grade.GRADE_2A
    assert Department.objects.filter(institution=hospital, is_clinical=True).count() == 48
    assert {"检验科", "放射科", "药剂科"} <= set(
        Department.objects.filter(institution=hospital, is_clinical=False).values_list("name", flat=True))
    assert 900 <= Capacity.objects.get(institution=hospital, kind=CapacityKind.BEDS).quantity <= 1100

    for inst in Institution.objects.select_related("division", "parent"):
        assert inst.path == inst.division.path
        if inst.type == InstitutionType.VILLAGE_CLINIC:
            assert inst.parent is not None and inst.parent.division_id == inst.division.parent_id
    assert InstitutionPeriod.objects.count() == Institution.objects.count()

    memberships = AllianceMembership.objects.filter(valid_to__isnull=True)
    assert memberships.count() == Institution.objects.count()
    assert list(memberships.filter(role=AllianceRole.LEAD).values_list("institution__code", flat=True)) == [
        HOSPITAL_CODE]


def test_staff_sizes_and_qualifications(demo: BuildResult) -> None:
    sizes = dict(Institution.objects.annotate(n=Count("staff")).values_list("code", "n"))
    types = dict(Institution.objects.values_list("code", "type"))
    assert 300 <= sizes[HOSPITAL_CODE] <= 1200
    for code, n in sizes.items():
        if types[code] in (InstitutionType.TOWNSHIP_CENTRE, InstitutionType.COMMUNITY_CENTRE):
            assert 20 <= n <= 60, code
        elif types[code] == InstitutionType.VILLAGE_CLINIC:
            assert 1 <= n <= 3, code
    assert set(Qualification.objects.values_list("kind", flat=True)) == set(QualificationKind.values)
    assert not StaffMember.objects.exclude(path__in=Institution.objects.values("path")).exists()


def test_every_staff_id_number_is_valid_and_agrees_with_sex(demo: BuildResult) -> None:
    rows = list(StaffMember.objects.values_list("id_number", "sex", "name"))
    assert rows
    for id_number, sex, name in rows:
        assert resident_id_problem(id_number) is None, id_number
        assert resident_id_sex(id_number) == sex, id_number
        assert 2 <= len(name) <= 3, name


def test_every_role_has_a_user_bound_to_its_units(demo: BuildResult) -> None:
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    townships = Division.objects.filter(level=DivisionLevel.TOWNSHIP).count()
    clinics = Institution.objects.filter(type=InstitutionType.VILLAGE_CLINIC).count()
    assert User.objects.count() == len(DEMO_LOGINS) + 2 * townships + clinics
    assert not User.objects.filter(entry_unit__isnull=True).exists()
    assert not User.objects.filter(view_unit__isnull=True).exists()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.view_unit.code == COUNTY_CODE
    assert User.objects.filter(is_superuser=True).count() == 1
    for username, _role, unit in DEMO_LOGINS:
        user = User.objects.select_related("institution", "view_unit").get(username=username)
        assert unit in (user.institution.name if user.institution else user.view_unit.name)
    assert User.objects.get(username="jikong").institution.type == InstitutionType.CDC
    assert User.objects.get(username="xianyi").institution.code == HOSPITAL_CODE
    cunyi = User.objects.get(username="cunyi")
    assert cunyi.institution.division_id == cunyi.view_unit_id == cunyi.entry_unit_id
    # one password hash, shared: every user signs in with the demo password
    assert User.objects.values("password").distinct().count() == 1
    assert check_password(DEMO_PASSWORD, admin.password)
    for user in User.objects.filter(username__startswith="cunyi_").select_related("institution")[:20]:
        assert user.username == f"cunyi_{user.institution.division.code}"


def test_standards_check_finds_exactly_the_planted_shortfalls(demo: BuildResult) -> None:
    findings = standards_check()
    found = {(f.rule, f.institution_code or f.division_code) for f in findings}
    assert found == set(PLANTED_SHORTFALLS)
    assert len(findings) == len(PLANTED_SHORTFALLS)
    assert "JC-COUNTY-HOSPITAL" not in {f.rule for f in findings}
    assert {rule for rule, _code in PLANTED_SHORTFALLS} >= {
        "JC-TOWNSHIP-CENTRE", "JC-VILLAGE-CLINIC", "HG-VILLAGE-FOUR-ROOMS", "HG-TOWNSHIP-EQUIPMENT",
        "DB-COUNTY-DEPT-PHYSICIAN", "DB-TOWNSHIP-PHYSICIAN", "DB-VILLAGE-DOCTOR"}


def test_building_again_does_not_duplicate(demo: BuildResult) -> None:
    before = row_counts()
    again = county_build(seed=demo.seed + 1, scale="county")
    assert not again.built
    assert row_counts() == before == again.counts
