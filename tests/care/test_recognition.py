"""The recognition check (互认): windows (inside / last day / day after), levels (a village result is
never recognised; a county result is recognised at a township), effective dates, orders that use
a recognised result (saved = the item's fee), the monthly counts, scope and audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.conftest import MiniCounty
from tests.factories.care import at, encounter, result
from yigongti.care.errors import NotRecognisable
from yigongti.care.models import RecognitionRule, ResultItem
from yigongti.care.selectors import booked_share, recognition_check, recognition_stats
from yigongti.care.services import order_create
from yigongti.core.clock import frozen
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditEntry
from yigongti.residents.models import Resident

TODAY = dt.date(2026, 6, 15)
REPORTED = dt.date(2026, 6, 1)


def check(county: MiniCounty, resident: Resident, item: str, day: dt.date, institution=None):
    return recognition_check(user=county.clinician, resident=resident, item_code=item,
                             ordering_institution=institution or county.hospital, at=at(day, 10))


@pytest.mark.parametrize(("day", "recognisable"), [
    (dt.date(2026, 6, 1), True), (dt.date(2026, 6, 5), True), (dt.date(2026, 6, 8), True),  # 7 days: last day
    (dt.date(2026, 6, 9), False),
])
def test_blood_routine_window(catalogue: MiniCounty, resident: Resident, day: dt.date, recognisable: bool) -> None:
    done = result(catalogue.director, resident, "HGB", catalogue.centres[0], at(REPORTED, 8))
    answer = check(catalogue, resident, "HGB", day)
    assert answer.recognisable is recognisable
    if recognisable:
        assert answer.result == done and answer.valid_until == dt.date(2026, 6, 8)
        assert answer.saved == Decimal("2.00") and answer.rule.valid_days == 7 and answer.reason == ""
    else:
        assert answer.result is None and answer.saved == 0 and "7 天" in answer.reason


def test_newest_recognisable_result_wins(catalogue: MiniCounty, resident: Resident) -> None:
    result(catalogue.clinician, resident, "HBA1C", catalogue.hospital, at(dt.date(2026, 4, 1)))
    newest = result(catalogue.clinician, resident, "HBA1C", catalogue.hospital, at(dt.date(2026, 5, 1)))
    answer = check(catalogue, resident, "hba1c", TODAY)  # any case
    assert answer.result == newest and answer.valid_until == dt.date(2026, 7, 30) and answer.saved == Decimal("50.00")


def test_levels(catalogue: MiniCounty, resident: Resident) -> None:
    village = catalogue.clinics[catalogue.village_a.code]
    result(catalogue.village_doctor, resident, "FPG", village, at(dt.date(2026, 6, 10)))
    refused = check(catalogue, resident, "FPG", TODAY)
    assert not refused.recognisable and "村级" in refused.reason
    # a county result is recognised at a township centre, and at a village clinic
    result(catalogue.clinician, resident, "FPG", catalogue.hospital, at(dt.date(2026, 6, 9)))
    assert check(catalogue, resident, "FPG", TODAY, catalogue.centres[0]).recognisable
    assert check(catalogue, resident, "FPG", TODAY, village).recognisable
    # a township HbA1c is not recognised (specialised assays: county only)
    result(catalogue.director, resident, "HBA1C", catalogue.centres[0], at(dt.date(2026, 6, 9)))
    assert not check(catalogue, resident, "HBA1C", TODAY).recognisable


def test_ordering_tier_not_covered(catalogue: MiniCounty, resident: Resident) -> None:
    RecognitionRule.objects.filter(item__code="CT-HEAD").update(ordering_tiers=["county"])
    result(catalogue.clinician, resident, "CT-HEAD", catalogue.hospital, at(dt.date(2026, 6, 1)))
    answer = check(catalogue, resident, "CT-HEAD", TODAY, catalogue.centres[0])
    assert not answer.recognisable and answer.rule is None and "乡级" in answer.reason


def test_effective_dates(catalogue: MiniCounty, resident: Resident) -> None:
    item = ResultItem.objects.get(code="TC")
    RecognitionRule.objects.filter(item=item).update(effective_to=dt.date(2026, 6, 1))
    RecognitionRule.objects.create(item=item, performed_tiers=["county"], ordering_tiers=["county"], valid_days=5,
                                   source="test", effective_from=dt.date(2026, 6, 1))
    result(catalogue.clinician, resident, "TC", catalogue.hospital, at(dt.date(2026, 5, 20)))
    old_rule = check(catalogue, resident, "TC", dt.date(2026, 5, 31))
    assert old_rule.recognisable and old_rule.rule.valid_days == 30
    new_rule = check(catalogue, resident, "TC", dt.date(2026, 6, 1))
    assert not new_rule.recognisable and new_rule.rule.valid_days == 5
    RecognitionRule.objects.filter(item=item).delete()
    none = check(catalogue, resident, "TC", TODAY)
    assert not none.recognisable and none.rule is None and "不属于互认项目" in none.reason


def test_no_result(catalogue: MiniCounty, resident: Resident) -> None:
    answer = check(catalogue, resident, "CRP", TODAY)
    assert not answer.recognisable and "没有" in answer.reason


def test_scope_and_audit(catalogue: MiniCounty, resident: Resident) -> None:
    done = result(catalogue.clinician, resident, "HGB", catalogue.hospital, at(dt.date(2026, 6, 12)))
    answer = recognition_check(user=catalogue.director, resident=resident, item_code="HGB",
                               ordering_institution=catalogue.centres[0], at=at(TODAY, 10))
    assert answer.recognisable
    assert AuditEntry.objects.filter(action="read", object_type="care.result", object_id=str(done.pk),
                                     user=catalogue.director).exists()
    with pytest.raises(NotFound):
        recognition_check(user=catalogue.other_director, resident=resident, item_code="HGB",
                          ordering_institution=catalogue.centres[0], at=at(TODAY, 10))
    # the other township's centre, where the patient came: it may check
    assert recognition_check(user=catalogue.other_director, resident=resident, item_code="HGB",
                             ordering_institution=catalogue.centres[1], at=at(TODAY, 10)).recognisable


def test_order_with_a_recognised_result_counts_saved(catalogue: MiniCounty, resident: Resident) -> None:
    done = result(catalogue.director, resident, "ALT", catalogue.centres[0], at(dt.date(2026, 6, 10)))
    visit = encounter(catalogue.clinician, resident, start_date=TODAY)
    avoided = order_create(user=catalogue.clinician, encounter=visit, item_code="ALT", use_result=done)
    assert avoided.status == "recognised" and avoided.saved == Decimal("4.00") and avoided.recognised_result == done
    ordered = order_create(user=catalogue.clinician, encounter=visit, item_code="CT-HEAD")
    assert ordered.status == "ordered" and ordered.saved == 0
    assert AuditEntry.objects.filter(object_type="care.order", action="create").count() == 2
    stats = recognition_stats(user=catalogue.commission, year=2026)
    assert stats == [{"institution": "H0001", "institution_name": "云溪县人民医院", "month": "2026-06",
                      "avoided": 1, "saved": Decimal("4.00")}]


def test_order_refuses_a_result_no_longer_recognised(catalogue: MiniCounty, resident: Resident) -> None:
    old = result(catalogue.clinician, resident, "HGB", catalogue.hospital, at(dt.date(2026, 6, 1)))
    visit = encounter(catalogue.clinician, resident, start_date=TODAY)
    with pytest.raises(NotRecognisable) as caught:
        order_create(user=catalogue.clinician, encounter=visit, item_code="HGB", use_result=old)
    assert caught.value.status == 409 and "7 天" in str(caught.value)
    # an older result inside the window while a newer one exists: still recognised on its own
    older = result(catalogue.clinician, resident, "HGB", catalogue.hospital, at(dt.date(2026, 6, 12)))
    result(catalogue.clinician, resident, "HGB", catalogue.hospital, at(dt.date(2026, 6, 14)))
    assert order_create(user=catalogue.clinician, encounter=visit, item_code="HGB",
                        use_result=older).status == "recognised"
    other = result(catalogue.clinician, resident, "PLT", catalogue.hospital, at(dt.date(2026, 6, 14)))
    with pytest.raises(NotRecognisable):
        order_create(user=catalogue.clinician, encounter=visit, item_code="HGB", use_result=other)


def test_stats_per_month_and_scope(catalogue: MiniCounty, resident: Resident) -> None:
    centre = catalogue.centres[0]
    for day, item in ((dt.date(2026, 3, 3), "ALT"), (dt.date(2026, 3, 20), "AST"), (dt.date(2026, 4, 2), "ALT")):
        with frozen(day):
            done = result(catalogue.clinician, resident, item, catalogue.hospital, at(day - dt.timedelta(days=1)))
            visit = encounter(catalogue.director, resident, institution=centre, start_date=day, booked=item == "AST")
            order_create(user=catalogue.director, encounter=visit, item_code=item, use_result=done)
    rows = recognition_stats(user=catalogue.director, org_code=catalogue.townships[0].code, year=2026)
    assert [(r["institution"], r["month"], r["avoided"], r["saved"]) for r in rows] == [
        (centre.code, "2026-03", 2, Decimal("8.00")), (centre.code, "2026-04", 1, Decimal("4.00"))]
    assert recognition_stats(user=catalogue.director, year=2025) == []
    assert recognition_stats(user=catalogue.other_director, year=2026) == []
    with pytest.raises(NotFound):
        recognition_stats(user=catalogue.other_director, org_code=catalogue.townships[0].code, year=2026)
    booked = booked_share(user=catalogue.commission, org_code=centre.code, year=2026)
    assert [(r["month"], r["visits"], r["booked"], r["rate"]) for r in booked] == [
        ("2026-03", 2, 1, 0.5), ("2026-04", 1, 0, 0.0)]
