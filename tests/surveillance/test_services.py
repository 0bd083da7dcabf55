"""The card services (:mod:`yigongti.surveillance.services`) on both databases: the deadline clock,
every bad input of the issue, duplicates and their merge, and the review state machine with its
history (a :class:`CardEvent` and an audit entry for every change, neither for a refused one).

Today is frozen at 2026-06-15; the cards are diagnosed on DAY = 2026-06-10 (in the past, so that
no time of day of the real clock makes them "future").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories.accounts import UserFactory
from tests.factories.residents import ResidentFactory
from tests.surveillance.conftest import SurvCounty, at
from yigongti.accounts.models import Role
from yigongti.core.errors import NotFound, ValidationFailed
from yigongti.core.models import AuditAction, AuditEntry
from yigongti.surveillance.choices import CardAction, CardStatus
from yigongti.surveillance.errors import (
    CardInvalid,
    DuplicateCard,
    IllegalReview,
    NotNotifiable,
    NotReviewer,
    ReasonRequired,
)
from yigongti.surveillance.models import CardEvent, CaseCard, Disease
from yigongti.surveillance.services import card_accept, card_correct, card_delete, card_return, card_revise

DAY = dt.date(2026, 6, 10)
H = dt.timedelta(hours=1)


def history(card: CaseCard) -> list[str]:
    return list(CardEvent.objects.filter(card=card).order_by("at", "pk").values_list("action", flat=True))


def audits(card: CaseCard) -> list[str]:
    return list(AuditEntry.objects.filter(object_type="surveillance.casecard", object_id=str(card.pk))
                .order_by("id").values_list("action", flat=True))


def written() -> tuple[int, int, int]:
    return CaseCard.objects.count(), CardEvent.objects.count(), AuditEntry.objects.count()


# ---------------------------------------------------------------- the deadline clock


def test_an_hfmd_card_reported_exactly_24_hours_after_diagnosis_is_on_time(surv: SurvCounty) -> None:
    card = surv.report(diagnosed=at(DAY, 9), reported=at(DAY + dt.timedelta(days=1), 9))
    assert card.disease.code == "hfmd" and card.disease.deadline_hours == 24
    assert card.deadline_at == at(DAY + dt.timedelta(days=1), 9)
    assert card.on_time and card.delay_hours == 24
    assert card.status == CardStatus.REPORTED
    assert card.card_no == f"20260611{card.pk:08d}"


def test_an_hfmd_card_reported_a_minute_after_the_deadline_is_late(surv: SurvCounty) -> None:
    card = surv.report(diagnosed=at(DAY, 9), reported=at(DAY + dt.timedelta(days=1), 9, 1))
    assert not card.on_time


def test_cholera_has_a_deadline_of_two_hours(surv: SurvCounty) -> None:
    """霍乱 A00 (甲类): 2 h. 09:00 → 11:00 on time; another patient 09:00 → 11:01 late."""
    on_time = surv.report(icd10="A00.1", diagnosed=at(DAY, 9), reported=at(DAY, 11))
    assert on_time.disease.code == "cholera" and on_time.deadline_at == at(DAY, 11) and on_time.on_time
    late = surv.report(icd10="A00", diagnosed=at(DAY, 9), reported=at(DAY, 11, 1), patient_name="李四",
                       address="外县某村")
    assert not late.on_time


def test_a_card_for_a_resident_takes_the_patient_and_address_from_the_record(surv: SurvCounty) -> None:
    card = surv.report(diagnosed=at(DAY, 9))
    assert card.resident == surv.resident
    assert card.patient_name == surv.resident.name and card.id_number == surv.resident.id_number
    assert card.division == surv.village_a and card.township == surv.townships[0]
    assert card.path == surv.village_a.path and card.institution_path == surv.clinic_a.path
    assert history(card) == [CardAction.REPORT]
    assert audits(card) == [AuditAction.CREATE]


# ---------------------------------------------------------------- bad input


def test_a_diagnosis_that_is_not_notifiable_is_refused(surv: SurvCounty) -> None:
    before = written()
    with pytest.raises(NotNotifiable) as caught:
        surv.report(icd10="I10", diagnosed=at(DAY, 9))
    assert "I10" in str(caught.value) and caught.value.params["field"] == "icd10"
    assert written() == before


def test_an_onset_after_the_diagnosis_is_refused(surv: SurvCounty) -> None:
    with pytest.raises(CardInvalid) as caught:
        surv.report(diagnosed=at(DAY, 9), onset=DAY + dt.timedelta(days=1))
    assert caught.value.params["field"] == "onset_date" and "2026-06-11" in str(caught.value)
    assert not CaseCard.objects.exists()


@pytest.mark.parametrize(("field", "change"), [
    ("onset_date", {"onset": dt.date(2026, 6, 16)}),
    # noon tomorrow: in the future whatever the real clock's time of day ("now" is today at that time)
    ("diagnosed_at", {"diagnosed": at(dt.date(2026, 6, 16), 12), "onset": DAY}),
    ("reported_at", {"diagnosed": at(DAY, 9), "reported": at(dt.date(2026, 6, 16), 12)}),
])
def test_a_date_in_the_future_is_refused(surv: SurvCounty, field: str, change: dict[str, Any]) -> None:
    with pytest.raises(CardInvalid) as caught:
        surv.report(**change)
    assert caught.value.params["field"] == field
    assert not CaseCard.objects.exists()


def test_a_report_before_the_diagnosis_is_refused(surv: SurvCounty) -> None:
    with pytest.raises(CardInvalid) as caught:
        surv.report(diagnosed=at(DAY, 9), reported=at(DAY, 8))
    assert caught.value.params["field"] == "reported_at"


def test_a_disease_that_does_not_match_the_code_is_refused(surv: SurvCounty) -> None:
    measles = Disease.objects.get(code="measles")
    with pytest.raises(CardInvalid) as caught:
        surv.report(icd10="B08.4", disease=measles, diagnosed=at(DAY, 9))
    assert caught.value.params["field"] == "icd10" and "麻疹" in str(caught.value)


def test_a_disease_chosen_by_hand_needs_no_code(surv: SurvCounty) -> None:
    """人感染H7N9禽流感 has no ICD-10 code of its own: it is chosen by hand."""
    card = surv.report(icd10="", disease=Disease.objects.get(code="h7n9"), diagnosed=at(DAY, 9))
    assert card.disease.code == "h7n9" and card.icd10 == ""


def test_a_non_resident_needs_a_name(surv: SurvCounty) -> None:
    with pytest.raises(CardInvalid) as caught:
        surv.report(resident=None, patient_name=" ", address="外县某村", diagnosed=at(DAY, 9))
    assert caught.value.params["field"] == "patient_name"


def test_a_non_resident_needs_an_address(surv: SurvCounty) -> None:
    with pytest.raises(CardInvalid) as caught:
        surv.report(patient_name="过客", diagnosed=at(DAY, 9))
    assert caught.value.params["field"] == "address"


def test_a_non_resident_from_outside_the_county_has_no_division(surv: SurvCounty) -> None:
    card = surv.report(patient_name="过客", address="邻县某镇某村", diagnosed=at(DAY, 9))
    assert card.resident is None and card.division is None and card.township is None and card.path == ""


def test_a_non_resident_living_in_a_village_of_the_county_counts_for_its_township(surv: SurvCounty) -> None:
    card = surv.report(patient_name="租户", division=surv.village_c, diagnosed=at(DAY, 9))
    assert card.township == surv.townships[1] and card.path == surv.village_c.path


def test_a_resident_outside_the_reporters_scope_is_not_found(surv: SurvCounty) -> None:
    """The village A doctor cannot see a resident of village C: "not found", never "forbidden"."""
    stranger = ResidentFactory(village=surv.village_c)
    with pytest.raises(NotFound) as caught:
        surv.report(resident=stranger, diagnosed=at(DAY, 9))
    assert caught.value.status == 404
    assert not CaseCard.objects.exists()


def test_a_user_cannot_report_for_another_institution(surv: SurvCounty) -> None:
    with pytest.raises(NotReviewer):
        surv.report(institution=surv.clinic_c, patient_name="过客", address="某村", diagnosed=at(DAY, 9))


# ---------------------------------------------------------------- duplicates


def test_a_second_card_within_the_episode_is_a_duplicate_naming_the_first(surv: SurvCounty) -> None:
    """HFMD: episode 30 days. A card diagnosed 06-10, another 06-12 for the same resident."""
    first = surv.report(diagnosed=at(DAY, 9), diagnosis_type="suspected")
    before = written()
    with pytest.raises(DuplicateCard) as caught:
        surv.report(diagnosed=at(DAY + dt.timedelta(days=2), 9))
    assert caught.value.params["card_id"] == first.pk
    assert first.card_no in str(caught.value) and "30" in str(caught.value)
    assert caught.value.status == 409
    assert written() == before


def test_a_duplicate_merged_into_the_first_card_revises_it_and_files_nothing_new(surv: SurvCounty) -> None:
    """The new report (confirmed, onset a day earlier, diagnosed two days later) merged: the card
    becomes 确诊 with the earlier onset; its diagnosis and report times — its deadline clock — stay."""
    first = surv.report(diagnosed=at(DAY, 9), onset=DAY, diagnosis_type="suspected")
    cards = CaseCard.objects.count()
    merged = surv.report(diagnosed=at(DAY + dt.timedelta(days=2), 9), onset=DAY - dt.timedelta(days=1),
                         diagnosis_type="confirmed", merge_into=first.pk)
    assert merged.pk == first.pk and CaseCard.objects.count() == cards
    merged.refresh_from_db()
    assert merged.diagnosis_type == "confirmed" and merged.onset_date == DAY - dt.timedelta(days=1)
    assert merged.diagnosed_at == at(DAY, 9) and merged.reported_at == at(DAY, 10)
    assert merged.on_time and merged.deadline_at == at(DAY + dt.timedelta(days=1), 9)
    assert history(merged) == [CardAction.REPORT, CardAction.MERGE]
    event = CardEvent.objects.get(card=merged, action=CardAction.MERGE)
    assert event.changes["diagnosis_type"] == ["suspected", "confirmed"]
    assert audits(merged) == [AuditAction.CREATE, AuditAction.UPDATE]


def test_merging_into_another_card_than_the_duplicate_is_refused(surv: SurvCounty) -> None:
    first = surv.report(diagnosed=at(DAY, 9))
    with pytest.raises(DuplicateCard):
        surv.report(diagnosed=at(DAY + dt.timedelta(days=1), 9), merge_into=first.pk + 1000)


def test_a_card_after_the_episode_is_a_new_card(surv: SurvCounty) -> None:
    first = surv.report(diagnosed=at(dt.date(2026, 5, 10), 9))
    second = surv.report(diagnosed=at(DAY, 9))  # 31 days later
    assert second.pk != first.pk and CaseCard.objects.count() == 2


def test_a_deleted_card_is_not_a_duplicate(surv: SurvCounty) -> None:
    first = surv.report(diagnosed=at(DAY, 9))
    card_delete(user=surv.cdc_user, card=first, reason="误报")
    second = surv.report(diagnosed=at(DAY, 11), reported=at(DAY, 12))
    assert second.pk != first.pk


def test_another_disease_of_the_same_patient_is_not_a_duplicate(surv: SurvCounty) -> None:
    surv.report(diagnosed=at(DAY, 9))
    assert surv.report(icd10="B05", diagnosed=at(DAY, 9)).disease.code == "measles"


def test_a_non_resident_duplicate_is_found_by_name_and_identity(surv: SurvCounty) -> None:
    first = surv.report(patient_name="过客", birth_date=dt.date(2020, 1, 1), address="邻县",
                        diagnosed=at(DAY, 9))
    with pytest.raises(DuplicateCard) as caught:
        surv.report(patient_name="过客", birth_date=dt.date(2020, 1, 1), address="邻县",
                    diagnosed=at(DAY, 11), reported=at(DAY, 12))
    assert caught.value.params["card_id"] == first.pk
    other = surv.report(patient_name="过客", birth_date=dt.date(2019, 1, 1), address="邻县",
                        diagnosed=at(DAY, 11), reported=at(DAY, 12))
    assert other.pk != first.pk


# ---------------------------------------------------------------- review


@pytest.fixture
def card(surv: SurvCounty) -> CaseCard:
    return surv.report(diagnosed=at(DAY, 9))


def test_the_township_director_checks_a_card_first(surv: SurvCounty, card: CaseCard) -> None:
    checked = card_accept(user=surv.director, card=card)
    assert checked.status == CardStatus.TOWNSHIP_CHECKED and checked.township_checked_at is not None
    assert checked.reviewed_at is None
    assert history(checked) == [CardAction.REPORT, CardAction.TOWNSHIP_ACCEPT]


def test_the_cdc_accepts_a_card_the_township_checked(surv: SurvCounty, card: CaseCard) -> None:
    card_accept(user=surv.director, card=card)
    accepted = card_accept(user=surv.cdc_user, card=card)
    assert accepted.status == CardStatus.ACCEPTED and accepted.reviewed_at is not None
    assert history(accepted)[-1] == CardAction.ACCEPT


def test_the_cdc_may_accept_a_card_the_township_has_not_checked(surv: SurvCounty, card: CaseCard) -> None:
    assert card_accept(user=surv.cdc_user, card=card).status == CardStatus.ACCEPTED


def test_the_township_cannot_accept_twice_nor_after_the_cdc(surv: SurvCounty, card: CaseCard) -> None:
    card_accept(user=surv.director, card=card)
    with pytest.raises(IllegalReview):
        card_accept(user=surv.director, card=card)
    card_accept(user=surv.cdc_user, card=card)
    with pytest.raises(IllegalReview):
        card_accept(user=surv.cdc_user, card=card)


def test_the_director_of_another_township_is_not_a_reviewer(surv: SurvCounty, card: CaseCard) -> None:
    before = written()
    with pytest.raises(NotReviewer) as caught:
        card_accept(user=surv.other_director, card=card)
    assert caught.value.status == 403
    assert written() == before
    card.refresh_from_db()
    assert card.status == CardStatus.REPORTED


@pytest.mark.parametrize("who", ["village_doctor", "clinician", "commission"])
def test_village_doctors_and_others_cannot_review(surv: SurvCounty, card: CaseCard, who: str) -> None:
    user = getattr(surv, who)
    for review in (lambda: card_accept(user=user, card=card),
                   lambda: card_return(user=user, card=card, reason="请核实"),
                   lambda: card_delete(user=user, card=card, reason="重卡")):
        with pytest.raises(NotReviewer):
            review()


def test_township_staff_of_the_patients_township_may_review(surv: SurvCounty) -> None:
    """A card filed by the county hospital for a resident of township 1: township 1's staff check it
    (the address at onset is theirs), township 2's may not."""
    card = surv.report(user=surv.clinician, institution=surv.hospital, diagnosed=at(DAY, 9))
    staff = UserFactory(username="gongwei", role=Role.TOWNSHIP_STAFF, institution=surv.centres[0],
                        entry_unit=surv.townships[0], view_unit=surv.townships[0])
    assert card_accept(user=staff, card=card).status == CardStatus.TOWNSHIP_CHECKED
    with pytest.raises(NotReviewer):
        card_return(user=surv.other_director, card=card, reason="请核实")


