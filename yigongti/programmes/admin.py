"""Administrator screens of the programmes app: programmes and their effective-dated definitions.

A version's definition is the programme's YAML document, edited here as JSON. It is checked by the
engine (:func:`~.engine.spec_from_document`) before it is stored — an error names the key — and
its ``source`` and effective dates are taken from the document so the two never disagree. Saving
a changed definition re-plans every active enrolment of the programme. Enrolments, plans and visits
are person-level and change only through the services, so they are not edited here.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .engine import SpecInvalid, spec_from_document
from .engine.spec import document_digest, document_json
from .engine.types import ProgrammeSpec
from .models import Programme, ProgrammeVersion


class PrettyJSONField(forms.JSONField):
    """JSON shown indented with Chinese as is, so an administrator can read and edit it."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


class VersionForm(forms.ModelForm):
    """The definition as pretty JSON; ``clean`` parses it with the engine."""

    definition = PrettyJSONField(
        label=gettext_lazy("规则定义（JSON）"),
        widget=forms.Textarea(attrs={"rows": 40, "cols": 110, "class": "vLargeTextField", "spellcheck": "false"}),
    )

    class Meta:
        model = ProgrammeVersion
        fields = ("programme", "definition")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec: ProgrammeSpec | None = None

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        definition = data.get("definition")
        programme = data.get("programme")
        if definition is None:
            return data
        if not isinstance(definition, dict):
            self.add_error("definition", _("规则定义应为 JSON 对象。"))
            return data
        try:
            spec = spec_from_document(definition, name=_("管理后台"))
        except SpecInvalid as error:
            self.add_error("definition", str(error))
            return data
        if programme is not None and spec.code != programme.code:
            self.add_error("definition", _("定义中的 code “%(code)s” 与项目 “%(programme)s” 不符。") % {
                "code": spec.code, "programme": programme.code})
            return data
        clash = ProgrammeVersion.objects.filter(programme=programme, effective_from=spec.effective_from)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if programme is not None and clash.exists():
            self.add_error("definition", _("该项目已有生效日期为 %(date)s 的版本。") % {
                "date": spec.effective_from.isoformat()})
            return data
        self.spec = spec
        return data


@admin.register(ProgrammeVersion)
class ProgrammeVersionAdmin(admin.ModelAdmin):
    form = VersionForm
    list_display = ("programme", "effective_from", "effective_to", "source", "loaded_at")
    list_filter = ("programme",)
    readonly_fields = ("effective_from", "effective_to", "source", "digest", "loaded_at")
    fields = ("programme", "effective_from", "effective_to", "source", "digest", "loaded_at", "definition")

    def save_model(self, request: HttpRequest, obj: ProgrammeVersion, form: Any, change: bool) -> None:
        spec: ProgrammeSpec | None = form.spec
        assert spec is not None  # the form is valid
        digest = document_digest(obj.definition)
        changed = not change or digest != ProgrammeVersion.objects.filter(pk=obj.pk).values_list(
            "digest", flat=True).first()
        obj.definition = document_json(obj.definition)
        obj.effective_from, obj.effective_to, obj.source, obj.digest = (
            spec.effective_from, spec.effective_to, spec.source, digest)
        super().save_model(request, obj, form, change)
        if changed:
            count = services.programme_replan_all(programme_code=obj.programme.code)
            messages.info(request, _("已按新规则重新生成 %(count)s 个管理对象的服务计划。") % {"count": count})


class VersionInline(admin.TabularInline):
    model = ProgrammeVersion
    fields = ("effective_from", "effective_to", "source", "loaded_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "sort_order")
    search_fields = ("code", "name")
    inlines = [VersionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()
