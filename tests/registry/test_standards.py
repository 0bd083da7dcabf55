"""三建成 / 三合格 / 三达标: each planted shortfall is found, exactly, and nothing else."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests.conftest import MiniCounty
from tests.factories.registry import (
    CapacityFactory,
    DepartmentFactory,
    DivisionFactory,
    InstitutionFactory,
    QualificationFactory,
    StaffMemberFactory,
)
from yigongti.core.clock import frozen
from yigongti.core.rule_fixtures import RuleFixture, RuleFixtureInvalid, rule_fixtures, rules_load
from yigongti.registry.choices import CapacityKind, DivisionLevel, InstitutionType, QualificationKind
from yigongti.registry.models import Capacity, Institution, Qualification, StaffMember, StandardRule
from yigongti.registry.standards import (
    Finding,
    StandardRulesMissing,
    standard_rules_load,
    standards_check,
    standards_findings_for,
)

TODAY = dt.date(2025, 6, 30)
RULE_CODES = {
    "JC-COUNTY-HOSPITAL", "JC-TOWNSHIP-CENTRE", "JC-VILLAGE-CLINIC", "HG-VILLAGE-FOUR-ROOMS",
    "HG-TOWNSHIP-EQUIPMENT", "DB-COUNTY-DEPT-PHYSICIAN", "DB-TOWNSHIP-PHYSICIAN", "DB-VILLAGE-DOCTOR",
}
FOUR_ROOMS = [CapacityKind.CONSULT_ROOM, CapacityKind.TREATMENT_ROOM, CapacityKind.PUBLIC_HEALTH_ROOM,
              CapacityKind.PHARMACY]
EQUIPMENT = [CapacityKind.DR, CapacityKind.ULTRASOUND, CapacityKind.LAB]


def staff(institution: Institution, kind: str | None, **kwargs: object) -> StaffMember:
    member = StaffMemberFactory(institution=institution, **kwargs)
    if kind is not None:
        QualificationFactory(staff=member, kind=kind)
    return member


class Compliant:
    """The MiniCounty brought fully up to standard, with the rules loaded."""

    def __init__(self, county: MiniCounty) -> None:
        self.c = county
        self.internist = staff(county.hospital, QualificationKind.PRACTISING_PHYSICIAN, department=county.department)
        self.centre_staff = [staff(centre, QualificationKind.GENERAL_PRACTITIONER) for centre in county.centres]
        for centre in county.centres:
            for kind in EQUIPMENT:
                CapacityFactory(institution=centre, kind=kind)
        self.clinic_a = county.clinics[county.village_a.code]
        self.clinic_b = county.clinics[county.village_b.code]
        self.clinic_c = county.clinics[county.village_c.code]
        self.village_doctors = {}
        for code, clinic in county.clinics.items():
            self.village_doctors[code] = staff(clinic, QualificationKind.VILLAGE_DOCTOR)
            for kind in FOUR_ROOMS:
                CapacityFactory(institution=clinic, kind=kind)
        rules_load(kinds=["registry.standards"])


@pytest.fixture
def compliant(county: MiniCounty) -> Compliant:
    return Compliant(county)


def check(**kwargs: object) -> list[Finding]:
    with frozen(TODAY):
        return standards_check(**kwargs)  # type: ignore[arg-type]


def summary(findings: list[Finding]) -> list[tuple[str, str, str | None]]:
    return [(f.rule, f.division_code, f.institution_code) for f in findings]


def test_fixture_ships_the_eight_rules_each_citing_its_source() -> None:
    fixture = next(f for f in rule_fixtures() if f.kind == "registry.standards")
    rules = fixture.rows("rules")
    assert {r["code"] for r in rules} == RULE_CODES
    for rule in rules:
        assert rule["source"].strip() and rule["effective_from"], rule["code"]
        assert rule["name"] and rule["name_en"], rule["code"]
    categories = {r["code"]: r["category"] for r in rules}
    assert {c for c, cat in categories.items() if cat == "build"} == {c for c in RULE_CODES if c.startswith("JC-")}
    assert {c for c, cat in categories.items() if cat == "qualify"} == {c for c in RULE_CODES if c.startswith("HG-")}
    assert {c for c, cat in categories.items() if cat == "staff"} == {c for c in RULE_CODES if c.startswith("DB-")}


def test_compliant_county_has_no_findings(compliant: Compliant) -> None:
    assert StandardRule.objects.count() == 8
    assert check() == []


def test_without_rules_the_check_says_to_load_them(county: MiniCounty) -> None:
    with pytest.raises(StandardRulesMissing) as error:
        standards_check()
    assert "ygt rules load" in str(error.value)


# ---------------------------------------------------------------- each shortfall, planted in turn


def _expire(institution: Institution) -> None:
    Institution.objects.filter(pk=institution.pk).update(valid_to=TODAY - dt.timedelta(days=1))


def test_county_without_a_current_county_hospital(compliant: Compliant) -> None:
    _expire(compliant.c.hospital)
    findings = check()
    assert summary(findings) == [("JC-COUNTY-HOSPITAL", "522399", None)]
    assert findings[0].category == "build"
    assert findings[0].category_label == "三建成"
    assert "县人民医院" in findings[0].reason


def test_township_whose_only_centre_is_not_government_run(compliant: Compliant) -> None:
    centre = compliant.c.centres[1]
    Institution.objects.filter(pk=centre.pk).update(is_government=False)
    findings = check()
    assert summary(findings) == [("JC-TOWNSHIP-CENTRE", compliant.c.townships[1].code, None)]
    assert findings[0].division_name == "镇2"
    assert "政府办" in findings[0].reason


def test_a_community_centre_counts_for_its_township(compliant: Compliant) -> None:
    Institution.objects.filter(pk=compliant.c.centres[1].pk).update(type=InstitutionType.COMMUNITY_CENTRE)
    assert check() == []


def test_village_whose_clinic_has_closed(compliant: Compliant) -> None:
    _expire(compliant.clinic_b)
    findings = check()
    assert summary(findings) == [("JC-VILLAGE-CLINIC", compliant.c.village_b.code, None)]
    assert findings[0].path == compliant.c.village_b.path


def test_village_clinic_missing_two_of_the_four_rooms(compliant: Compliant) -> None:
    Capacity.objects.filter(institution=compliant.clinic_a, kind=CapacityKind.TREATMENT_ROOM).delete()
    Capacity.objects.filter(institution=compliant.clinic_a, kind=CapacityKind.PHARMACY).update(quantity=0)
    findings = check()
    assert summary(findings) == [("HG-VILLAGE-FOUR-ROOMS", compliant.c.village_a.code, compliant.clinic_a.code)]
    assert findings[0].reason == "缺少：治疗室、药房"
    assert findings[0].institution_name == compliant.clinic_a.name
    assert findings[0].category_label == "三合格"


def test_township_centre_missing_equipment(compliant: Compliant) -> None:
    centre = compliant.c.centres[0]
    Capacity.objects.filter(institution=centre, kind__in=[CapacityKind.DR, CapacityKind.LAB]).delete()
    findings = check()
    assert summary(findings) == [("HG-TOWNSHIP-EQUIPMENT", compliant.c.townships[0].code, centre.code)]
    assert findings[0].reason == "缺少：DR、检验室"


def test_clinical_department_without_a_physician_is_named(compliant: Compliant) -> None:
    DepartmentFactory(institution=compliant.c.hospital, code="WK", name="外科")
    DepartmentFactory(institution=compliant.c.hospital, code="CW", name="财务科", is_clinical=False)
    # An assistant physician does not satisfy the county-hospital rule (执业医师 only).
    surgeon = staff(compliant.c.hospital, QualificationKind.ASSISTANT_PHYSICIAN)
    StaffMember.objects.filter(pk=surgeon.pk).update(department=compliant.c.hospital.departments.get(code="WK"))
    findings = check()
    assert summary(findings) == [("DB-COUNTY-DEPT-PHYSICIAN", "522399", "H0001")]
    assert "外科" in findings[0].reason and "执业医师" in findings[0].reason
    assert findings[0].category_label == "三达标"


def test_one_finding_per_department(compliant: Compliant) -> None:
    for code, name in (("WK", "外科"), ("EK", "儿科")):
        DepartmentFactory(institution=compliant.c.hospital, code=code, name=name)
    findings = check()
    assert [f.rule for f in findings] == ["DB-COUNTY-DEPT-PHYSICIAN"] * 2
    assert sorted(f.reason for f in findings) == sorted(
        f"临床科室“{name}”没有持有效执业医师资格的在岗人员" for name in ("外科", "儿科"))


def test_township_centre_whose_only_doctor_left(compliant: Compliant) -> None:
    StaffMember.objects.filter(pk=compliant.centre_staff[1].pk).update(active=False)
    staff(compliant.c.centres[1], QualificationKind.NURSE)  # a nurse does not count
    findings = check()
    assert summary(findings) == [("DB-TOWNSHIP-PHYSICIAN", compliant.c.townships[1].code, compliant.c.centres[1].code)]
    assert "全科医师" in findings[0].reason


def test_expired_qualification_does_not_count(compliant: Compliant) -> None:
    doctor = compliant.village_doctors[compliant.c.village_c.code]
    Qualification.objects.filter(staff=doctor).update(valid_to=TODAY)  # valid_to is exclusive
    findings = check()
    assert summary(findings) == [("DB-VILLAGE-DOCTOR", compliant.c.village_c.code, compliant.clinic_c.code)]
    assert "乡村医生" in findings[0].reason


def test_qualification_counts_only_from_its_start(compliant: Compliant) -> None:
    doctor = compliant.village_doctors[compliant.c.village_a.code]
    Qualification.objects.filter(staff=doctor).update(valid_from=dt.date(2024, 1, 1))
    assert [f.rule for f in check(on=dt.date(2023, 6, 1))] == ["DB-VILLAGE-DOCTOR"]
    assert check(on=dt.date(2024, 6, 1)) == []


def test_a_physician_satisfies_the_village_rule(compliant: Compliant) -> None:
    clinic = compliant.clinic_b
    Qualification.objects.filter(staff__institution=clinic).update(kind=QualificationKind.ASSISTANT_PHYSICIAN)
    assert check() == []


def test_rule_applies_only_while_in_force(compliant: Compliant) -> None:
    Capacity.objects.filter(institution=compliant.clinic_a, kind=CapacityKind.PHARMACY).delete()
    assert [f.rule for f in check()] == ["HG-VILLAGE-FOUR-ROOMS"]
    StandardRule.objects.filter(code="HG-VILLAGE-FOUR-ROOMS").update(effective_to=TODAY)
    assert check() == []


def test_every_kind_of_shortfall_at_once_is_sorted_by_category(compliant: Compliant) -> None:
    Capacity.objects.filter(institution=compliant.clinic_a, kind=CapacityKind.PHARMACY).delete()
    Institution.objects.filter(pk=compliant.c.centres[0].pk).update(is_government=False)
    StaffMember.objects.filter(pk=compliant.internist.pk).update(active=False)
    assert [f.rule for f in check()] == ["JC-TOWNSHIP-CENTRE", "HG-VILLAGE-FOUR-ROOMS", "DB-COUNTY-DEPT-PHYSICIAN"]


# ---------------------------------------------------------------- scope, language, efficiency


def test_findings_for_a_user_stay_in_their_subtree(compliant: Compliant) -> None:
    c = compliant.c
    Capacity.objects.filter(institution=compliant.clinic_a, kind=CapacityKind.PHARMACY).delete()
    Capacity.objects.filter(institution=compliant.clinic_c, kind=CapacityKind.PHARMACY).delete()
    StaffMember.objects.filter(pk=compliant.internist.pk).update(active=False)
    with frozen(TODAY):
        director = standards_findings_for(user=c.director)
        other = standards_findings_for(user=c.other_director)
        village = standards_findings_for(user=c.village_doctor)
        commission = standards_findings_for(user=c.commission)
    assert summary(director) == [("HG-VILLAGE-FOUR-ROOMS", c.village_a.code, compliant.clinic_a.code)]
    assert summary(other) == [("HG-VILLAGE-FOUR-ROOMS", c.village_c.code, compliant.clinic_c.code)]
    assert summary(village) == summary(director)
    assert {f.rule for f in commission} == {"HG-VILLAGE-FOUR-ROOMS", "DB-COUNTY-DEPT-PHYSICIAN"}
    assert len(commission) == 3


def test_user_without_a_view_unit_sees_nothing(compliant: Compliant) -> None:
    compliant.c.director.view_unit = None
    assert standards_findings_for(user=compliant.c.director) == []


def test_title_and_reason_follow_the_active_language(compliant: Compliant) -> None:
    Capacity.objects.filter(institution=compliant.clinic_a, kind=CapacityKind.PHARMACY).delete()
    with translation.override("en"):
        (english,) = check()
    (chinese,) = check()
    rule = StandardRule.objects.get(code="HG-VILLAGE-FOUR-ROOMS")
    assert english.title == rule.name_en
    assert chinese.title == rule.name
    with translation.override("en"):
        assert english.reason == translation.gettext("缺少：%(items)s") % {
            "items": str(CapacityKind.PHARMACY.label)}


def _grow(county: MiniCounty, n: int) -> None:
    """Add ``n`` villages to the first township, each with a clinic missing a room and its doctor."""
    township = county.townships[0]
    for i in range(n):
        village = DivisionFactory(code=f"{township.code}3{i:02d}", name=f"新村{i}", level=DivisionLevel.VILLAGE,
                                  parent=township)
        clinic = InstitutionFactory(code=f"VX{i:03d}", type=InstitutionType.VILLAGE_CLINIC, division=village,
                                    parent=county.centres[0])
        for kind in FOUR_ROOMS[1:]:
            CapacityFactory(institution=clinic, kind=kind)
        staff(clinic, QualificationKind.NURSE)


def test_query_count_does_not_grow_with_the_county(compliant: Compliant) -> None:
    with CaptureQueriesContext(connection) as small:
        assert check() == []
    _grow(compliant.c, 12)
    with CaptureQueriesContext(connection) as large:
        findings = check()
    assert len(findings) == 24
    assert len(large.captured_queries) == len(small.captured_queries) <= 8


# ---------------------------------------------------------------- loading the rules


def test_rules_load_is_idempotent(county: MiniCounty) -> None:
    (first,) = [r for f, r in rules_load() if f.kind == "registry.standards"]
    assert (first.created, first.updated, first.unchanged) == (8, 0, 0)
    (second,) = [r for f, r in rules_load() if f.kind == "registry.standards"]
    assert (second.created, second.updated, second.unchanged) == (0, 0, 8)
    StandardRule.objects.filter(code="DB-VILLAGE-DOCTOR").update(name="改过的名字", params={"types": []})
    (third,) = [r for f, r in rules_load() if f.kind == "registry.standards"]
    assert (third.created, third.updated, third.unchanged) == (0, 1, 7)
    rule = StandardRule.objects.get(code="DB-VILLAGE-DOCTOR")
    assert rule.name != "改过的名字" and rule.params["types"] == ["village_clinic"]
    assert StandardRule.objects.count() == 8


def test_rules_load_command_reports_what_it_did(county: MiniCounty) -> None:
    out = io.StringIO()
    call_command("rules", "load", stdout=out)
    assert "registry/fixtures/standards.yaml" in out.getvalue()
    assert "新增 8" in out.getvalue()
    out = io.StringIO()
    call_command("rules", "load", "--kind", "registry.standards", stdout=out)
    assert "未变 8" in out.getvalue()


def _fixture(rules: list[dict[str, object]]) -> RuleFixture:
    return RuleFixture(app_label="registry", path=Path("x.yaml"), name="registry/fixtures/x.yaml",
                       kind="registry.standards", document={"kind": "registry.standards", "rules": rules})


GOOD = {"code": "X-1", "category": "qualify", "name": "测试", "check": "institution_has_capacities",
        "params": {"types": ["village_clinic"], "kinds": ["pharmacy"]}, "source": "测试依据",
        "effective_from": dt.date(2020, 1, 1)}


@pytest.mark.parametrize("change", [
    {"params": {"types": ["village_clinic"], "kinds": ["spaceship"]}},
    {"params": {"types": ["village_clinic"]}},
    {"check": "no_such_check"},
    {"category": "other"},
    {"source": ""},
    {"effective_from": None},
    {"effective_from": "2020-13-01"},
    {"colour": "red"},
])
def test_a_bad_rule_is_refused_and_nothing_is_written(db: None, change: dict[str, object]) -> None:
    with pytest.raises(RuleFixtureInvalid):
        standard_rules_load(_fixture([GOOD, {**GOOD, "code": "X-2", **change}]))
    assert not StandardRule.objects.exists()


def test_a_good_rule_loads(db: None) -> None:
    result = standard_rules_load(_fixture([GOOD]))
    assert result.created == 1
    assert StandardRule.objects.get(code="X-1").kind == "institution_has_capacities"


# ---------------------------------------------------------------- ygt registry check


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with frozen(TODAY):
        call_command("registry", "check", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def two_shortfalls(compliant: Compliant) -> Compliant:
    Capacity.objects.filter(institution=compliant.clinic_a, kind=CapacityKind.PHARMACY).delete()
    StaffMember.objects.filter(pk=compliant.centre_staff[1].pk).update(active=False)
    return compliant


def test_check_command_json_parses(two_shortfalls: Compliant) -> None:
    out, err = _run("--format", "json")
    rows = json.loads(out)
    assert [(r["rule"], r["institution_code"]) for r in rows] == [
        ("HG-VILLAGE-FOUR-ROOMS", two_shortfalls.clinic_a.code),
        ("DB-TOWNSHIP-PHYSICIAN", two_shortfalls.c.centres[1].code),
    ]
    assert rows[0]["reason"] == "缺少：药房"
    assert "2" in err


def test_check_command_csv_and_org(two_shortfalls: Compliant) -> None:
    out, _err = _run("--format", "csv", "--org", two_shortfalls.c.townships[0].code)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["rule"] for r in rows] == ["HG-VILLAGE-FOUR-ROOMS"]
    out, _err = _run("--format", "csv", "--org", two_shortfalls.c.centres[1].code)  # an institution's code
    assert [r["rule"] for r in csv.DictReader(io.StringIO(out))] == ["DB-TOWNSHIP-PHYSICIAN"]


def test_check_command_table_groups_by_category_and_counts(two_shortfalls: Compliant) -> None:
    out, _err = _run()
    assert out.index("三合格") < out.index("三达标")
    assert "缺少：药房" in out and "HG-VILLAGE-FOUR-ROOMS" in out
    assert out.rstrip().splitlines()[-1] == "共 2 项不达标"


def test_check_command_date_before_the_county_existed(two_shortfalls: Compliant) -> None:
    out, _err = _run("--format", "json", "--date", "2019-12-31")
    assert json.loads(out) == []  # nothing of the county existed yet


@pytest.mark.parametrize("args", [("--date", "2025-02-30"), ("--org", "nowhere")])
def test_check_command_bad_input_is_one_line(compliant: Compliant, args: tuple[str, ...],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from yigongti.cli import main

    assert main(["registry", "check", *args]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err

