"""Administrator screens of the referrals app: the rules (routes, response deadlines) are edited
here; referrals, bookings and consultations are person-level and change only through the services,
so they are listed read-only (the list shows no patient data)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ReferralRoute, ResponseDeadline, Slot


@admin.register(ReferralRoute)
class ReferralRouteAdmin(admin.ModelAdmin):
    list_display = ("code", "direction", "from_tiers", "to_types", "kinds", "effective_from", "effective_to")
    list_filter = ("direction",)
    search_fields = ("code", "source")


@admin.register(ResponseDeadline)
class ResponseDeadlineAdmin(admin.ModelAdmin):
    list_display = ("urgency", "respond_hours", "escalate_hours", "effective_from", "effective_to")
    list_filter = ("urgency",)


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    """Published slots: visible, not edited here (``booked`` moves only through the services)."""

    list_display = ("institution", "department", "date", "start_time", "end_time", "capacity", "booked")
    list_filter = ("institution", "date")
    date_hierarchy = "date"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
