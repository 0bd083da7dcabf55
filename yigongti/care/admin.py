"""Administrator screens of the care app: the lab/imaging catalogue and the recognition rules.

Both are rules as data (``care/fixtures/*.yaml``, ``ygt rules load``); an administrator may adjust
a fee, a unit alias or a rule's days here, but the next ``ygt rules load`` brings the rows back to
the fixture, so lasting changes belong in the fixture. Encounters are person-level and change only
through the services: they are listed read-only, inside the caller's scope, and a detail view is
audited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.scope import visible
from yigongti.registry.choices import Tier

from .models import Encounter, RecognitionRule, ResultItem


class RecognitionRuleInline(admin.TabularInline):
    model = RecognitionRule
    extra = 0
    fields = ("performed_tiers", "ordering_tiers", "valid_days", "effective_from", "effective_to")


@admin.register(ResultItem)
class ResultItemAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "unit", "ref_low", "ref_high", "price", "loinc")
    list_filter = ("kind",)
    search_fields = ("code", "name", "name_en", "loinc")
    ordering = ("kind", "code")
    inlines = (RecognitionRuleInline,)


class TiersField(forms.MultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Tier.choices, widget=forms.CheckboxSelectMultiple, **kwargs)


class RecognitionRuleForm(forms.ModelForm):
    """Tiers as check boxes (stored as a JSON list)."""

    performed_tiers = TiersField(label=_("出具机构层级"))
    ordering_tiers = TiersField(label=_("互认机构层级"))

    class Meta:
        model = RecognitionRule
        fields = ("item", "performed_tiers", "ordering_tiers", "valid_days", "source", "effective_from",
                  "effective_to")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end <= start:
            self.add_error("effective_to", _("失效日期应晚于生效日期"))
        return data


@admin.register(RecognitionRule)
class RecognitionRuleAdmin(admin.ModelAdmin):
    form = RecognitionRuleForm
    list_display = ("item", "valid_days", "performed_tiers", "ordering_tiers", "effective_from", "effective_to")
    list_filter = ("valid_days", "item__kind")
    search_fields = ("item__code", "item__name")
    autocomplete_fields = ("item",)


@admin.register(Encounter)
class EncounterAdmin(admin.ModelAdmin):
    """Read-only, scoped and audited: encounters change through the services only."""

    list_display = ("pk", "kind", "start_date", "institution", "outside_institution", "total_cost", "source")
    list_filter = ("kind", "source", "in_county", "tier")
    date_hierarchy = "start_date"
    list_select_related = ("institution",)
    fields = ("kind", "institution", "outside_institution", "tier", "in_county", "department", "clinician_name",
              "start_date", "end_date", "discharge_status", "total_cost", "booked", "source", "source_no")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Encounter]:
        return visible(request.user, super().get_queryset(request))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        encounter = self.get_queryset(request).filter(pk=object_id).first()
        if encounter is not None:
            audit.read(user=request.user, objects=[encounter], request=request)
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
