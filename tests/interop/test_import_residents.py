"""``ygt import residents``: creates through the bulk path, row errors, all-or-nothing, idempotent, XLSX."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from tests.conftest import MiniCounty
from tests.factories.registry import valid_resident_id
from tests.interop.helpers import write_csv
from yigongti.core.errors import ImportRejected
from yigongti.core.ids import resident_id_check_char
from yigongti.core.models import AuditAction, AuditEntry
from yigongti.interop.importers import importer_for
from yigongti.residents.choices import Relation
from yigongti.residents.identity import name_pinyin
from yigongti.residents.models import Household, Resident

pytestmark = pytest.mark.django_db

HEADER = ["档案编号", "身份证号", "姓名", "性别", "出生日期", "村代码", "电话", "现住址", "民族", "户编号",
          "与户主关系"]
HEAD_ID = valid_resident_id(born=dt.date(1962, 3, 8), male=True)
WIFE_ID = valid_resident_id(division="522325", born=dt.date(1965, 11, 2), male=False)


def old_id(born: dt.date, sequence: str = "013") -> tuple[str, str]:
    """A 15-digit ID and its 18-digit upgrade."""
    fifteen = f"522399{born:%y%m%d}{sequence}"
    first17 = f"522399{born:%Y%m%d}{sequence}"
    return fifteen, first17 + resident_id_check_char(first17)


def rows(county: MiniCounty) -> list[list[str]]:
    village = county.village_a.code
    fifteen, _ = old_id(dt.date(1948, 7, 1))
    return [
        HEADER,
        ["", HEAD_ID, "韦国华", "男", "1962-03-08", village, "13885900001", "云溪县镇1村1组3号", "布依族", "HH1",
         "户主"],
        ["", WIFE_ID, "罗秀英", "", "", village, "", "云溪县镇1村1组3号", "09", "HH1", "配偶"],
        [f"{village}00099", "", "韦小龙", "男", "2016-05-20", village, "", "云溪县镇1村1组3号", "布依", "HH1", "子女"],
        ["", fifteen, "韦德明", "男", "1948-07-01", village, "", "", "汉族", "", ""],
    ]


def test_import_creates_records_households_and_audit(county: MiniCounty, tmp_path: Path) -> None:
    result = importer_for("residents").run(write_csv(tmp_path / "r.csv", rows(county)))
    assert result.counts["resident"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert result.counts["household"]["created"] == 1
    village = county.village_a
    residents = {r.name: r for r in Resident.objects.all()}
    # a record number given in the file is kept; the others continue after the village's highest
    assert sorted(r.record_no for r in residents.values()) == [f"{village.code}{n:05d}" for n in (99, 100, 101, 102)]
    head = residents["韦国华"]
    assert head.name_pinyin == name_pinyin("韦国华") == "wei guo hua"
    assert head.ethnicity == "09" and head.path == village.path
    assert head.clinic == county.clinics[village.code] and head.township_centre == county.centres[0]
    wife = residents["罗秀英"]
    assert (wife.sex, wife.birth_date) == ("F", dt.date(1965, 11, 2))  # taken from the ID
    assert residents["韦德明"].id_number == old_id(dt.date(1948, 7, 1))[1]  # 15 → 18 digits
    household = Household.objects.get(code="HH1")
    assert household.head == head and household.members.count() == 3
    assert residents["韦小龙"].relation_to_head == Relation.CHILD
    created = AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="residents.resident")
    assert sorted(created.values_list("object_id", flat=True)) == sorted(str(r.pk) for r in residents.values())
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT, object_type="interop.residents").count() == 1


def test_reimport_is_unchanged_and_a_changed_row_is_updated_and_audited(county: MiniCounty,
                                                                        tmp_path: Path) -> None:
    data = rows(county)
    importer_for("residents").run(write_csv(tmp_path / "r.csv", data))
    state = sorted(Resident.objects.values_list("record_no", "name", "id_number", "phone"))
    again = importer_for("residents").run(write_csv(tmp_path / "r.csv", data))
    assert again.counts["resident"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert again.counts["household"]["created"] == 0
    assert sorted(Resident.objects.values_list("record_no", "name", "id_number", "phone")) == state
    # a row with neither ID nor record number is found again by village, name, sex and birth date
    data.append(["", "", "韦小凤", "女", "2019-02-11", county.village_a.code, "", "", "", "HH1", "子女"])
    fourth = importer_for("residents").run(write_csv(tmp_path / "r.csv", data))
    assert fourth.counts["resident"] == {"created": 1, "updated": 0, "unchanged": 4}
    fifth = importer_for("residents").run(write_csv(tmp_path / "r.csv", data))
    assert fifth.counts["resident"] == {"created": 0, "updated": 0, "unchanged": 5}
    data.pop()
    data[1][6] = "13885900009"
    third = importer_for("residents").run(write_csv(tmp_path / "r.csv", data))
    assert third.counts["resident"] == {"created": 0, "updated": 1, "unchanged": 3}
    head = Resident.objects.get(id_number=HEAD_ID)
    assert head.phone == "13885900009"
    update = AuditEntry.objects.get(action=AuditAction.UPDATE, object_id=str(head.pk))
    assert update.detail["fields"] == ["phone"]


@pytest.mark.parametrize(("cells", "column", "reason"), [
    ({1: HEAD_ID[:17] + ("0" if HEAD_ID[17] != "0" else "1")}, "身份证号", "校验位"),
    ({1: "522399196202300014"}, "身份证号", "出生日期无效"),
    ({4: "1962-03-09"}, "出生日期", "不符"),
    ({3: "女"}, "性别", "不符"),
    ({1: "", 4: "2999-01-01"}, "出生日期", "晚于今天"),
    ({5: "522399999999"}, "村代码", "不存在"),
    ({8: "火星族"}, "民族", "无效"),
])
def test_bad_rows_are_reported_and_nothing_is_written(county: MiniCounty, tmp_path: Path,
                                                      cells: dict[int, str], column: str, reason: str) -> None:
    data = rows(county)
    for index, value in cells.items():
        data[1][index] = value
    before = (Resident.objects.count(), Household.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ImportRejected) as rejected:
        importer_for("residents").run(write_csv(tmp_path / "r.csv", data))
    errors = rejected.value.errors
    assert [(e.row, e.column) for e in errors] == [(2, column)]
    assert reason in errors[0].reason
    assert (Resident.objects.count(), Household.objects.count(), AuditEntry.objects.count()) == before


def test_duplicate_id_in_the_file_and_conflict_with_an_existing_record(county: MiniCounty, tmp_path: Path) -> None:
    importer_for("residents").run(write_csv(tmp_path / "r.csv", rows(county)))
    before = Resident.objects.count()
    village = county.village_b.code
    other = valid_resident_id(born=dt.date(1990, 1, 1), male=False)
    data = [HEADER,
            ["", other, "王芳", "女", "1990-01-01", village, "", "", "", "", ""],
            ["", other, "王芳", "女", "1990-01-01", village, "", "", "", "", ""],
            ["", HEAD_ID, "韦国强", "男", "1962-03-08", village, "", "", "", "", ""]]
    with pytest.raises(ImportRejected) as rejected:
        importer_for("residents").run(write_csv(tmp_path / "bad.csv", data))
    found = {(e.row, e.column): e.reason for e in rejected.value.errors}
    assert set(found) == {(3, "身份证号"), (4, "身份证号")}
    assert "第 2 行重复" in found[(3, "身份证号")]
    assert "已属于档案" in found[(4, "身份证号")] and "韦国华" in found[(4, "身份证号")]
    assert Resident.objects.count() == before


def test_dry_run_writes_nothing(county: MiniCounty, tmp_path: Path) -> None:
    before = AuditEntry.objects.count()
    result = importer_for("residents").run(write_csv(tmp_path / "r.csv", rows(county)), dry_run=True)
    assert result.dry_run and result.counts["resident"]["created"] == 4
    assert not Resident.objects.exists() and not Household.objects.exists()
    assert AuditEntry.objects.count() == before


def test_xlsx_and_the_cli(county: MiniCounty, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for number, row in enumerate(rows(county)):
        sheet.append([dt.date(1962, 3, 8) if number == 1 and i == 4 else cell for i, cell in enumerate(row)])
    path = tmp_path / "r.xlsx"
    workbook.save(path)
    out = io.StringIO()
    call_command("import", "residents", str(path), "--dry-run", stdout=out)
    assert "试运行" in out.getvalue() and not Resident.objects.exists()
    call_command("import", "residents", str(path), stdout=out)
    assert Resident.objects.count() == 4
    assert Resident.objects.get(id_number=HEAD_ID).birth_date == dt.date(1962, 3, 8)
