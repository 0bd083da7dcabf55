"""Administrator screens for the registry's code tables."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from yigongti.core import audit
from yigongti.core.scope import visible

from .models import (
    Alliance,
    AllianceMembership,
    Capacity,
    Department,
    Division,
    Institution,
    InstitutionPeriod,
    Qualification,
    StaffMember,
)


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "valid_from", "valid_to")
    list_filter = ("level",)
    search_fields = ("code", "name")
    readonly_fields = ("path",)


class CapacityInline(admin.TabularInline):
    model = Capacity
    extra = 0


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


class PeriodInline(admin.TabularInline):
    model = InstitutionPeriod
    fk_name = "institution"
    extra = 0


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "type", "tier", "grade", "division", "parent", "is_government")
    list_filter = ("type", "tier", "grade", "is_government")
    search_fields = ("code", "name")
    readonly_fields = ("path",)
    inlines = [CapacityInline, DepartmentInline, PeriodInline]


class MembershipInline(admin.TabularInline):
    model = AllianceMembership
    extra = 0
    autocomplete_fields = ("institution",)


@admin.register(Alliance)
class AllianceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "division", "valid_from", "valid_to")
    inlines = [MembershipInline]


class QualificationInline(admin.TabularInline):
    model = Qualification
    extra = 0


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ("name", "sex", "institution", "department", "title", "active")
    list_filter = ("active", "sex")
    search_fields = ("name", "institution__name")
    readonly_fields = ("path",)
    inlines = [QualificationInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffMember]:
        # Person-level rows: the admin sees them through the same scope as every other route.
        return visible(request.user, super().get_queryset(request))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        member = self.get_queryset(request).filter(pk=object_id).first()
        if member is not None:
            audit.read(user=request.user, objects=[member], request=request)
        return super().change_view(request, object_id, form_url, extra_context)