def test_a_return_needs_a_reason(surv: SurvCounty, card: CaseCard) -> None:
    before = written()
    with pytest.raises(ReasonRequired):
        card_return(user=surv.director, card=card, reason="  ")
    assert written() == before
    returned = card_return(user=surv.director, card=card, reason="发病日期有误")
    assert returned.status == CardStatus.RETURNED and returned.return_reason == "发病日期有误"
    assert CardEvent.objects.get(card=card, action=CardAction.RETURN).note == "发病日期有误"


def test_the_reporting_institution_corrects_a_returned_card_back_to_reported(surv: SurvCounty) -> None:
    """A late card (diagnosed 06-10 09:00, reported 06-11 12:00: 27 h > 24 h) returned and corrected
    on a later day: back to 待审核, still late, its report time unchanged."""
    late = surv.report(diagnosed=at(DAY, 9), reported=at(DAY + dt.timedelta(days=1), 12))
    assert not late.on_time
    card_return(user=surv.cdc_user, card=late, reason="电话有误")
    corrected = card_correct(user=surv.village_doctor, card=late, changes={"phone": "13800000000"})
    assert corrected.status == CardStatus.REPORTED
    assert not corrected.on_time and corrected.reported_at == at(DAY + dt.timedelta(days=1), 12)
    event = CardEvent.objects.get(card=late, action=CardAction.CORRECT)
    assert event.changes["phone"][1] == "13800000000"
    assert history(corrected) == [CardAction.REPORT, CardAction.RETURN, CardAction.CORRECT]


