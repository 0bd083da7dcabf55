"""The worklist of a village or township: due this week, overdue, not seen this year — by urgency."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import MiniCounty
from tests.factories.programmes import enrol, record
from tests.factories.residents import ResidentFactory
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditEntry
from yigongti.programmes.models import Enrolment, ScheduledVisit
from yigongti.programmes.selectors import worklist_for_org
from yigongti.programmes.services import enrolment_replan

TODAY = dt.date(2026, 6, 15)




def _scheduled(enrolment: Enrolment, item: str, due: dt.date, *, start: int = -7, end: int = 14,
               refer: bool = False) -> ScheduledVisit:
    return ScheduledVisit.objects.create(
        enrolment=enrolment, resident_id=enrolment.resident_id, programme_id=enrolment.programme_id,
        path=enrolment.path, item=item, due=due, window_start=due + dt.timedelta(days=start),
        window_end=due + dt.timedelta(days=end), refer=refer)


@pytest.fixture
def village(rules: MiniCounty) -> dict[str, object]:
    """Four hypertensives of village A with hand-made schedules, one of village B."""
    people = {}
    for key in ("due", "overdue_long", "overdue_short", "referred", "other_village"):
        village = rules.village_b if key == "other_village" else rules.village_a
        user = rules.director
        resident = ResidentFactory(village=village, birth_date=dt.date(1960, 1, 1), name=f"王{key[:2]}")
        enrolment = enrol(user, resident, "hypertension", enrolled_on=dt.date(2025, 12, 1))
        ScheduledVisit.objects.filter(enrolment=enrolment).delete()
        people[key] = (resident, enrolment)
    _scheduled(people["due"][1], "followup", TODAY + dt.timedelta(days=3))
    _scheduled(people["overdue_long"][1], "followup", TODAY - dt.timedelta(days=60))
    _scheduled(people["overdue_short"][1], "followup", TODAY - dt.timedelta(days=30))
    _scheduled(people["referred"][1], "followup", TODAY - dt.timedelta(days=20), refer=True)
    _scheduled(people["other_village"][1], "followup", TODAY + dt.timedelta(days=1))
    _scheduled(people["due"][1], "check", TODAY + dt.timedelta(days=40), start=0)  # beyond this week
    return people


def test_sections_and_urgency(rules: MiniCounty, village: dict[str, tuple]) -> None:
    result = worklist_for_org(user=rules.village_doctor, org_code=rules.village_a.code, on=TODAY)
    assert [r.record_no for r in result.due] == [village["due"][0].record_no]
    assert result.due[0].item == "followup" and result.week_end == TODAY + dt.timedelta(days=6)
    order = [r.record_no for r in result.overdue]
    assert order == [village[k][0].record_no for k in ("referred", "overdue_long", "overdue_short")]
    assert result.overdue[1].days_overdue == 60 - 14
    # No visit this year: all four of village A are "unseen"; B's resident is not on A's list.
    assert {r.record_no for r in result.unseen} == {village[k][0].record_no
                                                    for k in ("due", "overdue_long", "overdue_short", "referred")}


def test_a_township_sees_its_villages_and_a_visit_takes_a_resident_off(rules: MiniCounty,
                                                                      village: dict[str, tuple]) -> None:
    township = worklist_for_org(user=rules.director, org_code=rules.townships[0].code, on=TODAY)
    assert {r.village_code for r in township.due} == {rules.village_a.code, rules.village_b.code}
    resident = village["overdue_short"][0]
    record(rules.village_doctor, resident, "hypertension", "followup", TODAY, sbp=128, dbp=78)
    after = worklist_for_org(user=rules.director, org_code=rules.townships[0].code, on=TODAY)
    assert resident.record_no not in {r.record_no for r in after.unseen}
    # The follow-up is done, so nothing is overdue: the check missed last year is not made up, this
    # year's is planned (due on the anniversary of the enrolment, after this week).
    assert not [r for r in after.overdue + after.due if r.record_no == resident.record_no]
    checks = ScheduledVisit.objects.filter(resident=resident, item="check").order_by("due")
    assert checks[0].window_start == TODAY.replace(month=1, day=1) and checks[0].due > after.week_end
    assert len(after.unseen) == len(township.unseen) - 1


def test_only_active_residents_and_one_programme(rules: MiniCounty, village: dict[str, tuple]) -> None:
    resident = village["referred"][0]
    resident.status = "deceased"
    resident.save()
    result = worklist_for_org(user=rules.village_doctor, org_code=rules.village_a.code, on=TODAY)
    assert resident.record_no not in {r.record_no for r in result.overdue + result.unseen}
    assert not worklist_for_org(user=rules.village_doctor, org_code=rules.village_a.code, on=TODAY,
                                programme="diabetes").overdue


def test_another_unit_is_not_found_and_the_read_is_audited(rules: MiniCounty, village: dict[str, tuple]) -> None:
    with pytest.raises(NotFound):
        worklist_for_org(user=rules.village_doctor, org_code=rules.village_b.code, on=TODAY)
    with pytest.raises(NotFound):
        worklist_for_org(user=rules.other_director, org_code=rules.townships[0].code, on=TODAY)
    before = AuditEntry.objects.filter(object_type="programmes.worklist", outcome="ok").count()
    result = worklist_for_org(user=rules.village_doctor, org_code=rules.village_a.code, on=TODAY)
    entry = AuditEntry.objects.filter(object_type="programmes.worklist", outcome="ok").latest("pk")
    assert before == 0 and entry.detail["overdue"] == len(result.overdue) and entry.path == rules.village_a.path


def test_a_bounded_number_of_queries(rules: MiniCounty, village: dict[str, tuple]) -> None:
    worklist_for_org(user=rules.director, org_code=rules.townships[0].code, on=TODAY)  # warm caches
    with CaptureQueriesContext(connection) as queries:
        worklist_for_org(user=rules.director, org_code=rules.townships[0].code, on=TODAY)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    # the division, the programmes served yearly or at intervals, then per section (due, overdue,
    # unseen) the most urgent pks on the bare table and the joined rows shown — whatever the size
    assert len(selects) <= 8


def test_a_real_plan_lands_on_the_worklist(rules: MiniCounty) -> None:
    resident = ResidentFactory(village=rules.village_a, birth_date=dt.date(1960, 1, 1))
    enrolment = enrol(rules.village_doctor, resident, "hypertension", enrolled_on=dt.date(2026, 1, 5))
    enrolment_replan(enrolment)
    result = worklist_for_org(user=rules.village_doctor, org_code=rules.village_a.code, on=TODAY)
    rows = result.due + result.overdue
    assert rows and {r.programme_code for r in rows} == {"hypertension"}


def test_a_long_section_is_cut_to_the_most_urgent_and_counted(rules: MiniCounty, village: dict[str, tuple]) -> None:
    result = worklist_for_org(user=rules.village_doctor, org_code=rules.village_a.code, on=TODAY, limit=2)
    assert [r.record_no for r in result.overdue] == [village[k][0].record_no for k in ("referred", "overdue_long")]
    assert result.counts()["overdue"] == 3 and result.counts()["unseen"] == 4 and len(result.unseen) == 2
    assert result.truncated
    assert not worklist_for_org(user=rules.village_doctor, org_code=rules.village_a.code, on=TODAY).truncated
