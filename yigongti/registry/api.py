"""``/api/v1/registry/`` — divisions, institutions, their staff, and standards findings.

Thin: each route validates its input and calls one selector of :mod:`yigongti.registry.selectors`
(or :func:`~yigongti.registry.standards.standards_findings_for`) with the caller. A division or an
institution outside the caller's data-view subtree is 404, exactly like one that does not exist.
Staff are person-level: the list is scoped and every person returned leaves an audit entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from yigongti.core.api import PROBLEMS, Page, PageParams, Problem, caller, page_of
from yigongti.core.clock import today
from yigongti.core.tree import SEP

from .choices import InstitutionType, Tier
from .models import AllianceMembership, Capacity, Department, Division, Institution, Qualification, StaffMember
from .selectors import (
    division_children,
    division_get,
    institution_get,
    institution_list,
    staff_for_institution,
)
from .standards import Finding, standards_findings_for

router = Router(tags=["registry"])


# ---------------------------------------------------------------- schemas


class DivisionOut(Schema):
    """行政区划 — a division (GB/T 2260 / 统计用区划代码) of the org tree."""

    code: str
    name: str
    level: str
    level_label: str
    parent_code: str | None = Field(None, description="code of the parent division (None at the root)")
    path: str = Field(..., description="codes from the root down, joined by '/'")
    valid_from: dt.date
    valid_to: dt.date | None

    @staticmethod
    def resolve_level_label(obj: Division) -> str:
        return str(obj.get_level_display())

    @staticmethod
    def resolve_parent_code(obj: Division) -> str | None:
        parts = obj.path.split(SEP)
        return parts[-2] if len(parts) > 1 else None


class DivisionChildOut(DivisionOut):
    n_institutions: int = Field(..., description="institutions located in the division (any date)")
    n_children: int = Field(..., description="child divisions (any date)")


class InstitutionOut(Schema):
    """医疗卫生机构 — an institution with its type, tier, grade and current placement."""

    code: str
    name: str
    type: str
    type_label: str
    tier: str
    tier_label: str
    grade: str
    grade_label: str
    is_government: bool
    division_code: str
    division_name: str
    parent_code: str | None
    parent_name: str | None
    path: str
    address: str
    phone: str
    valid_from: dt.date
    valid_to: dt.date | None

    @staticmethod
    def resolve_type_label(obj: Institution) -> str:
        return str(obj.get_type_display())

    @staticmethod
    def resolve_tier_label(obj: Institution) -> str:
        return str(obj.get_tier_display())

    @staticmethod
    def resolve_grade_label(obj: Institution) -> str:
        return str(obj.get_grade_display())

    @staticmethod
    def resolve_division_code(obj: Institution) -> str:
        return obj.division.code

    @staticmethod
    def resolve_division_name(obj: Institution) -> str:
        return obj.division.name

    @staticmethod
    def resolve_parent_code(obj: Institution) -> str | None:
        return obj.parent.code if obj.parent is not None else None

    @staticmethod
    def resolve_parent_name(obj: Institution) -> str | None:
        return obj.parent.name if obj.parent is not None else None


class DepartmentOut(Schema):
    code: str
    name: str
    is_clinical: bool


class CapacityOut(Schema):
    kind: str
    kind_label: str
    quantity: int

    @staticmethod
    def resolve_kind_label(obj: Capacity) -> str:
        return str(obj.get_kind_display())


class MembershipOut(Schema):
    """医共体成员 — the institution's membership of an alliance, current on today's date."""

    alliance_code: str
    alliance_name: str
    role: str
    role_label: str
    valid_from: dt.date
    valid_to: dt.date | None

    @staticmethod
    def resolve_alliance_code(obj: AllianceMembership) -> str:
        return obj.alliance.code

    @staticmethod
    def resolve_alliance_name(obj: AllianceMembership) -> str:
        return obj.alliance.name

    @staticmethod
    def resolve_role_label(obj: AllianceMembership) -> str:
        return str(obj.get_role_display())


class InstitutionDetailOut(InstitutionOut):
    departments: list[DepartmentOut]
    capacities: list[CapacityOut]
    alliances: list[MembershipOut]

    @staticmethod
    def resolve_departments(obj: Institution) -> list[Department]:
        return list(obj.departments.all())

    @staticmethod
    def resolve_capacities(obj: Institution) -> list[Capacity]:
        return list(obj.capacities.all())

    @staticmethod
    def resolve_alliances(obj: Institution) -> list[AllianceMembership]:
        return list(obj.memberships.all())


class QualificationOut(Schema):
    kind: str
    kind_label: str
    certificate_no: str
    valid_from: dt.date
    valid_to: dt.date | None
    current: bool = Field(..., description="valid today")

    @staticmethod
    def resolve_kind_label(obj: Qualification) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_current(obj: Qualification) -> bool:
        day = today()
        return obj.valid_from <= day and (obj.valid_to is None or obj.valid_to > day)


class StaffOut(Schema):
    """卫生人员 — one active staff member (person-level: every read is audited)."""

    id: int
    name: str
    sex: str
    sex_label: str
    title: str
    phone: str
    id_number_masked: str = Field(..., description="resident ID with the birth date and sequence hidden")
    department_code: str | None
    department_name: str | None
    qualifications: list[QualificationOut]

    @staticmethod
    def resolve_sex_label(obj: StaffMember) -> str:
        return str(obj.get_sex_display())

    @staticmethod
    def resolve_id_number_masked(obj: StaffMember) -> str:
        value = obj.id_number or ""
        return f"{value[:6]}{'*' * max(0, len(value) - 10)}{value[-4:]}" if len(value) > 10 else "*" * len(value)

    @staticmethod
    def resolve_department_code(obj: StaffMember) -> str | None:
        return obj.department.code if obj.department is not None else None

    @staticmethod
    def resolve_department_name(obj: StaffMember) -> str | None:
        return obj.department.name if obj.department is not None else None

    @staticmethod
    def resolve_qualifications(obj: StaffMember) -> list[Qualification]:
        return list(obj.qualifications.all())


class FindingOut(Schema):
    """One shortfall of 三建成 / 三合格 / 三达标: the rule, where, and why."""

    rule: str = Field(..., examples=["HG-VILLAGE-FOUR-ROOMS"])
    category: str = Field(..., description="build (三建成) | qualify (三合格) | staff (三达标)")
    category_label: str
    title: str
    division_code: str
    division_name: str
    path: str
    institution_code: str | None
    institution_name: str | None
    reason: str = Field(..., examples=["缺少：治疗室、药房"])


class InstitutionFilters(Schema):
    division: str | None = Field(None, description="only in this division's subtree (division code)")
    type: InstitutionType | None = Field(None, description="institution type")
    tier: Tier | None = Field(None, description="county | township | village")
    q: str | None = Field(None, max_length=100, description="part of the name or code")


# ---------------------------------------------------------------- routes


@router.get("/divisions/{code}", response={200: DivisionOut, **PROBLEMS}, summary="One division")
def division_detail(request: HttpRequest, code: str) -> Division:
    """A division inside the caller's scope (404 outside it)."""
    return division_get(user=caller(request), code=code)


