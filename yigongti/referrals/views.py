"""Referral pages (双向转诊): a resident's referrals, the request form, the referral desk.

Thin views: reads through :mod:`.selectors`, :mod:`yigongti.residents.selectors` and
:mod:`yigongti.care.selectors` (scoped and audited), writes through :mod:`.services`. A
:class:`~yigongti.core.errors.DomainError` raised there becomes a page in the web layer's error
middleware (404 for a record outside scope), except where the page can say better: a service's
validation error appears under its field.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.care import selectors as care_selectors
from yigongti.core.errors import DomainError
from yigongti.registry.choices import Tier
from yigongti.residents import selectors as resident_selectors

from . import selectors, services
from .forms import (
    ReferralRequestForm,
    department_choices,
    departments_of,
    receiving_institutions,
    result_choices,
    slot_label,
)
from .views_common import (
    free_slots,
    institution_of,
    page_info,
    put_error,
    query_without,
    resident_bookings,
    resident_consults,
    slot_from,
)

BOXES: tuple[tuple[str, Any], ...] = (
    ("incoming", gettext_lazy("待处理")), ("overdue", gettext_lazy("已超时")),
    ("outgoing", gettext_lazy("转出")), ("done", gettext_lazy("已办结")),
)
PER_PAGE = 50


# ---------------------------------------------------------------- a resident's referrals


@require_GET
@login_required
def resident_referrals(request: HttpRequest, code: str) -> HttpResponse:
    """居民的转诊与会诊 — referrals both ways, bookings, teleconsultations; request one."""
    user = request.user
    resident = resident_selectors.resident_get(user=user, record_no=code, request=request)
    referrals = selectors.referrals_of(user=user, resident=resident, request=request)
    return render(request, "referrals/resident.html", {
        "resident": resident, "referrals": referrals,
        "bookings": resident_bookings(user, resident, request),
        "consults": resident_consults(user, resident, request),
        "can_request": institution_of(user) is not None,
    })


# ---------------------------------------------------------------- the request


@require_http_methods(["GET", "POST"])
@login_required
def referral_new(request: HttpRequest, code: str) -> HttpResponse:
    """发起转诊 — the request, with results attached and optionally a booked slot.

    The referral and its booking are one transaction: a slot taken meanwhile leaves no referral
    behind, and the form comes back with the error under the slot.
    """
    user = request.user
    resident = resident_selectors.resident_get(user=user, record_no=code, request=request)
    institutions = [i for i in receiving_institutions() if i.pk != getattr(user, "institution_id", None)]
    departments = departments_of(institutions)
    slots = free_slots([i for i in institutions if i.tier == Tier.COUNTY])
    results = care_selectors.results_of(user=user, resident=resident, request=request)
    form = ReferralRequestForm(
        request.POST or None, institutions=institutions, departments=department_choices(departments),
        results=result_choices(results), slots=[(s.pk, slot_label(s)) for s in slots],
        initial={"to_institution": request.GET.get("to", "")})
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            referral = _request(request, form, resident, slots, departments)
            if referral is not None:
                messages.success(request, _("转诊申请已发送至%(to)s。") % {"to": referral.to_institution.name})
                return redirect("referrals:detail", pk=referral.pk)
    return render(request, "referrals/new.html", {"resident": resident, "form": form,
                                                  "has_results": bool(results)}, status=status)


def _request(request: HttpRequest, form: ReferralRequestForm, resident: Any, slots: list[Any],
             departments: list[Any]) -> Any:
    """The referral (and its booking) from a valid form, or None with the errors put on the form."""
    data = form.cleaned_data
    to = form.institution()
    slot = slot_from(slots, data.get("slot"))
    if slot is not None and slot.institution_id != to.pk:
        form.add_error("slot", _("所选号源不属于接收机构。"))
        return None
    department = next((d for d in departments if d.pk == data.get("to_department")), None)
    if department is not None and department.institution_id != to.pk:
        form.add_error("to_department", _("所选科室不属于接收机构。"))
        return None
    try:
        with transaction.atomic():
            referral = services.referral_request(
                user=request.user, resident=resident, to_institution=to, kind=data["kind"], reason=data["reason"],
                urgency=data["urgency"], diagnosis_code=data["diagnosis_code"],
                diagnosis_name=data["diagnosis_name"], summary=data["summary"], result_ids=data["results"],
                to_department=department, idempotency_key=data["idempotency_key"], request=request)
            # A form sent twice returns the first referral; its booking is already made.
            if slot is not None and not services.was_replayed(referral):
                services.slot_book(user=request.user, slot=slot, resident=resident, referral=referral,
                                   request=request)
    except DomainError as error:
        put_error(form, error, aliases={"slot": "slot", "department": "to_department"})
        return None
    return referral


# ---------------------------------------------------------------- the desk


@require_GET
@login_required
def desk(request: HttpRequest) -> HttpResponse:
    """转诊工作台 — incoming, overdue, outgoing and finished referrals of the caller's institution."""
    user = request.user
    institution = institution_of(user)
    box = request.GET.get("box") or "incoming"
    if box not in dict(BOXES):
        box = "incoming"
    try:
        number = max(int(request.GET.get("page") or 1), 1)
    except ValueError:
        number = 1
    context: dict[str, Any] = {"institution": institution, "box": box, "boxes": [], "rows": [], "now": timezone.now()}
    if institution is None:
        return render(request, "referrals/desk.html", context)
    counts = selectors.referral_desk_counts(user=user, institution=institution)
    result = selectors.referral_desk(user=user, institution=institution, box=box, page=number, per_page=PER_PAGE,
                                     request=request)
    context["rows"], context["total"] = page_info(result)
    context["boxes"] = [{"key": key, "label": label, "count": counts[key]} for key, label in BOXES]
    pages = max((context["total"] + PER_PAGE - 1) // PER_PAGE, 1)
    context.update({"number": number, "pages": pages, "has_previous": number > 1, "has_next": number < pages,
                    "query": query_without(request, "page")})
    return render(request, "referrals/desk.html", context)
