"""Administrator screens of the residents app: read-mostly, scoped and audited like every route.

Records change through the services (registration, update, transfer, merge), never by editing
rows here: the admin shows them read-only so that no change escapes validation and the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from yigongti.core import audit
from yigongti.core.admin import ReadOnlyAdmin
from yigongti.core.scope import visible

from .models import DedupeRun, Household, MatchPair, Resident, ResidentMerge, ResidentTransfer


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    list_display = ("record_no", "name", "sex", "birth_date", "village", "status")
    list_filter = ("status", "sex")
    search_fields = ("record_no", "name", "name_pinyin", "id_number")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Resident]:
        return visible(request.user, super().get_queryset(request).select_related("village"))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        resident = self.get_queryset(request).filter(pk=object_id).first()
        if resident is not None:
            audit.read(user=request.user, objects=[resident], request=request)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("code", "village", "head", "address")
    search_fields = ("code",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Household]:
        return visible(request.user, super().get_queryset(request))


@admin.register(ResidentTransfer)
class ResidentTransferAdmin(ReadOnlyAdmin):
    list_display = ("resident", "from_village", "to_village", "on", "by")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ResidentTransfer]:
        return visible(request.user, super().get_queryset(request), path_field="resident__path")


@admin.register(ResidentMerge)
class ResidentMergeAdmin(ReadOnlyAdmin):
    list_display = ("survivor", "merged", "at", "by", "undone_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ResidentMerge]:
        return visible(request.user, super().get_queryset(request), path_field="survivor__path")


@admin.register(DedupeRun)
class DedupeRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "finished_at", "engine", "n_records", "n_pairs", "n_clusters")


@admin.register(MatchPair)
class MatchPairAdmin(ReadOnlyAdmin):
    list_display = ("left", "right", "probability", "status")
    list_filter = ("status",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[MatchPair]:
        qs = visible(request.user, super().get_queryset(request), path_field="left__path")
        return visible(request.user, qs, path_field="right__path")
