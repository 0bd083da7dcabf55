"""Search (ID, record number, name, pinyin, birth date, name + birth date), reads audited, the
review queue only with both records in scope."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import MiniCounty
from tests.factories.residents import register
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditAction, AuditEntry
from yigongti.residents.models import DedupeRun, MatchPair, Resident
from yigongti.residents.selectors import (
    merge_get,
    pair_get,
    pinyin_split,
    resident_get,
    resident_query,
    resident_search,
    review_queue,
)
from yigongti.residents.services import resident_merge


@pytest.fixture
def people(county: MiniCounty) -> dict[str, Resident]:
    doc = county.village_doctor
    return {
        "zhang": register(doc, county.village_a, name="张三丰", birth_date=dt.date(1980, 5, 17)),
        "zhang2": register(doc, county.village_a, name="张三", birth_date=dt.date(1991, 2, 3)),
        "li": register(doc, county.village_a, name="李丽", sex="F", birth_date=dt.date(1980, 5, 17)),
        "wang": register(county.director, county.village_b, name="王五", birth_date=dt.date(1970, 1, 1)),
    }


def _names(county: MiniCounty, q: str, user: object = None) -> list[str]:
    return sorted(r.name for r in resident_search(user=user or county.director, q=q))


def test_search_by_each_key(county: MiniCounty, people: dict[str, Resident]) -> None:
    zhang = people["zhang"]
    assert _names(county, zhang.id_number) == ["张三丰"]
    assert _names(county, zhang.id_number.lower()) == ["张三丰"]
    fifteen = zhang.id_number[:6] + zhang.id_number[8:17]
    assert _names(county, fifteen) == ["张三丰"]
    assert _names(county, zhang.record_no) == ["张三丰"]
    assert _names(county, "张三") == ["张三", "张三丰"]  # exact and prefix
    assert _names(county, "章三") == ["张三", "张三丰"]  # a homophone written by another clerk
    assert _names(county, "zhang san") == ["张三", "张三丰"]
    assert _names(county, "ZhangSan") == ["张三", "张三丰"]  # spaces optional, case ignored
    assert _names(county, "zhangsanfeng") == ["张三丰"]
    assert _names(county, "li li") == ["李丽"]
    assert _names(county, "1980-05-17") == ["张三丰", "李丽"]
    assert _names(county, "张三 1980-05-17") == ["张三丰"]
    assert _names(county, "1980-05-17 li") == ["李丽"]
    assert _names(county, "nobody") == []
    assert _names(county, "") == ["张三", "张三丰", "李丽", "王五"]


def test_search_respects_scope_filters_and_status(county: MiniCounty, people: dict[str, Resident]) -> None:
    assert _names(county, "", county.village_doctor) == ["张三", "张三丰", "李丽"]
    assert _names(county, people["wang"].id_number, county.village_doctor) == []
    assert [r.name for r in resident_search(user=county.director, village_code=county.village_b.code)] == ["王五"]
    with pytest.raises(NotFound):
        resident_search(user=county.village_doctor, village_code=county.village_b.code)
    resident_merge(user=county.village_doctor, survivor=people["zhang2"], merged=people["zhang"])
    assert _names(county, "张三") == ["张三"]
    assert [r.name for r in resident_search(user=county.director, status="merged")] == ["张三丰"]


def test_query_shapes() -> None:
    assert pinyin_split("zhangsanfeng") == "zhang san feng"
    assert pinyin_split("xyz") == "xyz"
    assert "id_number" in str(resident_query("52239919800517001X"))
    assert "record_no" in str(resident_query("52239910120100001"))
    assert "birth_date" in str(resident_query("张三 1980-02-03"))
    assert "birth_date" not in str(resident_query("1980-02-30"))  # an impossible date is no date


def test_get_is_audited_and_misses_too(county: MiniCounty, people: dict[str, Resident]) -> None:
    zhang = people["zhang"]
    assert resident_get(user=county.village_doctor, record_no=zhang.record_no) == zhang
    assert AuditEntry.objects.filter(action=AuditAction.READ, object_type="residents.resident",
                                     object_id=str(zhang.pk), outcome="ok").exists()
    with pytest.raises(NotFound):
        resident_get(user=county.village_doctor, record_no=people["wang"].record_no)
    with pytest.raises(NotFound):
        resident_get(user=county.village_doctor, record_no="nope")
    assert AuditEntry.objects.filter(outcome="not_found", object_type="residents.resident").count() == 2


def test_review_queue_needs_both_records_in_scope(county: MiniCounty, people: dict[str, Resident]) -> None:
    run = DedupeRun.objects.create(review_threshold=0.5, auto_threshold=0.99)
    mine = MatchPair.objects.create(run=run, left=people["zhang"], right=people["zhang2"], probability=0.8,
                                    match_weight=3, path=people["zhang"].path)
    mixed = MatchPair.objects.create(run=run, left=people["zhang"], right=people["wang"], probability=0.9,
                                     match_weight=4, path=people["zhang"].path)
    assert list(review_queue(user=county.village_doctor)) == [mine]
    assert list(review_queue(user=county.director)) == [mixed, mine]
    assert pair_get(user=county.village_doctor, pk=mine.pk) == mine
    with pytest.raises(NotFound):
        pair_get(user=county.village_doctor, pk=mixed.pk)
    merge = resident_merge(user=county.director, survivor=people["zhang"], merged=people["wang"])
    assert merge_get(user=county.director, pk=merge.pk) == merge
    with pytest.raises(NotFound):
        merge_get(user=county.village_doctor, pk=merge.pk)
