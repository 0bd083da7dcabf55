"""Transfer (档案迁移): responsibility and visibility follow the record, the history stays."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import MiniCounty
from tests.factories.accounts import UserFactory
from tests.factories.residents import register
from yigongti.accounts.models import User
from yigongti.core.errors import Conflict, NotFound, ValidationFailed
from yigongti.core.models import AuditEntry, AuditOutcome
from yigongti.registry.services import division_upsert
from yigongti.residents.models import Household, Resident, ResidentTransfer
from yigongti.residents.selectors import resident_get, resident_history, resident_search
from yigongti.residents.services import household_create, resident_merge, resident_transfer
from yigongti.residents.signals import resident_moved


def _doctor(county: MiniCounty, village: Any) -> User:
    return UserFactory(username=f"doc{village.code}", institution=county.clinics[village.code],
                       entry_unit=village, view_unit=village)


def test_transfer_changes_who_is_responsible_and_who_sees(county: MiniCounty) -> None:
    resident = register(county.village_doctor, county.village_a)
    new_doctor = _doctor(county, county.village_c)
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    resident_moved.connect(receiver)
    try:
        transfer = resident_transfer(user=county.village_doctor, resident=resident,
                                     to_village_code=county.village_c.code, reason="婚迁")
    finally:
        resident_moved.disconnect(receiver)
    resident.refresh_from_db()
    assert resident.village == county.village_c and resident.path == county.village_c.path
    assert resident.clinic == county.clinics[county.village_c.code] and resident.township_centre == county.centres[1]
    assert resident.record_no.startswith(county.village_a.code)  # the number stays
    assert (transfer.from_village, transfer.to_village) == (county.village_a, county.village_c)
    assert transfer.from_path == county.village_a.path and transfer.by == county.village_doctor
    assert seen and seen[0]["from_path"] == county.village_a.path and seen[0]["to_path"] == county.village_c.path

    # The old village's doctor no longer sees it — and the attempt is audited.
    with pytest.raises(NotFound):
        resident_get(user=county.village_doctor, record_no=resident.record_no)
    assert AuditEntry.objects.filter(user=county.village_doctor, outcome=AuditOutcome.NOT_FOUND,
                                     object_id=resident.record_no).exists()
    assert not resident_search(user=county.village_doctor, q=resident.name).exists()
    # The new village's doctor does, with the whole history.
    assert resident_get(user=new_doctor, record_no=resident.record_no) == resident
    assert list(resident_search(user=new_doctor, q=resident.id_number)) == [resident]
    history = resident_history(user=new_doctor, resident=resident)
    assert history["transfers"] == [transfer]
    # The old doctor can no longer move it either.
    with pytest.raises(NotFound):
        resident_transfer(user=county.village_doctor, resident=resident, to_village_code=county.village_a.code)
    assert ResidentTransfer.objects.count() == 1


def test_bad_transfers_are_refused(county: MiniCounty) -> None:
    resident = register(county.village_doctor, county.village_a)
    for code, field in (("522399101299", "to_village_code"), (county.village_a.code, "to_village_code"),
                        (county.townships[1].code, "to_village_code")):
        with pytest.raises(ValidationFailed) as info:
            resident_transfer(user=county.village_doctor, resident=resident, to_village_code=code)
        assert info.value.params["field"] == field
    with pytest.raises(ValidationFailed):
        resident_transfer(user=county.village_doctor, resident=resident, to_village_code=county.village_b.code,
                          on=dt.date.today() + dt.timedelta(days=400))
    other = register(county.village_doctor, county.village_a, name="章三", id_number="", confirm_distinct=True)
    resident_merge(user=county.village_doctor, survivor=resident, merged=other)
    with pytest.raises(Conflict):
        resident_transfer(user=county.village_doctor, resident=other, to_village_code=county.village_b.code)
    assert not ResidentTransfer.objects.exists()
    assert Resident.objects.get(pk=resident.pk).village == county.village_a


def _family(county: MiniCounty) -> tuple[Household, Resident, Resident]:
    home = household_create(user=county.village_doctor, village_code=county.village_a.code)
    head = register(county.village_doctor, county.village_a, household_code=home.code, relation_to_head="head")
    wife = register(county.village_doctor, county.village_a, name="李四", sex="F", birth_date=dt.date(1982, 1, 1),
                    household_code=home.code, relation_to_head="spouse")
    return home, head, wife


def test_a_member_leaves_the_household(county: MiniCounty) -> None:
    home, head, wife = _family(county)
    resident_transfer(user=county.village_doctor, resident=wife, to_village_code=county.village_b.code)
    wife.refresh_from_db()
    home.refresh_from_db()
    assert wife.household is None and wife.relation_to_head == ""
    assert home.head == head and list(home.members.all()) == [head]


def test_a_head_alone_leaves_a_headless_household(county: MiniCounty) -> None:
    home, head, wife = _family(county)
    resident_transfer(user=county.village_doctor, resident=head, to_village_code=county.village_b.code)
    home.refresh_from_db()
    assert home.head is None and list(home.members.all()) == [wife]


def test_a_head_takes_the_household_along(county: MiniCounty) -> None:
    home, head, wife = _family(county)
    resident_transfer(user=county.village_doctor, resident=head, to_village_code=county.village_c.code,
                      with_household=True)
    home.refresh_from_db()
    wife.refresh_from_db()
    assert home.village == county.village_c and home.path == county.village_c.path and home.head == head
    assert wife.village == county.village_c and wife.household == home
    assert ResidentTransfer.objects.count() == 2


def test_a_reparented_village_takes_its_residents_paths_along(county: MiniCounty) -> None:
    home = household_create(user=county.village_doctor, village_code=county.village_a.code)
    resident = register(county.village_doctor, county.village_a, household_code=home.code, relation_to_head="head")
    township_2 = county.townships[1]
    division_upsert(code=county.village_a.code, name=county.village_a.name, parent_code=township_2.code,
                    valid_from=dt.date(2024, 1, 1))
    resident.refresh_from_db()
    home.refresh_from_db()
    assert resident.path == f"{township_2.path}/{county.village_a.code}" == home.path
    assert resident_get(user=county.other_director, record_no=resident.record_no) == resident
