"""result_record: unit check (aliases, any case), flag from the reference range, required value,
time checks, idempotent replay, scope and audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.conftest import MiniCounty
from tests.factories.care import at, result
from tests.factories.residents import ResidentFactory
from yigongti.care.errors import UnitMismatch
from yigongti.care.models import Result
from yigongti.care.selectors import results_of
from yigongti.care.services import result_record
from yigongti.core.errors import NotFound, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.residents.models import Resident
from yigongti.residents.services import resident_merge

TODAY = dt.date(2026, 6, 15)
MORNING = at(dt.date(2026, 6, 10))


def test_unit_alias_any_case_is_stored_in_the_items_spelling(catalogue: MiniCounty, resident: Resident) -> None:
    found = result(catalogue.clinician, resident, "FPG", catalogue.hospital, MORNING, value=Decimal("7.8"),
                   unit="MMOL/l")
    assert found.unit == "mmol/L" and found.flag == "H" and found.ref_range == "3.9-6.1"
    assert found.performer_tier == "county" and found.replayed is False
    assert AuditEntry.objects.filter(object_type="care.result", object_id=str(found.pk), action="create").exists()


def test_empty_unit_means_the_items_unit(catalogue: MiniCounty, resident: Resident) -> None:
    assert result(catalogue.clinician, resident, "HGB", catalogue.hospital, MORNING, value=Decimal("100")).unit == "g/L"


def test_unit_mismatch(catalogue: MiniCounty, resident: Resident) -> None:
    with pytest.raises(UnitMismatch) as caught:
        result(catalogue.clinician, resident, "FPG", catalogue.hospital, MORNING, value=Decimal("140"), unit="mg/dL")
    assert caught.value.params["field"] == "unit" and caught.value.status == 422
    assert "mmol/L" in str(caught.value) and "mg/dL" in str(caught.value)
    with pytest.raises(UnitMismatch):  # an imaging report carries no unit
        result(catalogue.clinician, resident, "CT-HEAD", catalogue.hospital, MORNING, unit="mm")
    assert not Result.objects.exists()


@pytest.mark.parametrize(("value", "ref_range", "flag"), [
    (Decimal("3.0"), "", "L"), (Decimal("5.0"), "", "N"), (Decimal("6.2"), "", "H"),
    (Decimal("6.2"), "3.9~6.5", "N"), (Decimal("5.0"), "<4.5", "H"), (Decimal("1.2"), ">1.0", "N"),
])
def test_flag_from_the_reference_range(catalogue: MiniCounty, resident: Resident, value: Decimal, ref_range: str,
                                       flag: str) -> None:
    found = result(catalogue.clinician, resident, "FPG", catalogue.hospital, MORNING, value=value,
                   ref_range=ref_range)
    assert found.flag == flag


def test_given_flag_and_text_values(catalogue: MiniCounty, resident: Resident) -> None:
    found = result(catalogue.clinician, resident, "HBSAG", catalogue.hospital, MORNING, value=None,
                   value_text="阳性", flag="a")
    assert found.flag == "A" and found.value is None and found.unit == ""


@pytest.mark.parametrize(("fields", "field"), [
    ({"value": None, "value_text": "", "report": ""}, "value"),
    ({"reported_at": at(dt.date(2026, 6, 16))}, "reported_at"),
    ({"reported_at": at(dt.date(1959, 12, 31))}, "reported_at"),
    ({"flag": "Z"}, "flag"),
    ({"item_code": "NOPE"}, "item_code"),
])
def test_result_validation(catalogue: MiniCounty, resident: Resident, fields: dict, field: str) -> None:
    values = {"item_code": "FPG", "reported_at": MORNING, "value": Decimal("5.0"), **fields}
    with pytest.raises(ValidationFailed) as caught:
        result_record(user=catalogue.clinician, resident=resident, performed_by=catalogue.hospital, **values)
    assert caught.value.params["field"] == field


def test_replay_by_report_number(catalogue: MiniCounty, resident: Resident) -> None:
    first = result(catalogue.clinician, resident, "FPG", catalogue.hospital, MORNING, source_no="LIS-1")
    again = result(catalogue.clinician, resident, "FPG", catalogue.hospital, MORNING, source_no="LIS-1",
                   value=Decimal("9.9"))
    assert again.pk == first.pk and again.replayed is True and Result.objects.count() == 1


def test_merged_resident_and_scope(catalogue: MiniCounty, resident: Resident) -> None:
    duplicate = ResidentFactory(village=catalogue.village_a, birth_date=dt.date(1960, 1, 1))
    resident_merge(user=catalogue.director, survivor=resident, merged=duplicate)
    duplicate.refresh_from_db()
    found = result(catalogue.clinician, duplicate, "HGB", catalogue.hospital, MORNING)
    assert found.resident_id == resident.pk
    assert [r.pk for r in results_of(user=catalogue.director, resident=resident, item_code="HGB")] == [found.pk]
    assert results_of(user=catalogue.director, resident=resident, item_code="FPG") == []
    with pytest.raises(NotFound):
        results_of(user=catalogue.other_director, resident=resident)
    with pytest.raises(NotFound):  # another township's centre cannot file results of this resident at ours
        result(catalogue.other_director, resident, "HGB", catalogue.centres[0], MORNING)
