"""``ygt import encounters`` / ``ygt import results``: a good file, bad rows (all-or-nothing, each
error naming row, column and reason), a re-run is idempotent, dry run, merged residents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import MiniCounty
from tests.factories.residents import ResidentFactory
from yigongti.care.models import Encounter, Result
from yigongti.core.errors import ImportRejected
from yigongti.interop.importers import importer_for
from yigongti.residents.models import Resident
from yigongti.residents.services import resident_merge

TODAY = dt.date(2026, 6, 15)
SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"

HEADER = ("档案编号,就诊类型,机构代码,县外机构名称,科室,医生,就诊日期,出院日期,离院方式,"
          "主要诊断编码,主要诊断名称,其他诊断编码,是否预约,HIS流水号,西药费,床位费,化验费\n")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def good_file(tmp_path: Path, record_no: str) -> Path:
    return write(tmp_path, "enc.csv", HEADER + "".join([
        f"{record_no},门诊,T522399101,,,,2026-03-02,,,I10,高血压,,否,MZ-1,12.50,,\n",
        f"{record_no},住院,H0001,,内科,王医生,2026-05-03,2026-05-11,好转,J18.000,肺炎,I10；E11.9,是,ZY-1,800,300,120.5\n",
        f"{record_no},门诊,,贵州省人民医院,,,2026-05-20,,,M54.5,腰痛,,否,OUT-1,210,,\n",
    ]))


def test_good_file_then_rerun(catalogue: MiniCounty, resident: Resident, tmp_path: Path) -> None:
    path = good_file(tmp_path, resident.record_no)
    result = importer_for("encounters").run(path)
    assert result.counts["encounter"]["created"] == 3
    stay = Encounter.objects.get(source_no="ZY-1")
    assert stay.total_cost == Decimal("1220.50") and stay.department.code == "NK" and stay.source == "import"
    assert [d.code for d in stay.diagnoses.order_by("position")] == ["J18.000", "I10", "E11.9"]
    assert stay.booked and stay.discharge_status == "improved"
    assert Encounter.objects.get(source_no="OUT-1").in_county is False
    again = importer_for("encounters").run(path)
    assert again.counts["encounter"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert Encounter.objects.count() == 3


def test_bad_rows_write_nothing(catalogue: MiniCounty, resident: Resident, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", HEADER + "".join([
        f"{resident.record_no},门诊,T522399101,,,,2026-03-02,,,I10,高血压,,否,MZ-1,12.50,,\n",  # good
        f"{resident.record_no},门诊,T522399101,,,,2026-03-02,,,XX,高血压,,否,MZ-2,,,\n",  # bad ICD-10
        f"{resident.record_no},门诊,T522399101,,,,2026-03-02,,,I10,,,否,MZ-3,-5,,\n",  # negative cost
        f"{resident.record_no},门诊,NOPE,,,,2026-03-02,,,I10,,,否,MZ-4,,,\n",  # unknown institution
        "99999999999999999,门诊,T522399101,,,,2026-03-02,,,I10,,,否,MZ-5,,,\n",  # unknown resident
        f"{resident.record_no},上门,T522399101,,,,2026-07-02,,,I10,,,否,MZ-6,,,\n",  # bad kind
        f"{resident.record_no},门诊,T522399101,,,,2026-07-02,,,I10,,,否,MZ-7,,,\n",  # future
        f"{resident.record_no},门诊,T522399101,,,,2026-03-02,,,I10,,,否,MZ-1,,,\n",  # duplicate key
        f"{resident.record_no},门诊,T522399101,外院,,,2026-03-02,,,I10,,,否,MZ-8,,,\n",  # both places
    ]))
    with pytest.raises(ImportRejected) as caught:
        importer_for("encounters").run(path)
    errors = {(e.row, e.column) for e in caught.value.errors}
    assert {(3, "主要诊断编码"), (4, "西药费"), (5, "机构代码"), (6, "档案编号"), (7, "就诊类型"), (8, "就诊日期"),
            (9, "HIS流水号"), (10, "机构代码")} <= errors
    assert not any(e.row == 2 for e in caught.value.errors)
    assert all(e.reason for e in caught.value.errors)
    assert not Encounter.objects.exists()


def test_dry_run_writes_nothing(catalogue: MiniCounty, resident: Resident, tmp_path: Path) -> None:
    result = importer_for("encounters").run(good_file(tmp_path, resident.record_no), dry_run=True)
    assert result.counts["encounter"]["created"] == 3 and not Encounter.objects.exists()


def test_merged_resident_goes_to_the_survivor(catalogue: MiniCounty, resident: Resident, tmp_path: Path) -> None:
    duplicate = ResidentFactory(village=catalogue.village_a, birth_date=dt.date(1960, 1, 1))
    resident_merge(user=catalogue.director, survivor=resident, merged=duplicate)
    importer_for("encounters").run(good_file(tmp_path, duplicate.record_no))
    assert set(Encounter.objects.values_list("resident_id", flat=True)) == {resident.pk}


def test_results_import(catalogue: MiniCounty, resident: Resident, tmp_path: Path) -> None:
    path = write(tmp_path, "res.csv", "档案编号,项目代码,结果,单位,参考范围,异常标识,报告,出具机构代码,报告时间,"
                 "报告单号\n"
                 f"{resident.record_no},FPG,7.4,MMOL/L,3.9-6.1,,,T522399101,2026-04-10 10:15,L-1\n"
                 f"{resident.record_no},HBSAG,阴性,,,N,,H0001,2026-04-12,L-2\n"
                 f"{resident.record_no},XR-CHEST,,,,A,右下肺斑片影,H0001,2026/4/12 9:30,P-1\n")
    result = importer_for("results").run(path)
    assert result.counts["result"]["created"] == 3
    fpg = Result.objects.get(source_no="L-1")
    assert fpg.value == Decimal("7.4") and fpg.unit == "mmol/L" and fpg.flag == "H" and fpg.performer_tier == "township"
    assert Result.objects.get(source_no="L-2").value_text == "阴性"
    assert importer_for("results").run(path).counts["result"]["unchanged"] == 3
    bad = write(tmp_path, "bad.csv", "档案编号,项目代码,结果,单位,出具机构代码,报告时间,报告单号\n"
                f"{resident.record_no},FPG,140,mg/dL,H0001,2026-04-10 10:15,L-9\n"
                f"{resident.record_no},NOPE,1,,H0001,2026-04-10 10:15,L-10\n"
                f"{resident.record_no},FPG,5,,H0001,2026-04-10 25:15,L-11\n")
    with pytest.raises(ImportRejected) as caught:
        importer_for("results").run(bad)
    assert {(e.row, e.column) for e in caught.value.errors} == {(2, "单位"), (3, "项目代码"), (4, "报告时间")}
    assert Result.objects.count() == 3


def test_samples_parse(catalogue: MiniCounty) -> None:
    """The sample files read with every column recognised (their residents are not in this county)."""
    for kind, name in (("encounters", "encounters.csv"), ("results", "results.csv")):
        with pytest.raises(ImportRejected) as caught:
            importer_for(kind).run(SAMPLES / name)
        assert {e.column for e in caught.value.errors} <= {"档案编号", "机构代码", "出具机构代码"}


def test_command(catalogue: MiniCounty, resident: Resident, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("import", "encounters", str(good_file(tmp_path, resident.record_no)), "--format", "json")
    assert '"created": 3' in capsys.readouterr().out


def test_xlsx(catalogue: MiniCounty, resident: Resident, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["档案编号", "就诊类型", "机构代码", "就诊日期", "主要诊断编码", "HIS流水号", "化验费"])
    sheet.append([resident.record_no, "门诊", "H0001", dt.datetime(2026, 3, 2), "I10", "MZ-X1", 35.5])
    path = tmp_path / "enc.xlsx"
    book.save(path)
    assert importer_for("encounters").run(path).counts["encounter"]["created"] == 1
    assert Encounter.objects.get(source_no="MZ-X1").total_cost == Decimal("35.50")
