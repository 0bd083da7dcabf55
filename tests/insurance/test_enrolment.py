"""Enrolment (参保登记) by household and 参合率, through the services and selectors.

Yunxi 2025: 个人缴费 400, 财政补助 700 per person; 资助参保 (medical aid pays part of the individual
contribution): 特困 100 % (pays 0, aid 400), 低保 70 % (pays 120, aid 280), 脱贫人口 50 % (pays 200,
aid 200). Yunxi 2026: the same contribution, subsidy 730.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.factories.residents import ResidentFactory
from yigongti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.core.scope import SYSTEM
from yigongti.insurance import services
from yigongti.insurance.errors import AlreadyEnrolled, MemberInvalid
from yigongti.insurance.models import Accumulator, Coverage, HouseholdEnrolment, LedgerEntry
from yigongti.insurance.selectors import coverage_rates, eligible_residents, unbalanced_postings
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

D = Decimal


def counts() -> tuple[int, ...]:
    return (HouseholdEnrolment.objects.count(), Coverage.objects.count(), Accumulator.objects.count(),
            LedgerEntry.objects.count(), AuditEntry.objects.filter(object_type="insurance.enrolment").count())


def test_contribution_exemption_and_subsidy_per_category(ins: Any) -> None:
    """A household of four in 2025: ordinary 400 / aid 0, 特困 0 / 400, 低保 120 / 280, 脱贫 200 / 200,
    700 subsidy each. Household: contributions 720, exempted 880, subsidy 2,800; income 4,400
    (= 4 × 1,100). The posting: basic fund +4,400, contributions −720, aid −880, subsidy −2,800."""
    household, (plain, wubao, dibao, poverty) = ins.household(size=4)
    members = {plain.pk: "", wubao.pk: "wubao", dibao.pk: "dibao", poverty.pk: "poverty"}
    enrolment, added = services.enrol_household(ins.office, household.pk, year=2025, members=members,
                                                paid_on=dt.date(2024, 12, 10), receipt_no="R-0001")
    assert added == 4
    assert (enrolment.policy, enrolment.members, enrolment.paid_on, enrolment.receipt_no) == (
        "yunxi-county-2025", 4, dt.date(2024, 12, 10), "R-0001")
    assert (enrolment.contribution, enrolment.exempted, enrolment.subsidy) == (D(720), D(880), D(2800))
    rows = {c.resident_id: (c.category, c.contribution, c.exempted, c.subsidy)
            for c in Coverage.objects.filter(enrolment=enrolment)}
    assert rows == {plain.pk: ("", D(400), D(0), D(700)), wubao.pk: ("wubao", D(0), D(400), D(700)),
                    dibao.pk: ("dibao", D(120), D(280), D(700)), poverty.pk: ("poverty", D(200), D(200), D(700))}
    coverage = Coverage.objects.get(resident=plain, year=2025)
    assert (coverage.valid_from, coverage.valid_to) == (dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    assert set(Accumulator.objects.filter(year=2025).values_list("resident_id", flat=True)) == set(members)
    entries = dict(LedgerEntry.objects.filter(enrolment=enrolment).values_list("account", "amount"))
    assert entries == {"basic": D(4400), "contributions": D(-720), "aid": D(-880), "subsidy": D(-2800)}
    assert unbalanced_postings() == []
    audit = AuditEntry.objects.get(object_type="insurance.enrolment", object_id=str(enrolment.pk))
    assert audit.username == "yibao" and audit.detail["members"] == list(members)


def test_2026_subsidy_and_every_active_member_by_default(ins: Any) -> None:
    """2026, no members given: the household's two active members, 400 + 730 each."""
    household, members = ins.household(size=2)
    enrolment, added = services.enrol_household(ins.county.village_doctor, household.pk, year=2026,
                                                paid_on=dt.date(2025, 12, 1))
    assert added == 2 and enrolment.policy == "yunxi-county-2026"
    assert (enrolment.contribution, enrolment.exempted, enrolment.subsidy) == (D(800), D(0), D(1460))
    assert enrolment.collected_at == ins.county.village_doctor.institution
    assert set(Coverage.objects.filter(year=2026).values_list("resident_id", flat=True)) == {m.pk for m in members}


