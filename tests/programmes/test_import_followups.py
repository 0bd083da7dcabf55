"""``ygt import followups``: visits from CSV/XLSX — row errors, all-or-nothing, idempotent re-runs."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command

from tests.conftest import MiniCounty
from tests.factories.programmes import enrol, load_programmes
from tests.factories.residents import ResidentFactory, resident_id
from yigongti.core.errors import ImportRejected
from yigongti.core.models import AuditEntry
from yigongti.interop.importers import importer_for
from yigongti.programmes.models import Enrolment, Visit

TODAY = dt.date(2026, 6, 15)
SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "followups.csv"



@pytest.fixture
def people(county: MiniCounty) -> dict[str, Any]:
    """The three residents the sample file names, enrolled."""
    load_programmes()
    village = county.village_a
    hyper = ResidentFactory(village=village, record_no="52239910120100001", birth_date=dt.date(1958, 4, 2))
    diabetic = ResidentFactory(village=village, record_no="52239910120100002", birth_date=dt.date(1962, 9, 9),
                               id_number=resident_id(dt.date(1962, 9, 9)))
    baby = ResidentFactory(village=village, record_no="52239910120100003", birth_date=dt.date(2026, 1, 10))
    enrol(county.village_doctor, hyper, "hypertension", enrolled_on=dt.date(2026, 1, 5))
    enrol(county.village_doctor, diabetic, "diabetes", enrolled_on=dt.date(2026, 1, 5))
    enrol(county.village_doctor, baby, "immunisation")
    return {"hyper": hyper, "diabetic": diabetic, "baby": baby}


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "visits.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_imports_and_a_rerun_changes_nothing(people: dict[str, Any]) -> None:
    first = importer_for("followups").run(SAMPLE)
    assert first.counts["visit"] == {"created": 4, "updated": 0, "unchanged": 0}
    visit = Visit.objects.get(resident=people["hyper"], visit_date=dt.date(2026, 6, 1))
    assert (visit.sbp, visit.dbp, visit.adherence, visit.symptoms) == (152, 94, "intermittent",
                                                                       ["headache_dizziness"])
    assert visit.source == "import" and visit.classification == "unsatisfactory"
    assert visit.institution is not None and visit.institution.code == "V522399101201"
    entries = AuditEntry.objects.filter(object_type="programmes.visit")
    assert entries.count() == 4 and {e.user_id for e in entries} == {None} and {e.channel for e in entries} == {"cli"}
    again = importer_for("followups").run(SAMPLE)
    assert again.counts["visit"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert Visit.objects.count() == 4


def test_row_errors_name_row_and_column_and_nothing_is_written(people: dict[str, Any], tmp_path: Path) -> None:
    hyper, diabetic = people["hyper"].record_no, people["diabetic"].record_no
    path = _csv(tmp_path, "档案编号,项目,服务项,服务日期,收缩压,舒张压\n"
                          f"{hyper},hypertension,followup,2026-06-01,130,80\n"
                          f"{hyper},hypertension,followup,2026-06-02,400,20\n"
                          f"{diabetic},hypertension,followup,2026-06-01,130,80\n"
                          f"99999999999999999,hypertension,followup,2026-06-01,130,80\n"
                          f"{hyper},hypertension,followup,2099-01-01,130,80\n"
                          f"{hyper},flu,followup,2026-06-01,130,80\n"
                          f"{hyper},hypertension,followup,2026-06-01,131,81\n")
    with pytest.raises(ImportRejected) as rejected:
        importer_for("followups").run(path)
    found = {(e.row, e.column) for e in rejected.value.errors}
    assert {(3, "收缩压"), (3, "舒张压"), (4, "项目"), (5, "档案编号"), (6, "服务日期"), (7, "项目"),
            (8, "档案编号")} <= found, found
    assert any("未纳入" in e.reason for e in rejected.value.errors if e.row == 4)
    assert not Visit.objects.exists()


def test_dry_run_writes_nothing_and_id_numbers_and_xlsx_work(people: dict[str, Any], tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["身份证号", "项目", "服务项", "服务日期", "空腹血糖", "收缩压", "舒张压"])
    sheet.append([people["diabetic"].id_number, "diabetes", "followup", dt.date(2026, 6, 1), 6.2, 126, 80])
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "visits.xlsx"
    path.write_bytes(buffer.getvalue())
    dry = importer_for("followups").run(path, dry_run=True)
    assert dry.counts["visit"]["created"] == 1 and not Visit.objects.exists()
    importer_for("followups").run(path)
    assert str(Visit.objects.get().fpg) == "6.2"


def test_the_cli(people: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    call_command("import", "followups", str(SAMPLE), "--format", "json")
    assert '"created": 4' in capsys.readouterr().out
    assert Enrolment.objects.get(resident=people["hyper"]).last_visit_on == dt.date(2026, 6, 1)
