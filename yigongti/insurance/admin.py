"""Administrator screens of the insurance app — all read-only.

Policies are rules as data (``insurance/fixtures/policy-*.yaml``, ``ygt rules load``): a hand edit
would bypass the loader's checks (overlapping effective dates, rates, tiers), so a policy is
changed in its fixture and loaded again. Enrolments, coverages, accumulators, settlements and the
ledger change only through the services (which lock, post balanced entries and audit): they are
listed read-only here, the person-level ones inside the caller's scope, a settlement's or a
coverage's screen audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from yigongti.core import audit
from yigongti.core.admin import ReadOnlyAdmin
from yigongti.core.scope import visible

from .models import Accumulator, Coverage, HouseholdEnrolment, LedgerEntry, PolicyVersion, Settlement

SETTLEMENT_PATHS = ("path", "institution_path")


class _AuditedAdmin(ReadOnlyAdmin):
    """Scoped by ``path_field``; opening one row is an audited read."""

    path_field: Any = "path"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return visible(request.user, super().get_queryset(request), path_field=self.path_field)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        row = self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if row is not None:
            audit.read(user=request.user, objects=[row], request=request)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "county", "effective_from", "effective_to", "loaded_at")
    list_filter = ("county",)
    search_fields = ("code", "name", "name_en")


@admin.register(HouseholdEnrolment)
class HouseholdEnrolmentAdmin(_AuditedAdmin):
    list_display = ("household", "year", "members", "contribution", "exempted", "subsidy", "paid_on", "receipt_no")
    list_filter = ("year",)
    search_fields = ("household__code", "receipt_no")
    list_select_related = ("household",)


@admin.register(Coverage)
class CoverageAdmin(_AuditedAdmin):
    list_display = ("resident", "year", "category", "contribution", "exempted", "subsidy", "valid_from", "valid_to")
    list_filter = ("year", "category")
    search_fields = ("resident__record_no",)
    list_select_related = ("resident",)


@admin.register(Accumulator)
class AccumulatorAdmin(_AuditedAdmin):
    list_display = ("resident", "year", "outpatient_paid", "basic_paid", "catastrophic_paid", "aid_paid",
                    "settlements")
    list_filter = ("year",)
    search_fields = ("resident__record_no",)
    list_select_related = ("resident",)


@admin.register(Settlement)
class SettlementAdmin(_AuditedAdmin):
    path_field = SETTLEMENT_PATHS
    list_display = ("number", "kind", "status", "service_date", "institution", "encounter_kind", "total", "basic",
                    "catastrophic", "aid", "patient")
    list_filter = ("status", "kind", "encounter_kind", "year", "in_county", "covered")
    search_fields = ("number", "resident__record_no")
    date_hierarchy = "service_date"
    list_select_related = ("institution",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Amounts per account, no person: visible to whoever may open the admin."""

    list_display = ("posting", "source", "account", "amount", "year", "on", "institution")
    list_filter = ("source", "account", "year")
    search_fields = ("posting",)
    list_select_related = ("institution",)
