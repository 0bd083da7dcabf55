"""Administrator screens of analytics: the indicator catalogue, 常住人口, and the refresh log.

Indicator definitions are rules as data (``analytics/fixtures/indicators.yaml``): an administrator
may switch one off, change its target or adjust its definition here — a changed definition is
parsed and compiled before it is saved (an unknown fact or field is refused with its name) and gets
a new digest, so the next ``ygt analytics refresh`` recomputes it for every period. The next
``ygt rules load`` brings the rows back to the fixture, so lasting changes belong in the fixture.
Stored values and refresh runs are read-only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from yigongti.core.admin import ReadOnlyAdmin

from .compiler import CompileError, compile_definition
from .definitions import DefinitionInvalid, parse
from .models import Indicator, IndicatorValue, Population, RefreshRun


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = ("name", "name_en", "group", "sort_order", "unit", "factor", "decimals", "direction", "target",
                  "active", "definition")

    def clean_definition(self) -> Any:
        document = self.cleaned_data["definition"]
        try:
            compile_definition(parse(document))
        except (DefinitionInvalid, CompileError) as exc:
            raise forms.ValidationError(str(exc)) from exc
        return document


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    form = IndicatorForm
    list_display = ("code", "name", "group", "unit", "target", "direction", "active")
    list_filter = ("group", "active", "direction")
    search_fields = ("code", "name", "name_en")
    readonly_fields = ("code", "digest", "computed_digest", "formula", "formula_en", "source")

    def save_model(self, request: HttpRequest, obj: Indicator, form: Any, change: bool) -> None:
        definition = parse(obj.definition, sort_order=obj.sort_order)
        obj.digest = definition.digest
        obj.formula, obj.formula_en = definition.formula, definition.formula_en
        super().save_model(request, obj, form, change)


@admin.register(Population)
class PopulationAdmin(admin.ModelAdmin):
    list_display = ("division", "year", "population", "source")
    list_filter = ("year",)
    search_fields = ("division__code", "division__name")
    raw_id_fields = ("division",)


@admin.register(RefreshRun)
class RefreshRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "finished_at", "engine", "full", "status", "periods", "values")
    list_filter = ("status", "engine")


@admin.register(IndicatorValue)
class IndicatorValueAdmin(ReadOnlyAdmin):
    list_display = ("indicator", "org_code", "period", "numerator", "denominator", "value", "computed_at")
    list_filter = ("period_type", "org_level")
    search_fields = ("indicator__code", "org_code", "period")
