"""The enrolment pages (参保登记): the enrolments of a year by village, finding a household (by its
code, or a member's name or ID) to enrol, the enrolment form of a household (登记参保), and one
enrolment with what each member paid, was exempted (资助参保) and was subsidised.

Writes through :func:`.services.enrol_household` (enrolling again adds only the members not yet
covered); households and residents are read through :mod:`yigongti.core.scope`, coverages audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from yigongti.core import audit, scope
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, NotFound, PermissionDenied
from yigongti.core.paging import paged
from yigongti.core.tree import subtree_q
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Household, Resident
from yigongti.residents.selectors import resident_query

from . import services
from .forms import EnrolForm, EnrolmentFilterForm
from .models import Coverage, HouseholdEnrolment
from .selectors import county_of, policy_or_none
from .views_common import default_enrol_year, may_enrol, put_error, require_user, year_choices, year_of

FOUND_ROWS = 20


def _villages(user: Any) -> list[tuple[str, str]]:
    rows = scope.visible(user, Division.objects.filter(level=DivisionLevel.VILLAGE)).order_by("path")
    return [(d.code, d.name) for d in rows]


def _found_households(user: Any, q: str, year: int) -> list[dict[str, Any]]:
    """Households in scope whose code is ``q``, or with a member ``q`` names (name, ID, record number)."""
    text = " ".join(q.split())
    if not text:
        return []
    households = scope.visible(user, Household.objects.all())
    ids = set(households.filter(code__iexact=text).values_list("pk", flat=True)[:FOUND_ROWS])
    members = scope.visible(user, Resident.objects.filter(household__isnull=False)).exclude(
        status=RecordStatus.MERGED).filter(resident_query(text))
    ids.update(members.values_list("household_id", flat=True)[:FOUND_ROWS])
    found = list(households.filter(pk__in=ids).select_related("head", "village").order_by("code")[:FOUND_ROWS])
    enrolled = dict(HouseholdEnrolment.objects.filter(household__in=found, year=year)
                    .values_list("household_id", "pk"))
    return [{"household": h, "enrolment": enrolled.get(h.pk)} for h in found]


@require_GET
@login_required
def enrolments(request: HttpRequest) -> HttpResponse:
    """参保登记 — a year's enrolments by village, and the household search to enrol one."""
    user = request.user
    require_user(user)
    year = year_of(request, default_enrol_year())
    villages = _villages(user)
    form = EnrolmentFilterForm(request.GET or None, initial={"year": year}, years=year_choices(year),
                               villages=villages)
    queryset = scope.visible(user, HouseholdEnrolment.objects.filter(year=year)).select_related(
        "household", "household__head", "household__village")
    village = request.GET.get("village") or ""
    if village:
        if village not in dict(villages):
            raise NotFound()
        division = Division.objects.get(code=village)
        queryset = queryset.filter(subtree_q(division.path, "path"))
    q = (request.GET.get("q") or "").strip()
    found = _found_households(user, q, year) if q else []
    page = paged(request, queryset.order_by("household__code"))
    audit.read(user=user, objects=page["rows"], request=request)
    return render(request, "insurance/enrolments.html", {
        "form": form, "year": year, "q": q, "found": found, "searched": bool(q), "may_enrol": may_enrol(user),
        **page})


@require_GET
@login_required
def enrolment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One household's enrolment: each member covered, with contribution, exemption and subsidy."""
    user = request.user
    require_user(user)
    enrolment = scope.get_visible(user, HouseholdEnrolment.objects.select_related(
        "household", "household__head", "collected_at", "created_by"), pk=pk)
    coverages = list(enrolment.coverages.select_related("resident").order_by("resident__birth_date", "pk"))
    audit.read(user=user, objects=[enrolment, *coverages], request=request)
    return render(request, "insurance/enrolment.html", {"enrolment": enrolment, "coverages": coverages,
                                                        "may_enrol": may_enrol(user)})


@require_http_methods(["GET", "POST"])
@login_required
def enrol(request: HttpRequest, pk: int) -> HttpResponse:
    """登记参保 of a household for a year: the members ticked, each with a 救助类别."""
    user = request.user
    require_user(user)
    household = scope.get_visible(user, Household.objects.select_related("village", "head"), pk=pk)
    if not may_enrol(user):
        raise PermissionDenied()
    raw_year = request.POST.get("year") if request.method == "POST" else None
    year = int(raw_year) if raw_year and raw_year.isascii() and raw_year.isdigit() else year_of(
        request, default_enrol_year())
    members = list(scope.visible(user, Resident.objects.filter(household=household))
                   .exclude(status=RecordStatus.MERGED).order_by("birth_date", "pk"))
    covered = {c.resident_id: c for c in Coverage.objects.filter(resident__in=members, year=year)}
    audit.read(user=user, objects=list(covered.values()), request=request)
    form = EnrolForm(request.POST or None, members=members, covered=covered,
                     initial={"year": year, "paid_on": min(today(), _year_end(year))})
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            chosen = form.chosen()
            if not chosen:
                form.add_error(None, _("请至少勾选一名尚未参保的成员。"))
            else:
                try:
                    enrolment, added = services.enrol_household(
                        user, household.pk, year=form.cleaned_data["year"], members=chosen,
                        paid_on=form.cleaned_data["paid_on"], receipt_no=form.cleaned_data["receipt_no"],
                        request=request)
                except DomainError as error:
                    put_error(form, error, aliases=_member_fields(chosen))
                    status = error.status
                else:
                    if added:
                        messages.success(request, _("已登记 %(n)s 人参加 %(year)s 年度城乡居民医保。") % {
                            "n": added, "year": enrolment.year})
                    else:
                        messages.info(request, _("所选成员均已参保，未重复登记。"))
                    return redirect("insurance:enrolment", pk=enrolment.pk)
    policy = policy_or_none(county_of(household.path), _year_start(year))
    existing = HouseholdEnrolment.objects.filter(household=household, year=year).first()
    return render(request, "insurance/enrol.html", {
        "household": household, "form": form, "year": year, "years": year_choices(year), "policy": policy,
        "rules": policy.enrolment if policy is not None else None, "existing": existing}, status=status)


def _member_fields(chosen: dict[int, str]) -> dict[str, str]:
    return {f"members.{pk}": f"member_{pk}" for pk in chosen}


def _year_start(year: int) -> dt.date:
    return dt.date(year, 1, 1)


def _year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)
