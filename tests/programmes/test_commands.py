"""``ygt worklist`` and ``ygt programmes sync``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import MiniCounty
from tests.factories.programmes import enrol, load_programmes
from tests.factories.residents import ResidentFactory
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditEntry
from yigongti.programmes.models import Enrolment

TODAY = dt.date(2026, 6, 15)



@pytest.fixture
def enrolled(county: MiniCounty) -> object:
    load_programmes()
    resident = ResidentFactory(village=county.village_a, birth_date=dt.date(1960, 1, 1), name="吴大伯")
    enrol(county.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 1, 5))
    return resident


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_worklist_formats(county: MiniCounty, enrolled: object, tmp_path: Path) -> None:
    township = county.townships[0].code
    table = _run("worklist", "--org", township, "--date", "2026-06-15")
    assert "吴大伯" in table and "本年度未服务" in table
    body = json.loads(_run("worklist", "--org", township, "--format", "json", "--programme", "hypertension"))
    assert body["org"] == township and body["counts"]["unseen"] == 1
    assert body["unseen"][0]["record_no"] == enrolled.record_no  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(_run("worklist", "--org", township, "--format", "csv"))))
    assert {r["section"] for r in rows} >= {"unseen"} and rows[0]["record_no"]
    target = tmp_path / "list.xlsx"
    _run("worklist", "--org", township, "--format", "xlsx", "-o", str(target))
    book = openpyxl.load_workbook(target)
    assert len(book.sheetnames) == 3
    assert any(enrolled.record_no in [c.value for c in row] for ws in book for row in ws.iter_rows())  # type: ignore[attr-defined]
    entries = AuditEntry.objects.filter(object_type="programmes.worklist")
    assert entries.count() == 4 and {(e.user_id, e.channel) for e in entries} == {(None, "cli")}


def test_worklist_errors(county: MiniCounty, enrolled: object) -> None:
    with pytest.raises(NotFound):
        _run("worklist", "--org", "999999")
    with pytest.raises(CommandError):
        _run("worklist", "--org", county.village_a.code, "--date", "15/06/2026")
    with pytest.raises(CommandError):
        _run("worklist", "--org", county.village_a.code, "--format", "xlsx")


def test_programmes_sync(county: MiniCounty) -> None:
    load_programmes()
    senior = ResidentFactory(village=county.village_a, birth_date=dt.date(1950, 1, 1))
    text = _run("programmes", "sync", "--date", "2026-06-15")
    assert "elderly" in text and "1" in text
    assert set(Enrolment.objects.filter(resident=senior).values_list("programme__code", flat=True)) == {
        "elderly", "tcm"}
    again = json.loads(_run("programmes", "sync", "--date", "2026-06-15", "--format", "json"))
    assert again["enrolled"] == {"elderly": 0, "tcm": 0, "child": 0, "immunisation": 0} and again["replanned"] == 0
