"""encounter_record: validation at the boundary (each error names its field), idempotent replay,
a merged resident's encounter follows the survivor, scope (404) and audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import MiniCounty
from tests.factories.care import encounter
from tests.factories.residents import ResidentFactory
from yigongti.care.errors import KeyReused
from yigongti.care.models import Encounter
from yigongti.care.selectors import encounter_get, encounters_of
from yigongti.care.services import DiagnosisIn, encounter_record
from yigongti.core.errors import NotFound, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.residents.models import Resident
from yigongti.residents.services import resident_merge

TODAY = dt.date(2026, 6, 15)


def test_record_sets_tier_total_and_primary(county: MiniCounty, resident: Resident) -> None:
    found = encounter(county.director, resident, institution=county.centres[0],
                      diagnoses=[DiagnosisIn(" i10 ", "高血压"), DiagnosisIn("E11.9", "2型糖尿病")],
                      costs={"drugs_western": Decimal("30.5"), "lab": "12", "registration": 0})
    assert found.tier == "township" and found.in_county and found.total_cost == Decimal("42.50")
    codes = [(d.code, d.is_primary) for d in found.diagnoses.order_by("position")]
    assert codes == [("I10", True), ("E11.9", False)]
    assert found.path == resident.path and found.replayed is False
    entry = AuditEntry.objects.get(object_type="care.encounter", object_id=str(found.pk))
    assert entry.action == "create" and entry.user == county.director


def test_out_of_county(county: MiniCounty, resident: Resident) -> None:
    found = encounter(county.clinician, resident, outside_institution="贵州省人民医院", kind="inpatient",
                      start_date=dt.date(2026, 5, 1), end_date=dt.date(2026, 5, 9), discharge_status="improved")
    assert not found.in_county and found.tier == "" and found.institution is None


def test_marked_primary_is_kept(county: MiniCounty, resident: Resident) -> None:
    found = encounter(county.clinician, resident, diagnoses=[DiagnosisIn("E11"), DiagnosisIn("I10", primary=True)])
    assert found.diagnoses.get(is_primary=True).code == "I10"


@pytest.mark.parametrize(("fields", "field"), [
    ({"diagnoses": [DiagnosisIn("高血压")]}, "diagnoses"),
    ({"diagnoses": [DiagnosisIn("I1")]}, "diagnoses"),
    ({"diagnoses": [DiagnosisIn("I10.12345")]}, "diagnoses"),
    ({"diagnoses": [DiagnosisIn("I10", primary=True), DiagnosisIn("E11", primary=True)]}, "diagnoses"),
    ({"costs": {"drugs_western": Decimal("-1")}}, "costs"),
    ({"costs": {"caviar": Decimal("1")}}, "costs"),
    ({"costs": {"lab": "abc"}}, "costs"),
    ({"start_date": dt.date(2026, 6, 16)}, "start_date"),
    ({"start_date": dt.date(1959, 12, 31)}, "start_date"),
    ({"end_date": dt.date(2026, 3, 1)}, "end_date"),
    ({"end_date": dt.date(2026, 6, 16)}, "end_date"),
    ({"kind": "house_call"}, "kind"),
    ({"discharge_status": "vanished"}, "discharge_status"),
    ({"outside_institution": "省医"}, "institution"),
    ({"institution": None}, "institution"),
    ({"procedures": [{"date": "2026-03-02"}]}, "procedures"),
])
def test_each_validation_error_names_its_field(county: MiniCounty, resident: Resident, fields: dict[str, Any],
                                               field: str) -> None:
    fields.setdefault("institution", county.hospital)
    with pytest.raises(ValidationFailed) as caught:
        encounter(county.clinician, resident, **fields)
    assert caught.value.params["field"] == field
    assert not Encounter.objects.exists()


def test_negative_cost_names_the_category(county: MiniCounty, resident: Resident) -> None:
    with pytest.raises(ValidationFailed) as caught:
        encounter(county.clinician, resident, costs={"bed": Decimal("-5")})
    assert "床位费" in str(caught.value)


def test_department_of_another_institution(county: MiniCounty, resident: Resident) -> None:
    with pytest.raises(ValidationFailed) as caught:
        encounter(county.director, resident, institution=county.centres[0], department=county.department)
    assert caught.value.params["field"] == "department"


def test_replay_with_the_same_his_number(county: MiniCounty, resident: Resident) -> None:
    first = encounter(county.clinician, resident, source_no="MZ2026-0001")
    again = encounter(county.clinician, resident, source_no="MZ2026-0001", costs={"lab": Decimal("99")})
    assert again.pk == first.pk and again.replayed is True and again.total_cost == Decimal("25.00")
    assert Encounter.objects.count() == 1
    # the same number at another institution is another visit
    other = encounter(county.director, resident, institution=county.centres[0], source_no="MZ2026-0001")
    assert other.pk != first.pk
    stranger = ResidentFactory(village=county.village_b)
    with pytest.raises(KeyReused):
        encounter(county.clinician, stranger, source_no="MZ2026-0001")


def test_merged_resident_follows_the_survivor(county: MiniCounty, resident: Resident) -> None:
    duplicate = ResidentFactory(village=county.village_a, birth_date=dt.date(1960, 1, 1))
    resident_merge(user=county.director, survivor=resident, merged=duplicate)
    duplicate.refresh_from_db()
    found = encounter(county.clinician, duplicate)
    assert found.resident_id == resident.pk and found.path == resident.path


def test_scope_of_entry(county: MiniCounty, resident: Resident) -> None:
    # another township's director, at their own centre: allowed (the patient came to them) …
    seen = encounter(county.other_director, resident, institution=county.centres[1])
    assert seen.institution == county.centres[1]
    # … at the township-1 centre, for a township-1 resident: not theirs → not found, audited
    with pytest.raises(NotFound):
        encounter(county.other_director, resident, institution=county.centres[0])
    assert AuditEntry.objects.filter(outcome="not_found", object_id=resident.record_no).exists()
    # the county clinician records for any county resident
    assert encounter(county.clinician, ResidentFactory(village=county.village_c)).tier == "county"


def test_reads_are_scoped_and_audited(county: MiniCounty, resident: Resident) -> None:
    first = encounter(county.clinician, resident, start_date=dt.date(2026, 3, 1))
    second = encounter(county.clinician, resident, start_date=dt.date(2026, 4, 1))
    rows = encounters_of(user=county.director, resident=resident)
    assert [e.pk for e in rows] == [second.pk, first.pk]
    assert AuditEntry.objects.filter(action="read", object_type="care.encounter", user=county.director).count() == 2
    assert encounter_get(user=county.village_doctor, pk=first.pk).pk == first.pk
    with pytest.raises(NotFound):
        encounters_of(user=county.other_director, resident=resident)
    with pytest.raises(NotFound):
        encounter_get(user=county.other_director, pk=first.pk)
    assert AuditEntry.objects.filter(outcome="not_found", object_type="care.encounter",
                                     object_id=str(first.pk)).exists()


def test_contract_signature(county: MiniCounty, resident: Resident) -> None:
    found = encounter_record(user=county.clinician, resident=resident, kind="emergency",
                             start_date=dt.date(2026, 6, 15), institution=county.hospital,
                             department=county.department, clinician_name="李医生", chief_complaint="胸痛2小时",
                             diagnoses=[DiagnosisIn(code="I20.000", name="不稳定型心绞痛")],
                             procedures=[{"code": "89.52", "name": "心电图"}], booked=True)
    assert found.booked and found.procedures == [{"code": "89.52", "name": "心电图", "date": ""}]
