"""``/api/v1/registry/``: scope (404 outside it, never listed), detail, pagination, staff audit, standards."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.conftest import TokenClient, assert_problem
from tests.conftest import MiniCounty
from tests.factories.registry import CapacityFactory, QualificationFactory, StaffMemberFactory
from yigongti.core.models import AuditAction, AuditEntry, AuditOutcome
from yigongti.core.rule_fixtures import rules_load
from yigongti.registry.choices import CapacityKind, InstitutionType, QualificationKind
from yigongti.registry.models import Alliance, AllianceMembership, Institution, StaffMember


def _codes(response: object) -> list[str]:
    return [row["code"] for row in response.json()["items"]]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- scope


def test_director_gets_404_for_another_townships_rows(county: MiniCounty, as_director: TokenClient) -> None:
    other_centre = county.centres[1].code
    other_clinic = county.clinics[county.village_c.code].code
    other_township = county.townships[1].code
    for path in (f"/registry/institutions/{other_centre}", f"/registry/institutions/{other_centre}/staff",
                 f"/registry/institutions/{other_clinic}", f"/registry/divisions/{other_township}",
                 f"/registry/divisions/{other_township}/children", f"/registry/divisions/{county.county.code}"):
        assert_problem(as_director.get(path), 404, "not_found")
    # … and exactly the same answer as for a code that does not exist at all.
    assert as_director.get("/registry/institutions/NOPE").json() == as_director.get(
        f"/registry/institutions/{other_centre}").json()


def test_director_never_sees_other_rows_in_lists(county: MiniCounty, as_director: TokenClient,
                                                 as_commission: TokenClient) -> None:
    mine = _codes(as_director.get("/registry/institutions"))
    assert sorted(mine) == sorted([county.centres[0].code, county.clinics[county.village_a.code].code,
                                   county.clinics[county.village_b.code].code])
    assert county.centres[1].code not in _codes(as_director.get("/registry/institutions", {"q": "镇2"}))
    assert_problem(as_director.get("/registry/institutions", {"division": county.townships[1].code}), 404, "not_found")
    assert len(_codes(as_commission.get("/registry/institutions"))) == 7
    children = as_director.get(f"/registry/divisions/{county.townships[0].code}/children").json()
    assert [c["code"] for c in children] == [county.village_a.code, county.village_b.code]
    assert children[0]["n_institutions"] == 1 and children[0]["parent_code"] == county.townships[0].code


def test_institution_list_filters_and_pages(county: MiniCounty, as_commission: TokenClient) -> None:
    clinics = as_commission.get("/registry/institutions", {"type": InstitutionType.VILLAGE_CLINIC})
    assert clinics.json()["count"] == 4
    assert _codes(as_commission.get("/registry/institutions", {"tier": "township"})) == [c.code for c in county.centres]
    township_2 = county.townships[1].code
    assert _codes(as_commission.get("/registry/institutions", {"division": township_2, "tier": "village"})) == [
        county.clinics[v.code].code for v in county.villages[township_2]]
    assert _codes(as_commission.get("/registry/institutions", {"q": "人民医院"})) == ["H0001"]
    first = as_commission.get("/registry/institutions", {"limit": 3}).json()
    second = as_commission.get("/registry/institutions", {"limit": 3, "offset": 3}).json()
    assert first["count"] == second["count"] == 7
    assert (first["limit"], first["offset"], second["offset"]) == (3, 0, 3)
    assert len(first["items"]) == len(second["items"]) == 3
    assert not {i["code"] for i in first["items"]} & {i["code"] for i in second["items"]}


def test_closed_institutions_are_not_listed(county: MiniCounty, as_commission: TokenClient) -> None:
    clinic = county.clinics[county.village_b.code]
    Institution.objects.filter(pk=clinic.pk).update(valid_to=dt.date(2021, 1, 1))
    assert clinic.code not in _codes(as_commission.get("/registry/institutions"))


def test_institution_detail(county: MiniCounty, as_commission: TokenClient) -> None:
    alliance = Alliance.objects.create(code="YGT01", name="云溪县医共体", division=county.county,
                                       valid_from=dt.date(2020, 1, 1))
    old = Alliance.objects.create(code="OLD", name="旧联合体", division=county.county, valid_from=dt.date(2018, 1, 1))
    centre = county.centres[0]
    AllianceMembership.objects.create(alliance=alliance, institution=centre, valid_from=dt.date(2020, 1, 1))
    AllianceMembership.objects.create(alliance=old, institution=centre, valid_from=dt.date(2018, 1, 1),
                                      valid_to=dt.date(2020, 1, 1))
    CapacityFactory(institution=centre, kind=CapacityKind.DR, quantity=2)
    body = as_commission.get(f"/registry/institutions/{centre.code}").json()
    assert body["type"] == "township_centre" and body["type_label"] == "乡镇卫生院"
    assert body["division_code"] == county.townships[0].code and body["parent_code"] == "H0001"
    assert body["capacities"] == [{"kind": "dr", "kind_label": "DR", "quantity": 2}]
    assert [a["alliance_code"] for a in body["alliances"]] == ["YGT01"]
    assert body["alliances"][0]["role"] == "member"
    hospital = as_commission.get("/registry/institutions/H0001").json()
    assert hospital["departments"] == [{"code": "NK", "name": "内科", "is_clinical": True}]


# ---------------------------------------------------------------- staff: person-level, audited


def test_staff_read_is_audited_per_person(county: MiniCounty, as_director: TokenClient) -> None:
    centre = county.centres[0]
    members = [StaffMemberFactory(institution=centre, name=name) for name in ("甲医生", "乙护士")]
    QualificationFactory(staff=members[0], kind=QualificationKind.GENERAL_PRACTITIONER)
    StaffMemberFactory(institution=centre, name="离职者", active=False)
    response = as_director.get(f"/registry/institutions/{centre.code}/staff")
    assert response.status_code == 200, response.content
    rows = response.json()
    assert sorted(r["name"] for r in rows) == ["乙护士", "甲医生"]
    doctor = next(r for r in rows if r["name"] == "甲医生")
    assert doctor["qualifications"][0]["kind"] == "gp" and doctor["qualifications"][0]["current"] is True
    assert members[0].id_number not in response.content.decode()  # the resident ID is masked
    entries = AuditEntry.objects.filter(action=AuditAction.READ, object_type="registry.staffmember")
    assert sorted(e.object_id for e in entries) == sorted(str(m.pk) for m in members)
    assert {(e.user_id, e.outcome, e.channel) for e in entries} == {(county.director.pk, AuditOutcome.OK, "api")}
    assert all(e.path == centre.path for e in entries)


def test_staff_of_another_township_is_404_and_audited_as_not_found(county: MiniCounty,
                                                                    as_director: TokenClient) -> None:
    other = county.centres[1]
    StaffMemberFactory(institution=other, name="丙医生")
    response = as_director.get(f"/registry/institutions/{other.code}/staff")
    assert_problem(response, 404, "not_found")
    assert "丙医生" not in response.content.decode()
    missed = AuditEntry.objects.get(outcome=AuditOutcome.NOT_FOUND)
    assert (missed.action, missed.object_id, missed.user_id) == (AuditAction.READ, other.code, county.director.pk)
    assert not AuditEntry.objects.filter(object_type="registry.staffmember").exists()
    assert StaffMember.objects.filter(institution=other).count() == 1


# ---------------------------------------------------------------- standards


@pytest.fixture
def rules(county: MiniCounty) -> None:
    rules_load(kinds=["registry.standards"])


def test_standards_in_the_callers_scope(county: MiniCounty, rules: None, as_director: TokenClient,
                                        as_commission: TokenClient) -> None:
    mine = as_director.get("/registry/standards").json()
    everyone = as_commission.get("/registry/standards").json()
    my_clinics = {county.clinics[v.code].code for v in county.villages[county.townships[0].code]}
    assert {f["institution_code"] for f in mine} == my_clinics | {county.centres[0].code}
    assert all(f["path"].startswith(county.townships[0].path) for f in mine)
    assert {f["institution_code"] for f in everyone} > {f["institution_code"] for f in mine}
    assert "DB-COUNTY-DEPT-PHYSICIAN" in {f["rule"] for f in everyone}
    four_rooms = next(f for f in mine if f["rule"] == "HG-VILLAGE-FOUR-ROOMS")
    assert four_rooms["reason"] == "缺少：诊室、治疗室、公共卫生室、药房"
    assert four_rooms["category_label"] == "三合格"


def test_standards_on_a_date(county: MiniCounty, rules: None, as_commission: TokenClient) -> None:
    assert as_commission.get("/registry/standards", {"date": "2019-12-31"}).json() == []  # nothing existed yet
    assert as_commission.get("/registry/standards", {"date": "2025-01-01"}).json()


def test_standards_titles_in_english(county: MiniCounty, rules: None) -> None:
    english = TokenClient(county.director, HTTP_ACCEPT_LANGUAGE="en").get("/registry/standards").json()
    assert "Village clinic has the four rooms (consultation, treatment, public health, pharmacy)" in {
        f["title"] for f in english}
