"""Booked slots (预约号源): publishing, booking, cancelling.

``Slot.booked`` only moves by a conditional UPDATE — ``booked = booked + 1 WHERE id = %s AND
booked < capacity`` — so of several clerks booking the last place at once exactly one wins (the
database re-checks the condition on the locked row) and the others get :class:`~.errors.SlotFull`;
a CHECK constraint backs it up. Re-exported by :mod:`.services`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import Conflict, ValidationFailed
from yigongti.core.models import AuditAction
from yigongti.registry.models import Department
from yigongti.residents.models import Resident
from yigongti.residents.services import audit_misses

from .checks import acts_for, by, require_of, resident_for_write, text
from .choices import BookingStatus, ReferralStatus
from .errors import AlreadyBooked, BookingClosed, SlotFull
from .models import Booking, Referral, Slot

SLOT = "referrals.slot"
BOOKING = "referrals.booking"
MAX_CAPACITY = 500
BOOKABLE_REFERRAL = (ReferralStatus.REQUESTED, ReferralStatus.ACCEPTED)


@transaction.atomic
def slot_publish(*, user: Any, department: Department, date: dt.date, start_time: dt.time, end_time: dt.time,
                 capacity: int, clinician_name: str = "", request: Any = None) -> Slot:
    """Publish ``capacity`` places in ``department`` on ``date`` from ``start_time`` to ``end_time``.

    Only a user of the department's institution publishes; the date is today or later, the band
    ends after it starts, 1 ≤ capacity ≤ 500; one slot per department, date and start time (409).
    """
    institution = department.institution
    require_of(user, institution, _("发布该科室的号源"))
    if date < today():
        raise ValidationFailed(field="date", reason=_("不能发布过去日期的号源"))
    if end_time <= start_time:
        raise ValidationFailed(field="end_time", reason=_("结束时间应晚于开始时间"))
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationFailed(field="capacity", reason=_("号源数应在 1 到 %(max)s 之间") % {"max": MAX_CAPACITY})
    name = text(clinician_name, field="clinician_name", label=_("出诊医生"), max_length=50, required=False)
    try:
        with transaction.atomic():
            slot = Slot.objects.create(institution=institution, department=department, date=date,
                                       start_time=start_time, end_time=end_time, capacity=capacity,
                                       clinician_name=name, published_by=by(user))
    except IntegrityError as exc:
        raise Conflict(field="start_time", reason=_("%(department)s %(date)s %(time)s 的号源已发布") % {
            "department": department.name, "date": date.isoformat(),
            "time": start_time.strftime("%H:%M")}) from exc
    audit.record(user=user, action=AuditAction.CREATE, object_type=SLOT, object_id=slot.pk, path=institution.path,
                 request=request, detail={"department": department.code, "date": date.isoformat(),
                                          "start": start_time.isoformat(), "capacity": capacity})
    return slot


def _take_place(slot: Slot) -> None:
    """``UPDATE … SET booked = booked + 1 WHERE id = %s AND booked < capacity``: one place or SlotFull."""
    if not Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(booked=F("booked") + 1):
        raise SlotFull()


def _free_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


@audit_misses
@transaction.atomic
def slot_book(*, user: Any, slot: Slot, resident: Resident, referral: Referral | None = None,
              request: Any = None) -> Booking:
    """Book one place on ``slot`` for ``resident`` (a merged record books for its survivor).

    Exactly one winner for the last place (conditional UPDATE, :class:`SlotFull` 409 for the
    others); a resident at most once per slot and a referral at most one booking (409
    ``already_booked``); a booking for a referral is on a slot of the referral's receiving
    institution, for its patient, while it is requested or accepted.
    """
    resident = resident_for_write(user, resident, what=_("预约"))
    slot = Slot.objects.select_related("institution", "department").get(pk=slot.pk)
    if slot.date < today():
        raise Conflict(field="slot", reason=_("该时段已过，不能预约"))
    if referral is not None:
        referral = Referral.objects.get(pk=referral.pk)
        if referral.to_institution_id != slot.institution_id:
            raise ValidationFailed(field="slot", reason=_("转诊预约须使用接收机构的号源"))
        if referral.resident_id != resident.pk:
            raise ValidationFailed(field="resident", reason=_("预约的居民与转诊单不一致"))
        if referral.status not in BOOKABLE_REFERRAL:
            raise Conflict(field="referral", reason=_("转诊单当前为“%(status)s”，不能预约") % {
                "status": ReferralStatus(referral.status).label})
        if Booking.objects.filter(referral=referral, status=BookingStatus.BOOKED).exists():
            raise AlreadyBooked(reason=_("该转诊单已有预约"))
    if Booking.objects.filter(slot=slot, resident=resident, status=BookingStatus.BOOKED).exists():
        raise AlreadyBooked(reason=_("该居民已预约此时段"))
    _take_place(slot)
    try:
        with transaction.atomic():
            booking = Booking.objects.create(slot=slot, resident=resident, path=resident.path, referral=referral,
                                             booked_from=getattr(user, "institution", None), booked_at=timezone.now(),
                                             booked_by=by(user))
    except IntegrityError as exc:  # the same resident or referral booked concurrently; the place goes back
        raise AlreadyBooked(reason=_("该居民或转诊单刚刚已预约")) from exc
    audit.record(user=user, action=AuditAction.CREATE, object_type=BOOKING, object_id=booking.pk, path=booking.path,
                 request=request, detail={"record_no": resident.record_no, "slot": slot.pk,
                                          "referral": referral.pk if referral else None})
    return booking


@transaction.atomic
def booking_cancel(*, user: Any, booking: Booking, request: Any = None) -> Booking:
    """Cancel a booking and give its place back (conditional UPDATE). Only the booking side or the
    host institution may cancel; a booking no longer ``booked`` is 409."""
    booking = Booking.objects.select_for_update(of=("self",)).select_related("slot__institution", "booked_from").get(
        pk=booking.pk)
    host = booking.slot.institution
    if not acts_for(user, host) and not (booking.booked_from is not None and acts_for(user, booking.booked_from)):
        require_of(user, booking.booked_from or host, _("取消该预约"))
    updated = Booking.objects.filter(pk=booking.pk, status=BookingStatus.BOOKED).update(
        status=BookingStatus.CANCELLED, cancelled_at=timezone.now())
    if not updated:
        raise BookingClosed(status=BookingStatus(booking.status).label)
    _free_place(booking.slot_id)
    booking.refresh_from_db()
    audit.record(user=user, action=AuditAction.UPDATE, object_type=BOOKING, object_id=booking.pk, path=booking.path,
                 request=request, detail={"status": BookingStatus.CANCELLED, "slot": booking.slot_id})
    return booking


def booking_attend(*, referral: Referral) -> int:
    """Mark the referral's live booking attended (inside :func:`referral_arrive`'s transaction)."""
    return Booking.objects.filter(referral=referral, status=BookingStatus.BOOKED).update(
        status=BookingStatus.ATTENDED)


def bookings_cancel_for(*, referral: Referral) -> int:
    """Cancel the referral's live booking and free its place (a cancelled or rejected referral)."""
    count = 0
    for booking in Booking.objects.select_for_update().filter(referral=referral, status=BookingStatus.BOOKED):
        if Booking.objects.filter(pk=booking.pk, status=BookingStatus.BOOKED).update(
                status=BookingStatus.CANCELLED, cancelled_at=timezone.now()):
            _free_place(booking.slot_id)
            count += 1
    return count