def test_a_rerun_writes_nothing_and_a_newborn_is_added_later(ins: Any) -> None:
    """Enrolling again adds no one (0 added, no row, no posting, no audit entry); a baby born in
    the year and added to the household is then the one member added: 400 + 730."""
    household, _members = ins.household(size=2)
    ins.enrol(household)
    before = counts()
    enrolment, added = services.enrol_household(ins.office, household.pk, year=2026, paid_on=dt.date(2025, 12, 1))
    assert added == 0 and counts() == before
    baby = ResidentFactory(village=household.village, household=household, birth_date=dt.date(2026, 2, 1))
    enrolment, added = services.enrol_household(ins.office, household.pk, year=2026, paid_on=dt.date(2026, 3, 1))
    assert added == 1
    enrolment.refresh_from_db()
    assert (enrolment.members, enrolment.contribution, enrolment.subsidy) == (3, D(1200), D(2190))
    assert Coverage.objects.filter(resident=baby, year=2026).exists()
    assert Accumulator.objects.filter(resident=baby, year=2026).exists()
    assert dict(LedgerEntry.objects.filter(posting=f"CB{enrolment.pk}-3").values_list("account", "amount")) == {
        "basic": D(1130), "contributions": D(-400), "subsidy": D(-730)}
    assert unbalanced_postings() == []


def test_a_member_of_another_household_is_refused_by_name(ins: Any) -> None:
    household, (member,) = ins.household()
    _other, (stranger,) = ins.household(name="李四")
    before = counts()
    with pytest.raises(MemberInvalid) as caught:
        ins.enrol(household, members={member.pk: "", stranger.pk: ""})
    assert caught.value.params["field"] == f"members.{stranger.pk}"
    assert "李四 不是该户成员" in str(caught.value)
    assert counts() == before


@pytest.mark.parametrize("status", [RecordStatus.MOVED_OUT, RecordStatus.DECEASED])
def test_moved_out_or_deceased_members_are_refused(ins: Any, status: str) -> None:
    household, (head, gone) = ins.household(size=2)
    Resident.objects.filter(pk=gone.pk).update(status=status, status_date=dt.date(2025, 10, 1))
    with pytest.raises(MemberInvalid) as caught:
        ins.enrol(household, members={head.pk: "", gone.pk: ""})
    assert caught.value.params["field"] == f"members.{gone.pk}"
    assert gone.name in str(caught.value)
    assert not Coverage.objects.exists()
    # By default only the active members are enrolled.
    _enrolment, added = services.enrol_household(ins.office, household.pk, year=2026, paid_on=dt.date(2025, 12, 1))
    assert added == 1 and list(Coverage.objects.values_list("resident_id", flat=True)) == [head.pk]


def test_an_unknown_category_is_refused(ins: Any) -> None:
    household, (member,) = ins.household()
    with pytest.raises(MemberInvalid) as caught:
        ins.enrol(household, members={member.pk: "orphan"})
    assert caught.value.params["field"] == f"members.{member.pk}" and "orphan" in str(caught.value)
    assert counts() == (0, 0, 0, 0, 0)


def test_a_member_enrolled_with_another_household_is_already_enrolled(ins: Any) -> None:
    """Enrolled with household A, then moved to household B: B cannot enrol them again that year."""
    first, (person,) = ins.household(name="赵六")
    ins.enrol(first)
    second, (other,) = ins.household()
    Resident.objects.filter(pk=person.pk).update(household=second)
    before = counts()
    with pytest.raises(AlreadyEnrolled) as caught:
        ins.enrol(second, members={other.pk: "", person.pk: ""})
    assert "赵六" in str(caught.value) and "2026" in str(caught.value)
    assert counts() == before


def test_scope_and_role(ins: Any) -> None:
    """A village doctor enrols only households of their village (another's is not found); the
    health commission does not enrol at all."""
    household, _members = ins.household(ins.county.village_b)
    with pytest.raises(NotFound):
        services.enrol_household(ins.county.village_doctor, household.pk, year=2026, paid_on=dt.date(2025, 12, 1))
    with pytest.raises(PermissionDenied):
        services.enrol_household(ins.county.commission, household.pk, year=2026, paid_on=dt.date(2025, 12, 1))
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(("year", "paid_on", "field"), [
    (1999, dt.date(1998, 12, 1), "year"),
    (2031, dt.date(2025, 12, 1), "year"),
    (2026, dt.date(2099, 1, 1), "paid_on"),
    (2025, dt.date(2026, 1, 5), "paid_on"),
])
def test_bad_year_or_payment_date(ins: Any, year: int, paid_on: dt.date, field: str) -> None:
    household, _members = ins.household()
    with pytest.raises(ValidationFailed) as caught:
        services.enrol_household(ins.office, household.pk, year=year, paid_on=paid_on)
    assert caught.value.params["field"] == field


