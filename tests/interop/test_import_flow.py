"""Imports that succeed: samples, idempotent re-runs, dry runs, later-row references, XLSX, GB18030, moves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.conftest import MiniCounty
from tests.factories.registry import StaffMemberFactory, valid_resident_id
from tests.interop.conftest import SAMPLES
from tests.interop.helpers import snapshot, write_csv
from yigongti.core.models import AuditEntry
from yigongti.interop.importers import importer_for
from yigongti.registry.models import (
    Alliance,
    AllianceMembership,
    Capacity,
    Department,
    Division,
    Institution,
    InstitutionPeriod,
    Qualification,
    StaffMember,
)

KINDS = ("divisions", "institutions", "staff")


def without_audit(state: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    return {k: v for k, v in state.items() if k != "AuditEntry"}


def test_samples_import_into_an_empty_database_and_again_unchanged(db: None) -> None:
    first = {kind: importer_for(kind).run(SAMPLES / f"{kind}.csv") for kind in KINDS}
    assert first["divisions"].counts["division"]["created"] == 7
    assert first["institutions"].counts["institution"]["created"] == 8
    assert first["institutions"].counts["alliance"]["created"] == 1
    assert first["staff"].counts["staff"]["created"] == 12
    assert Division.objects.get(code="522399100201").path == "522399/522399100/522399100201"
    clinic = Institution.objects.get(code="V522399101202")
    assert (clinic.parent.code, clinic.path, clinic.is_government) == (
        "T522399101", "522399/522399101/522399101202", False)
    assert Capacity.objects.get(institution__code="T522399101", kind="tcm_hall").quantity == 1  # 有 → 1
    assert AllianceMembership.objects.get(institution__code="H522399001").role == "lead"
    doctor = StaffMember.objects.get(name="杨洋")
    assert sorted(doctor.qualifications.values_list("kind", "certificate_no")) == [
        ("gp", "330522399000006"), ("physician", "110522399000006")]
    state = without_audit(snapshot())
    counts = {m.__name__: m.objects.count() for m in (Division, Institution, StaffMember, Department, Qualification)}
    for kind in KINDS:
        again = importer_for(kind).run(SAMPLES / f"{kind}.csv")
        assert all(c["created"] == c["updated"] == 0 for c in again.counts.values()), again.counts
        assert {k: c["unchanged"] for k, c in again.counts.items()} == {
            k: c["created"] for k, c in first[kind].counts.items()}
    assert without_audit(snapshot()) == state
    assert counts == {m.__name__: m.objects.count()
                      for m in (Division, Institution, StaffMember, Department, Qualification)}
    # one audit entry per import, and one per staff member created
    imports = AuditEntry.objects.filter(action="import")
    assert imports.count() == 6
    entry = imports.filter(object_type="interop.staff").order_by("id").first()
    assert entry is not None
    assert entry.detail["file"] == "staff.csv" and entry.detail["counts"]["staff"]["created"] == 12
    assert AuditEntry.objects.filter(object_type="registry.staffmember", action="create").count() == 12


def test_dry_run_counts_like_a_real_run_and_writes_nothing(db: None) -> None:
    before = snapshot()
    dry = importer_for("divisions").run(SAMPLES / "divisions.csv", dry_run=True)
    assert dry.dry_run and dry.counts["division"]["created"] == 7
    assert snapshot() == before
    real = importer_for("divisions").run(SAMPLES / "divisions.csv")
    assert real.counts == dry.counts
    before = snapshot()
    importer_for("institutions").run(SAMPLES / "institutions.csv", dry_run=True)
    assert snapshot() == before


def test_references_may_point_to_later_rows(db: None, tmp_path: Path) -> None:
    divisions = write_csv(tmp_path / "d.csv", [
        ["区划代码", "名称"],
        ["522399100201", "东村"],
        ["522399100", "云溪镇"],
        ["522399", "云溪县"],
    ])
    importer_for("divisions").run(divisions)
    institutions = write_csv(tmp_path / "i.csv", [
        ["机构代码", "机构名称", "机构类型", "区划代码", "上级机构代码"],
        ["V1", "东村卫生室", "村卫生室", "522399100201", "T1"],
        ["T1", "云溪镇卫生院", "乡镇卫生院", "522399100", "H1"],
        ["H1", "云溪县人民医院", "县人民医院", "522399", ""],
    ])
    result = importer_for("institutions").run(institutions)
    assert result.counts["institution"]["created"] == 3
    assert Institution.objects.get(code="V1").parent.code == "T1"


def test_gb18030_csv_with_chinese_headers(db: None, tmp_path: Path) -> None:
    importer_for("divisions").run(SAMPLES / "divisions.csv")
    text = (SAMPLES / "institutions.csv").read_text(encoding="utf-8")
    path = tmp_path / "机构.csv"
    path.write_bytes(text.encode("gb18030"))
    result = importer_for("institutions").run(path)
    assert result.counts["institution"]["created"] == 8
    assert Institution.objects.get(code="H522399001").name == "云溪县人民医院"
    assert Alliance.objects.get().name == "云溪县医共体"


def test_xlsx_staff_import(county: MiniCounty, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["身份证号", "姓名", "性别", "机构代码", "科室代码", "科室名称", "执业资格", "证书编号",
                  "生效日期", "电话"])
    first, second = valid_resident_id(male=True), valid_resident_id(male=False)
    sheet.append([first, "王五", "男", "H0001", "WK", "外科", "physician;gp", "A1;A2", dt.datetime(2024, 5, 1),
                  13800000000])
    sheet.append([second, "赵六", "F", county.clinics[county.village_a.code].code, None, None, "乡村医生", None,
                  None, None])
    path = tmp_path / "staff.xlsx"
    workbook.save(path)
    result = importer_for("staff").run(path)
    assert result.counts == {"staff": {"created": 2, "updated": 0, "unchanged": 0},
                             "department": {"created": 1, "updated": 0, "unchanged": 0}}
    surgeon = StaffMember.objects.get(id_number=first)
    assert (surgeon.department.name, surgeon.phone, surgeon.path) == ("外科", "13800000000", county.hospital.path)
    assert Qualification.objects.get(staff=surgeon, kind="gp").valid_from == dt.date(2024, 5, 1)
    assert StaffMember.objects.get(id_number=second).path == county.village_a.path
    assert importer_for("staff").run(path).counts["staff"]["unchanged"] == 2


def test_moving_an_institution_by_import(county: MiniCounty, tmp_path: Path) -> None:
    clinic = county.clinics[county.village_a.code]
    member = StaffMemberFactory(institution=clinic)
    path = write_csv(tmp_path / "move.csv", [
        ["code", "name", "type", "division_code", "parent_code", "valid_from"],
        [clinic.code, clinic.name, "village_clinic", county.village_c.code, county.centres[1].code, "2025-07-01"],
    ])
    result = importer_for("institutions").run(path)
    assert result.counts["institution"]["updated"] == 1
    clinic.refresh_from_db()
    member.refresh_from_db()
    assert clinic.path == member.path == county.village_c.path
    periods = list(InstitutionPeriod.objects.filter(institution=clinic).order_by("valid_from")
                   .values_list("division_id", "valid_to"))
    assert periods == [(county.village_a.pk, dt.date(2025, 7, 1)), (county.village_c.pk, None)]
    assert importer_for("institutions").run(path).counts["institution"]["unchanged"] == 1


@pytest.mark.parametrize("header", [["ID Number", "NAME", "Institution_Code"], ["身份证号码", "姓名", "所在机构代码"]])
def test_header_aliases(county: MiniCounty, tmp_path: Path, header: list[str]) -> None:
    path = write_csv(tmp_path / "s.csv", [header, [valid_resident_id(), "王五", "H0001"]])
    assert importer_for("staff").run(path).counts["staff"]["created"] == 1
