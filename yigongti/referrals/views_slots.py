"""Booked slots (预约号源): the county hospital publishes slots per department; the bookings on them
are seen on both sides (the host institution and the institution that booked)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from yigongti.core.errors import DomainError, NotFound
from yigongti.registry.choices import Tier

from . import selectors, services
from .forms import SlotForm, department_choices, departments_of
from .views_common import institution_of, put_error, window


def _bookings(request: HttpRequest, institution: Any) -> tuple[list[Any], list[Any]]:
    user = request.user
    host = (selectors.bookings_for(user=user, institution=institution, side="host", request=request)
            if institution.tier == Tier.COUNTY else [])
    referrer = selectors.bookings_for(user=user, institution=institution, side="referrer", request=request)
    return host, referrer


@require_http_methods(["GET", "POST"])
@login_required
def slots(request: HttpRequest) -> HttpResponse:
    """号源管理 — publish slots (county-level institutions) and see the next 14 days and the bookings."""
    institution = institution_of(request.user)
    context: dict[str, Any] = {"institution": institution}
    if institution is None:
        return render(request, "referrals/slots.html", context)
    hosts = institution.tier == Tier.COUNTY
    departments = departments_of([institution]) if hosts else []
    form = SlotForm(request.POST or None, departments=department_choices(departments)) if hosts else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise NotFound()
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            department = next(d for d in departments if d.pk == data["department"])
            try:
                slot = services.slot_publish(
                    user=request.user, department=department, date=data["date"], start_time=data["start_time"],
                    end_time=data["end_time"], capacity=data["capacity"], clinician_name=data["clinician_name"],
                    request=request)
            except NotFound:
                raise
            except DomainError as error:
                put_error(form, error, aliases={"date": "date"})
                status = error.status
            else:
                messages.success(request, _("已发布号源：%(dept)s %(date)s %(start)s，%(n)s 个。") % {
                    "dept": department.name, "date": f"{slot.date:%Y-%m-%d}", "start": f"{slot.start_time:%H:%M}",
                    "n": slot.capacity})
                return redirect("referrals:slots")
    start, end = window()
    host, referrer = _bookings(request, institution)
    context.update({
        "hosts": hosts, "form": form, "start": start, "end": end,
        "slots": list(selectors.slots_for(institution=institution, date_from=start, date_to=end)) if hosts else [],
        "host_bookings": host, "referrer_bookings": referrer,
    })
    return render(request, "referrals/slots.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """取消预约 — a booking of the caller's institution (either side); GET goes back to the page."""
    institution = institution_of(request.user)
    if institution is None:
        raise NotFound()
    host, referrer = _bookings(request, institution)
    booking = next((b for b in [*host, *referrer] if b.pk == pk), None)
    if booking is None:
        raise NotFound()
    if request.method == "GET":
        return redirect("referrals:slots")
    try:
        services.booking_cancel(user=request.user, booking=booking, request=request)
    except NotFound:
        raise
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已取消预约。"))
    return redirect("referrals:slots")
