"""Reading CSV/XLSX files: encodings, header aliases, cell values, and malformed files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from yigongti.interop.tabular import Column, FileUnreadable, cell_text, normalise_header, read_table

COLUMNS = (
    Column("code", ("代码", "区划代码"), required=True),
    Column("name", ("名称", "姓名"), required=True),
    Column("valid_from", ("生效日期",)),
    Column("beds", ("床位",)),
)


def test_utf8_with_bom_and_chinese_aliases(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeff区划代码, 名称 ,其他\r\n 522399 ,云溪县,x\r\n\r\n522399100,云溪镇,\r\n".encode())
    table = read_table(path, COLUMNS)
    assert table.columns == {"code": "区划代码", "name": "名称"}
    assert table.ignored == ["其他"]
    assert [(r.number, r.values) for r in table.rows] == [
        (2, {"code": "522399", "name": "云溪县"}),
        (4, {"code": "522399100", "name": "云溪镇"}),  # the blank row 3 keeps its number
    ]


def test_gb18030_fallback(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("代码,名称\n522399,云溪县\n".encode("gb18030"))
    table = read_table(path, COLUMNS)
    assert table.rows[0].values == {"code": "522399", "name": "云溪县"}


@pytest.mark.parametrize("header", ["Code", " CODE ", "代码*", "区划代码"])
def test_headers_are_case_and_space_insensitive(tmp_path: Path, header: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(f"{header},Name,床位（张）\n1,a,3\n".replace("1,a", "522399,a"), encoding="utf-8")
    table = read_table(path, COLUMNS)
    assert table.rows[0].values == {"code": "522399", "name": "a", "beds": "3"}


def test_tab_separated(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("code\tname\n522399\t云溪县\n", encoding="utf-8")
    assert read_table(path, COLUMNS).rows[0].values == {"code": "522399", "name": "云溪县"}


def test_xlsx_first_sheet_with_dates_and_numbers(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["代码", "名称", "生效日期", "床位"])
    sheet.append([522399100201, "东村", dt.datetime(2024, 3, 1), 12.0])
    sheet.append([None, None, None, None])
    sheet.append(["522399", " 云溪县 ", dt.date(2020, 1, 1), 2.5])
    workbook.create_sheet("second").append(["ignored"])
    path = tmp_path / "w.xlsx"
    workbook.save(path)
    table = read_table(path, COLUMNS)
    assert [(r.number, r.values) for r in table.rows] == [
        (2, {"code": "522399100201", "name": "东村", "valid_from": "2024-03-01", "beds": "12"}),
        (4, {"code": "522399", "name": "云溪县", "valid_from": "2020-01-01", "beds": "2.5"}),
    ]


def test_cell_text() -> None:
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(3.0) == "3"
    assert cell_text(0.1 + 0.2) == "0.3"
    assert cell_text(dt.datetime(2024, 1, 2, 8, 30)) == "2024-01-02 08:30:00"
    assert normalise_header(" ID_Number ") == normalise_header("id number") == "idnumber"


def test_extra_cells_are_a_row_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("code,name\n522399,a,surplus\n522399100,b,\n", encoding="utf-8")
    table = read_table(path, COLUMNS)
    assert [(p.row, p.column) for p in table.problems] == [(2, "")]
    assert len(table.rows) == 2


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.csv", b"", "文件为空"),
    ("blank.csv", b"\r\n\r\n  \r\n", "文件为空"),
    ("noheader.csv", b",,\r\n522399,a\r\n", "表头"),
    ("dup.csv", b"code,name,Code\n", "重复"),
    ("same.csv", "code,name,代码\n".encode(), "同一列"),
    ("missing.csv", "code,备注\n522399,x\n".encode(), "缺少必需的列：name"),
    ("binary.csv", b"\x00\x01\x02code,name\n", "二进制"),
    ("zip.csv", b"PK\x03\x04\x14\x00\x00\x00", ".xlsx"),
    ("latin.csv", b"code,name\n1,\xff\xff\xff\xff\n", "GB18030"),
    ("bad.xlsx", b"this is not a workbook", ".xlsx 工作簿"),
    ("corrupt.xlsx", b"PK\x03\x04\x14\x00\x00\x00garbage" * 10, ".xlsx 工作簿"),
    ("old.xls", b"\xd0\xcf\x11\xe0", "不支持的文件类型"),
    ("data.json", b"{}", "不支持的文件类型"),
])
def test_malformed_files_raise_a_clear_error(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileUnreadable) as caught:
        read_table(path, COLUMNS)
    assert reason in str(caught.value)
    assert name in str(caught.value)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(FileUnreadable, match="xlsx 工作簿"):
        read_table(path, COLUMNS)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileUnreadable, match="文件不存在"):
        read_table(tmp_path / "nope.csv", COLUMNS)
