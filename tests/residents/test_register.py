"""Registration (建档): validation with nothing written, the door check, scope, numbering, households."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from tests.conftest import MiniCounty
from tests.factories.accounts import UserFactory
from tests.factories.residents import register, resident_id
from yigongti.core.clock import frozen
from yigongti.core.errors import NotFound, ValidationFailed
from yigongti.core.ids import resident_id_check_char
from yigongti.core.models import AuditAction, AuditEntry, AuditOutcome
from yigongti.residents.errors import DuplicateResident
from yigongti.residents.models import Household, Resident
from yigongti.residents.services import household_create, resident_update

BORN = dt.date(1980, 5, 17)


def _invalid(county: MiniCounty, field: str, **fields: object) -> ValidationFailed:
    before = (Resident.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as info:
        register(county.village_doctor, fields.pop("village", county.village_a), **fields)  # type: ignore[arg-type]
    assert info.value.params["field"] == field, info.value.params
    assert str(info.value)  # a readable message
    assert (Resident.objects.count(), AuditEntry.objects.count()) == before
    return info.value


def test_register_sets_everything(county: MiniCounty) -> None:
    resident = register(county.village_doctor, county.village_a, name="张 三", phone=" 13800000000 ",
                        blood_type="A", allergies=["penicillin"])
    assert resident.name == "张三" and resident.name_pinyin == "zhang san"
    assert resident.record_no == f"{county.village_a.code}00001" and len(resident.record_no) == 17
    assert resident.path == county.village_a.path
    assert resident.clinic == county.clinics[county.village_a.code]
    assert resident.township_centre == county.centres[0]
    assert resident.created_by == county.village_doctor
    assert resident.created_at_institution == county.clinics[county.village_a.code]
    assert resident.phone == "13800000000" and resident.allergies == ["penicillin"]
    second = register(county.village_doctor, county.village_a, name="李四", sex="F",
                      birth_date=dt.date(1990, 1, 2))
    assert second.record_no == f"{county.village_a.code}00002"
    entry = AuditEntry.objects.get(object_type="residents.resident", object_id=str(resident.pk))
    assert entry.action == AuditAction.CREATE and entry.user == county.village_doctor


def test_fifteen_digit_id_is_upgraded(county: MiniCounty) -> None:
    eighteen = resident_id(BORN, "M")
    fifteen = eighteen[:6] + eighteen[8:17]
    assert register(county.village_doctor, county.village_a, id_number=fifteen).id_number == eighteen


def test_bad_identity_is_refused(county: MiniCounty) -> None:
    good = resident_id(BORN, "M")
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    _invalid(county, "id_number", id_number=wrong_check)
    impossible = "52239919800231" + "001"
    _invalid(county, "id_number", id_number=impossible + resident_id_check_char(impossible))
    _invalid(county, "id_number", id_number="12345")
    # Full-width digits pass str.isdigit(); an ID is ASCII only.
    _invalid(county, "id_number", id_number=good[:17].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
             + good[17])
    _invalid(county, "id_number", id_number=good, birth_date=dt.date(1980, 5, 18))
    _invalid(county, "id_number", id_number=good, sex="F")
    with frozen(dt.date(2025, 6, 30)):
        _invalid(county, "birth_date", id_number="", birth_date=dt.date(2025, 7, 1))
    _invalid(county, "name", name="  ")
    _invalid(county, "sex", sex="X", id_number="")
    _invalid(county, "blood_type", blood_type="Z")
    _invalid(county, "colour", colour="red")


def test_bad_village_and_household(county: MiniCounty) -> None:
    _invalid(county, "village_code", village_code="522399101299")
    with pytest.raises(ValidationFailed) as info:
        register(county.director, county.townships[0])
    assert info.value.params["field"] == "village_code"
    other = household_create(user=county.director, village_code=county.village_b.code)
    _invalid(county, "household_code", household_code=other.code, relation_to_head="head")
    _invalid(county, "household_code", household_code="NOPE", relation_to_head="head")
    # A household head who is not in a household.
    _invalid(county, "relation_to_head", relation_to_head="head")
    mine = household_create(user=county.village_doctor, village_code=county.village_a.code)
    head = register(county.village_doctor, county.village_a, household_code=mine.code, relation_to_head="head")
    mine.refresh_from_db()
    assert mine.head == head and head.household == mine
    _invalid(county, "relation_to_head", household_code=mine.code, relation_to_head="head", name="李四",
             birth_date=dt.date(1982, 1, 1))
    spouse = register(county.village_doctor, county.village_a, household_code=mine.code,
                      relation_to_head="spouse", name="李四", sex="F", birth_date=dt.date(1982, 1, 1))
    assert set(mine.members.all()) == {head, spouse}


def test_village_outside_entry_scope_is_not_found(county: MiniCounty) -> None:
    with pytest.raises(NotFound):
        register(county.village_doctor, county.village_b)
    assert not Resident.objects.exists()
    assert AuditEntry.objects.filter(outcome=AuditOutcome.NOT_FOUND, object_id=county.village_b.code).exists()


# ---------------------------------------------------------------- the door check


def test_same_id_shows_the_existing_record(county: MiniCounty) -> None:
    first = register(county.village_doctor, county.village_a)
    with pytest.raises(DuplicateResident) as info:
        register(county.director, county.village_b, id_number=first.id_number, name="张山")
    assert info.value.existing == first and info.value.basis == "id_number"
    assert info.value.status == 409 and first.record_no in str(info.value)
    assert Resident.objects.count() == 1


def test_same_id_outside_view_scope_reveals_nothing(county: MiniCounty) -> None:
    first = register(county.director, county.village_b)
    with pytest.raises(DuplicateResident) as info:
        register(county.village_doctor, county.village_a, id_number=first.id_number)
    assert info.value.existing is None and info.value.basis == "id_number"
    assert first.name not in str(info.value) and first.record_no not in str(info.value)


def test_strong_match_shows_the_existing_record_unless_confirmed(county: MiniCounty) -> None:
    first = register(county.village_doctor, county.village_a, id_number="")
    with pytest.raises(DuplicateResident) as info:
        register(county.village_doctor, county.village_a, name="章三", id_number="")  # homophone
    assert info.value.existing == first and info.value.basis == "strong_match"
    # An ID on the new record does not hide a strong match with a record that has none.
    with pytest.raises(DuplicateResident):
        register(county.village_doctor, county.village_a)
    second = register(county.village_doctor, county.village_a, name="章三", id_number="", confirm_distinct=True)
    assert second.pk != first.pk and Resident.objects.count() == 2


def test_twins_with_different_names_are_both_registered(county: MiniCounty) -> None:
    one = register(county.village_doctor, county.village_a, name="王大明")
    two = register(county.village_doctor, county.village_a, name="王小明")
    assert one.birth_date == two.birth_date and one.pk != two.pk


def test_same_name_and_birth_date_with_two_ids_are_two_people(county: MiniCounty) -> None:
    register(county.village_doctor, county.village_a, name="张伟")
    register(county.village_doctor, county.village_a, name="张伟")
    assert Resident.objects.filter(name="张伟").count() == 2


def test_merged_record_does_not_block_its_id(county: MiniCounty) -> None:
    first = register(county.village_doctor, county.village_a)
    Resident.objects.filter(pk=first.pk).update(status="merged")
    assert register(county.village_doctor, county.village_a, id_number=first.id_number).pk != first.pk


# ---------------------------------------------------------------- update and households


def test_update_revalidates_and_audits(county: MiniCounty) -> None:
    resident = register(county.village_doctor, county.village_a, id_number="")
    resident_update(user=county.village_doctor, resident=resident, name="章三", phone="139")
    resident.refresh_from_db()
    assert resident.name_pinyin == "zhang san" and resident.phone == "139"
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_id=str(resident.pk)).get()
    assert entry.detail["fields"] == ["name", "phone"]
    with pytest.raises(ValidationFailed) as info:
        resident_update(user=county.village_doctor, resident=resident, id_number=resident_id(BORN, "F"))
    assert info.value.params["field"] == "id_number"
    other = register(county.village_doctor, county.village_a, name="李四")
    with pytest.raises(DuplicateResident):
        resident_update(user=county.village_doctor, resident=resident, id_number=other.id_number)
    with pytest.raises(NotFound):
        resident_update(user=UserFactory(username="b", entry_unit=county.village_b, view_unit=county.village_b),
                        resident=resident, phone="1")
    resident.refresh_from_db()
    assert resident.phone == "139" and resident.id_number == ""


def test_household_create_numbers_and_scope(county: MiniCounty) -> None:
    one = household_create(user=county.village_doctor, village_code=county.village_a.code, address="一组")
    two = household_create(user=county.village_doctor, village_code=county.village_a.code)
    assert one.code == f"{county.village_a.code}0001" and two.code == f"{county.village_a.code}0002"
    assert one.path == county.village_a.path
    with pytest.raises(NotFound):
        household_create(user=county.village_doctor, village_code=county.village_b.code)
    assert Household.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_in_one_village_get_distinct_numbers() -> None:
    """Two clerks register at the same moment: the village row lock queues them (PostgreSQL)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by itself; the row lock matters on PostgreSQL")
    county = MiniCounty()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def clerk(name: str, born: dt.date) -> None:
        try:
            barrier.wait()
            results.append(register(county.village_doctor, county.village_a, name=name, birth_date=born))
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=clerk, args=("张三", BORN)),
               threading.Thread(target=clerk, args=("李四", dt.date(1981, 1, 1)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, Resident) for r in results), results
    assert sorted(r.record_no for r in results) == [  # type: ignore[attr-defined]
        f"{county.village_a.code}00001", f"{county.village_a.code}00002"]


def test_update_moves_between_households(county: MiniCounty) -> None:
    home = household_create(user=county.village_doctor, village_code=county.village_a.code)
    head = register(county.village_doctor, county.village_a, household_code=home.code, relation_to_head="head")
    resident_update(user=county.village_doctor, resident=head, household_code="")
    head.refresh_from_db()
    home.refresh_from_db()
    assert head.household is None and head.relation_to_head == "" and home.head is None
    resident_update(user=county.village_doctor, resident=head, household_code=home.code, relation_to_head="head")
    home.refresh_from_db()
    assert home.head == head
    with pytest.raises(ValidationFailed) as info:
        resident_update(user=county.village_doctor, resident=head, household_code="", relation_to_head="head")
    assert info.value.params["field"] == "relation_to_head"
