"""Merge and unmerge: linked rows follow the survivor and come back, blank fields are filled and
restored, pairs are closed, every misuse is a clear error with nothing half-written."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import MiniCounty
from tests.factories.residents import register
from yigongti.core.errors import Conflict, NotFound, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.residents.models import DedupeRun, Household, MatchPair, Resident, ResidentMerge
from yigongti.residents.services import household_create, pair_decide, resident_merge, resident_unmerge


@pytest.fixture
def pair(county: MiniCounty) -> tuple[Resident, Resident]:
    """The same man registered twice: once with an ID, once (as 章三) without, heading a household."""
    survivor = register(county.village_doctor, county.village_a, phone="")
    home = household_create(user=county.village_doctor, village_code=county.village_a.code)
    merged = register(county.village_doctor, county.village_a, name="章三", id_number="", confirm_distinct=True,
                      phone="13900000000", address="一组 3 号", household_code=home.code, relation_to_head="head")
    return survivor, merged


def _run() -> DedupeRun:
    return DedupeRun.objects.create(review_threshold=0.5, auto_threshold=0.99)


def test_merge_moves_linked_rows_and_unmerge_brings_them_back(county: MiniCounty,
                                                            pair: tuple[Resident, Resident]) -> None:
    survivor, merged = pair
    home = Household.objects.get(head=merged)
    merge = resident_merge(user=county.village_doctor, survivor=survivor, merged=merged, reason="同一人")
    home.refresh_from_db()
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert home.head == survivor  # the linked row followed
    assert merge.moved["rows"] == {"residents.household.head": [home.pk]}
    assert merged.status == "merged" and merged.merged_into == survivor and merged.status_date is not None
    assert survivor.phone == "13900000000" and survivor.address == "一组 3 号"  # blanks filled
    assert survivor.household == home and survivor.relation_to_head == "head"
    assert AuditEntry.objects.filter(detail__event="merge").count() == 2

    restored = resident_unmerge(user=county.village_doctor, merge=merge)
    home.refresh_from_db()
    survivor.refresh_from_db()
    assert restored == merged
    restored.refresh_from_db()
    assert home.head == restored
    assert restored.status == "active" and restored.merged_into is None and restored.status_date is None
    assert survivor.phone == "" and survivor.address == "" and survivor.household is None
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == county.village_doctor
    assert AuditEntry.objects.filter(detail__event="unmerge").count() == 2


def test_survivor_without_id_takes_the_merged_records_id(county: MiniCounty) -> None:
    with_id = register(county.village_doctor, county.village_a)
    without = register(county.village_doctor, county.village_a, name="章三", id_number="", confirm_distinct=True)
    merge = resident_merge(user=county.village_doctor, survivor=without, merged=with_id)
    without.refresh_from_db()
    assert without.id_number == with_id.id_number
    resident_unmerge(user=county.village_doctor, merge=merge)
    without.refresh_from_db()
    with_id.refresh_from_db()
    assert without.id_number == "" and with_id.status == "active"


def test_unmerge_twice_is_an_error(county: MiniCounty, pair: tuple[Resident, Resident]) -> None:
    merge = resident_merge(user=county.village_doctor, survivor=pair[0], merged=pair[1])
    resident_unmerge(user=county.village_doctor, merge=merge)
    before = AuditEntry.objects.count()
    with pytest.raises(Conflict) as info:
        resident_unmerge(user=county.village_doctor, merge=merge)
    assert "撤销" in str(info.value)
    assert AuditEntry.objects.count() == before


def test_merge_into_itself_or_a_merged_record_is_an_error(county: MiniCounty, pair: tuple[Resident, Resident]) -> None:
    survivor, merged = pair
    with pytest.raises(ValidationFailed):
        resident_merge(user=county.village_doctor, survivor=survivor, merged=survivor)
    third = register(county.village_doctor, county.village_a, name="王五", birth_date=dt.date(1950, 3, 3))
    resident_merge(user=county.village_doctor, survivor=survivor, merged=merged)
    with pytest.raises(Conflict):
        resident_merge(user=county.village_doctor, survivor=merged, merged=third)
    with pytest.raises(Conflict):
        resident_merge(user=county.village_doctor, survivor=third, merged=merged)
    assert Resident.objects.get(pk=third.pk).status == "active"
    assert ResidentMerge.objects.count() == 1


def test_unmerge_refused_when_the_survivor_was_merged_since(county: MiniCounty,
                                                           pair: tuple[Resident, Resident]) -> None:
    survivor, merged = pair
    third = register(county.village_doctor, county.village_a, name="王五", birth_date=dt.date(1950, 3, 3))
    first = resident_merge(user=county.village_doctor, survivor=survivor, merged=merged)
    resident_merge(user=county.village_doctor, survivor=third, merged=survivor)
    with pytest.raises(Conflict) as info:
        resident_unmerge(user=county.village_doctor, merge=first)
    assert survivor.record_no in str(info.value)
    assert Resident.objects.get(pk=merged.pk).status == "merged"


def test_merge_outside_entry_scope_is_not_found(county: MiniCounty, pair: tuple[Resident, Resident]) -> None:
    elsewhere = register(county.director, county.village_b, name="赵六", birth_date=dt.date(1960, 6, 6))
    with pytest.raises(NotFound):
        resident_merge(user=county.village_doctor, survivor=pair[0], merged=elsewhere)
    assert Resident.objects.get(pk=elsewhere.pk).status == "active"
    assert AuditEntry.objects.filter(outcome="not_found", object_id=elsewhere.record_no).exists()


def test_pair_decide_merge_defaults_to_the_older_record_and_closes_pairs(
        county: MiniCounty, pair: tuple[Resident, Resident]) -> None:
    older, newer = pair
    run = _run()
    third = register(county.village_doctor, county.village_a, name="王五", birth_date=dt.date(1950, 3, 3))
    decided = MatchPair.objects.create(run=run, left=newer, right=older, probability=0.97, match_weight=9,
                                       path=newer.path)
    other = MatchPair.objects.create(run=run, left=newer, right=third, probability=0.6, match_weight=1,
                                     path=newer.path)
    result = pair_decide(user=county.director, pair=decided, decision="merge")
    assert result.status == "merged" and result.decided_by == county.director
    assert Resident.objects.get(pk=newer.pk).merged_into_id == older.pk
    other.refresh_from_db()
    assert other.status == "merged"
    with pytest.raises(Conflict):
        pair_decide(user=county.director, pair=decided, decision="distinct")
    resident_unmerge(user=county.director, merge=ResidentMerge.objects.get())
    decided.refresh_from_db()
    assert decided.status == "pending"


def test_pair_decide_distinct_and_bad_input(county: MiniCounty, pair: tuple[Resident, Resident]) -> None:
    left, right = pair
    outsider = register(county.director, county.village_b, name="赵六", birth_date=dt.date(1960, 6, 6))
    p = MatchPair.objects.create(run=_run(), left=left, right=right, probability=0.7, match_weight=2, path=left.path)
    with pytest.raises(ValidationFailed) as info:
        pair_decide(user=county.village_doctor, pair=p, decision="maybe")
    assert info.value.params["field"] == "decision"
    with pytest.raises(ValidationFailed):
        pair_decide(user=county.village_doctor, pair=p, decision="merge", survivor=outsider)
    assert pair_decide(user=county.village_doctor, pair=p, decision="distinct").status == "distinct"
    q = MatchPair.objects.create(run=p.run, left=left, right=outsider, probability=0.7, match_weight=2,
                                 path=left.path)
    with pytest.raises(NotFound):
        pair_decide(user=county.village_doctor, pair=q, decision="distinct")
    q.refresh_from_db()
    assert q.status == "pending"