def test_an_on_time_card_stays_on_time_when_corrected_days_later(surv: SurvCounty, card: CaseCard) -> None:
    card_return(user=surv.director, card=card, reason="地址不详")
    corrected = card_correct(user=surv.village_doctor, card=card, changes={"address": "村东头"})
    assert corrected.on_time and corrected.reported_at == at(DAY, 10)


def test_a_correction_cannot_put_the_diagnosis_after_the_report(surv: SurvCounty) -> None:
    """Reported 06-11 12:00 (late). A corrected diagnosis time 06-11 13:00 would come after the report
    (and make the late card "on time"): refused."""
    late = surv.report(diagnosed=at(DAY, 9), reported=at(DAY + dt.timedelta(days=1), 12))
    card_return(user=surv.cdc_user, card=late, reason="诊断时间有误")
    with pytest.raises(CardInvalid) as caught:
        card_correct(user=surv.village_doctor, card=late,
                     changes={"diagnosed_at": at(DAY + dt.timedelta(days=1), 13)})
    assert caught.value.params["field"] == "diagnosed_at"
    late.refresh_from_db()
    assert late.status == CardStatus.RETURNED and not late.on_time


def test_a_correction_is_checked_like_a_report(surv: SurvCounty, card: CaseCard) -> None:
    card_return(user=surv.director, card=card, reason="发病日期有误")
    with pytest.raises(CardInvalid):
        card_correct(user=surv.village_doctor, card=card, changes={"onset_date": DAY + dt.timedelta(days=1)})
    with pytest.raises(CardInvalid):
        card_correct(user=surv.village_doctor, card=card, changes={"patient_name": ""})


