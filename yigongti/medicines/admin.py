"""Administrator screens of the medicines app — all read-only.

The catalogue (items, the 医共体's list, suppliers, contract prices) is rules as data
(``medicines/fixtures/catalogue.yaml``, ``ygt rules load``): it changes in its fixture. Stock rows and
documents change only through the services (which lock, keep the balance the sum of the movements and
audit); they are listed read-only, inside the caller's scope, prescriptions' screens audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from yigongti.core import audit
from yigongti.core.admin import ReadOnlyAdmin
from yigongti.core.scope import visible

from .models import (
    Batch,
    ContractPrice,
    FormularyEntry,
    Holding,
    Medicine,
    MonthlyUse,
    Movement,
    Prescription,
    PurchaseOrder,
    Requisition,
    StockTake,
    Supplier,
)


class _ScopedAdmin(ReadOnlyAdmin):
    """Scoped by ``path_field`` (the institution's path)."""

    path_field: Any = "path"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return visible(request.user, super().get_queryset(request), path_field=self.path_field)


@admin.register(Medicine)
class MedicineAdmin(ReadOnlyAdmin):
    list_display = ("code", "generic_name", "dosage_form", "strength", "pack", "unit", "drug_class", "essential",
                    "valid_from", "valid_to")
    list_filter = ("essential", "drug_class", "dosage_form")
    search_fields = ("code", "generic_name", "name_en", "national_code")


@admin.register(FormularyEntry)
class FormularyEntryAdmin(ReadOnlyAdmin):
    list_display = ("medicine", "tier", "reorder_level", "target_level", "valid_from", "valid_to")
    list_filter = ("tier",)
    search_fields = ("medicine__code", "medicine__generic_name")
    list_select_related = ("medicine",)


@admin.register(Supplier)
class SupplierAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "licence", "phone", "valid_from", "valid_to")
    search_fields = ("code", "name")


@admin.register(ContractPrice)
class ContractPriceAdmin(ReadOnlyAdmin):
    list_display = ("medicine", "supplier", "unit_price", "contract", "valid_from", "valid_to")
    list_filter = ("supplier",)
    search_fields = ("medicine__code", "medicine__generic_name", "contract")
    list_select_related = ("medicine", "supplier")


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    """A lot of an item: no institution, no person."""

    list_display = ("medicine", "lot", "expiry", "unit_price", "manufacturer", "supplier")
    search_fields = ("lot", "medicine__code", "medicine__generic_name")
    date_hierarchy = "expiry"
    list_select_related = ("medicine", "supplier")


@admin.register(Holding)
class HoldingAdmin(_ScopedAdmin):
    list_display = ("institution", "medicine", "batch", "quantity")
    search_fields = ("institution__code", "medicine__code", "batch__lot")
    list_select_related = ("institution", "medicine", "batch")


@admin.register(MonthlyUse)
class MonthlyUseAdmin(_ScopedAdmin):
    path_field = "institution__path"
    list_display = ("month", "institution", "medicine", "quantity", "amount")
    search_fields = ("institution__code", "medicine__code", "medicine__generic_name")
    date_hierarchy = "month"
    list_select_related = ("institution", "medicine")


@admin.register(Movement)
class MovementAdmin(_ScopedAdmin):
    list_display = ("moved_on", "institution", "medicine", "batch", "kind", "quantity", "amount", "document",
                    "created_by")
    list_filter = ("kind", "reason")
    search_fields = ("document", "medicine__code", "batch__lot", "institution__code")
    date_hierarchy = "moved_on"
    list_select_related = ("institution", "medicine", "batch", "created_by")


@admin.register(Requisition)
class RequisitionAdmin(_ScopedAdmin):
    path_field = ("path", "supplier_path")
    list_display = ("number", "institution", "supplier", "status", "created_at", "decided_at", "shipped_at",
                    "received_at")
    list_filter = ("status",)
    search_fields = ("number",)
    list_select_related = ("institution", "supplier")


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(_ScopedAdmin):
    list_display = ("number", "buyer", "supplier", "status", "order_date", "total")
    list_filter = ("status", "supplier")
    search_fields = ("number",)
    list_select_related = ("buyer", "supplier")


@admin.register(StockTake)
class StockTakeAdmin(_ScopedAdmin):
    list_display = ("number", "institution", "taken_on", "status", "posted_at")
    list_filter = ("status",)
    search_fields = ("number",)
    list_select_related = ("institution",)


@admin.register(Prescription)
class PrescriptionAdmin(_ScopedAdmin):
    """Person-level: seen from the patient's village or the prescribing institution; a screen is an audited read."""

    path_field = ("path", "institution_path")
    list_display = ("number", "institution", "prescribed_on", "prescriber", "status", "amount", "essential_amount")
    list_filter = ("status",)
    search_fields = ("number",)
    date_hierarchy = "prescribed_on"
    list_select_related = ("institution",)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        row = self.get_queryset(request).filter(pk=object_id).first() if object_id.isdigit() else None
        if row is not None:
            audit.read(user=request.user, objects=[row], request=request)
        return super().change_view(request, object_id, form_url, extra_context)
