"""``ygt import population``: 常住人口 per village and year — upsert by (village, year), row errors
named by row and column, all-or-nothing, idempotent, XLSX, and the year marked for the next refresh."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.db import connections
from openpyxl import Workbook

from tests.conftest import MiniCounty
from tests.interop.helpers import write_csv
from yigongti.analytics.models import DirtyMonth, Population
from yigongti.cli import main
from yigongti.core.errors import ImportRejected, RowError
from yigongti.core.models import AuditAction, AuditEntry
from yigongti.interop.importers import importer_for

pytestmark = pytest.mark.django_db

HEADER = ["区划代码", "年份", "常住人口", "来源"]


@pytest.fixture(autouse=True)
def _no_marks(county: MiniCounty) -> None:
    """The county's divisions marked every month (a tree change); start from no marks."""
    DirtyMonth.objects.all().delete()


def good_rows(county: MiniCounty) -> list[list[str]]:
    a, b, c = county.village_a.code, county.village_b.code, county.village_c.code
    return [
        HEADER,
        [a, "2024", "1520", "2024年统计年鉴"],
        [a, "2025", "1498", "2025年统计年鉴"],
        [b, "2025", "873", ""],
        [c, "2025", "2010", "乡镇上报"],
    ]


def stored() -> dict[tuple[str, int], tuple[int, str]]:
    return {(code, year): (n, source) for code, year, n, source in
            Population.objects.values_list("division__code", "year", "population", "source")}


def test_good_file_creates_one_row_per_village_and_year(county: MiniCounty, tmp_path: Path) -> None:
    result = importer_for("population").run(write_csv(tmp_path / "p.csv", good_rows(county)))
    assert result.counts == {"population": {"created": 4, "updated": 0, "unchanged": 0}}
    a, b, c = county.village_a.code, county.village_b.code, county.village_c.code
    assert stored() == {(a, 2024): (1520, "2024年统计年鉴"), (a, 2025): (1498, "2025年统计年鉴"),
                        (b, 2025): (873, ""), (c, 2025): (2010, "乡镇上报")}
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT, object_type="interop.population").count() == 1
    # each saved figure marks its year (partition YYYY01 of the population fact) for the next refresh
    assert set(DirtyMonth.objects.filter(fact="population").values_list("month", flat=True)) == {202401, 202501}