def test_only_the_reporting_institution_corrects(surv: SurvCounty, card: CaseCard) -> None:
    card_return(user=surv.director, card=card, reason="电话有误")
    with pytest.raises(NotReviewer):
        card_correct(user=surv.other_director, card=card, changes={"phone": "1"})


def test_only_a_returned_card_is_corrected(surv: SurvCounty, card: CaseCard) -> None:
    with pytest.raises(IllegalReview):
        card_correct(user=surv.village_doctor, card=card, changes={"phone": "1"})


def test_a_correction_moving_the_address_moves_the_township(surv: SurvCounty, card: CaseCard) -> None:
    card_return(user=surv.director, card=card, reason="现住址有误")
    corrected = card_correct(user=surv.village_doctor, card=card, changes={"division": surv.village_c})
    assert corrected.township == surv.townships[1] and corrected.path == surv.village_c.path


def test_revising_the_disease_recomputes_the_deadline(surv: SurvCounty) -> None:
    """HFMD reported 3 h after diagnosis: on time (24 h). Revised to cholera (2 h): late."""
    card = surv.report(diagnosed=at(DAY, 9), reported=at(DAY, 12))
    assert card.on_time
    revised = card_revise(user=surv.cdc_user, card=card, disease=Disease.objects.get(code="cholera"),
                          note="实验室确认霍乱弧菌")
    assert revised.disease.code == "cholera" and revised.deadline_at == at(DAY, 11) and not revised.on_time
    event = CardEvent.objects.get(card=card, action=CardAction.REVISE)
    assert event.changes == {"disease": ["hfmd", "cholera"]} and event.note == "实验室确认霍乱弧菌"


