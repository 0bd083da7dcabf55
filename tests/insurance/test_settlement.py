"""Worked examples of direct settlement through the services (enrolment → discharge → settle), each
with its arithmetic in the docstring, against the policies ``ygt rules load`` stored.

``yx25`` / ``yx26`` are the Yunxi County policies of 2025 / 2026 (county 522399, the MiniCounty):
inpatient deductible per stay and rate 一级 (township) 100 / 90 %, 二级 (county) 400 / 80 %, 三级
800 / 65 %, out of the county 1,200 / 55 %; basic-fund annual cap 250,000 (2025) / 300,000 (2026);
materials 15 % and bed 10 % self-pay, registration excluded for inpatients; outpatient pooling at the
village 60 %, 30 per visit, 300 a year and at the township 50 % after 10 per visit, 60 per visit, 400
a year (one accumulator); 大病 from 15,000 of the year's eligible self-pay: 0–50,000 at 60 %,
50,000–150,000 at 70 %, above at 80 %, cap 300,000; 医疗救助 特困 100 %, 低保 70 % above 400 a year.
``ec`` is the example city of DOMAIN.md §5 (county ``*``), used where no county policy is in force.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from yigongti.insurance import services
from yigongti.insurance.models import Accumulator, PolicyVersion, Settlement

D = Decimal


def settle(actor: Any, encounter: Any, **options: Any) -> Settlement:
    """Settle ``encounter`` (a new settlement) and check that its layers add up to the total."""
    options.setdefault("key", f"test-{encounter.pk}")
    settlement, created = services.settle(actor, encounter.pk, **options)
    assert created
    assert settlement.basic + settlement.catastrophic + settlement.aid + settlement.patient == settlement.total
    return settlement


def layers(s: Settlement) -> tuple[Decimal, ...]:
    """(total, eligible, basic, 大病, aid, patient) as stored."""
    s.refresh_from_db()
    return s.total, s.eligible, s.basic, s.catastrophic, s.aid, s.patient


def rules(s: Settlement) -> list[str]:
    return [line["rule"] for line in s.lines]


def accumulator(resident: Any, year: int = 2026) -> Accumulator:
    return Accumulator.objects.get(resident=resident, year=year)


def enrolled(ins: Any, year: int = 2026, category: str = "", village: Any = None) -> Any:
    household, (person,) = ins.household(village)
    ins.enrol(household, year, members={person.pk: category})
    return person


# ---------------------------------------------------------------- inpatient stays


def test_county_hospital_stay(ins: Any) -> None:
    """yx26 二级 stay of 10,000 drugs: deductible 400; (10,000 − 400) × 80 % = 7,680 from the basic
    fund; the patient 2,320 (counted toward 大病's 15,000: nothing paid)."""
    person = enrolled(ins)
    s = settle(ins.county.clinician, ins.stay(person))
    assert layers(s) == (D(10000), D(10000), D(7680), D(0), D(0), D(2320))
    assert (s.policy, s.level, s.year, s.in_county, s.covered) == ("yunxi-county-2026", "county", 2026, True, True)
    assert s.institution == ins.county.hospital and s.number.startswith("JS2026")
    acc = accumulator(person)
    assert (acc.basic_paid, acc.catastrophic_base, acc.settlements) == (D(7680), D(2320), 1)


def test_township_stay(ins: Any) -> None:
    """yx26 一级 stay at the township centre, 3,000 drugs + 500 lab = 3,500: deductible 100;
    3,400 × 90 % = 3,060; the patient 440. Settled by the centre's director."""
    person = enrolled(ins)
    stay = ins.stay(person, user=ins.county.director, costs={"drugs_western": "3000", "lab": "500"})
    s = settle(ins.county.director, stay)
    assert layers(s) == (D(3500), D(3500), D(3060), D(0), D(0), D(440))
    assert s.level == "township" and s.institution == ins.county.centres[0]
    assert "起付线（一级医院）100.00 元，由个人负担" in [line["zh"] for line in s.lines]


def test_out_of_county_stay(ins: Any) -> None:
    """yx26 stay outside the county (no county institution: in_county False), 20,000 drugs: the
    out-of-county deductible 1,200; 18,800 × 55 % = 10,340; the patient 9,660. Only the insurance
    office settles it (手工报销)."""
    person = enrolled(ins)
    stay = ins.stay(person, costs={"drugs_western": "20000"}, outside_institution="贵州省人民医院")
    assert stay.institution is None and not stay.in_county
    s = settle(ins.office, stay)
    assert layers(s) == (D(20000), D(20000), D(10340), D(0), D(0), D(9660))
    assert not s.in_county and s.institution is None
    assert "起付线（县外医院）1,200.00 元，由个人负担" in [line["zh"] for line in s.lines]


def test_materials_self_pay_share(ins: Any) -> None:
    """yx26 二级 stay, 5,000 drugs + 2,000 materials: materials 2,000 × 15 % = 300 self-paid first;
    eligible 6,700; (6,700 − 400) × 80 % = 5,040; the patient 7,000 − 5,040 = 1,960."""
    person = enrolled(ins)
    s = settle(ins.county.clinician, ins.stay(person, costs={"drugs_western": "5000", "materials": "2000"}))
    assert layers(s) == (D(7000), D(6700), D(5040), D(0), D(0), D(1960))
    assert s.category_share == D(300)
    assert "catalogue.self_pay_share" in rules(s)


def test_registration_is_excluded_for_inpatients(ins: Any) -> None:
    """yx26 二级 stay, 5,000 drugs + 50 registration: registration not paid for a stay (50 self-paid);
    eligible 5,000; (5,000 − 400) × 80 % = 3,680; the patient 5,050 − 3,680 = 1,370."""
    person = enrolled(ins)
    s = settle(ins.county.clinician, ins.stay(person, costs={"drugs_western": "5000", "registration": "50"}))
    assert layers(s) == (D(5050), D(5000), D(3680), D(0), D(0), D(1370))
    assert s.excluded == D(50)
    assert "catalogue.excluded" in rules(s)


def test_outside_the_catalogue_given_at_settlement(ins: Any) -> None:
    """yx26 二级 stay of 6,000 drugs of which the settling clerk marks 1,000 目录外: 1,000 self-paid;
    eligible 5,000; (5,000 − 400) × 80 % = 3,680; the patient 6,000 − 3,680 = 2,320."""
    person = enrolled(ins)
    stay = ins.stay(person, costs={"drugs_western": "6000"})
    s = settle(ins.county.clinician, stay, outside_catalogue={"drugs_western": "1000"})
    assert layers(s) == (D(6000), D(5000), D(3680), D(0), D(0), D(2320))
    assert s.outside_catalogue == D(1000)
    assert s.costs == {"costs": {"drugs_western": "5000.00"}, "outside_catalogue": {"drugs_western": "1000.00"}}


def test_catastrophic_layer_crossing_its_threshold_over_two_stays(ins: Any) -> None:
    """yx26, two 二级 stays of one person in one year.

    Stay 1, 60,000: (60,000 − 400) × 80 % = 47,680; the patient bears 12,320, the year's 大病 base
    12,320 < 15,000: nothing. Stay 2, 30,000: (30,000 − 400) × 80 % = 23,680; bears 6,320, the base
    18,640, 3,640 above the threshold × 60 % = 2,184 from 大病; the patient 6,320 − 2,184 = 4,136."""
    person = enrolled(ins)
    first = settle(ins.county.clinician, ins.stay(person, costs={"drugs_western": "60000"}))
    assert layers(first) == (D(60000), D(60000), D(47680), D(0), D(0), D(12320))
    second = settle(ins.county.clinician, ins.stay(person, costs={"drugs_western": "30000"},
                                                   start=dt.date(2026, 5, 4)))
    assert layers(second) == (D(30000), D(30000), D(23680), D(2184), D(0), D(4136))
    assert second.ytd_before["catastrophic_base"] == "12320.00"
    acc = accumulator(person)
    assert (acc.basic_paid, acc.catastrophic_base, acc.catastrophic_paid, acc.settlements) == (
        D(71360), D(18640), D(2184), 2)


def test_annual_cap_of_the_basic_fund(ins: Any) -> None:
    """yx26 cap 300,000.

    Stay 1, 380,000: (380,000 − 400) × 80 % = 303,680, capped at 300,000; the patient bears 80,000:
    大病 base 80,000, 65,000 above the threshold: 50,000 × 60 % = 30,000 + 15,000 × 70 % = 10,500,
    40,500; the patient 39,500. Stay 2, 10,000: the basic fund has nothing left (0); bears 10,000,
    all above the threshold in the 70 % tier: 7,000 from 大病; the patient 3,000."""
    person = enrolled(ins)
    first = settle(ins.county.clinician, ins.stay(person, costs={"drugs_western": "380000"}))
    assert layers(first) == (D(380000), D(380000), D(300000), D(40500), D(0), D(39500))
    assert "inpatient.annual_cap" in rules(first)
    second = settle(ins.county.clinician, ins.stay(person, start=dt.date(2026, 6, 1)))
    assert layers(second) == (D(10000), D(10000), D(0), D(7000), D(0), D(3000))
    assert accumulator(person).basic_paid == D(300000)


def test_medical_aid_for_tekun_and_dibao(ins: Any) -> None:
    """yx26 二级 stay of 10,000 each: basic (10,000 − 400) × 80 % = 7,680, the patient bears 2,320.

    特困 (wubao): aid 100 %, no deductible → 2,320; the patient 0.
    低保 (dibao): aid 70 % above 400 a year → (2,320 − 400) × 70 % = 1,344; the patient 976."""
    wubao = enrolled(ins, category="wubao")
    s = settle(ins.county.clinician, ins.stay(wubao))
    assert layers(s) == (D(10000), D(10000), D(7680), D(0), D(2320), D(0))
    assert s.aid_category == "wubao"
    dibao = enrolled(ins, category="dibao")
    s = settle(ins.county.clinician, ins.stay(dibao))
    assert layers(s) == (D(10000), D(10000), D(7680), D(0), D(1344), D(976))
    assert "aid.deductible" in rules(s)
    assert (accumulator(dibao).aid_base, accumulator(dibao).aid_paid) == (D(2320), D(1344))


def test_policy_of_the_discharge_year(ins: Any) -> None:
    """The same 二级 stay of 330,000 in 2025 and in 2026, one person enrolled in both years.

    2025 (yx25, cap 250,000): (330,000 − 400) × 80 % = 263,680 → 250,000; bears 80,000, 大病
    30,000 + 10,500 = 40,500; the patient 39,500.
    2026 (yx26, cap 300,000): 263,680 (under the cap); bears 66,320, 51,320 above the threshold:
    50,000 × 60 % = 30,000 + 1,320 × 70 % = 924 → 30,924; the patient 35,396.
    Each year has its own accumulator."""
    household, (person,) = ins.household()
    ins.enrol(household, 2025)
    ins.enrol(household, 2026)
    costs = {"drugs_western": "330000"}
    old = settle(ins.county.clinician, ins.stay(person, costs=costs, start=dt.date(2025, 9, 1)))
    assert (old.policy, old.year) == ("yunxi-county-2025", 2025)
    assert layers(old) == (D(330000), D(330000), D(250000), D(40500), D(0), D(39500))
    new = settle(ins.county.clinician, ins.stay(person, costs=costs, start=dt.date(2026, 9, 1)))
    assert (new.policy, new.year) == ("yunxi-county-2026", 2026)
    assert layers(new) == (D(330000), D(330000), D(263680), D(30924), D(0), D(35396))
    assert accumulator(person, 2025).basic_paid == D(250000)
    assert accumulator(person, 2026).basic_paid == D(263680)


def test_a_stay_over_new_year_takes_the_discharge_days_year(ins: Any) -> None:
    """Admitted 2025-12-28, discharged 2026-01-04: year 2026, policy yx26, the 2026 coverage.

    Enrolled for 2025 only → not covered in 2026: self-pay 10,000 with the reason. Enrolled for 2026
    too → (10,000 − 400) × 80 % = 7,680 on the 2026 accumulator; the 2025 one untouched."""
    household, (person,) = ins.household()
    ins.enrol(household, 2025)
    stay = ins.stay(person, start=dt.date(2025, 12, 28), days=7)
    s = settle(ins.county.clinician, stay)
    assert (s.year, s.service_date, s.policy, s.covered) == (2026, dt.date(2026, 1, 4), "yunxi-county-2026", False)
    assert layers(s) == (D(10000), D(0), D(0), D(0), D(0), D(10000))
    assert "2026 年度未参加城乡居民医保" in s.reason
    services.reverse(ins.county.clinician, s.pk, reason="补办 2026 年参保后重新结算")
    ins.enrol(household, 2026)
    s = settle(ins.county.clinician, stay, key="after-enrolment")
    assert (s.year, s.policy, s.covered) == (2026, "yunxi-county-2026", True)
    assert layers(s) == (D(10000), D(10000), D(7680), D(0), D(0), D(2320))
    assert accumulator(person, 2026).basic_paid == D(7680)
    assert accumulator(person, 2025).basic_paid == D(0)


def test_example_city_policy_where_no_county_policy_is_in_force(ins: Any) -> None:
    """With the county's own policies withdrawn, the example city's (county ``*``) applies: enrolment
    380 + subsidy 640; 一级 stay of 3,000: deductible 200, 2,800 × 95 % = 2,660; the patient 340."""
    PolicyVersion.objects.filter(county="522399").delete()
    household, (person,) = ins.household()
    enrolment = ins.enrol(household)
    assert (enrolment.policy, enrolment.contribution, enrolment.subsidy) == ("example-city", D(380), D(640))
    stay = ins.stay(person, user=ins.county.director, costs={"drugs_western": "3000"})
    s = settle(ins.county.director, stay)
    assert s.policy == "example-city"
    assert layers(s) == (D(3000), D(3000), D(2660), D(0), D(0), D(340))


# ---------------------------------------------------------------- outpatient visits


def test_village_outpatient_per_visit_cap(ins: Any) -> None:
    """yx26 village clinic visit of 80 drugs: 80 × 60 % = 48, capped at 30 per visit; the patient 50.
    The village doctor settles the clinic's visit at the desk."""
    person = enrolled(ins)
    s = settle(ins.county.village_doctor, ins.visit(person, costs={"drugs_western": "80"}))
    assert layers(s) == (D(80), D(80), D(30), D(0), D(0), D(50))
    assert s.level == "village" and s.encounter_kind == "outpatient"
    assert "outpatient.per_visit_cap" in rules(s)
    assert accumulator(person).outpatient_paid == D(30)


def test_township_outpatient_with_a_deductible_per_visit(ins: Any) -> None:
    """yx26 township centre visit, 100 drugs + 20 materials: materials 20 × 15 % = 3 self-paid,
    eligible 117; deductible 10 per visit; 107 × 50 % = 53.50 (under 60); the patient 66.50."""
    person = enrolled(ins)
    visit = ins.visit(person, user=ins.county.director, costs={"drugs_western": "100", "materials": "20"})
    s = settle(ins.county.director, visit)
    assert layers(s) == (D(120), D(117), D("53.50"), D(0), D(0), D("66.50"))
    assert "outpatient.deductible" in rules(s)


def test_outpatient_year_cap_reached_over_several_visits(ins: Any) -> None:
    """yx26 township visits of 200 drugs: (200 − 10) × 50 % = 95 → 60 per visit. Six visits: 360 of the
    year's 400. The 7th: 60 wanted, 40 left → 40 (the year's total 400). Then a village visit of 80
    (30 wanted): the village year cap is 300 and the shared accumulator holds 400 → 0; the patient 80."""
    person = enrolled(ins)
    paid = []
    for day in range(1, 8):
        visit = ins.visit(person, user=ins.county.director, costs={"drugs_western": "200"},
                          start=dt.date(2026, 4, day))
        paid.append(settle(ins.county.director, visit).basic)
    assert paid == [D(60)] * 6 + [D(40)]
    assert accumulator(person).outpatient_paid == D(400)
    s = settle(ins.office, ins.visit(person, costs={"drugs_western": "80"}, start=dt.date(2026, 4, 9)))
    assert layers(s) == (D(80), D(80), D(0), D(0), D(0), D(80))
    assert "outpatient.year_cap" in rules(s)
    acc = accumulator(person)
    assert (acc.outpatient_paid, acc.settlements) == (D(400), 8)


@pytest.mark.parametrize("actor", ["clinician", "office"])
def test_each_settlement_writes_its_audit_entry(ins: Any, actor: str) -> None:
    from yigongti.core.models import AuditEntry

    person = enrolled(ins)
    user = ins.county.clinician if actor == "clinician" else ins.office
    s = settle(user, ins.stay(person))
    entry = AuditEntry.objects.get(object_type="insurance.settlement", object_id=str(s.pk), action="create")
    assert entry.username == user.username
    assert entry.detail == {"number": s.number, "encounter": s.encounter_id, "total": "10000.00",
                            "fund": "7680.00", "patient": "2320.00"}


# ---------------------------------------------------------------- bad input: clear errors, nothing written


def written() -> tuple[int, ...]:
    from yigongti.core.models import AuditEntry
    from yigongti.insurance.models import LedgerEntry

    return (Settlement.objects.count(), LedgerEntry.objects.count(),
            AuditEntry.objects.filter(object_type="insurance.settlement").count(),
            sum(Accumulator.objects.values_list("settlements", flat=True)))


def test_an_uncovered_person_pays_everything_with_the_reason_shown(ins: Any) -> None:
    """Not enrolled for 2026: a settlement all the same — covered False, the funds 0, the patient the
    whole 10,000, the reason on the slip and in the explanation; no accumulator is made."""
    _household, (person,) = ins.household()
    s = settle(ins.county.clinician, ins.stay(person))
    assert not s.covered and s.fund == 0
    assert layers(s) == (D(10000), D(0), D(0), D(0), D(0), D(10000))
    assert s.reason == "2026 年度未参加城乡居民医保"
    assert rules(s) == ["costs.total", "coverage.uncovered", "fund.total", "patient"]
    assert "未参保（2026 年度未参加城乡居民医保）" in s.lines[1]["zh"]
    assert not Accumulator.objects.filter(resident=person).exists()
    assert services.ledger_check().ok


def test_a_visit_outside_the_coverage_period_is_self_paid(ins: Any) -> None:
    household, (person,) = ins.household()
    ins.enrol(household)
    from yigongti.insurance.models import Coverage

    Coverage.objects.filter(resident=person).update(valid_from=dt.date(2026, 7, 1))  # 待遇 from July (等待期)
    s = settle(ins.county.clinician, ins.stay(person, start=dt.date(2026, 3, 2)))
    assert not s.covered and s.patient == D(10000)
    assert s.reason == "就诊日期不在待遇期内（2026-07-01 至 2027-01-01）"


def test_a_negative_cost_is_refused_naming_its_category(ins: Any) -> None:
    """care refuses a negative amount, so the row is written directly (a faulty import, say)."""
    from yigongti.care.models import EncounterCost
    from yigongti.insurance.errors import NotSettleable

    stay = ins.stay(enrolled(ins))
    EncounterCost.objects.create(encounter=stay, category="lab", amount=D("-20.00"))
    before = written()
    with pytest.raises(NotSettleable) as caught:
        services.settle(ins.county.clinician, stay.pk, key="neg")
    assert caught.value.params["field"] == "costs.lab"
    assert "不能为负数" in str(caught.value) and "-20.00" in str(caught.value)
    assert written() == before


@pytest.mark.parametrize(("outside", "field", "reason"), [
    ({"drugs_western": "10000.01"}, "outside_catalogue.drugs_western", "超过该类费用"),
    ({"lab": "1"}, "outside_catalogue.lab", "超过该类费用"),  # no lab cost at all
    ({"acupuncture": "1"}, "outside_catalogue.acupuncture", "未知的费用类别"),
    ({"drugs_western": "-1"}, "outside_catalogue.drugs_western", "负数"),
    ({"drugs_western": "abc"}, "outside_catalogue.drugs_western", "应为数字"),
])
def test_bad_outside_catalogue_amounts_are_refused(ins: Any, outside: dict[str, str], field: str,
                                                   reason: str) -> None:
    from yigongti.insurance.errors import NotSettleable

    stay = ins.stay(enrolled(ins))
    before = written()
    with pytest.raises(NotSettleable) as caught:
        services.settle(ins.county.clinician, stay.pk, key="outside", outside_catalogue=outside)
    assert caught.value.params["field"] == field and reason in str(caught.value)
    assert written() == before


def test_an_inpatient_not_yet_discharged_is_refused(ins: Any) -> None:
    from tests.factories.care import encounter as record_encounter
    from yigongti.insurance.errors import NotSettleable

    person = enrolled(ins)
    stay = record_encounter(ins.county.clinician, person, kind="inpatient", start_date=dt.date(2026, 11, 1),
                            costs={"drugs_western": D(3000)})
    before = written()
    with pytest.raises(NotSettleable) as caught:
        services.settle(ins.county.clinician, stay.pk, key="early")
    assert caught.value.params["field"] == "end_date" and "尚未出院" in str(caught.value)
    assert written() == before


def test_a_second_settlement_returns_the_first(ins: Any) -> None:
    stay = ins.stay(enrolled(ins))
    first = settle(ins.county.clinician, stay, key="one")
    before = written()
    for user, key in ((ins.county.clinician, "two"), (ins.office, "three"), (ins.county.clinician, "one")):
        again, created = services.settle(user, stay.pk, key=key)
        assert (again.pk, created) == (first.pk, False)
    assert written() == before


def test_the_same_key_on_another_encounter_is_refused(ins: Any) -> None:
    from yigongti.insurance.errors import IdempotencyKeyReused

    person = enrolled(ins)
    first = settle(ins.county.clinician, ins.stay(person), key="K-1")
    other = ins.stay(person, start=dt.date(2026, 4, 1))
    before = written()
    with pytest.raises(IdempotencyKeyReused) as caught:
        services.settle(ins.county.clinician, other.pk, key="K-1")
    assert first.number in str(caught.value) and "K-1" in str(caught.value)
    assert written() == before


@pytest.mark.parametrize("key", ["", "   ", "k" * 101])
def test_a_missing_or_overlong_key_is_refused(ins: Any, key: str) -> None:
    from yigongti.core.errors import ValidationFailed

    stay = ins.stay(enrolled(ins))
    with pytest.raises(ValidationFailed) as caught:
        services.settle(ins.county.clinician, stay.pk, key=key)
    assert caught.value.params["field"] == "idempotency_key"


def test_the_longest_key_settles_and_the_placeholder_number_fits_its_column(ins: Any) -> None:
    """The number is a placeholder until the row has its id: it must fit ``number`` whatever the key and
    the encounter id (PostgreSQL refused ``tmp-<key>-<encounter>`` once the ids had six digits)."""
    width = Settlement._meta.get_field("number").max_length
    placeholders = {services.provisional_number() for _ in range(1000)}
    assert len(placeholders) == 1000 and max(map(len, placeholders)) <= width
    stay = ins.stay(enrolled(ins))
    settlement = settle(ins.county.clinician, stay, key="k" * 100)
    assert settlement.number == f"JS2026{settlement.pk:08d}"
    reversal = services.reverse(ins.county.clinician, settlement.pk, reason="测试")
    assert reversal.number == f"CX2026{reversal.pk:08d}"


def test_no_policy_in_force(ins: Any) -> None:
    from yigongti.insurance.errors import NoPolicy

    stay = ins.stay(enrolled(ins))
    PolicyVersion.objects.all().delete()
    before = written()
    with pytest.raises(NoPolicy) as caught:
        services.settle(ins.county.clinician, stay.pk, key="none")
    assert "2026-03-07" in str(caught.value) and "522399" in str(caught.value)
    assert written() == before


def test_who_may_settle(ins: Any) -> None:
    """The township director sees the patient (his township) but the stay is the county hospital's:
    denied. The other township's director does not see it at all. The insurance office settles it."""
    from yigongti.core.errors import NotFound, PermissionDenied

    stay = ins.stay(enrolled(ins))
    before = written()
    with pytest.raises(PermissionDenied):
        services.settle(ins.county.director, stay.pk, key="d1")
    with pytest.raises(NotFound):
        services.settle(ins.county.other_director, stay.pk, key="d2")
    with pytest.raises(PermissionDenied):
        services.settle(ins.county.commission, stay.pk, key="d3")
    assert written() == before
    s = settle(ins.office, stay, key="office")
    assert s.settled_by == ins.office and s.basic == D(7680)
