"""Reads of the registry. Person-level rows (staff) pass through the caller's scope.

Institutions and divisions are shown to a user inside their data-view subtree; outside it they
are "not found" (DESIGN.md "Scope"). Staff lists are person-level data and are audited.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import NotFound
from yigongti.core.scope import get_visible, scope_path, visible
from yigongti.core.tree import is_within, subtree_q

from .models import AllianceMembership, Division, Institution, Qualification, StaffMember


def current(queryset: QuerySet[Any], on: dt.date | None = None) -> QuerySet[Any]:
    """Rows of an effective-dated model valid on ``on`` (default: today)."""
    day = on or today()
    return queryset.filter(Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def division_root_for(user: Any) -> Division | None:
    """The top division a user may see: their data-view unit.

    A superuser sees the whole tree; their root is the first division that is more than a link in a
    chain (province → prefecture → our one county), so they land on the county, not on 贵州省.
    """
    path = scope_path(user, "view")
    if path is None:
        return None
    if path != "":
        return Division.objects.filter(path=path).first()
    root = Division.objects.filter(parent__isnull=True).order_by("code").first()
    while root is not None and not root.institutions.exists():
        children = list(Division.objects.filter(parent=root)[:2])
        if len(children) != 1:
            break
        root = children[0]
    return root


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


# ---------------------------------------------------------------- pages of the web UI (tree, home)


@dataclass(frozen=True)
class DivisionRow:
    """One row of the org tree: a division with the counts shown before it is expanded."""

    division: Division
    n_children: int
    n_institutions: int  # current institutions in the division and its whole subtree


@dataclass(frozen=True)
class DivisionContents:
    """What an expanded division shows: the institutions located in it and its child rows."""

    division: Division
    ancestors: list[Division]  # the visible divisions above it, top first
    institutions: list[Institution]  # located directly in the division
    children: list[DivisionRow]
    n_institutions: int  # in the whole subtree


def division_contents(*, user: Any, code: str, on: dt.date | None = None) -> DivisionContents:
    """The division ``code`` inside the caller's scope, with its institutions and child rows.

    Four queries whatever the size of the subtree: the subtree's institution paths and the
    grandchildren are counted in Python (a county has a few hundred institutions).
    """
    division = get_visible(user, Division.objects.select_related("parent"), code=code)
    children = list(visible(user, current(Division.objects.filter(parent=division), on)).order_by("code"))
    institution_paths = list(
        visible(user, current(Institution.objects.filter(subtree_q(division.path)), on))
        .values_list("path", flat=True)
    )
    grandchildren = Counter(
        visible(user, current(Division.objects.filter(parent__in=children), on))
        .values_list("parent_id", flat=True)
    )
    rows = [
        DivisionRow(division=child, n_children=grandchildren[child.pk],
                    n_institutions=sum(1 for path in institution_paths if is_within(path, child.path)))
        for child in children
    ]
    located = list(
        visible(user, current(Institution.objects.filter(division=division), on))
        .select_related("parent").order_by("tier", "code")
    )
    ancestors = division_trail(user=user, path=division.path)[:-1]
    return DivisionContents(division=division, ancestors=ancestors, institutions=located,
                            children=rows, n_institutions=len(institution_paths))


def division_trail(*, user: Any, path: str) -> list[Division]:
    """The divisions along ``path`` (top first, the last one included) that the caller may see."""
    codes = path.split("/")
    return list(visible(user, Division.objects.filter(code__in=codes)).order_by("path"))


def user_institution(*, user: Any) -> Institution | None:
    """The institution a user works at, if it lies inside their own view scope."""
    if getattr(user, "institution_id", None) is None:
        return None
    return visible(user, current(Institution.objects.filter(pk=user.institution_id))).first()


def institutions_with_staff_counts(*, user: Any, on: dt.date | None = None) -> QuerySet[Institution]:
    """Current institutions inside the caller's scope, each with ``n_staff`` (active staff)."""
    return (visible(user, current(Institution.objects.select_related("division", "parent"), on))
            .annotate(n_staff=Count("staff", filter=Q(staff__active=True), distinct=True))
            .order_by("path", "tier", "code"))


def institution_counts(*, user: Any, on: dt.date | None = None) -> list[dict[str, Any]]:
    """How many current institutions of each type (and its tier) lie inside the caller's scope."""
    return list(visible(user, current(Institution.objects.all(), on))
                .values("tier", "type").annotate(n=Count("id")).order_by("tier", "type"))


def staff_count(*, user: Any, institution: Institution | None = None) -> int:
    """Active staff inside the caller's scope (of one institution if given). A count reads no record."""
    qs = visible(user, StaffMember.objects.filter(active=True))
    if institution is not None:
        qs = qs.filter(institution=institution)
    return qs.count()


def staff_by_qualification(*, user: Any, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Active staff inside the caller's scope per current qualification kind (a person may count twice)."""
    return list(
        visible(user, current(Qualification.objects.filter(staff__active=True), on), path_field="staff__path")
        .values("kind").annotate(n=Count("staff", distinct=True)).order_by("kind")
    )


def qualifications_current(member: StaffMember, on: dt.date | None = None) -> list[Qualification]:
    """The qualifications of ``member`` valid on ``on``, from its prefetched ``qualifications``."""
    day = on or today()
    return [q for q in member.qualifications.all()
            if q.valid_from <= day and (q.valid_to is None or q.valid_to > day)]


@dataclass
class FindingGroup:
    """Standards findings of one category (三建成 / 三合格 / 三达标), in the order they came."""

    category: str
    label: str
    findings: list[Any] = field(default_factory=list)


def findings_by_category(findings: Iterable[Any], category: str | None = None) -> list[FindingGroup]:
    """Group findings (``category``/``category_label`` attributes) by category, optionally one only."""
    groups: dict[str, FindingGroup] = {}
    for finding in findings:
        if category and finding.category != category:
            continue
        group = groups.setdefault(finding.category, FindingGroup(finding.category, str(finding.category_label)))
        group.findings.append(finding)
    return list(groups.values())


def division_for_org(*, code: str) -> Division:
    """The division a command-line ``--org CODE`` names: a division code, or an institution's code
    (its division). Unscoped — for the CLI, which runs with the operator's full rights."""
    division = Division.objects.filter(code=code).first()
    if division is None:
        institution = Institution.objects.select_related("division").filter(code=code).first()
        division = institution.division if institution is not None else None
    if division is None:
        raise NotFound(_("未找到区划或机构：%(code)s"), code=code)
    return division
