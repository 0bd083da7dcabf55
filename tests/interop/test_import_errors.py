"""Every bad input gives its row, column and reason — and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.registry import valid_resident_id
from tests.interop.helpers import snapshot, write_csv
from yigongti.core.errors import ImportRejected, RowError
from yigongti.interop.importers import UnknownImportKind, importer_for
from yigongti.interop.tabular import FileUnreadable

DIVISIONS = ["code", "name", "level", "parent_code", "valid_from"]
INSTITUTIONS = ["code", "name", "type", "division_code", "parent_code", "is_government", "beds", "alliance_code",
                "alliance_role"]
STAFF = ["id_number", "name", "sex", "institution_code", "department_code", "department_name", "qualifications",
         "certificate_no"]
MALE_ID = valid_resident_id(male=True)
FEMALE_ID = valid_resident_id(male=False)
BAD_CHECKSUM = MALE_ID[:17] + ("0" if MALE_ID[17] != "0" else "1")

GOOD_VILLAGE = ["522399101203", "新村", "", "", ""]
GOOD_CLINIC = ["V9", "新卫生室", "村卫生室", "522399100201", "T522399100", "是", "", "", ""]
GOOD_STAFF = [FEMALE_ID, "李芳", "女", "T522399100", "QK", "全科", "执业医师", "110"]

CASES = [
    # kind, header, bad row, column, words in the reason
    ("divisions", DIVISIONS, ["522399109201", "孤村", "", "", ""], "parent_code", "522399109"),
    ("divisions", DIVISIONS, ["52239X", "坏", "", "", ""], "code", "格式有误"),
    ("divisions", DIVISIONS, ["522399102", "新镇", "town", "", ""], "level", "town"),
    ("divisions", DIVISIONS, ["522399102", "新镇", "", "", "2024-13-01"], "valid_from", "不是有效日期"),
    ("divisions", DIVISIONS, ["522399102", "", "", "", ""], "name", "不能为空"),
    ("divisions", DIVISIONS, ["522399102", "新镇", "", "522399100201", ""], "parent_code", "级别应高于"),
    ("institutions", INSTITUTIONS, ["V1", "新卫生室", "村卫生室", "522399100299", "T522399100", "", "", "", ""],
     "division_code", "不存在"),
    ("institutions", INSTITUTIONS, ["V1", "新卫生室", "village_clinic", "522399100201", "H522399001", "", "", "", ""],
     "parent_code", "乡镇卫生院"),
    ("institutions", INSTITUTIONS, ["V1", "新卫生室", "村卫生室", "522399100201", "T999", "", "", "", ""],
     "parent_code", "不存在"),
    ("institutions", INSTITUTIONS, ["X1", "诊所", "诊所", "522399", "", "", "", "", ""], "type", "诊所"),
    ("institutions", INSTITUTIONS, ["T1", "新卫生院", "乡镇卫生院", "522399100201", "", "", "", "", ""],
     "division_code", "乡镇/街道"),
    ("institutions", INSTITUTIONS, ["V1", "新卫生室", "村卫生室", "522399100201", "T522399100", "也许", "", "", ""],
     "is_government", "也许"),
    ("institutions", INSTITUTIONS, ["V1", "新卫生室", "村卫生室", "522399100201", "T522399100", "", "-3", "", ""],
     "beds", "非负整数"),
    ("institutions", INSTITUTIONS, ["V1", "新卫生室", "村卫生室", "522399100201", "T522399100", "", "", "", "牵头"],
     "alliance_code", "缺少医共体代码"),
    ("institutions", INSTITUTIONS, ["V1", "新卫生室", "村卫生室", "522399100201", "T522399100", "", "", "NOPE", ""],
     "alliance_code", "NOPE"),
    ("institutions", INSTITUTIONS, ["V1", "新卫生室", "村卫生室", "522399100201", "T522399100", "", "", "YX-YGT",
                                    "牵头单位"], "alliance_role", "已有牵头单位"),
    ("staff", STAFF, [BAD_CHECKSUM, "王五", "男", "T522399100", "", "", "", ""], "id_number", "校验位"),
    ("staff", STAFF, ["52239919800517", "王五", "男", "T522399100", "", "", "", ""], "id_number", "18 位"),
    ("staff", STAFF, [MALE_ID, "王五", "女", "T522399100", "", "", "", ""], "sex", "不符"),
    ("staff", STAFF, [MALE_ID, "王五", "X", "T522399100", "", "", "", ""], "sex", "无效"),
    ("staff", STAFF, [MALE_ID, "王五", "男", "NOPE", "", "", "", ""], "institution_code", "NOPE"),
    ("staff", STAFF, [MALE_ID, "王五", "男", "T522399100", "", "", "外科医生", ""], "qualifications", "外科医生"),
    ("staff", STAFF, [MALE_ID, "王五", "男", "T522399100", "ZZ", "", "", ""], "department_code", "ZZ"),
    ("staff", STAFF, [MALE_ID, "王五", "男", "T522399100", "", "", "执业医师", "1；2"], "certificate_no", "一一对应"),
    ("staff", STAFF, [MALE_ID, "王五", "男", "T522399100", "", "全科", "", ""], "department_code", "缺少科室代码"),
    ("staff", STAFF, [MALE_ID, "", "男", "T522399100", "", "", "", ""], "name", "不能为空"),
]
GOOD_ROW = {"divisions": GOOD_VILLAGE, "institutions": GOOD_CLINIC, "staff": GOOD_STAFF}


@pytest.mark.parametrize(("kind", "header", "bad", "column", "reason"), CASES,
                         ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_bad_row_is_named_and_nothing_is_written(sample_registry: None, tmp_path: Path, kind: str,
                                                 header: list[str], bad: list[str], column: str,
                                                 reason: str) -> None:
    # the bad row sits between two good ones (row 3 of the file): the good ones are not written either
    good = GOOD_ROW[kind]
    second_good = list(good)
    second_good[0] = {"divisions": "522399101204", "institutions": "V10",
                      "staff": valid_resident_id(male=False)}[kind]
    path = write_csv(tmp_path / f"{kind}.csv", [header, good, bad, second_good])
    before = snapshot()
    with pytest.raises(ImportRejected) as caught:
        importer_for(kind).run(path)
    errors = caught.value.errors
    assert [(e.row, e.column) for e in errors] == [(3, column)], errors
    assert reason in errors[0].reason, errors[0].reason
    assert snapshot() == before


def test_every_error_of_the_file_is_reported(sample_registry: None, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "staff.csv", [
        STAFF,
        [BAD_CHECKSUM, "甲", "男", "T522399100", "", "", "", ""],
        GOOD_STAFF,
        [MALE_ID, "乙", "女", "NOPE", "", "", "", ""],
        [FEMALE_ID, "丙", "女", "T522399100", "", "", "", ""],
        [valid_resident_id(male=True), "丁", "男", "NOPE", "", "", "", ""],
    ])
    with pytest.raises(ImportRejected) as caught:
        importer_for("staff").run(path)
    assert [(e.row, e.column) for e in caught.value.errors] == [
        (2, "id_number"), (4, "sex"), (5, "id_number"), (6, "institution_code")]
    assert "与第 3 行重复" in caught.value.errors[2].reason
    assert str(caught.value) == "文件有 4 处错误，未写入任何数据。"
    assert str(caught.value.errors[0]).startswith("第 2 行，列“id_number”：")


def test_duplicate_codes_inside_the_file(sample_registry: None, tmp_path: Path) -> None:
    # 12-digit statistical code and its short form are the same division
    path = write_csv(tmp_path / "d.csv", [DIVISIONS, ["522399102000", "新镇", "", "", ""],
                                          ["522399102", "新镇", "", "", ""]])
    with pytest.raises(ImportRejected) as caught:
        importer_for("divisions").run(path)
    assert [(e.row, e.column) for e in caught.value.errors] == [(3, "code")]
    assert "第 2 行重复" in caught.value.errors[0].reason


def test_column_names_follow_the_file(sample_registry: None, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [["身份证号", "姓名", "机构代码"], [BAD_CHECKSUM, "甲", "T522399100"]])
    with pytest.raises(ImportRejected) as caught:
        importer_for("staff").run(path)
    assert caught.value.errors == [RowError(2, "身份证号", caught.value.errors[0].reason)]


def test_children_of_a_bad_row_are_not_reported_twice(sample_registry: None, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "i.csv", [
        INSTITUTIONS,
        ["V1", "新卫生室", "村卫生室", "522399100201", "T1", "", "", "", ""],
        ["T1", "新卫生院", "乡镇卫生院", "522399999", "H522399001", "", "", "", ""],
    ])
    with pytest.raises(ImportRejected) as caught:
        importer_for("institutions").run(path)
    assert [(e.row, e.column) for e in caught.value.errors] == [(3, "division_code")]


def test_unknown_kind_and_unreadable_file(db: None, tmp_path: Path) -> None:
    with pytest.raises(UnknownImportKind) as caught:
        importer_for("residentz")
    assert "divisions institutions staff" in str(caught.value)
    path = tmp_path / "staff.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(FileUnreadable):
        importer_for("staff").run(path)