def test_revising_the_case_classification(surv: SurvCounty, card: CaseCard) -> None:
    revised = card_revise(user=surv.director, card=card, diagnosis_type="confirmed")
    assert revised.diagnosis_type == "confirmed"
    assert CardEvent.objects.get(card=card, action=CardAction.REVISE).changes == {
        "diagnosis_type": ["clinical", "confirmed"]}


def test_a_revision_that_changes_nothing_is_refused(surv: SurvCounty, card: CaseCard) -> None:
    before = written()
    with pytest.raises(ValidationFailed) as caught:
        card_revise(user=surv.cdc_user, card=card, disease=card.disease)
    assert "相同" in str(caught.value)
    assert written() == before


def test_a_deletion_needs_a_reason(surv: SurvCounty, card: CaseCard) -> None:
    with pytest.raises(ReasonRequired):
        card_delete(user=surv.cdc_user, card=card, reason="")
    card.refresh_from_db()
    assert card.status == CardStatus.REPORTED


def test_a_deleted_duplicate_names_the_card_it_duplicates(surv: SurvCounty, card: CaseCard) -> None:
    other = surv.report(patient_name="王某", address="某村", diagnosed=at(DAY, 9))
    deleted = card_delete(user=surv.cdc_user, card=other, reason="与另一张卡重复", duplicate_of=card)
    assert deleted.status == CardStatus.DELETED and deleted.duplicate_of == card
    assert CardEvent.objects.get(card=other, action=CardAction.DELETE).changes == {
        "duplicate_of": ["", card.card_no]}
    assert audits(other)[-1] == AuditAction.DELETE