@router.get("/divisions/{code}/children", response={200: list[DivisionChildOut], **PROBLEMS},
            summary="The child divisions of a division")
def division_child_list(request: HttpRequest, code: str) -> QuerySet[Division]:
    """The current child divisions of ``code`` inside the caller's scope, with counts."""
    return division_children(user=caller(request), code=code)


@router.get("/institutions", response={200: Page[InstitutionOut], **PROBLEMS}, summary="Institutions")
def institution_index(request: HttpRequest, filters: Query[InstitutionFilters],
                      page: Query[PageParams]) -> dict[str, Any]:
    """Current institutions inside the caller's scope, filtered, one page at a time."""
    qs = institution_list(user=caller(request), division_code=filters.division,
                          type=filters.type.value if filters.type else None,
                          tier=filters.tier.value if filters.tier else None, q=filters.q)
    return page_of(qs, page)


@router.get("/institutions/{code}", response={200: InstitutionDetailOut, **PROBLEMS},
            summary="One institution with departments, capacities and alliance membership")
def institution_detail(request: HttpRequest, code: str) -> Institution:
    return institution_get(user=caller(request), code=code, request=request)


@router.get("/institutions/{code}/staff", response={200: list[StaffOut], **PROBLEMS},
            summary="The active staff of an institution (audited)")
def institution_staff(request: HttpRequest, code: str) -> list[StaffMember]:
    """Person-level: scoped to the caller and audited — one ``read`` entry per person returned;
    an institution outside scope is 404 and leaves a ``not_found`` entry."""
    user = caller(request)
    institution = institution_get(user=user, code=code, request=request)
    return staff_for_institution(user=user, institution=institution, request=request)


@router.get("/standards", response={200: list[FindingOut], 409: Problem, **PROBLEMS},
            summary="三建成 / 三合格 / 三达标 shortfalls in the caller's scope")
def standards(request: HttpRequest, date: dt.date | None = None) -> list[Finding]:
    """Every division and institution inside the caller's scope that falls short, and why
    (``date``: check on that day, default today). 409 when the rules have not been loaded."""
    return standards_findings_for(user=caller(request), on=date)
