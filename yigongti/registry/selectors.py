"""Reads of the registry. Person-level rows (staff) pass through the caller's scope.

Institutions and divisions are shown to a user inside their data-view subtree; outside it they
are "not found" (DESIGN.md "Scope"). Staff lists are person-level data and are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from yigongti.core import audit
from yigongti.core.scope import get_visible, scope_path, visible
from yigongti.core.clock import today
from yigongti.core.errors import NotFound
from yigongti.core.tree import subtree_q

from .models import AllianceMembership, Division, Institution, StaffMember


def current(queryset: QuerySet[Any], on: dt.date | None = None) -> QuerySet[Any]:
    """Rows of an effective-dated model valid on ``on`` (default: today)."""
    day = on or today()
    return queryset.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def division_root_for(user: Any) -> Division | None:
    """The top division a user may see (their data-view unit; the county root for superusers)."""
    path = scope_path(user, "view")
    if path is None:
        return None
    if path == "":
        return Division.objects.filter(parent__isnull=True).order_by("code").first()
    return Division.objects.filter(path=path).first()


def division_children(*, user: Any, code: str) -> QuerySet[Division]:
    """The child divisions of ``code`` inside the caller's scope, with institution counts."""
    parent = get_visible(user, Division.objects.all(), code=code)
    return (visible(user, current(Division.objects.filter(parent=parent)))
            .annotate(n_institutions=Count("institutions", distinct=True),
                      n_children=Count("children", distinct=True))
            .order_by("code"))


def division_get(*, user: Any, code: str) -> Division:
    return get_visible(user, Division.objects.select_related("parent"), code=code)


def institution_list(*, user: Any, division_code: str | None = None, type: str | None = None,
                     tier: str | None = None, q: str | None = None) -> QuerySet[Institution]:
    """Institutions inside the caller's scope, optionally under one division, of one type/tier."""
    qs = visible(user, current(Institution.objects.select_related("division", "parent")))
    if division_code:
        division = get_visible(user, Division.objects.all(), code=division_code)
        qs = qs.filter(subtree_q(division.path))
    if type:
        qs = qs.filter(type=type)
    if tier:
        qs = qs.filter(tier=tier)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    return qs.order_by("path", "tier", "code")


def institution_get(*, user: Any, code: str, request: Any = None) -> Institution:
    """One institution inside the caller's scope, with departments and capacities prefetched."""
    qs = Institution.objects.select_related("division", "parent").prefetch_related(
        "departments", "capacities",
        Prefetch("memberships", queryset=current(
            AllianceMembership.objects.select_related("alliance"))),
    )
    try:
        return get_visible(user, qs, code=code)
    except NotFound:
        audit.read_missed(user=user, object_type="registry.institution", object_id=code, request=request)
        raise


def staff_for_institution(*, user: Any, institution: Institution,
                          request: Any = None) -> list[StaffMember]:
    """The staff of one institution (person-level: scoped and audited, one entry per person)."""
    staff = list(
        visible(user, StaffMember.objects.filter(institution=institution, active=True))
        .select_related("department").prefetch_related("qualifications").order_by("department__code", "name")
    )
    audit.read(user=user, objects=staff, request=request)
    return staff


def staff_get(*, user: Any, pk: int, request: Any = None) -> StaffMember:
    qs = StaffMember.objects.select_related("institution", "department").prefetch_related("qualifications")
    try:
        member = get_visible(user, qs, pk=pk)
    except NotFound:
        audit.read_missed(user=user, object_type="registry.staffmember", object_id=pk, request=request)
        raise
    audit.read(user=user, objects=[member], request=request)
    return member