# ---------------------------------------------------------------- 参合率


def _rate_county(ins: Any) -> dict[str, Any]:
    """Hand-counted 2026 county.

    Village A (township 1): household 1, three members enrolled (one 低保); household 2, two members
    not enrolled; household 3, one member enrolled who died in May 2026 (eligible: died within the
    year); one who died in 2025 (not eligible); one who moved out in February 2026, not enrolled
    (eligible). → eligible 7, enrolled 4, exempted 1.
    Village B (township 1): two members, both enrolled. → 2 / 2.
    Village C (township 2): two members, none enrolled. → 2 / 0.
    Township 1: 9 / 6; township 2: 2 / 0; the county 11 / 6.
    """
    county = ins.county
    h1, (a1, _a2, _a3) = ins.household(county.village_a, 3)
    ins.enrol(h1, members={m.pk: ("dibao" if m.pk == a1.pk else "") for m in Resident.objects.filter(household=h1)})
    ins.household(county.village_a, 2)
    h3, (dies,) = ins.household(county.village_a)
    ins.enrol(h3)
    Resident.objects.filter(pk=dies.pk).update(status=RecordStatus.DECEASED, status_date=dt.date(2026, 5, 1))
    _h4, (dead, moved) = ins.household(county.village_a, 2)
    Resident.objects.filter(pk=dead.pk).update(status=RecordStatus.DECEASED, status_date=dt.date(2025, 6, 1))
    Resident.objects.filter(pk=moved.pk).update(status=RecordStatus.MOVED_OUT, status_date=dt.date(2026, 2, 1))
    h5, _b = ins.household(county.village_b, 2)
    ins.enrol(h5)
    ins.household(county.village_c, 2)
    return {"township1": county.townships[0], "township2": county.townships[1]}


def _figures(rows: list[Any]) -> list[tuple[str, int, int, int]]:
    return [(row.name, row.eligible, row.enrolled, row.exempted) for row in rows]


def test_coverage_rates_per_township_and_village(ins: Any) -> None:
    units = _rate_county(ins)
    rows, total = coverage_rates(SYSTEM, 2026)
    assert _figures(rows) == [("镇1", 9, 6, 1), ("镇2", 2, 0, 0)]
    assert (total.eligible, total.enrolled, total.exempted) == (11, 6, 1)
    assert total.rate == pytest.approx(6 / 11)
    assert rows[1].rate == 0
    rows, total = coverage_rates(ins.office, 2026, under=units["township1"].path)
    assert _figures(rows) == [("镇1村1", 7, 4, 1), ("镇1村2", 2, 2, 0)]
    assert (total.eligible, total.enrolled) == (9, 6)
    assert rows[0].rate == pytest.approx(4 / 7) and rows[1].rate == 1


def test_coverage_rates_are_narrowed_to_the_callers_unit(ins: Any) -> None:
    _rate_county(ins)
    rows, total = coverage_rates(ins.county.director, 2026)  # township 1: its villages
    assert _figures(rows) == [("镇1村1", 7, 4, 1), ("镇1村2", 2, 2, 0)]
    assert (total.eligible, total.enrolled) == (9, 6)
    rows, total = coverage_rates(ins.county.village_doctor, 2026)  # village A: no unit below it
    assert rows == [] and (total.eligible, total.enrolled) == (7, 4)
    rows, total = coverage_rates(ins.county.other_director, 2026)
    assert (total.eligible, total.enrolled) == (2, 0)


def test_eligible_residents_by_year(ins: Any) -> None:
    """Born in 2026: eligible for 2026, not 2025. Died in 2025: eligible for 2025 only."""
    _household, (baby, gone) = ins.household(size=2)
    Resident.objects.filter(pk=baby.pk).update(birth_date=dt.date(2026, 2, 1))
    Resident.objects.filter(pk=gone.pk).update(status=RecordStatus.DECEASED, status_date=dt.date(2025, 7, 1))
    assert set(eligible_residents(2025).values_list("pk", flat=True)) == {gone.pk}
    assert set(eligible_residents(2026).values_list("pk", flat=True)) == {baby.pk}
