"""Booked slots (capacity, cancel frees a place, a resident once per slot, booking with an
acceptance, attended on arrival) and teleconsultation (files, answer once, scope)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from tests.factories.referrals import SlotFactory, request_up
from tests.factories.residents import ResidentFactory
from tests.referrals.conftest import ReferralCounty
from yigongti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yigongti.core.models import AuditEntry
from yigongti.referrals import selectors, services
from yigongti.referrals.errors import AlreadyAnswered, AlreadyBooked, BookingClosed, SlotFull
from yigongti.referrals.models import Booking, Slot


def test_publish_a_slot(rules: ReferralCounty) -> None:
    slot = services.slot_publish(user=rules.clinician, department=rules.department, date=dt.date(2026, 6, 16),
                                 start_time=dt.time(8), end_time=dt.time(9), capacity=5, clinician_name="王主任")
    assert (slot.institution_id, slot.capacity, slot.booked) == (rules.hospital.pk, 5, 0)
    assert AuditEntry.objects.filter(object_type="referrals.slot", object_id=str(slot.pk)).exists()
    with pytest.raises(PermissionDenied):
        services.slot_publish(user=rules.director, department=rules.department, date=dt.date(2026, 6, 16),
                              start_time=dt.time(10), end_time=dt.time(11), capacity=5)
    for fields, field in (({"capacity": 0}, "capacity"), ({"end_time": dt.time(7)}, "end_time"),
                          ({"date": dt.date(2026, 6, 1)}, "date")):
        kwargs = {"date": dt.date(2026, 6, 17), "start_time": dt.time(8), "end_time": dt.time(9), "capacity": 2,
                  **fields}
        with pytest.raises(ValidationFailed) as caught:
            services.slot_publish(user=rules.clinician, department=rules.department, **kwargs)
        assert caught.value.params["field"] == field
    assert len(selectors.slots_for(institution=rules.hospital, date_from=dt.date(2026, 6, 15),
                                   date_to=dt.date(2026, 6, 30))) == 1


def test_capacity_is_respected_and_cancel_frees_a_place(rules: ReferralCounty) -> None:
    slot = SlotFactory(department=rules.department, capacity=2)
    people = [rules.resident, *(ResidentFactory(village=rules.village_a) for _ in range(2))]
    first = services.slot_book(user=rules.village_doctor, slot=slot, resident=people[0])
    services.slot_book(user=rules.village_doctor, slot=slot, resident=people[1])
    with pytest.raises(SlotFull) as caught:
        services.slot_book(user=rules.village_doctor, slot=slot, resident=people[2])
    assert caught.value.status == 409 and str(caught.value) == "该时段号源已约满。"
    slot.refresh_from_db()
    assert slot.booked == 2 and Booking.objects.filter(slot=slot).count() == 2
    services.booking_cancel(user=rules.village_doctor, booking=first)
    slot.refresh_from_db()
    assert slot.booked == 1
    services.slot_book(user=rules.village_doctor, slot=slot, resident=people[2])
    slot.refresh_from_db()
    assert slot.booked == 2
    with pytest.raises(BookingClosed):
        services.booking_cancel(user=rules.village_doctor, booking=first)


def test_a_resident_once_per_slot(rules: ReferralCounty) -> None:
    slot = SlotFactory(department=rules.department)
    services.slot_book(user=rules.village_doctor, slot=slot, resident=rules.resident)
    with pytest.raises(AlreadyBooked):
        services.slot_book(user=rules.village_doctor, slot=slot, resident=rules.resident)
    assert Slot.objects.get(pk=slot.pk).booked == 1


def test_accept_with_a_slot_books_and_arrival_attends(rules: ReferralCounty) -> None:
    slot = SlotFactory(department=rules.department, capacity=1)
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    services.referral_accept(user=rules.clinician, referral=referral, slot=slot)
    booking = Booking.objects.get(referral=referral)
    assert booking.status == "booked" and Slot.objects.get(pk=slot.pk).booked == 1
    # the booking is seen on both sides
    assert [b.pk for b in selectors.bookings_for(user=rules.clinician, institution=rules.hospital, side="host")] == [
        booking.pk]
    services.referral_arrive(user=rules.clinician, referral=referral)
    booking.refresh_from_db()
    assert booking.status == "attended"


def test_accept_with_a_full_slot_rolls_back(rules: ReferralCounty) -> None:
    slot = SlotFactory(department=rules.department, capacity=1)
    services.slot_book(user=rules.village_doctor, slot=slot, resident=ResidentFactory(village=rules.village_a))
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    with pytest.raises(SlotFull):
        services.referral_accept(user=rules.clinician, referral=referral, slot=slot)
    referral.refresh_from_db()
    assert referral.status == "requested" and not referral.events.filter(action="accept").exists()


def test_a_referral_books_at_its_receiving_institution_and_cancel_frees_it(rules: ReferralCounty) -> None:
    other = SlotFactory(department=rules.department)
    referral = request_up(rules.village_doctor, rules.resident, rules.tcm)
    with pytest.raises(ValidationFailed):
        services.slot_book(user=rules.village_doctor, slot=other, resident=rules.resident, referral=referral)
    to_hospital = request_up(rules.village_doctor, rules.resident, rules.hospital)
    booking = services.slot_book(user=rules.village_doctor, slot=other, resident=rules.resident, referral=to_hospital)
    assert booking.booked_from == rules.clinic_a
    referrer_side = selectors.bookings_for(user=rules.village_doctor, institution=rules.clinic_a, side="referrer")
    assert [b.pk for b in referrer_side] == [booking.pk]
    services.referral_cancel(user=rules.village_doctor, referral=to_hospital, reason="不去了")
    booking.refresh_from_db()
    assert booking.status == "cancelled" and Slot.objects.get(pk=other.pk).booked == 0


def test_consult_with_a_file_and_one_answer(rules: ReferralCounty) -> None:
    upload = SimpleUploadedFile("ecg.pdf", b"%PDF-1.4 ecg", content_type="application/pdf")
    consult = services.consult_request(user=rules.director, resident=rules.resident,
                                       specialist_institution=rules.hospital, question="心电图 ST 段压低，请会诊",
                                       department=rules.department, files=[upload])
    got = selectors.consult_get(user=rules.clinician, pk=consult.pk)
    [attachment] = list(got.attachments.all())
    assert (attachment.name, attachment.size) == ("ecg.pdf", 12)
    assert bytes(selectors.attachment_get(user=rules.clinician, pk=attachment.pk).content) == b"%PDF-1.4 ecg"
    with pytest.raises(NotFound):
        selectors.attachment_get(user=rules.other_director, pk=attachment.pk)
    with pytest.raises(PermissionDenied):
        services.consult_answer(user=rules.director, consultation=consult, answer="x")
    answered = services.consult_answer(user=rules.clinician, consultation=consult, answer="建议冠脉 CTA")
    assert answered.status == "answered" and answered.answer == "建议冠脉 CTA"
    with pytest.raises(AlreadyAnswered):
        services.consult_answer(user=rules.clinician, consultation=consult, answer="again")
    assert [c.pk for c in selectors.consults_desk(user=rules.clinician, institution=rules.hospital,
                                                  box="incoming")] == [consult.pk]
    assert [c.pk for c in selectors.consults_desk(user=rules.director, institution=rules.centres[0],
                                                  box="outgoing")] == [consult.pk]


def test_consult_refusals(rules: ReferralCounty) -> None:
    big = SimpleUploadedFile("ct.dcm", b"x" * (10 * 1024 * 1024 + 1))
    with pytest.raises(ValidationFailed) as caught:
        services.consult_request(user=rules.director, resident=rules.resident, specialist_institution=rules.hospital,
                                 question="q", files=[big])
    assert caught.value.params["field"] == "files"
    for target in (rules.cdc, rules.centres[1]):
        with pytest.raises(ValidationFailed) as caught:
            services.consult_request(user=rules.director, resident=rules.resident, specialist_institution=target,
                                     question="q")
        assert caught.value.params["field"] == "specialist_institution"


def test_escalate_command(rules: ReferralCounty, capsys: pytest.CaptureFixture[str]) -> None:
    request_up(rules.village_doctor, rules.resident, rules.hospital, urgency="emergency")
    later = (timezone.localtime() + dt.timedelta(hours=3)).replace(tzinfo=None).isoformat(timespec="minutes")
    call_command("referrals", "escalate", "--at", later)
    assert "已升级 1 张" in capsys.readouterr().out
