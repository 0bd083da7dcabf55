"""The registry's write services: validation, idempotence, effective-dated moves, path rewrites, audit."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import MiniCounty
from tests.factories.registry import StaffMemberFactory, valid_resident_id
from yigongti.core.errors import Conflict, NotFound, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.registry.choices import AllianceRole, DivisionLevel, InstitutionType, QualificationKind
from yigongti.registry.codes import division_code_normalise, division_level_of_code
from yigongti.registry.models import (
    AllianceMembership,
    Division,
    DivisionParentPeriod,
    Institution,
    InstitutionPeriod,
    Qualification,
    StaffMember,
)
from yigongti.registry.services import (
    alliance_member_set,
    alliance_upsert,
    capacity_set,
    department_upsert,
    division_upsert,
    institution_upsert,
    staff_upsert,
)

D1 = dt.date(2024, 1, 1)
D2 = dt.date(2025, 7, 1)


@pytest.mark.parametrize(("raw", "short", "level"), [
    ("522399000000", "522399", DivisionLevel.COUNTY),
    ("522399100000", "522399100", DivisionLevel.TOWNSHIP),
    ("522399100201", "522399100201", DivisionLevel.VILLAGE),
    ("520000", "520000", DivisionLevel.PROVINCE),
    ("522300000000", "522300", DivisionLevel.PREFECTURE),
    (" 522399 ", "522399", DivisionLevel.COUNTY),
])
def test_division_codes_are_normalised(raw: str, short: str, level: str) -> None:
    assert division_code_normalise(raw) == short
    assert division_level_of_code(short) == level


@pytest.mark.parametrize("raw", ["", "52239", "5223991", "52239910020X", "000000", "5223991002011"])
def test_bad_division_codes(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        division_code_normalise(raw)
    assert caught.value.params["field"] == "code"


def test_division_upsert_infers_level_and_parent(db: None) -> None:
    assert division_upsert(code="522399000000", name="云溪县", valid_from=D1)[0] == "created"
    outcome, town = division_upsert(code="522399100000", name="云溪镇", valid_from=D1)
    assert outcome == "created"
    assert (town.code, town.level, town.parent.code, town.path) == (
        "522399100", DivisionLevel.TOWNSHIP, "522399", "522399/522399100")
    assert DivisionParentPeriod.objects.get(division=town).valid_to is None
    assert division_upsert(code="522399100", name="云溪镇", valid_from=D2)[0] == "unchanged"
    assert division_upsert(code="522399100", name="云溪街道", valid_from=D2)[0] == "updated"
    assert Division.objects.get(code="522399100").name == "云溪街道"


def test_division_upsert_refuses_a_missing_parent_and_a_lower_parent(county: MiniCounty) -> None:
    with pytest.raises(NotFound) as caught:
        division_upsert(code="522399109201", name="孤村", valid_from=D1)
    assert caught.value.params["field"] == "parent_code"
    assert "522399109" in str(caught.value)
    with pytest.raises(ValidationFailed, match="级别应高于"):
        division_upsert(code="522399101", name="镇1", parent_code=county.village_a.code, valid_from=D1)
    with pytest.raises(ValidationFailed, match="级别"):
        division_upsert(code="522399103", name="镇3", level="town", valid_from=D1)


def test_moving_a_division_rewrites_the_subtree_and_keeps_history(county: MiniCounty) -> None:
    town1, town2 = county.townships
    village = county.village_a
    clinic = county.clinics[village.code]
    member = StaffMemberFactory(institution=clinic)
    outcome, moved = division_upsert(code=village.code, name=village.name, parent_code=town2.code, valid_from=D2)
    assert outcome == "updated"
    new_path = f"{town2.path}/{village.code}"
    assert moved.path == new_path
    assert Division.objects.get(pk=village.pk).parent_id == town2.pk
    clinic.refresh_from_db()
    member.refresh_from_db()
    assert clinic.path == new_path and member.path == new_path
    periods = list(DivisionParentPeriod.objects.filter(division=village).order_by("valid_from"))
    assert [(p.parent_id, p.valid_from, p.valid_to) for p in periods] == [
        (town1.pk, village.valid_from, D2), (town2.pk, D2, None)]
    # the same call again: nothing to do
    assert division_upsert(code=village.code, name=village.name, parent_code=town2.code, valid_from=D2)[0] == \
        "unchanged"
    # a division cannot go below its own subtree
    with pytest.raises(ValidationFailed):
        division_upsert(code=town2.code, name=town2.name, parent_code=village.code, level="village", valid_from=D2)


def test_moving_a_township_rewrites_village_paths(county: MiniCounty) -> None:
    division_upsert(code="522300", name="某州", valid_from=D1)
    outcome, root = division_upsert(code=county.county.code, name=county.county.name, parent_code="522300",
                                    valid_from=D2)
    assert outcome == "updated"
    assert root.path == "522300/522399"
    village = Division.objects.get(pk=county.village_a.pk)
    assert village.path == "522300/522399/522399101/522399101201"
    assert Institution.objects.get(pk=county.clinics[village.code].pk).path == village.path


def test_institution_upsert_checks_tier_level_and_parent(county: MiniCounty) -> None:
    village = county.village_a.code
    with pytest.raises(ValidationFailed) as caught:
        institution_upsert(code="VX", name="新卫生室", type=InstitutionType.VILLAGE_CLINIC, division_code=village,
                           parent_code=county.hospital.code, valid_from=D1)
    assert caught.value.params["field"] == "parent_code"
    assert "乡镇卫生院" in str(caught.value)
    with pytest.raises(ValidationFailed) as caught:
        institution_upsert(code="VX", name="新卫生室", type=InstitutionType.VILLAGE_CLINIC, division_code=village,
                           valid_from=D1)
    assert "必须填写上级机构" in str(caught.value)
    with pytest.raises(ValidationFailed) as caught:
        institution_upsert(code="TX", name="新卫生院", type=InstitutionType.TOWNSHIP_CENTRE, division_code=village,
                           valid_from=D1)
    assert caught.value.params["field"] == "division_code"
    with pytest.raises(NotFound) as caught:
        institution_upsert(code="TX", name="新卫生院", type=InstitutionType.TOWNSHIP_CENTRE,
                           division_code="522399109", valid_from=D1)
    assert caught.value.params["field"] == "division_code"
    with pytest.raises(ValidationFailed):
        institution_upsert(code="HX", name="医院", type="hospital", division_code="522399", valid_from=D1)
    assert not Institution.objects.filter(code__in=["VX", "TX", "HX"]).exists()


def test_institution_upsert_is_idempotent(county: MiniCounty) -> None:
    kwargs = dict(code="V9", name="新卫生室", type=InstitutionType.VILLAGE_CLINIC, division_code=county.village_a.code,
                  parent_code=county.centres[0].code, valid_from=D1, address="东村", phone="")
    outcome, clinic = institution_upsert(**kwargs)  # type: ignore[arg-type]
    assert outcome == "created"
    assert (clinic.tier, clinic.path, clinic.grade, clinic.is_government) == (
        "village", county.village_a.path, "none", True)
    assert institution_upsert(**kwargs)[0] == "unchanged"  # type: ignore[arg-type]
    assert institution_upsert(**{**kwargs, "phone": "123"})[0] == "updated"  # type: ignore[arg-type]
    assert InstitutionPeriod.objects.filter(institution=clinic).count() == 1


def test_moving_an_institution_rewrites_staff_paths_and_closes_the_period(county: MiniCounty) -> None:
    clinic = county.clinics[county.village_a.code]
    staff = [StaffMemberFactory(institution=clinic) for _ in range(2)]
    target = county.village_c
    outcome, moved = institution_upsert(code=clinic.code, name=clinic.name, type=clinic.type,
                                        division_code=target.code, parent_code=county.centres[1].code, valid_from=D2)
    assert outcome == "updated"
    assert moved.path == target.path
    assert sorted(StaffMember.objects.filter(pk__in=[s.pk for s in staff]).values_list("path", flat=True)) == \
        [target.path, target.path]
    periods = list(InstitutionPeriod.objects.filter(institution=clinic).order_by("valid_from"))
    assert [(p.division_id, p.parent_id, p.valid_from, p.valid_to) for p in periods] == [
        (county.village_a.pk, county.centres[0].pk, clinic.valid_from, D2),
        (target.pk, county.centres[1].pk, D2, None),
    ]
    # moving back with an earlier date than the open period is a conflict, and changes nothing
    with pytest.raises(Conflict):
        institution_upsert(code=clinic.code, name=clinic.name, type=clinic.type,
                           division_code=county.village_a.code, parent_code=county.centres[0].code, valid_from=D1)
    assert Institution.objects.get(pk=clinic.pk).division_id == target.pk


def test_alliance_membership_is_effective_dated(county: MiniCounty) -> None:
    assert alliance_upsert(code="A1", name="医共体", division_code=county.townships[0].code, valid_from=D1)[0] == \
        "created"
    assert alliance_upsert(code="A1", name="医共体", division_code=county.county.code, valid_from=D1)[0] == \
        "unchanged"
    hospital, centre = county.hospital.code, county.centres[0].code
    assert alliance_member_set(alliance_code="A1", institution_code=hospital, role="lead", valid_from=D1)[0] == \
        "created"
    assert alliance_member_set(alliance_code="A1", institution_code=hospital, role="lead", valid_from=D1)[0] == \
        "unchanged"
    alliance_member_set(alliance_code="A1", institution_code=centre, role="member", valid_from=D1)
    with pytest.raises(Conflict):
        alliance_member_set(alliance_code="A1", institution_code=centre, role=AllianceRole.LEAD, valid_from=D2)
    assert alliance_member_set(alliance_code="A1", institution_code=hospital, role="member", valid_from=D2)[0] == \
        "updated"
    rows = list(AllianceMembership.objects.filter(institution__code=hospital).order_by("valid_from")
                .values_list("role", "valid_from", "valid_to"))
    assert rows == [("lead", D1, D2), ("member", D2, None)]
    with pytest.raises(NotFound):
        alliance_member_set(alliance_code="NOPE", institution_code=hospital, role="member", valid_from=D2)


def test_capacity_and_department(county: MiniCounty) -> None:
    code = county.hospital.code
    assert capacity_set(institution_code=code, kind="beds", quantity=300)[0] == "created"
    assert capacity_set(institution_code=code, kind="beds", quantity=300)[0] == "unchanged"
    assert capacity_set(institution_code=code, kind="beds", quantity=320)[0] == "updated"
    with pytest.raises(ValidationFailed):
        capacity_set(institution_code=code, kind="beds", quantity=-1)
    with pytest.raises(ValidationFailed):
        capacity_set(institution_code=code, kind="helipad", quantity=1)
    assert department_upsert(institution_code=code, code="NK", name="内科")[0] == "unchanged"
    assert department_upsert(institution_code=code, code="WK", name="外科")[0] == "created"
    assert department_upsert(institution_code=code, code="WK", name="普外科")[0] == "updated"


def test_staff_upsert_is_keyed_by_id_audited_and_idempotent(county: MiniCounty) -> None:
    id_number = valid_resident_id(male=False)
    kwargs = dict(id_number=id_number.lower(), name="李芳", sex="F", institution_code=county.hospital.code,
                  department_code="NK", phone="138", title="主治医师",
                  qualifications=[(QualificationKind.PRACTISING_PHYSICIAN, "110"), ("gp", "")], valid_from=D1)
    outcome, member = staff_upsert(**kwargs)  # type: ignore[arg-type]
    assert outcome == "created"
    assert (member.id_number, member.path, member.department.code) == (id_number, county.hospital.path, "NK")
    assert staff_upsert(**kwargs)[0] == "unchanged"  # type: ignore[arg-type]
    assert StaffMember.objects.filter(id_number=id_number).count() == 1
    entries = list(AuditEntry.objects.filter(object_type="registry.staffmember").values_list("action", "path"))
    assert entries == [("create", county.hospital.path)]
    # a qualification dropped from the list is closed at valid_from, not deleted
    outcome, member = staff_upsert(**{**kwargs, "qualifications": [("physician", "110")], "valid_from": D2})  # type: ignore[arg-type]
    assert outcome == "updated"
    assert Qualification.objects.get(staff=member, kind="gp").valid_to == D2
    assert AuditEntry.objects.filter(object_type="registry.staffmember", action="update").count() == 1
    # moving to another institution moves the path and drops the old institution's department
    outcome, member = staff_upsert(**{**kwargs, "institution_code": county.centres[0].code,  # type: ignore[arg-type]
                                      "department_code": None})
    assert (outcome, member.path, member.department_id) == ("updated", county.centres[0].path, None)


@pytest.mark.parametrize(("change", "field"), [
    ({"sex": "M"}, "sex"),
    ({"id_number": "522399198005170000"}, "id_number"),
    ({"institution_code": "NOPE"}, "institution_code"),
    ({"department_code": "NOPE"}, "department_code"),
    ({"qualifications": [("surgeon", "")]}, "qualifications"),
    ({"name": " "}, "name"),
])
def test_staff_upsert_rejects(county: MiniCounty, change: dict[str, object], field: str) -> None:
    kwargs = dict(id_number=valid_resident_id(male=False), name="李芳", sex="F",
                  institution_code=county.hospital.code, department_code="NK", valid_from=D1)
    with pytest.raises((ValidationFailed, NotFound)) as caught:
        staff_upsert(**{**kwargs, **change})  # type: ignore[arg-type]
    assert caught.value.params["field"] == field
    assert not StaffMember.objects.exists()
    assert not AuditEntry.objects.filter(object_type="registry.staffmember").exists()