def test_rerun_is_unchanged_and_a_new_figure_updates(county: MiniCounty, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", good_rows(county))
    importer_for("population").run(path)
    before = stored()
    again = importer_for("population").run(path)
    assert again.counts["population"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert stored() == before and Population.objects.count() == 4
    # a corrected figure for a year on file replaces it; a file without the source column keeps the source
    a = county.village_a.code
    fix = write_csv(tmp_path / "fix.csv", [["统计用区划代码", "年度", "常住人口数"], [a, "2025", "1502"],
                                           [a, "2024", "1520"]])
    result = importer_for("population").run(fix)
    assert result.counts["population"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert stored()[(a, 2025)] == (1502, "2025年统计年鉴")
    assert Population.objects.count() == 4


def test_xlsx_with_numbers_as_cells(county: MiniCounty, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append([county.village_a.code, 2025, 1498, "统计年鉴"])
    sheet.append([int(county.village_b.code), 2025.0, 873.0, None])  # Excel turned the code into a number
    path = tmp_path / "p.xlsx"
    book.save(path)
    result = importer_for("population").run(path)
    assert result.counts["population"]["created"] == 2
    assert stored()[(county.village_b.code, 2025)] == (873, "")


BAD = [
    # bad row (区划代码, 年份, 常住人口), the column named, words of the reason
    (["522399109201", "2025", "100"], "区划代码", "不存在"),
    (["5223991019", "2025", "100"], "区划代码", "格式有误"),
    (["522399101", "2025", "100"], "区划代码", "乡镇"),
    (["522399", "2025", "100"], "区划代码", "县"),
    (["", "2025", "100"], "区划代码", "不能为空"),
    (["{a}", "二〇二五", "100"], "年份", "非负整数"),
    (["{a}", "1900", "100"], "年份", "超出范围"),
    (["{a}", "", "100"], "年份", "不能为空"),
    (["{a}", "2023", "-5"], "常住人口", "非负整数"),
    (["{a}", "2023", "12.5"], "常住人口", "非负整数"),
    (["{a}", "2023", "0"], "常住人口", "大于 0"),
    (["{a}", "2023", ""], "常住人口", "不能为空"),
]


@pytest.mark.parametrize(("bad", "column", "words"), BAD)
def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_written(
        county: MiniCounty, tmp_path: Path, bad: list[str], column: str, words: str) -> None:
    rows = good_rows(county)
    rows.insert(3, [cell.format(a=county.village_a.code) for cell in bad] + ["来源"])  # file row 4
    with pytest.raises(ImportRejected) as rejected:
        importer_for("population").run(write_csv(tmp_path / "p.csv", rows))
    assert len(rejected.value.errors) == 1, rejected.value.errors
    error = rejected.value.errors[0]
    assert (error.row, error.column) == (4, column)
    assert words in error.reason
    assert not Population.objects.exists()  # the good rows are not written either
    assert not DirtyMonth.objects.exists()


def test_the_same_village_and_year_twice_is_an_error(county: MiniCounty, tmp_path: Path) -> None:
    rows = good_rows(county)
    twelve = county.village_b.code
    rows.append([twelve, "2025", "900", ""])  # row 6 repeats row 4
    with pytest.raises(ImportRejected) as rejected:
        importer_for("population").run(write_csv(tmp_path / "p.csv", rows))
    assert [(e.row, e.column) for e in rejected.value.errors] == [(6, "区划代码")]
    assert "第 4 行" in rejected.value.errors[0].reason
    assert not Population.objects.exists()


def test_every_bad_row_is_reported_at_once(county: MiniCounty, tmp_path: Path) -> None:
    a = county.village_a.code
    rows = [HEADER, [a, "2025", "0", ""], ["522399109201", "1800", "x", ""], [a, "2024", "1500", ""]]
    with pytest.raises(ImportRejected) as rejected:
        importer_for("population").run(write_csv(tmp_path / "p.csv", rows))
    assert {(e.row, e.column) for e in rejected.value.errors} == {
        (2, "常住人口"), (3, "区划代码"), (3, "年份"), (3, "常住人口")}
    assert len(rejected.value.errors) == 4
    assert all(isinstance(e, RowError) for e in rejected.value.errors)
    assert not Population.objects.exists()


def test_dry_run_writes_nothing(county: MiniCounty, tmp_path: Path) -> None:
    result = importer_for("population").run(write_csv(tmp_path / "p.csv", good_rows(county)), dry_run=True)
    assert result.counts["population"]["created"] == 4
    assert not Population.objects.exists()


def test_through_the_cli(county: MiniCounty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(connections, "close_all", lambda: None)  # see tests/interop/test_import_cli.py
    path = write_csv(tmp_path / "人口.csv", good_rows(county))
    assert main(["import", "population", str(path)]) == 0
    out = capsys.readouterr().out
    assert "导入 population：人口.csv，4 行" in out and "常住人口" in out
    bad = write_csv(tmp_path / "bad.csv", [HEADER, [county.townships[0].code, "2025", "100", ""]])
    assert main(["import", "population", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "第 2 行" in captured.err + captured.out and "区划代码" in captured.err + captured.out
    assert Population.objects.count() == 4


def test_gb18030_csv_as_excel_writes_it(county: MiniCounty, tmp_path: Path) -> None:
    buffer = io.StringIO()
    for row in good_rows(county):
        buffer.write(",".join(row) + "\r\n")
    path = tmp_path / "p.csv"
    path.write_bytes(buffer.getvalue().encode("gb18030"))
    assert importer_for("population").run(path).counts["population"]["created"] == 4
