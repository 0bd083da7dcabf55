"""Administrator screens of the surveillance app.

The disease catalogue is rules as data (``surveillance/fixtures/diseases.yaml``, ``ygt rules load``):
an administrator may adjust a disease here (its early-warning methods and parameters are checked
as the loader checks them), but the next ``ygt rules load`` brings the row back to the fixture, so
lasting changes belong in the fixture. Cards, their history, signals and outbreaks change only
through the services: they are listed read-only; cards inside the caller's scope, each detail view
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
from yigongti.core.admin import ReadOnlyAdmin
from yigongti.core.scope import visible

from .models import CardEvent, CaseCard, Disease, Outbreak, Signal
from .rules import ALARM_METHODS, PARAMS
from .selectors import CARD_PATHS


class DiseaseForm(forms.ModelForm):
    """The loader's checks on a hand edit: methods among the known ones, parameters known and in range,
    a single-case disease without other methods, a deadline of 2 or 24 hours."""

    class Meta:
        model = Disease
        fields = ("code", "name", "name_en", "disease_class", "managed_as_a", "icd10", "deadline_hours",
                  "single_case", "methods", "params", "episode_days", "position", "source", "effective_from",
                  "effective_to")

    def clean_methods(self) -> list[str]:
        methods = self.cleaned_data.get("methods") or []
        if not isinstance(methods, list) or any(m not in ALARM_METHODS for m in methods):
            raise forms.ValidationError(_("预警方法只能取 %(allowed)s") % {"allowed": "、".join(ALARM_METHODS)})
        return list(dict.fromkeys(methods))

    def clean_params(self) -> dict[str, float]:
        params = self.cleaned_data.get("params") or {}
        if not isinstance(params, dict):
            raise forms.ValidationError(_("预警参数应为映射，如 {\"percentile\": 80}"))
        for key, value in params.items():
            if key not in PARAMS:
                raise forms.ValidationError(_("未知参数 %(key)s（可用：%(allowed)s）") % {
                    "key": key, "allowed": "、".join(PARAMS)})
            low, high = PARAMS[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise forms.ValidationError(_("参数 %(key)s 应在 %(low)s–%(high)s 之间，收到 %(value)s") % {
                    "key": key, "low": low, "high": high, "value": value})
        return {key: float(value) for key, value in params.items()}

    def clean_icd10(self) -> list[str]:
        codes = self.cleaned_data.get("icd10") or []
        if not isinstance(codes, list) or not all(isinstance(c, str) and c.strip() for c in codes):
            raise forms.ValidationError(_("ICD-10 编码应为编码列表，如 [\"B08.4\"]"))
        return [c.strip().upper() for c in codes]

    def clean_deadline_hours(self) -> int:
        hours = self.cleaned_data.get("deadline_hours")
        if hours not in (2, 24):
            raise forms.ValidationError(_("报告时限应为 2 或 24 小时"))
        return int(hours)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("single_case") and data.get("methods"):
            self.add_error("methods", _("单病例预警的病种不再设置其他预警方法"))
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end <= start:
            self.add_error("effective_to", _("失效日期应晚于生效日期"))
        return data


@admin.register(Disease)
class DiseaseAdmin(admin.ModelAdmin):
    form = DiseaseForm
    list_display = ("code", "name", "disease_class", "deadline_hours", "single_case", "methods", "effective_from",
                    "effective_to")
    list_filter = ("disease_class", "deadline_hours", "single_case")
    search_fields = ("code", "name", "name_en")
    ordering = ("disease_class", "position", "code")


class CardEventInline(admin.TabularInline):
    model = CardEvent
    extra = 0
    fields = ("at", "action", "by", "note", "changes")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CaseCard)
class CaseCardAdmin(ReadOnlyAdmin):
    """Read-only, scoped and audited: cards change through the services only."""

    list_display = ("card_no", "disease", "diagnosis_type", "reported_at", "on_time", "institution", "status")
    list_filter = ("status", "on_time", "disease__disease_class")
    search_fields = ("card_no",)
    date_hierarchy = "reported_at"
    list_select_related = ("disease", "institution")
    inlines = (CardEventInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CaseCard]:
        return visible(request.user, super().get_queryset(request), path_field=CARD_PATHS)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        card = self.get_queryset(request).filter(pk=object_id).first()
        if card is not None:
            audit.read(user=request.user, objects=[card], request=request,
                       path_field="path" if card.path else "institution_path")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(CardEvent)
class CardEventAdmin(ReadOnlyAdmin):
    list_display = ("card", "action", "at", "by")
    list_filter = ("action",)
    list_select_related = ("card", "by")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CardEvent]:
        cards = visible(request.user, CaseCard.objects.all(), path_field=CARD_PATHS)
        return super().get_queryset(request).filter(card__in=cards)


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = ("date", "township", "disease", "method", "observed", "expected", "threshold", "status")
    list_filter = ("status", "method", "disease")
    date_hierarchy = "date"
    list_select_related = ("township", "disease")
    exclude = ("cases",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Signal]:
        return visible(request.user, super().get_queryset(request))


@admin.register(Outbreak)
class OutbreakAdmin(ReadOnlyAdmin):
    list_display = ("code", "title", "township", "disease", "status", "opened_at", "closed_at")
    list_filter = ("status", "disease")
    search_fields = ("code", "title")
    list_select_related = ("township", "disease")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Outbreak]:
        return visible(request.user, super().get_queryset(request))