def test_a_card_cannot_duplicate_itself(surv: SurvCounty, card: CaseCard) -> None:
    with pytest.raises(CardInvalid):
        card_delete(user=surv.cdc_user, card=card, reason="重卡", duplicate_of=card)


def test_after_deletion_every_action_is_refused(surv: SurvCounty, card: CaseCard) -> None:
    card_delete(user=surv.cdc_user, card=card, reason="重卡")
    before = written()
    cholera = Disease.objects.get(code="cholera")
    for action in (lambda: card_accept(user=surv.cdc_user, card=card),
                   lambda: card_accept(user=surv.director, card=card),
                   lambda: card_return(user=surv.cdc_user, card=card, reason="请核实"),
                   lambda: card_revise(user=surv.cdc_user, card=card, disease=cholera),
                   lambda: card_delete(user=surv.cdc_user, card=card, reason="再删"),
                   lambda: card_correct(user=surv.village_doctor, card=card, changes={"phone": "1"})):
        with pytest.raises(IllegalReview):
            action()
    assert written() == before


# ---------------------------------------------------------------- every change: an event and an audit entry


CHANGES: dict[str, Callable[[SurvCounty, CaseCard], Any]] = {
    "township_accept": lambda s, c: card_accept(user=s.director, card=c),
    "accept": lambda s, c: card_accept(user=s.cdc_user, card=c),
    "return": lambda s, c: card_return(user=s.cdc_user, card=c, reason="请核实"),
    "revise": lambda s, c: card_revise(user=s.cdc_user, card=c, diagnosis_type="confirmed"),
    "delete": lambda s, c: card_delete(user=s.cdc_user, card=c, reason="重卡"),
}


@pytest.mark.parametrize("action", list(CHANGES))
def test_every_change_writes_an_event_and_an_audit_entry(surv: SurvCounty, card: CaseCard, action: str) -> None:
    events, entries = CardEvent.objects.count(), AuditEntry.objects.count()
    CHANGES[action](surv, card)
    assert CardEvent.objects.count() == events + 1 and history(card)[-1] == action
    assert AuditEntry.objects.count() == entries + 1
    entry = AuditEntry.objects.filter(object_type="surveillance.casecard", object_id=str(card.pk)).latest("id")
    assert entry.user_id is not None and entry.path == surv.village_a.path


def test_a_correction_writes_an_event_and_an_audit_entry(surv: SurvCounty, card: CaseCard) -> None:
    card_return(user=surv.cdc_user, card=card, reason="请核实")
    events, entries = CardEvent.objects.count(), AuditEntry.objects.count()
    card_correct(user=surv.village_doctor, card=card, changes={"phone": "13800000000"})
    assert (CardEvent.objects.count(), AuditEntry.objects.count()) == (events + 1, entries + 1)


@pytest.mark.parametrize("action", list(CHANGES))
def test_a_change_whose_audit_entry_fails_is_not_kept(surv: SurvCounty, card: CaseCard, action: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The change, its event and its audit entry are one transaction: when the audit write fails,
    nothing of the change remains."""
    from yigongti.core import audit

    def broken(**_kwargs: Any) -> None:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(audit, "record", broken)
    before = written()
    with pytest.raises(RuntimeError):
        CHANGES[action](surv, card)
    assert written() == before
    card.refresh_from_db()
    assert card.status == CardStatus.REPORTED and card.diagnosis_type == "clinical"
